package app_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/devbridge"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

// topoKeys are the API keys of the topology test: three providers and an analyst.
type topoKeys struct {
	providers     []string // in topoProviders order
	analyst, spec string
}

var topoProviders = []string{"acme", "bolt", "cobra"}

func newTopoKeys() topoKeys {
	var k topoKeys
	var spec []string
	add := func(name string, role auth.Role) string {
		key, hash := auth.NewKey()
		spec = append(spec, fmt.Sprintf("%s:%s:%s", name, role, hash))
		return key
	}
	for _, p := range topoProviders {
		k.providers = append(k.providers, add(p, auth.RoleProvider))
	}
	k.analyst = add("alice", auth.RoleAnalyst)
	k.spec = strings.Join(spec, ",")
	return k
}

// awsTopology starts a fresh DynamoDB Local and kinesis-mock (both slow
// down as records pile up), provisions a table and a 4-shard stream, sets
// vars for them and runs the development bridge with the production
// shape's faults in this process.
func awsTopology(t *testing.T, vars map[string]string) *devbridge.Bridge {
	t.Helper()
	stack, err := harness.Start(harness.DynamoDB | harness.Kinesis)
	if err != nil {
		t.Fatalf("start a fresh DynamoDB Local and kinesis-mock: %v", err)
	}
	t.Cleanup(func() { _ = stack.Stop() })
	o := awsclient.Options{Region: harness.Region, DynamoDBEndpoint: stack.DynamoDB.URL, KinesisEndpoint: stack.Kinesis.URL,
		AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("topo_%d", time.Now().UnixNano())
	stream := table + "-changes"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ddb, kin := awsclient.DynamoDB(cfg, o), awsclient.Kinesis(cfg, o)
	if err := dynamo.Provision(ctx, ddb, kin, dynamo.ProvisionOptions{Table: table, Stream: stream, Shards: 4}, func(string) {}); err != nil {
		t.Fatalf("provision: %v", err)
	}
	for k, v := range map[string]string{
		"ODDSFEED_BACKEND": "aws", "ODDSFEED_TABLE": table, "ODDSFEED_STREAM": stream,
		"ODDSFEED_DYNAMODB_ENDPOINT": stack.DynamoDB.URL, "ODDSFEED_KINESIS_ENDPOINT": stack.Kinesis.URL,
		"AWS_REGION": harness.Region, "AWS_ACCESS_KEY_ID": harness.AccessKey, "AWS_SECRET_ACCESS_KEY": harness.SecretKey,
	} {
		vars[k] = v
	}
	streams := dynamodbstreams.NewFromConfig(cfg, func(so *dynamodbstreams.Options) { so.BaseEndpoint = aws.String(stack.DynamoDB.URL) })
	br := devbridge.New(streams, ddb, kin, devbridge.Options{
		Table: table, Stream: stream, Logger: slog.New(slog.DiscardHandler),
		// As AWS: a partition key per item, so each game's odds spread
		// over every shard, and only one item's changes keep their order.
		PartitionBy:    devbridge.PartitionByItem,
		DuplicateEvery: 10, ReorderWindow: 50, MalformedEvery: 100,
	})
	bctx, bcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(bctx) }()
	t.Cleanup(func() {
		bcancel()
		if err := <-done; err != nil {
			t.Errorf("bridge: %v", err)
		}
	})
	return br
}

// waitFor polls cond until it holds or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitUntil(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// rawFrame is one message as received, with its receipt time.
type rawFrame struct {
	at   time.Time
	data []byte
}

// wsReader is a WebSocket client that reads every message as fast as it
// comes (no decoding on the read path) until its connection closes.
type wsReader struct {
	name   string
	ref    bool
	topics []string
	n      atomic.Int64

	mu     sync.Mutex
	frames []rawFrame
}

// openReader dials the stream (a reference client when ref, else a native
// one subscribing to topics) and reads in the background.
func openReader(t *testing.T, base, key, name string, ref bool, topics ...string) *wsReader {
	t.Helper()
	query := ""
	if ref {
		query = "?client=" + name
	}
	c := dial(t, base, query, key)
	c.SetReadLimit(1 << 24)
	r := &wsReader{name: name, ref: ref, topics: topics}
	if !ref {
		send(t, c, map[string]any{"type": "subscribe", "topics": topics})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			at := time.Now()
			r.mu.Lock()
			r.frames = append(r.frames, rawFrame{at: at, data: data})
			r.mu.Unlock()
			r.n.Add(1)
		}
	}()
	t.Cleanup(func() { cancel(); c.CloseNow(); <-done })
	return r
}

func (r *wsReader) since(i int) []rawFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames[min(i, len(r.frames)):]
}

// topoOdds is an odds as a native frame carries it.
type topoOdds = feed.Odds

type nativeFrame struct {
	Type       string          `json:"type"`
	Epoch      string          `json:"epoch"`
	GameID     string          `json:"gameId"`
	Seq        uint64          `json:"seq"`
	Late       bool            `json:"late"`
	Correction bool            `json:"correction"`
	Odds       json.RawMessage `json:"odds"`
}

// pgTick is a row of odds_ticks or latest_odds.
type pgTick struct {
	quote
	k        tkey
	version  int64
	received time.Time
}

// reportRows reads odds_ticks (by key and version), latest_odds (by game
// and provider) and how many Kinesis shards the sync applied records of.
func reportRows(t *testing.T, dsn string) (ticks map[vkey]pgTick, latest map[gpKey]pgTick, shards int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	read := func(table string, each func(k tkey, row pgTick)) {
		rows, err := conn.Query(ctx, `SELECT game_id, provider, observed_at, observed_ns, away_spread, home_spread, away_odds, home_odds, version, received_at FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k tkey
			var at time.Time
			var ns int16
			var row pgTick
			if err := rows.Scan(&k.game, &k.provider, &at, &ns, &row.away, &row.home, &row.awayOdds, &row.homeOdds, &row.version, &row.received); err != nil {
				t.Fatal(err)
			}
			k.at = at.UnixNano() + int64(ns)
			row.k = k
			each(k, row)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	ticks, latest = map[vkey]pgTick{}, map[gpKey]pgTick{}
	read("odds_ticks", func(k tkey, row pgTick) { ticks[vkey{k, row.version}] = row })
	read("latest_odds", func(k tkey, row pgTick) { latest[gpKey{k.game, k.provider}] = row })
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM sync_checkpoints WHERE source LIKE 'shardId-%' AND applied_changes > 0`).Scan(&shards); err != nil {
		t.Fatal(err)
	}
	return ticks, latest, shards
}

// storeOdds reads every odds of games from the feed store through the API:
// per key its stored (latest) version; and each provider's latest odds.
func storeOdds(t *testing.T, c client, games []string) (map[tkey]topoOdds, map[gpKey]topoOdds) {
	t.Helper()
	all, latest := map[tkey]topoOdds{}, map[gpKey]topoOdds{}
	for _, g := range games {
		path := "/v1/games/" + g + "/odds?limit=1000"
		for {
			var page struct {
				Odds       []topoOdds `json:"odds"`
				NextCursor string     `json:"nextCursor"`
			}
			c.want(200, "GET", path, nil, &page)
			for _, o := range page.Odds {
				all[keyOf(o)] = o
			}
			if page.NextCursor == "" {
				break
			}
			path = "/v1/games/" + g + "/odds?limit=1000&cursor=" + page.NextCursor
		}
		var l struct {
			ByProvider []topoOdds `json:"byProvider"`
		}
		c.want(200, "GET", "/v1/games/"+g+"/odds/latest", nil, &l)
		for _, o := range l.ByProvider {
			latest[gpKey{o.GameID, o.Provider}] = o
		}
	}
	return all, latest
}

func keyOf(o topoOdds) tkey { return tkey{o.GameID, o.Provider, o.ObservedAt.UnixNano()} }

func quoteOf(o topoOdds) quote { return quote{o.AwaySpread, o.HomeSpread, o.AwayOdds, o.HomeOdds} }

// percentile returns the p-th percentile (0..1) of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

// poster posts one provider's odds for half the games, sequentially: it
// alone writes these (game, provider) pairs, so their order is known.
type poster struct {
	p     int
	key   string
	games []string
	base  time.Time
	rng   *rand.Rand
	keys  map[tkey][]*acked // versions in order
	order []tkey            // keys in posting order, for picking
	cur   map[gpKey]vkey    // newest acknowledged per game and provider
	acked *atomic.Int64     // versions acknowledged, all posters
	dups  [2]int            // exact re-posts: of the newest version, of an older one
}

type topoItem struct {
	k tkey
	q quote
}

func (ps *poster) item(g string, tick, version int) topoItem {
	code := (ps.p*200+tick)*4 + version
	away := float64(code%9)*0.5 - 2
	at := ps.base.Add(time.Duration(tick)*250*time.Millisecond + time.Duration(ps.p)*11*time.Millisecond)
	return topoItem{k: tkey{g, topoProviders[ps.p], at.UnixNano()}, q: quote{away, 0 - away, 100 + code, -(100 + code%900)}} // 0 - away: never -0
}

// post sends items in one request and records what was acknowledged: a
// new content of a key is its next version; a content posted before is a
// duplicate.
func (ps *poster) post(t *testing.T, base string, items []topoItem) (versions int, err error) {
	slices.SortStableFunc(items, func(a, b topoItem) int { return cmp.Compare(a.k.at, b.k.at) })
	body := make([]oddsJSON, len(items))
	for i, it := range items {
		body[i] = oddsJSON{GameID: it.k.game, ObservedAt: time.Unix(0, it.k.at).UTC(), AwaySpread: it.q.away, HomeSpread: it.q.home, AwayOdds: it.q.awayOdds, HomeOdds: it.q.homeOdds}
	}
	status, err := post(base, ps.key, body)
	if err != nil || status != 200 {
		return 0, fmt.Errorf("POST %d odds as %s: status %d, %v", len(items), topoProviders[ps.p], status, err)
	}
	now := time.Now()
	for _, it := range items {
		vs := ps.keys[it.k]
		if i := slices.IndexFunc(vs, func(a *acked) bool { return a.q == it.q }); i >= 0 {
			ps.dups[min(1, len(vs)-1-i)]++ // an exact re-post: a duplicate
			continue
		}
		if len(vs) == 0 {
			ps.order = append(ps.order, it.k)
		}
		v := vkey{it.k, int64(len(vs) + 1)}
		gp := gpKey{it.k.game, it.k.provider}
		c, had := ps.cur[gp]
		ps.keys[it.k] = append(vs, &acked{q: it.q, ackAt: now, postedLate: had && newer(c, v)})
		if !had || newer(v, c) {
			ps.cur[gp] = v
		}
		versions++
	}
	ps.acked.Add(int64(versions))
	return versions, nil
}

// pick returns up to n distinct keys posted so far whose versions suit ok.
func (ps *poster) pick(n int, ok func([]*acked) bool) []tkey {
	var out []tkey
	for _, i := range ps.rng.Perm(len(ps.order)) {
		if k := ps.order[i]; len(out) < n && ok(ps.keys[k]) {
			out = append(out, k)
		}
	}
	return out
}

// tickOf recovers the tick of a key this poster made.
func (ps *poster) tickOf(k tkey) int {
	return int((time.Duration(k.at-ps.base.UnixNano()) - time.Duration(ps.p)*11*time.Millisecond) / (250 * time.Millisecond))
}

// run posts the base ticks in batches (some held back behind the next
// one), with corrections and exact re-posts between them.
func (ps *poster) run(t *testing.T, base string, throttle func(), baseDone func()) error {
	nb := (topoTicks + topoPerPost - 1) / topoPerPost
	order := make([]int, nb)
	for i := range order {
		order[i] = i
	}
	for b := 2; b+1 < nb; b += 7 { // batch b is posted after b+1: late
		order[b], order[b+1] = order[b+1], order[b]
	}
	for s, b := range order {
		var items []topoItem
		for tick := b * topoPerPost; tick < min(topoTicks, (b+1)*topoPerPost); tick++ {
			for _, g := range ps.games {
				items = append(items, ps.item(g, tick, 1))
			}
		}
		throttle()
		if _, err := ps.post(t, base, items); err != nil {
			return err
		}
		baseDone()
		var extra []topoItem
		if s%3 == 2 { // corrections: a new quote for a stored key
			for _, k := range ps.pick(6, func(vs []*acked) bool { return len(vs) < 3 }) {
				extra = append(extra, ps.item(k.game, ps.tickOf(k), len(ps.keys[k])+1))
			}
		}
		if s%4 == 3 { // exact re-posts of any earlier version, corrected keys too
			every, corrected := func([]*acked) bool { return true }, func(vs []*acked) bool { return len(vs) > 1 }
			for _, k := range append(ps.pick(4, every), ps.pick(3, corrected)...) {
				if !slices.ContainsFunc(extra, func(it topoItem) bool { return it.k == k }) {
					vs := ps.keys[k]
					extra = append(extra, topoItem{k, vs[ps.rng.IntN(len(vs))].q})
				}
			}
		}
		if len(extra) > 0 {
			throttle()
			if _, err := ps.post(t, base, extra); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitUntil polls cond until it holds (true) or timeout passes (false).
func waitUntil(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// compareReports: odds_ticks holds exactly the acknowledged versions, the
// store the newest version of each key, latest_odds and the store's latest
// the newest key of each game and provider; the `all` client's newest
// version of each key (corrections applied) is the store's.
func compareReports(t *testing.T, want map[vkey]*acked, latestKey map[gpKey]vkey, ticks map[vkey]pgTick, latest map[gpKey]pgTick,
	stored map[tkey]topoOdds, storeLatest map[gpKey]topoOdds, final map[tkey]quote) {
	t.Helper()
	p := &problems{t: t, client: "reports", n: map[string]int{}}
	newest := map[tkey]vkey{}
	for v, a := range want {
		if row, ok := ticks[v]; !ok {
			p.add("odds_ticks misses a version", "%+v", v)
		} else if row.quote != a.q {
			p.add("odds_ticks content", "%+v: %+v, want %+v", v, row.quote, a.q)
		}
		if v.version > newest[v.tkey].version {
			newest[v.tkey] = v
		}
	}
	for v := range ticks {
		if want[v] == nil {
			p.add("odds_ticks has an unacknowledged version", "%+v", v)
		}
	}
	if len(stored) != len(newest) {
		p.add("store size", "%d odds keys, want %d", len(stored), len(newest))
	}
	for k, v := range newest {
		o, ok := stored[k]
		if !ok || o.Version != v.version || quoteOf(o) != want[v].q {
			p.add("store", "%+v: %+v, want version %d %+v", k, o, v.version, want[v].q)
		}
		if final != nil && final[k] != want[v].q {
			p.add("all client's newest version", "%+v: %+v, want %+v", k, final[k], want[v].q)
		}
	}
	if len(latest) != len(latestKey) || len(storeLatest) != len(latestKey) {
		p.add("latest size", "latest_odds %d rows, store %d, want %d", len(latest), len(storeLatest), len(latestKey))
	}
	for gp, v := range latestKey {
		if l := latest[gp]; l.k != v.tkey || l.version != v.version || l.quote != want[v].q {
			p.add("latest_odds", "%+v: %+v, want %+v", gp, l, v)
		}
		if o := storeLatest[gp]; keyOf(o) != v.tkey || o.Version != v.version {
			p.add("store latest", "%+v: %+v, want %+v", gp, o, v)
		}
	}
	p.summary()
}

// calm posts n odds one request at a time, each once the previous one
// reached r, and returns their POST ack -> frame delays: the stack's
// transit time without a backlog.
func (ps *poster) calm(t *testing.T, base string, r *wsReader, n int) []time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := range n {
		it := ps.item(ps.games[i%len(ps.games)], 100+i, 1)
		cursor := int(r.n.Load())
		if _, err := ps.post(t, base, []topoItem{it}); err != nil {
			t.Fatal(err)
		}
		a := ps.keys[it.k][0]
		waitFor(t, 30*time.Second, "a calm odds on "+r.name, func() bool {
			fs := r.since(cursor)
			cursor += len(fs)
			for _, f := range fs {
				if d := string(f.data); strings.Contains(d, `"gameId":"`+it.k.game+`"`) && strings.Contains(d, fmt.Sprintf(`"awayOdds":%d`, a.q.awayOdds)) {
					ds = append(ds, f.at.Sub(a.ackAt))
					return true
				}
			}
			return false
		})
	}
	slices.Sort(ds)
	return ds
}

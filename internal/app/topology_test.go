package app_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTopology*: the production shape end to end. Six posters (3 providers)
// post 5,100 odds over 20 games in 2 sports concurrently, with batches held
// back behind newer ones, corrections and exact re-posts; native clients on
// `all`, `sport:` and single games and reference clients get every version
// exactly once, late and corrections marked; Postgres equals the store. On
// aws: DynamoDB Local -> bridge -> kinesis-mock, 4 shards, a partition key
// per item, a duplicate every 10 records, reordering in windows of 50, a
// malformed record every 100, a reshard 4 -> 8 mid-stream. Logged: the share
// of odds frames marked late and the POST ack -> frame delay (p50/p99).
func TestTopologyAWS(t *testing.T) { topologyCase(t, "aws") }

func TestTopologyEmbedded(t *testing.T) { topologyCase(t, "embedded") }

// Keys of the test's bookkeeping.
type (
	tkey struct {
		game, provider string
		at             int64 // observedAt, Unix nanoseconds
	}
	vkey struct {
		tkey
		version int64
	}
	gpKey struct{ game, provider string }
	quote struct {
		away, home         float64
		awayOdds, homeOdds int
	}
)

// acked is one acknowledged odds version; postedLate: a newer odds of its
// game and provider (feed.Odds.Newer) was acknowledged before it was posted.
type acked struct {
	q          quote
	ackAt      time.Time
	postedLate bool
}

func newer(a, b vkey) bool { return a.at > b.at || (a.at == b.at && a.version > b.version) } // feed.Odds.Newer

const (
	topoGames   = 20
	topoTicks   = 85 // per provider and game: 3 x 20 x 85 = 5,100 odds, plus corrections
	topoPerPost = 5  // ticks per base request (x 10 games = 50 odds)
	topoWindow  = 400
)

func topoGame(i int) string { return fmt.Sprintf("topo%02d", i) }

func topologyCase(t *testing.T, backend string) {
	started := time.Now()
	k := newTopoKeys()
	dsn := reportingDB(t)
	vars := map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATA_DIR": t.TempDir(),
		"ODDSFEED_DATABASE_URL": dsn, "ODDSFEED_LOG_LEVEL": "warn"}
	reshard := func() error { return nil }
	if backend == "aws" {
		br := awsTopology(t, vars)
		reshard = func() error { return br.Reshard(t.Context(), 8) }
		defer func() {
			s := br.Stats()
			t.Logf("bridge: %d changes relayed, %d duplicates, %d malformed records", s.Relayed, s.Duplicates, s.Malformed)
			if s.Duplicates == 0 || s.Malformed == 0 || s.Skipped != 0 {
				t.Errorf("bridge stats %+v: want duplicates and malformed records, nothing skipped", s)
			}
		}()
	}
	base := serve(t, vars)
	// On aws ready once the broadcast read the stream, which it reads from its end.
	waitFor(t, 60*time.Second, "/readyz 200", func() bool { return client{t, base, ""}.do("GET", "/readyz", nil, nil) == 200 })

	// Clients first, then the games: the hub learns each game's sport from
	// its change, and every client gets a frame for each game it covers.
	all := openReader(t, base, k.analyst, "all", false, "all")
	readers := []*wsReader{all,
		openReader(t, base, k.analyst, "sport", false, "sport:soccer"),
		openReader(t, base, k.analyst, "game1", false, "game:"+topoGame(3)),
		openReader(t, base, k.analyst, "game2", false, "game:"+topoGame(14)),
		openReader(t, base, k.analyst, "topo-ref-1", true),
		openReader(t, base, k.analyst, "topo-ref-2", true),
	}
	var games []string
	sportOf := map[string]string{}
	for i := range topoGames {
		g := topoGame(i)
		games = append(games, g)
		sportOf[g] = map[bool]string{true: "soccer", false: "tennis"}[i < topoGames/2]
		client{t, base, k.providers[i%3]}.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": sportOf[g], "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	covers := func(r *wsReader, g string) bool {
		if r.ref {
			return true
		}
		switch tp := r.topics[0]; {
		case tp == "all":
			return true
		case strings.HasPrefix(tp, "sport:"):
			return sportOf[g] == strings.TrimPrefix(tp, "sport:")
		default:
			return tp == "game:"+g
		}
	}
	for _, r := range readers[:4] {
		waitFor(t, 60*time.Second, r.name+" has a frame of each game it covers", func() bool {
			seen := map[string]bool{}
			for _, f := range r.since(0) {
				var nf nativeFrame
				if json.Unmarshal(f.data, &nf) == nil && nf.GameID != "" {
					seen[nf.GameID] = true
				}
			}
			for _, g := range games {
				if covers(r, g) && !seen[g] {
					return false
				}
			}
			return true
		})
	}

	// Providers: one poster per provider and half of the games.
	var ackedVersions atomic.Int64
	obsBase := time.Now().UTC().Add(-50 * time.Minute).Truncate(time.Millisecond)
	var posters []*poster
	for p := range topoProviders {
		for h := range 2 {
			ps := &poster{p: p, key: k.providers[p], base: obsBase, rng: rand.New(rand.NewPCG(uint64(p), uint64(h))),
				keys: map[tkey][]*acked{}, cur: map[gpKey]vkey{}, acked: &ackedVersions}
			for i := h; i < topoGames; i += 2 {
				ps.games = append(ps.games, topoGame(i))
			}
			posters = append(posters, ps)
		}
	}
	// A first odds, older than all others (never corrected): once every
	// client has it, the reference clients (subscribed on connect) are in.
	canary := posters[0].item(posters[0].games[0], 199, 1)
	canary.k.at = obsBase.Add(-time.Minute).UnixNano()
	if _, err := posters[0].post(t, base, []topoItem{canary}); err != nil {
		t.Fatal(err)
	}
	posters[0].order = nil
	waitFor(t, 60*time.Second, "the first odds on every client", func() bool {
		for _, r := range readers {
			needle := fmt.Sprintf(`"awayOdds":%d`, canary.q.awayOdds)
			if covers(r, canary.k.game) && !slices.ContainsFunc(r.since(0), func(f rawFrame) bool { return strings.Contains(string(f.data), needle) }) {
				return false
			}
		}
		return true
	})

	// Post concurrently, <= topoWindow versions ahead of the `all` client; reshard at half way.
	received0 := all.n.Load() - 1
	var throttled atomic.Int64
	throttle := func() {
		defer func(t0 time.Time) { throttled.Add(int64(time.Since(t0))) }(time.Now())
		deadline := time.Now().Add(20 * time.Second)
		for ackedVersions.Load()-(all.n.Load()-received0) > topoWindow && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	var baseBatches atomic.Int64
	half := int64(len(posters) * ((topoTicks + topoPerPost - 1) / topoPerPost) / 2)
	reshardDone := make(chan error, 1)
	postStart := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(posters))
	for _, ps := range posters {
		wg.Go(func() {
			track := func() {
				if baseBatches.Add(1) == half {
					go func() { reshardDone <- reshard() }()
				}
			}
			if err := ps.run(t, base, throttle, track); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	postTime := time.Since(postStart)
	if err := <-reshardDone; err != nil {
		t.Fatalf("reshard mid-stream: %v", err)
	}
	calm := posters[1].calm(t, base, all, 30)

	// What was acknowledged.
	want := map[vkey]*acked{}
	latestKey := map[gpKey]vkey{}
	byCode := map[gpKey]vkey{} // (game, awayOdds as provider) -> version, for reference frames
	base0, dups := 0, [2]int{}
	for _, ps := range posters {
		dups[0], dups[1] = dups[0]+ps.dups[0], dups[1]+ps.dups[1]
		for k, vs := range ps.keys {
			for i, a := range vs {
				v := vkey{k, int64(i + 1)}
				want[v] = a
				byCode[gpKey{k.game, fmt.Sprint(a.q.awayOdds)}] = v
				if i == 0 {
					base0++
				}
			}
			gp := gpKey{k.game, k.provider}
			if c, ok := latestKey[gp]; !ok || k.at > c.at {
				latestKey[gp] = vkey{k, int64(len(vs))}
			}
		}
	}
	t.Logf("%s: %d odds keys, %d acknowledged versions (%d corrections), %d+%d exact re-posts of the newest+an older version, over %d games from %d providers, posted by %d in %v (%v waiting for the `all` client); then %d one by one: ack -> frame p50 %v, p99 %v",
		backend, base0, len(want), len(want)-base0, dups[0], dups[1], topoGames, len(topoProviders), len(posters), postTime.Round(time.Millisecond),
		(time.Duration(throttled.Load()) / time.Duration(len(posters))).Round(time.Millisecond), len(calm), percentile(calm, 0.5).Round(100*time.Microsecond), percentile(calm, 0.99).Round(100*time.Microsecond))
	if base0 < 5000 {
		t.Fatalf("only %d odds posted", base0)
	}

	// Wait until every client has every version of its topics (or the
	// deadline), and Postgres every version.
	views := make([]*clientView, len(readers))
	for i, r := range readers {
		views[i] = &clientView{r: r, got: map[vkey]int{}}
		for v := range want {
			if covers(r, v.game) {
				views[i].want++
			}
		}
	}
	complete := waitUntil(150*time.Second, func() bool {
		for _, cv := range views {
			if cv.update(byCode); len(cv.got) < cv.want {
				return false
			}
		}
		return true
	})
	delivered := time.Since(postStart)
	if !complete {
		for _, cv := range views {
			t.Errorf("%s: %d of %d versions after the deadline", cv.r.name, len(cv.got), cv.want)
		}
	}
	var ticks map[vkey]pgTick
	waitUntil(90*time.Second, func() bool { ticks, _, _ = reportRows(t, dsn); return len(ticks) >= len(want) })
	ticks, latest, shards := reportRows(t, dsn)
	if backend == "aws" && shards != 12 {
		t.Errorf("the sync applied records of %d shards, want 12: the 4 parents and the 8 children of the reshard", shards)
	}
	stored, storeLatest := storeOdds(t, client{t, base, k.analyst}, games)

	var final map[tkey]quote
	for _, cv := range views {
		if cv.r.ref {
			checkReference(t, cv.r, want, byCode, ticks)
			continue
		}
		st := checkNative(t, cv.r, want, covers)
		if cv.r == all {
			final = st.final
			slices.Sort(st.delays)
			t.Logf("%s: `all` client: %d odds frames, %.2f%% marked late (%d posted after a newer odds of their game and provider, %d reordered by the stream; %d posted late but not late on arrival); POST ack -> frame p50 %v, p99 %v, max %v",
				backend, st.odds, 100*float64(st.late)/float64(max(1, st.odds)), st.late-st.lateByStream, st.lateByStream, st.postedLateNotLate,
				percentile(st.delays, 0.5).Round(100*time.Microsecond), percentile(st.delays, 0.99).Round(100*time.Microsecond), percentile(st.delays, 1).Round(100*time.Microsecond))
		}
		if backend == "embedded" && (st.lateByStream != 0 || st.postedLateNotLate != 0) {
			t.Errorf("%s: the embedded log keeps each provider's order, yet %d odds were late only on arrival and %d posted late arrived not late",
				cv.r.name, st.lateByStream, st.postedLateNotLate)
		}
	}
	compareReports(t, want, latestKey, ticks, latest, stored, storeLatest, final)
	t.Logf("%s: every client complete %v after the first post; total %v", backend, delivered.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// clientView follows a client's progress while waiting.
type clientView struct {
	r      *wsReader
	cursor int
	got    map[vkey]int
	want   int
}

// update decodes the frames received since the last call.
func (cv *clientView) update(byCode map[gpKey]vkey) {
	frames := cv.r.since(cv.cursor)
	cv.cursor += len(frames)
	for _, f := range frames {
		var nf nativeFrame
		var o topoOdds
		var rf refFrame
		switch {
		case cv.r.ref && json.Unmarshal(f.data, &rf) == nil:
			if v, ok := byCode[gpKey{rf.GameID, fmt.Sprint(rf.AwayOdds)}]; ok {
				cv.got[v]++
			}
		case !cv.r.ref && json.Unmarshal(f.data, &nf) == nil && nf.Type == "odds" && json.Unmarshal(nf.Odds, &o) == nil:
			cv.got[vkey{keyOf(o), o.Version}]++
		}
	}
}

type refFrame struct {
	GameID   string  `json:"gameId"`
	Away     float64 `json:"away"`
	Home     float64 `json:"home"`
	AwayOdds int     `json:"awayOdds"`
	HomeOdds int     `json:"homeOdds"`
	Date     float64 `json:"date"`
}

// problems reports the first few problems of each kind and counts the rest.
type problems struct {
	t      *testing.T
	client string
	n      map[string]int
}

func (p *problems) add(kind, format string, args ...any) {
	p.t.Helper()
	if p.n[kind]++; p.n[kind] <= 3 {
		p.t.Errorf("%s: %s: %s", p.client, kind, fmt.Sprintf(format, args...))
	}
}

func (p *problems) summary() {
	p.t.Helper()
	for kind, n := range p.n {
		if n > 3 {
			p.t.Errorf("%s: %d × %s in all", p.client, n, kind)
		}
	}
}

// nativeStats are a native client's figures.
type nativeStats struct {
	odds, late, lateByStream, postedLateNotLate int
	delays                                      []time.Duration
	final                                       map[tkey]quote // newest version of each key received
}

// checkNative checks a native client's frames: each version of its topics
// exactly once with its content, nothing else; late exactly where the
// client had a newer odds of the game and provider (feed.Odds.Newer: the
// hub's rule, and these clients get every odds the hub streams);
// correction exactly on versions > 1; seq dense per game; one epoch.
func checkNative(t *testing.T, r *wsReader, want map[vkey]*acked, covers func(*wsReader, string) bool) nativeStats {
	t.Helper()
	p := &problems{t: t, client: r.name, n: map[string]int{}}
	st := nativeStats{final: map[tkey]quote{}}
	got := map[vkey]int{}
	cur, finalV := map[gpKey]vkey{}, map[tkey]int64{}
	last := map[string]uint64{}
	epoch := ""
	for _, f := range r.since(0) {
		var nf nativeFrame
		if err := json.Unmarshal(f.data, &nf); err != nil {
			p.add("undecodable frame", "%s: %v", f.data, err)
			continue
		}
		if nf.Type == "error" {
			p.add("error frame", "%s", f.data)
		}
		if epoch == "" {
			epoch = nf.Epoch
		} else if nf.Epoch != epoch {
			p.add("epoch changed", "%s after %s", nf.Epoch, epoch)
		}
		if nf.GameID != "" {
			if prev, ok := last[nf.GameID]; ok && nf.Type != "snapshot" && nf.Seq != prev+1 {
				p.add("seq gap", "game %s: %s frame seq %d after %d", nf.GameID, nf.Type, nf.Seq, prev)
			}
			last[nf.GameID] = nf.Seq
		}
		var os []topoOdds
		switch nf.Type {
		case "snapshot":
			if len(nf.Odds) > 0 && string(nf.Odds) != "null" {
				if err := json.Unmarshal(nf.Odds, &os); err != nil {
					p.add("bad snapshot", "%s: %v", f.data, err)
				}
			}
		case "odds":
			var o topoOdds
			if err := json.Unmarshal(nf.Odds, &o); err != nil {
				p.add("bad odds frame", "%s: %v", f.data, err)
				continue
			}
			os = []topoOdds{o}
		}
		for _, o := range os {
			v, gp := vkey{keyOf(o), o.Version}, gpKey{o.GameID, o.Provider}
			c, had := cur[gp]
			if !had || newer(v, c) {
				cur[gp] = v
			}
			if nf.Type != "odds" {
				continue
			}
			st.odds++
			if got[v]++; got[v] == 2 {
				p.add("delivered twice", "%+v", v)
			}
			a, ok := want[v]
			switch {
			case !ok:
				p.add("not an acknowledged version", "%s", f.data)
			case quoteOf(o) != a.q:
				p.add("wrong content", "%s, want %+v", f.data, a.q)
			case !covers(r, o.GameID):
				p.add("outside its topics", "%s", f.data)
			default:
				st.delays = append(st.delays, f.at.Sub(a.ackAt))
				if a.postedLate && !nf.Late {
					st.postedLateNotLate++
				}
				if nf.Late && !a.postedLate {
					st.lateByStream++
				}
			}
			if wantLate := had && newer(c, v); nf.Late != wantLate {
				p.add("late flag", "%s: want late=%v (newest before: %v, version %d)", f.data, wantLate, time.Unix(0, c.at).UTC(), c.version)
			}
			if nf.Late {
				st.late++
			}
			if nf.Correction != (o.Version > 1) {
				p.add("correction flag", "%s", f.data)
			}
			if v.version > finalV[v.tkey] {
				st.final[v.tkey], finalV[v.tkey] = quoteOf(o), v.version
			}
		}
	}
	missing := 0
	for v := range want {
		if covers(r, v.game) && got[v] == 0 {
			if missing++; missing <= 3 {
				p.add("missing", "%+v", v)
			}
		}
	}
	p.summary()
	return st
}

// checkReference checks a reference client: every version once, in the
// reference shape, date = the version's receivedAt in epoch seconds.
func checkReference(t *testing.T, r *wsReader, want map[vkey]*acked, byCode map[gpKey]vkey, ticks map[vkey]pgTick) {
	t.Helper()
	p := &problems{t: t, client: r.name, n: map[string]int{}}
	got := map[vkey]int{}
	for _, f := range r.since(0) {
		var fields map[string]json.RawMessage
		var rf refFrame
		if json.Unmarshal(f.data, &fields) != nil || json.Unmarshal(f.data, &rf) != nil || len(fields) != 6 || fields["date"] == nil {
			p.add("not the reference shape", "%s", f.data)
			continue
		}
		v, ok := byCode[gpKey{rf.GameID, fmt.Sprint(rf.AwayOdds)}]
		if !ok {
			p.add("not an acknowledged version", "%s", f.data)
			continue
		}
		if got[v]++; got[v] == 2 {
			p.add("delivered twice", "%s", f.data)
		}
		if a := want[v]; rf.Away != a.q.away || rf.Home != a.q.home || rf.HomeOdds != a.q.homeOdds {
			p.add("wrong content", "%s, want %+v", f.data, a.q)
		}
		if row, ok := ticks[v]; ok && int64(rf.Date) != row.received.Unix() {
			p.add("date", "%s: want %d (receivedAt %v)", f.data, row.received.Unix(), row.received)
		}
	}
	missing := 0
	for v := range want {
		if got[v] == 0 {
			if missing++; missing <= 3 {
				p.add("missing", "%+v", v)
			}
		}
	}
	p.summary()
}

package broadcast

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// oddsFrameOf is a live odds frame with its flags.
type oddsFrameOf struct {
	Type       string    `json:"type"`
	GameID     string    `json:"gameId"`
	Seq        uint64    `json:"seq"`
	Odds       feed.Odds `json:"odds"`
	Late       bool      `json:"late"`
	Correction bool      `json:"correction"`
}

func readOdds(t *testing.T, c *websocket.Conn) oddsFrameOf {
	t.Helper()
	var f oddsFrameOf
	if err := json.Unmarshal(readRaw(t, c), &f); err != nil || f.Type != "odds" {
		t.Fatalf("frame %+v (%v), want odds", f, err)
	}
	return f
}

func insert(o feed.Odds) feed.Change {
	o.Version = max(o.Version, 1)
	kind := feed.ChangeInsert
	if o.Version > 1 {
		kind = feed.ChangeModify
	}
	return feed.Change{Kind: kind, Key: o.Key(), ItemType: feed.TypeOdds, Version: o.Version, NewOdds: &o, At: time.Now()}
}

// publishShuffled publishes changes as the stream may deliver them:
// with duplicates, shuffled but each item's versions in order (Kinesis
// keeps per-key order), through a Guard as the tailer does.
func publishShuffled(h *Hub, rng *rand.Rand, changes []feed.Change) {
	for i := range len(changes) / 5 {
		changes = append(changes, changes[i*5])
	}
	rng.Shuffle(len(changes), func(i, j int) { changes[i], changes[j] = changes[j], changes[i] })
	byKey := map[feed.Key][]int{}
	for i, ch := range changes {
		byKey[ch.Key] = append(byKey[ch.Key], i)
	}
	for _, at := range byKey { // each item's changes in version order, at its places
		vs := make([]feed.Change, len(at))
		for j, i := range at {
			vs[j] = changes[i]
		}
		slices.SortStableFunc(vs, func(a, b feed.Change) int { return cmp.Compare(a.Version, b.Version) })
		for j, i := range at {
			changes[i] = vs[j]
		}
	}
	guard := cdc.NewGuard(cdc.GuardOptions{})
	for _, ch := range changes {
		if guard.Admit(ch) {
			h.Publish(ch)
		}
	}
}

// TestLateAndCorrections: an older odds is pushed marked late and does not
// become the current price; a later version is pushed marked correction
// and replaces its version; seq stays dense.
func TestLateAndCorrections(t *testing.T) {
	e := newEnv(t, Options{})
	c := dial(t, e.url, nil)
	subscribe(t, c, "game:g1")
	if f := read(t, c); f.Type != "snapshot" {
		t.Fatalf("got %+v, want the snapshot", f)
	}
	newer, older := odds("g1", "p", 10), odds("g1", "p", 5)
	newerFix, olderFix := newer, older
	newerFix.AwayOdds, newerFix.Version = 333, 2
	olderFix.HomeOdds, olderFix.Version = -333, 2
	other := odds("g1", "q", 1) // another provider's first: not late
	for _, o := range []feed.Odds{newer, older, newerFix, olderFix, other} {
		e.hub.Publish(insert(o))
	}
	want := []struct {
		o                feed.Odds
		late, correction bool
	}{{newer, false, false}, {older, true, false}, {newerFix, false, true}, {olderFix, true, true}, {other, false, false}}
	for i, w := range want {
		f := readOdds(t, c)
		if f.Seq != uint64(i+1) || !f.Odds.SameContent(w.o) || f.Late != w.late || f.Correction != w.correction {
			t.Fatalf("frame %d = seq %d %+v late %v correction %v; want seq %d %+v late %v correction %v",
				i, f.Seq, f.Odds, f.Late, f.Correction, i+1, w.o, w.late, w.correction)
		}
	}
	// A new subscriber's snapshot holds the current prices: the corrected
	// newest of p, not the late one.
	c2 := dial(t, e.url, nil)
	subscribe(t, c2, "game:g1")
	f := read(t, c2)
	snap := f.snapshot(t)
	if f.Seq != 5 || len(snap) != 2 || !snap[0].SameContent(newerFix) || snap[0].Version != 2 || !snap[1].SameContent(other) {
		t.Fatalf("snapshot seq %d %+v, want seq 5 with p's corrected newest and q's", f.Seq, snap)
	}
}

// TestAnyOrderExactlyOnce: whatever order and however often the stream
// delivers the odds of a game (several providers, corrections, duplicates,
// shuffled), a client gets every version exactly once, marked late exactly
// when it is older than one it already got of the same provider.
func TestAnyOrderExactlyOnce(t *testing.T) {
	e := newEnv(t, Options{History: 4096})
	c := dial(t, e.url, nil)
	subscribe(t, c, "all")
	syncPoint(t, c)

	rng := rand.New(rand.NewPCG(1, 2))
	var changes []feed.Change
	versions := map[string]bool{}
	for _, p := range []string{"a", "b", "c"} {
		for i := range 60 {
			o := odds("g1", p, i)
			o.Version = 1
			changes = append(changes, insert(o))
			versions[fmt.Sprint(o.Provider, o.ObservedAt.UnixNano(), 1)] = true
			if i%7 == 0 { // a correction
				o.AwayOdds, o.Version = o.AwayOdds+50, 2
				changes = append(changes, insert(o))
				versions[fmt.Sprint(o.Provider, o.ObservedAt.UnixNano(), 2)] = true
			}
		}
	}
	publishShuffled(e.hub, rng, changes)

	got := map[string]bool{}
	newest := map[string]feed.Odds{}
	for seq := uint64(1); len(got) < len(versions); seq++ {
		f := readOdds(t, c)
		k := fmt.Sprint(f.Odds.Provider, f.Odds.ObservedAt.UnixNano(), f.Odds.Version)
		switch {
		case !versions[k] || got[k]:
			t.Fatalf("odds %s: unknown or delivered twice", k)
		case f.Seq != seq:
			t.Fatalf("seq %d, want %d", f.Seq, seq)
		}
		got[k] = true
		cur, had := newest[f.Odds.Provider]
		if late := had && cur.Newer(f.Odds); f.Late != late {
			t.Fatalf("odds %s late=%v, want %v (newest before it %v v%d)", k, f.Late, late, cur.ObservedAt, cur.Version)
		}
		if !had || f.Odds.Newer(cur) {
			newest[f.Odds.Provider] = f.Odds
		}
	}
	syncPoint(t, c) // and nothing more
}

// TestSnapshotOddsNotRepeated: odds a snapshot read from the store before
// the stream delivered them reach the clients without that snapshot when
// the stream delivers them, and not again the client that had them.
func TestSnapshotOddsNotRepeated(t *testing.T) {
	e := newEnv(t, Options{})
	all := dial(t, e.url, nil)
	subscribe(t, all, "all")
	syncPoint(t, all)
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putOdds(odds("g1", "p", 1))
	// The stream lags: nothing published yet when game:g1 is subscribed.
	one := dial(t, e.url, nil)
	subscribe(t, one, "game:g1")
	if snap := read(t, one).snapshot(t); len(snap) != 1 || !snap[0].SameContent(odds("g1", "p", 1)) {
		t.Fatalf("snapshot %+v, want the stored odds", snap)
	}
	e.putOdds(odds("g1", "p", 2))
	e.publish() // the game, odds 1, odds 2
	if f := read(t, all); f.Type != "game" {
		t.Fatalf("all: %+v, want the game", f)
	}
	for _, i := range []int{1, 2} {
		if f := readOdds(t, all); !f.Odds.SameContent(odds("g1", "p", i)) || f.Late {
			t.Fatalf("all: %+v, want odds %d", f, i)
		}
	}
	if f := read(t, one); f.Type != "game" {
		t.Fatalf("game:g1: %+v, want the game", f)
	}
	if f := read(t, one); f.Type != "seen" || f.Seq != 2 {
		t.Fatalf("game:g1: %+v, want seq 2 seen (odds 1 was in its snapshot)", f)
	}
	if f := readOdds(t, one); !f.Odds.SameContent(odds("g1", "p", 2)) || f.Seq != 3 {
		t.Fatalf("game:g1: %+v, want odds 2 at seq 3", f)
	}
	syncPoint(t, one)
}

// gateTransport holds every write until open is closed, then records them.
type gateTransport struct {
	open chan struct{}
	mu   sync.Mutex
	got  [][]byte
}

func (g *gateTransport) write(p []byte) error {
	<-g.open
	g.mu.Lock()
	g.got = append(g.got, append([]byte(nil), p...))
	g.mu.Unlock()
	return nil
}
func (g *gateTransport) stuck(int64, time.Duration) bool    { return false }
func (g *gateTransport) close(websocket.StatusCode, string) {}
func (g *gateTransport) abort()                             {}
func (g *gateTransport) frames() int                        { g.mu.Lock(); defer g.mu.Unlock(); return len(g.got) }

// TestConflationKeepsNewestPerQuoteID: a client under pressure keeps the
// newest odds of every series — game, provider, market and period —
// (several providers with skewed clocks, several markets, late odds among
// them), and the seq gap shows; market frames among them are never
// conflated.
func TestConflationKeepsNewestPerQuoteID(t *testing.T) {
	hub := New(nil, Options{QueueBytes: 4 << 10, HardQueueBytes: 8 << 20})
	tr := &gateTransport{open: make(chan struct{})}
	c := newClient(hub, tr, false)
	if !hub.register(c) {
		t.Fatal("register")
	}
	hub.mu.Lock()
	hub.addTopicLocked(c, topic{kind: topicAll})
	hub.mu.Unlock()
	go c.writeLoop()
	t.Cleanup(func() { c.abort(); <-c.writerDone; hub.wg.Done() })

	skew := map[string]time.Duration{"early": -30 * time.Second, "mid": 0, "ahead": 10 * time.Second}
	rng := rand.New(rand.NewPCG(3, 4))
	newest := map[string]feed.Odds{}
	var statuses []int64 // versions of g0's total/full market published
	published := 0
	for i := range 300 {
		g := fmt.Sprintf("g%d", i%4)
		for p, d := range skew {
			for _, s := range testSeries {
				o := quote(g, p, s.m, s.p, i)
				o.ObservedAt = o.ObservedAt.Add(d)
				if rng.IntN(5) == 0 { // late: observed before ones already sent (at an instant of its own)
					o.ObservedAt = o.ObservedAt.Add(-time.Duration(1+rng.IntN(20))*time.Second - time.Duration(i+1)*time.Microsecond)
				}
				o.Version = 1
				hub.Publish(insert(o))
				published++
				if cur, ok := newest[o.QuoteID()]; !ok || o.Newer(cur) {
					newest[o.QuoteID()] = o
				}
			}
		}
		if i%40 == 0 {
			v := int64(len(statuses) + 1)
			hub.Publish(marketChange(marketStatus("g0", feed.MarketTotal, "", feed.MarketOpen, v)))
			statuses = append(statuses, v)
		}
	}
	close(tr.open)
	// The writer drains what the queue kept; a sync marker tells the end.
	hub.reply(c, "end")
	waitFor(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.got) > 0 && string(tr.got[len(tr.got)-1]) != "" && json.Valid(tr.got[len(tr.got)-1]) &&
			jsonType(tr.got[len(tr.got)-1]) == "error"
	})
	kept := map[string]feed.Odds{}
	var seqs []uint64
	var gotStatuses []int64
	for _, b := range tr.got[:len(tr.got)-1] {
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case "providers":
			continue
		case "market":
			gotStatuses = append(gotStatuses, f.Market.Version)
		case "odds":
			o := f.odds(t)
			if cur, ok := kept[o.QuoteID()]; !ok || o.Newer(cur) {
				kept[o.QuoteID()] = o
			}
		default:
			t.Fatalf("frame %s", b)
		}
		if f.GameID == "g0" {
			seqs = append(seqs, f.Seq)
		}
	}
	for k, want := range newest {
		if got, ok := kept[k]; !ok || !got.ObservedAt.Equal(want.ObservedAt) || !got.SameContent(want) {
			t.Fatalf("%s: the client's newest is %+v, want %+v", k, got, want)
		}
	}
	if len(kept) != 4*len(skew)*len(testSeries) {
		t.Fatalf("the client has %d series, want %d", len(kept), 4*len(skew)*len(testSeries))
	}
	if fmt.Sprint(gotStatuses) != fmt.Sprint(statuses) {
		t.Fatalf("market frames %v, want every one %v", gotStatuses, statuses)
	}
	if s := hub.Stats(); s.Conflated == 0 || tr.frames()-2 >= published {
		t.Fatalf("stats %+v, %d of %d frames: want conflation", s, tr.frames()-2, published)
	}
	gap := false
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("g0 seqs not increasing: %v", seqs)
		}
		gap = gap || seqs[i] > seqs[i-1]+1
	}
	if !gap {
		t.Fatalf("g0 seqs %v show no gap after conflation", seqs)
	}
	t.Logf("%d published, %d delivered, %d conflated", published, tr.frames()-2, hub.Stats().Conflated)
}

func jsonType(b []byte) string {
	var v struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(b, &v)
	return v.Type
}

// TestExpiredOddsLeaveSnapshots: a REMOVE (a TTL expiry) of a provider's
// current odds reaches no client, and later snapshots no longer carry it.
func TestExpiredOddsLeaveSnapshots(t *testing.T) {
	e := newEnv(t, Options{})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putOdds(odds("g1", "p", 1), odds("g1", "q", 2))
	e.publish()
	c := dial(t, e.url, nil)
	subscribe(t, c, "all")
	if snap := read(t, c).snapshot(t); len(snap) != 2 {
		t.Fatalf("snapshot %+v, want p's and q's odds", snap)
	}
	gone := odds("g1", "p", 1)
	gone.Version = 1
	e.hub.Publish(feed.Change{Kind: feed.ChangeRemove, Key: gone.Key(), ItemType: feed.TypeOdds, Version: 1,
		OldOdds: &gone, Expired: true})
	syncPoint(t, c) // nothing was sent for the expiry

	c2 := dial(t, e.url, nil)
	subscribe(t, c2, "sport:soccer")
	if snap := read(t, c2).snapshot(t); len(snap) != 1 || snap[0].Provider != "q" {
		t.Fatalf("snapshot after p's odds expired: %+v, want q's only", snap)
	}
}

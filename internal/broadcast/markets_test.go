package broadcast

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// testSeries are the markets and periods the tests quote: the full-game
// spread (the reference's odds) and four others.
var testSeries = []struct {
	m feed.Market
	p feed.Period
}{{"", ""}, {feed.MarketTotal, ""}, {feed.MarketTotal, feed.PeriodFirstHalf}, {feed.MarketMoneyline, ""}, {feed.MarketThreeWay, ""}}

// quote is odds(gameID, provider, i) as a valid quote of market m, period p.
func quote(gameID, provider string, m feed.Market, p feed.Period, i int) feed.Odds {
	o := odds(gameID, provider, i)
	o.Market, o.Period = m, p
	o.Normalize()
	switch m.Or() {
	case feed.MarketMoneyline:
		o.AwaySpread, o.HomeSpread = 0, 0
	case feed.MarketThreeWay:
		o.AwaySpread, o.HomeSpread, o.DrawOdds = 0, 0, 200+i
	case feed.MarketTotal:
		o.AwaySpread, o.HomeSpread, o.AwayOdds, o.HomeOdds = 0, 0, 0, 0
		o.Line, o.OverOdds, o.UnderOdds = 40.5, -105-i, -115
	}
	return o
}

func marketStatus(gameID string, m feed.Market, p feed.Period, state feed.MarketState, version int64) feed.MarketStatus {
	s := feed.MarketStatus{GameID: gameID, Market: m.Or(), Period: p.Or(), State: state, By: "p",
		At: t0.Add(time.Duration(version) * time.Second), Version: version, UpdatedAt: t0}
	if state == feed.MarketSuspended {
		s.Reason = feed.ReasonBetStop
	}
	return s
}

func marketChange(s feed.MarketStatus) feed.Change {
	kind := feed.ChangeModify
	if s.Version == 1 {
		kind = feed.ChangeInsert
	}
	return feed.Change{Kind: kind, Key: s.Key(), ItemType: feed.TypeMarket, Version: s.Version, NewMarket: &s, At: time.Now()}
}

func providerChange(s feed.ProviderStatus) feed.Change {
	return feed.Change{Kind: feed.ChangeModify, Key: s.Key(), ItemType: feed.TypeProvider, Version: s.Version, NewProvider: &s, At: time.Now()}
}

// TestQuotesAnyOrderExactlyOncePerQuoteID: quotes of several markets and
// periods from several providers, with corrections and duplicates,
// shuffled as the stream may deliver them: a client gets every version
// exactly once, with a dense seq, marked late exactly when it is older
// than one it already got of the same QuoteID (game, provider, market,
// period) — a newer quote of another market never makes one late.
func TestQuotesAnyOrderExactlyOncePerQuoteID(t *testing.T) {
	e := newEnv(t, Options{History: 4096})
	c := dial(t, e.url, nil)
	subscribe(t, c, "all")
	syncPoint(t, c)

	rng := rand.New(rand.NewPCG(5, 6))
	var changes []feed.Change
	versions := map[string]bool{}
	key := func(o feed.Odds) string { return fmt.Sprint(o.QuoteID(), o.ObservedAt.UnixNano(), o.Version) }
	for _, p := range []string{"a", "b", "c"} {
		for _, s := range testSeries {
			for i := range 20 {
				o := quote("g1", p, s.m, s.p, i)
				o.Version = 1
				changes = append(changes, insert(o))
				versions[key(o)] = true
				if i%7 == 0 { // a correction
					o.AwayOdds, o.OverOdds, o.Version = 0, 0, 2
					if s.m == feed.MarketTotal {
						o.OverOdds = -150
					} else {
						o.AwayOdds = 333
					}
					changes = append(changes, insert(o))
					versions[key(o)] = true
				}
			}
		}
	}
	publishShuffled(e.hub, rng, changes)

	got := map[string]bool{}
	newest := map[string]feed.Odds{}
	lates := 0
	for seq := uint64(1); len(got) < len(versions); seq++ {
		f := readOdds(t, c)
		k := key(f.Odds)
		switch {
		case !versions[k] || got[k]:
			t.Fatalf("odds %s: unknown or delivered twice", k)
		case f.Seq != seq:
			t.Fatalf("seq %d, want %d", f.Seq, seq)
		case f.Correction != (f.Odds.Version > 1):
			t.Fatalf("odds %s correction=%v", k, f.Correction)
		}
		got[k] = true
		cur, had := newest[f.Odds.QuoteID()]
		if late := had && cur.Newer(f.Odds); f.Late != late {
			t.Fatalf("odds %s late=%v, want %v (newest of its series before it %v v%d)", k, f.Late, late, cur.ObservedAt, cur.Version)
		}
		if f.Late {
			lates++
		}
		if !had || f.Odds.Newer(cur) {
			newest[f.Odds.QuoteID()] = f.Odds
		}
	}
	syncPoint(t, c) // and nothing more
	if lates == 0 {
		t.Fatal("the shuffle made no odds late: the test shows nothing")
	}
	// A new subscriber's snapshot: the newest of every series.
	c2 := dial(t, e.url, nil)
	subscribe(t, c2, "game:g1")
	snap := read(t, c2).snapshot(t)
	if len(snap) != len(newest) {
		t.Fatalf("snapshot of %d quotes, want %d (one per series)", len(snap), len(newest))
	}
	for _, o := range snap {
		if w := newest[o.QuoteID()]; !o.SameContent(w) || o.Version != w.Version {
			t.Fatalf("snapshot %s: %+v, want %+v", o.QuoteID(), o, w)
		}
	}
}

// TestMarketFramesShareSeq: market status changes take their game's seq,
// dense with its odds and game changes, reach the subscribers of all, the
// sport and the game, and are replayed by a resume with since; a status
// older than the hub's is still pushed (every version once) but does not
// replace the current one in snapshots. The reference client gets none of
// it, nor quotes other than full-game spreads.
func TestMarketFramesShareSeq(t *testing.T) {
	e := newEnv(t, Options{})
	ref := dial(t, e.url+"?client=r1", nil)
	all, sport, one, other := dial(t, e.url, nil), dial(t, e.url, nil), dial(t, e.url, nil), dial(t, e.url, nil)
	subscribe(t, all, "all")
	subscribe(t, sport, "sport:soccer")
	subscribe(t, one, "game:g1")
	subscribe(t, other, "game:g2")
	for _, c := range []*websocket.Conn{one, other} { // snapshots of games not known yet
		if f := read(t, c); f.Type != "snapshot" || len(f.Markets) != 0 {
			t.Fatalf("got %+v, want an empty snapshot", f)
		}
	}
	for _, c := range []*websocket.Conn{all, sport} {
		syncPoint(t, c)
	}
	waitFor(t, func() bool { return e.hub.Stats().Clients == 5 })

	g := game("g1", "soccer", feed.StatusLive)
	spread, total := quote("g1", "p", "", "", 1), quote("g1", "p", feed.MarketTotal, "", 2)
	spread.Version, total.Version = 1, 1
	suspended := marketStatus("g1", feed.MarketTotal, "", feed.MarketSuspended, 2)
	open := marketStatus("g1", feed.MarketTotal, "", feed.MarketOpen, 1) // older: arrives after
	e.hub.Publish(feed.Change{Kind: feed.ChangeInsert, Key: g.Key(), ItemType: feed.TypeGame, Version: 1, NewGame: &g})
	e.hub.Publish(insert(spread))
	e.hub.Publish(marketChange(suspended))
	e.hub.Publish(insert(total))
	e.hub.Publish(marketChange(open))

	want := []struct {
		typ     string
		version int64 // of the market
	}{{"game", 0}, {"odds", 0}, {"market", 2}, {"odds", 0}, {"market", 1}}
	for name, c := range map[string]*websocket.Conn{"all": all, "sport": sport, "game": one} {
		for i, w := range want {
			f := read(t, c)
			if f.Type != w.typ || f.GameID != "g1" || f.Seq != uint64(i+1) || (w.typ == "market" && f.Market.Version != w.version) {
				t.Fatalf("%s: frame %d = %+v, want %s seq %d", name, i, f, w.typ, i+1)
			}
			if w.typ == "market" && (f.Market.Market != feed.MarketTotal || f.Market.Period != feed.PeriodFull || f.Market.GameID != "g1") {
				t.Fatalf("%s: market frame %+v", name, f.Market)
			}
		}
		syncPoint(t, c)
	}
	syncPoint(t, other) // g2's subscriber got nothing of g1

	// The reference client: the full-game spread only, in its own shape.
	wantRef := fmt.Sprintf(`{"gameId":"g1","away":%v,"home":%v,"awayOdds":%d,"homeOdds":%d,"date":%d}`,
		spread.AwaySpread, spread.HomeSpread, spread.AwayOdds, spread.HomeOdds, spread.ReceivedAt.Unix())
	if got := string(readRaw(t, ref)); got != wantRef {
		t.Fatalf("reference client got %s, want %s", got, wantRef)
	}
	expectNothing(t, ref, 300*time.Millisecond)

	// A snapshot holds the newest status (version 2), not the late one.
	c := dial(t, e.url, nil)
	subscribe(t, c, "game:g1")
	f := read(t, c)
	if f.Type != "snapshot" || f.Seq != 5 || len(f.Markets) != 1 || f.Markets[0].Version != 2 || f.Markets[0].State != feed.MarketSuspended ||
		len(f.snapshot(t)) != 2 {
		t.Fatalf("snapshot %+v, want seq 5 with the suspended total and two quotes", f)
	}
	// A resume with since replays the market frames from the ring.
	r := dial(t, e.url, nil)
	send(t, r, map[string]any{"type": "subscribe", "topics": []string{"game:g1"}, "since": map[string]uint64{"g1": 2}, "epoch": e.hub.Epoch()})
	for i, typ := range []string{"market", "odds", "market"} {
		if f := read(t, r); f.Type != typ || f.Seq != uint64(i+3) {
			t.Fatalf("replay frame %d = %+v, want %s seq %d", i, f, typ, i+3)
		}
	}
	syncPoint(t, r)
}

// TestProviderFramesToEveryConnection: every analyst connection starts
// with a providers frame (the providers stored before the hub started
// included), then gets every provider change, whatever its topics, with
// the hub's provider seq, dense; a version not newer than the one sent is
// not sent again. The reference client gets none of it.
func TestProviderFramesToEveryConnection(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	if _, _, err := e.st.Heard(ctx, "acme", t0); err != nil {
		t.Fatal(err)
	}
	e.skip() // stored before the hub started: the stream will not deliver it

	ref := dial(t, e.url+"?client=r1", nil)
	var conns []*websocket.Conn
	for i, topics := range [][]string{nil, {"all"}, {"game:g1"}, {"sport:soccer"}} {
		c := dialRaw(t, e.url, nil)
		f := read(t, c)
		if f.Type != "providers" || f.Seq != 1 || len(f.Providers) != 1 || f.Providers[0].Provider != "acme" || f.Providers[0].State != feed.ProviderUp {
			t.Fatalf("connection %d: first frame %+v, want providers with acme up at seq 1", i, f)
		}
		if topics != nil {
			subscribe(t, c, topics...)
		}
		if i == 2 { // game:<id> always gets a snapshot
			if f := read(t, c); f.Type != "snapshot" {
				t.Fatalf("connection %d: %+v, want the snapshot of g1", i, f)
			}
		}
		syncPoint(t, c)
		conns = append(conns, c)
	}

	// acme goes down, bolt is heard: from the store through the change log.
	if _, _, err := e.st.MarkProviderDown(ctx, "acme", t0, t0.Add(time.Minute), "replica-a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.Heard(ctx, "bolt", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.publish()
	stale := feed.ProviderStatus{Provider: "acme", State: feed.ProviderUp, LastHeard: t0, Version: 1}
	e.hub.Publish(providerChange(stale)) // older than what was sent: not sent again
	for i, c := range conns {
		f := read(t, c)
		if f.Type != "provider" || f.Seq != 2 || f.Provider.Provider != "acme" || f.Provider.State != feed.ProviderDown ||
			!f.Provider.DownAt.Equal(t0.Add(time.Minute)) || f.Provider.DecidedBy != "replica-a" {
			t.Fatalf("connection %d: %+v, want acme down at seq 2", i, f)
		}
		if f := read(t, c); f.Type != "provider" || f.Seq != 3 || f.Provider.Provider != "bolt" || f.Provider.State != feed.ProviderUp {
			t.Fatalf("connection %d: %+v, want bolt up at seq 3", i, f)
		}
		syncPoint(t, c)
	}
	expectNothing(t, ref, 300*time.Millisecond)

	// A new connection starts from the current state, at seq 3.
	c := dialRaw(t, e.url, nil)
	f := read(t, c)
	if f.Type != "providers" || f.Seq != 3 || len(f.Providers) != 2 || f.Providers[0].Provider != "acme" ||
		f.Providers[0].State != feed.ProviderDown || f.Providers[1].Provider != "bolt" {
		t.Fatalf("first frame %+v, want acme down and bolt up at seq 3", f)
	}
}

// TestSnapshotCarriesMarkets: a game's snapshot read from the store carries
// its markets' statuses and the newest quote of every provider, market and
// period; when the lagging stream then delivers them, the clients that had
// them in that snapshot get "seen" frames in their place (seq dense), the
// others the frames.
func TestSnapshotCarriesMarkets(t *testing.T) {
	e := newEnv(t, Options{})
	all := dial(t, e.url, nil)
	subscribe(t, all, "all")
	syncPoint(t, all)
	ctx := context.Background()
	e.putGame(game("g1", "soccer", feed.StatusLive))
	var quotes []feed.Odds
	for _, s := range testSeries {
		for _, p := range []string{"a", "b"} {
			quotes = append(quotes, quote("g1", p, s.m, s.p, 1), quote("g1", p, s.m, s.p, 2))
		}
	}
	e.putOdds(quotes...)
	suspend := feed.MarketChange{GameID: "g1", Market: feed.MarketTotal, Period: feed.PeriodFirstHalf, Action: feed.ActionSuspend,
		Reason: feed.ReasonBetStop, At: t0.Add(3 * time.Second), By: "a"}
	if _, effect, err := e.st.PutMarketChange(ctx, suspend); err != nil || effect != feed.Applied {
		t.Fatalf("put market change: %v %v", effect, err)
	}
	// The stream lags: nothing published yet when game:g1 is subscribed.
	one := dial(t, e.url, nil)
	subscribe(t, one, "game:g1")
	f := read(t, one)
	snap := f.snapshot(t)
	if f.Type != "snapshot" || len(f.Markets) != 1 || f.Markets[0].State != feed.MarketSuspended || f.Markets[0].Reason != feed.ReasonBetStop ||
		f.Markets[0].Market != feed.MarketTotal || f.Markets[0].Period != feed.PeriodFirstHalf {
		t.Fatalf("snapshot %+v, want the suspended total/1h", f)
	}
	if len(snap) != 2*len(testSeries) {
		t.Fatalf("snapshot of %d quotes, want %d (each provider's newest of each series)", len(snap), 2*len(testSeries))
	}
	for _, o := range snap {
		if want := quote("g1", o.Provider, o.Market, o.Period, 2); !o.SameContent(want) {
			t.Fatalf("snapshot quote %+v, want %+v", o, want)
		}
	}

	n := e.publish() // the game, the quotes, the market
	// all gets every frame; game:g1 the game, then a seen frame for each
	// quote 1 (not its series' newest: a frame), quote 2 and the market
	// it had.
	seen, frames := 0, 0
	for seq := uint64(1); seq <= uint64(n); seq++ {
		fa := read(t, all)
		if fa.Seq != seq || fa.Type == "seen" {
			t.Fatalf("all: %+v, want seq %d", fa, seq)
		}
		fo := read(t, one)
		if fo.Seq != seq {
			t.Fatalf("game:g1: %+v, want seq %d", fo, seq)
		}
		switch {
		case fo.Type == "seen":
			seen++
			if fa.Type == "odds" && fa.odds(t).ObservedAt.Equal(t0.Add(time.Second)) {
				t.Fatalf("game:g1 had no quote 1 in its snapshot but got seen for %+v", fa)
			}
		case fo.Type != fa.Type:
			t.Fatalf("game:g1 %+v where all got %+v", fo, fa)
		default:
			frames++
		}
	}
	if want := len(snap) + 1; seen != want || frames != n-want {
		t.Fatalf("game:g1 got %d seen frames and %d others, want %d and %d (seen: its snapshot's quotes and market)", seen, frames, want, n-want)
	}
	syncPoint(t, all)
	syncPoint(t, one)
}

// TestResumeMissedQuotesOfEveryMarket: a client resuming with sinceTime
// across a restart gets, in its reset snapshot, the quotes of every market
// and period it missed (read from the store) and the game's markets.
func TestResumeMissedQuotesOfEveryMarket(t *testing.T) {
	e := newEnv(t, Options{})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	var before, missed []feed.Odds
	for _, s := range testSeries {
		before = append(before, quote("g1", "a", s.m, s.p, 1))
		missed = append(missed, quote("g1", "a", s.m, s.p, 2), quote("g1", "b", s.m, s.p, 3))
	}
	e.putOdds(before...)
	e.publish()
	// The server restarts; meanwhile the quotes the client misses are
	// stored, and a market is suspended.
	e.restart(Options{}, nil)
	e.putOdds(missed...)
	suspend := feed.MarketChange{GameID: "g1", Market: feed.MarketThreeWay, Action: feed.ActionSuspend,
		Reason: feed.ReasonBetStop, At: t0.Add(3 * time.Second), By: "a"}
	if _, _, err := e.st.PutMarketChange(context.Background(), suspend); err != nil {
		t.Fatal(err)
	}
	e.skip()
	c := dial(t, e.url, nil)
	send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
		"sinceTime": map[string]string{"g1": t0.Add(time.Second).Format(time.RFC3339Nano)}})
	f := read(t, c)
	if f.Type != "snapshot" || !f.Reset || f.Truncated || len(f.Markets) != 1 || f.Markets[0].Market != feed.MarketThreeWay ||
		f.Markets[0].State != feed.MarketSuspended {
		t.Fatalf("got %+v, want a reset snapshot with the suspended three-way market", f)
	}
	if len(f.Missed) != len(missed) {
		t.Fatalf("missed %d quotes, want %d: %+v", len(f.Missed), len(missed), f.Missed)
	}
	want := map[string]bool{}
	for _, o := range missed {
		want[fmt.Sprint(o.QuoteID(), o.ObservedAt.UnixNano())] = true
	}
	for _, o := range f.Missed {
		if !want[fmt.Sprint(o.QuoteID(), o.ObservedAt.UnixNano())] {
			t.Fatalf("missed %+v: not one missed", o)
		}
	}
	if len(f.snapshot(t)) != 2*len(testSeries) {
		t.Fatalf("snapshot of %d quotes, want %d", len(f.snapshot(t)), 2*len(testSeries))
	}
}

package embedded

import (
	"reflect"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// testQuote returns a quote of market m (period p) of testOdds i.
func testQuote(gameID, provider string, m feed.Market, p feed.Period, i int) feed.Odds {
	o := testOdds(gameID, provider, i)
	o.Market, o.Period = m, p
	switch m.Or() {
	case feed.MarketSpread:
		return o
	case feed.MarketThreeWay:
		o.DrawOdds = 250 + i
	case feed.MarketTotal:
		o.AwayOdds, o.HomeOdds = 0, 0
		o.Line, o.OverOdds, o.UnderOdds = 44.5, -110, -105-i
	}
	o.AwaySpread, o.HomeSpread = 0, 0
	return o
}

// TestStatusItemsInChangeLog: market status and provider liveness
// writes, and quotes of other markets, are logged as INSERTs and MODIFYs
// with their images, the same from memory and from disk; a lease and a
// write the rules refuse log nothing.
func TestStatusItemsInChangeLog(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour})
	mustPutGame(t, s, testGame("g1"))
	start := lastSeq(t, s)
	ctx := t.Context()

	suspend := feed.MarketChange{GameID: "g1", Market: feed.MarketTotal, Action: feed.ActionSuspend,
		Reason: feed.ReasonBetStop, At: t0, By: "p1"}
	m1, eff, err := s.PutMarketChange(ctx, suspend)
	if err != nil || eff != feed.Applied || m1.Version != 1 || m1.State != feed.MarketSuspended {
		t.Fatalf("PutMarketChange(suspend) = %+v, %v, %v", m1, eff, err)
	}
	if _, eff, err := s.PutMarketChange(ctx, suspend); err != nil || eff != feed.Repeated {
		t.Fatalf("PutMarketChange(again) = %v, %v; want repeated", eff, err)
	}
	resume := suspend
	resume.Action, resume.Reason, resume.At = feed.ActionResume, "", t0.Add(time.Second)
	m2, _, err := s.PutMarketChange(ctx, resume)
	if err != nil || m2.Version != 2 {
		t.Fatalf("PutMarketChange(resume) = %+v, %v", m2, err)
	}
	p1, _, err := s.Heard(ctx, "p1", t0)
	if err != nil {
		t.Fatalf("Heard: %v", err)
	}
	if _, written, err := s.Heard(ctx, "p1", t0.Add(time.Millisecond)); err != nil || written {
		t.Fatalf("Heard within the granularity: written %v, %v", written, err)
	}
	p2, _, err := s.MarkProviderDown(ctx, "p1", t0, t0.Add(time.Minute), "r1")
	if err != nil || p2.State != feed.ProviderDown {
		t.Fatalf("MarkProviderDown = %+v, %v", p2, err)
	}
	if _, held, err := s.AcquireLease(ctx, "liveness", "r1", t0, time.Second); err != nil || !held {
		t.Fatalf("AcquireLease = %v, %v", held, err)
	}
	if _, held, err := s.AcquireLease(ctx, "liveness", "r2", t0, time.Second); err != nil || held {
		t.Fatalf("AcquireLease by another = %v, %v; want not held", held, err)
	}
	q := testQuote("g1", "p1", feed.MarketThreeWay, feed.PeriodFirstHalf, 1)
	mustPutOdds(t, s, []feed.Odds{q})
	fix := q
	fix.DrawOdds++
	mustPutOdds(t, s, []feed.Odds{fix})

	mem := changesAfter(t, s, start, 0)
	disk, err := s.readLog(start, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mem, disk) {
		t.Fatalf("tail %+v\nlog  %+v", mem, disk)
	}
	q.Version, fix.Version = 1, 2
	wants := []struct {
		kind     feed.ChangeKind
		itemType string
		key      feed.Key
		version  int64
		check    func(c feed.Change) bool
	}{
		{feed.ChangeInsert, feed.TypeMarket, m1.Key(), 1, func(c feed.Change) bool {
			return reflect.DeepEqual(c.NewMarket, &m1) && c.OldMarket == nil
		}},
		{feed.ChangeModify, feed.TypeMarket, m1.Key(), 2, func(c feed.Change) bool {
			return reflect.DeepEqual(c.NewMarket, &m2) && reflect.DeepEqual(c.OldMarket, &m1)
		}},
		{feed.ChangeInsert, feed.TypeProvider, p1.Key(), 1, func(c feed.Change) bool {
			return reflect.DeepEqual(c.NewProvider, &p1) && c.OldProvider == nil
		}},
		{feed.ChangeModify, feed.TypeProvider, p1.Key(), 2, func(c feed.Change) bool {
			return reflect.DeepEqual(c.NewProvider, &p2) && reflect.DeepEqual(c.OldProvider, &p1)
		}},
		// No lease: its renewals stay out of the log (one process opens an
		// embedded store; no consumer reads them).
		{feed.ChangeInsert, feed.TypeOdds, q.Key(), 1, func(c feed.Change) bool {
			return c.NewOdds != nil && c.NewOdds.SameContent(q) && c.NewOdds.Version == 1
		}},
		{feed.ChangeModify, feed.TypeOdds, q.Key(), 2, func(c feed.Change) bool {
			return c.NewOdds != nil && c.NewOdds.SameContent(fix) && c.OldOdds.SameContent(q)
		}},
	}
	if len(mem) != len(wants) {
		t.Fatalf("%d changes, want %d: %+v", len(mem), len(wants), mem)
	}
	for i, w := range wants {
		c := mem[i]
		if c.Kind != w.kind || c.ItemType != w.itemType || c.Key != w.key || c.Version != w.version || !w.check(c) {
			t.Fatalf("change %d = %+v", i, c)
		}
	}
	// The quote is keyed as feed keys it, not as a spread.
	if q.Key().SK == feed.OddsSK(q.ObservedAt, q.Provider) {
		t.Fatalf("quote key %v is a spread's", q.Key())
	}
}

// TestExpireQuotes: quotes expire as spreads do, each series' latest entry
// moving to its newest quote left; statuses, providers and leases never
// expire.
func TestExpireQuotes(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1})
	mustPutGame(t, s, testGame("g1"))
	old := testQuote("g1", "p1", feed.MarketTotal, "", 1)
	newer := testQuote("g1", "p1", feed.MarketTotal, "", 2)
	spread := testOdds("g1", "p1", 3)
	old.ReceivedAt = t0.Add(30 * time.Minute) // expires last
	newer.ReceivedAt, spread.ReceivedAt = t0, t0
	mustPutOdds(t, s, []feed.Odds{old, newer, spread})
	ctx := t.Context()
	if _, _, err := s.PutMarketChange(ctx, feed.MarketChange{GameID: "g1", Market: feed.MarketTotal, Action: feed.ActionClose, At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Heard(ctx, "p1", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AcquireLease(ctx, "l", "r1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Hour + 2*time.Second))
	mustExpire(t, s, 2)

	quotes, err := s.LatestQuotes(ctx, "g1")
	if err != nil || len(quotes) != 1 || !quotes[0].SameContent(old) {
		t.Fatalf("LatestQuotes after expiry = %+v, %v; want the older total", quotes, err)
	}
	if _, err := s.LatestOdds(ctx, "g1", ""); err == nil {
		t.Fatal("LatestOdds: the spread expired")
	}
	if ms, err := s.Markets(ctx, "g1"); err != nil || len(ms) != 1 {
		t.Fatalf("Markets = %+v, %v", ms, err)
	}
	if ps, err := s.Providers(ctx); err != nil || len(ps) != 1 {
		t.Fatalf("Providers = %+v, %v", ps, err)
	}
	if l, held, err := s.AcquireLease(ctx, "l", "r2", t0.Add(time.Minute), time.Hour); err != nil || held || l.Holder != "r1" {
		t.Fatalf("lease = %+v, %v, %v; want r1's", l, held, err)
	}
	clk.Set(t0.Add(2 * time.Hour))
	mustExpire(t, s, 1)
	if quotes, err := s.LatestQuotes(ctx, "g1"); err != nil || len(quotes) != 0 {
		t.Fatalf("LatestQuotes = %+v, %v; want none", quotes, err)
	}
	page, err := s.ListOdds(ctx, store.OddsRange{GameID: "g1", AllMarkets: true})
	if err != nil || len(page.Odds) != 0 {
		t.Fatalf("ListOdds = %+v, %v; want none", page, err)
	}
}

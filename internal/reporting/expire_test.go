package reporting_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// A retention that ends inside a day: Expire deletes the quotes observed
// before the cutoff, in batches, from the cutoff's day partition and the
// archive, and the latest_odds rows whose newest quote is older; a quote
// at the cutoff or after stays, and so does a latest row that moved past
// the cutoff. A quote older than the cutoff that arrives late (a replay)
// goes at the next run.
func TestExpireWithinADay(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	parts := reporting.NewPartitions(pool)
	s := reporting.NewSync(pool, reporting.SyncOptions{Partitions: parts})
	cutoff := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	// A first run on the empty schema moves the archive's bound to the
	// cutoff's day: older quotes go to the archive.
	if e, err := parts.Expire(ctx, cutoff, 2); err != nil || e.Ticks != 0 || e.Latest != 0 {
		t.Fatalf("first run: %+v, %v", e, err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	corrected := quote("g1", "acme", at(11, 0), feed.MarketSpread, "", -110, -110)
	corrected.Version = 2
	mustApply(t, s, batch("s", 1,
		oddsInsert(quote("g1", "acme", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), feed.MarketSpread, "", -105, -115)), // archive
		oddsInsert(quote("g3", "acme", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), feed.MarketSpread, "", -105, -115)),    // archive
		oddsInsert(quote("g1", "acme", at(11, 0), feed.MarketSpread, "", -105, -115)),
		oddsInsert(corrected),
		oddsInsert(quote("g1", "acme", at(11, 30), feed.MarketTotal, "", -110, -110)),
		oddsInsert(quote("g1", "acme", cutoff.Add(-time.Nanosecond), feed.MarketMoneyline, "", 150, -170)),
		oddsInsert(quote("g2", "acme", at(10, 0), feed.MarketThreeWay, "", 200, 230, 140)),
		oddsInsert(quote("g1", "acme", cutoff, feed.MarketSpread, "", -120, 100)), // kept: at the cutoff
		oddsInsert(quote("g1", "acme", at(13, 0), feed.MarketTotal, "", -115, -105)),
	))
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks_archive"); n != 2 {
		t.Fatalf("%d ticks in the archive, want 2", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM latest_odds"); n != 5 {
		t.Fatalf("%d latest rows, want 5", n)
	}
	// Batches of 2: the archive's 2 ticks, the day's 5, the latest rows
	// of g1's moneyline, g2 and g3.
	e, err := parts.Expire(ctx, cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Dropped) != 0 || e.Ticks != 7 || e.Latest != 3 {
		t.Fatalf("expired %+v, want 7 ticks and 3 latest rows", e)
	}
	if got := quoteRows(t, pool, "odds_ticks", "g1"); got != "acme:spread:full:1:-120:100:0:0:0:0 acme:total:full:1:0:0:0:45.5:-115:-105" {
		t.Fatalf("g1's ticks left: %s", got)
	}
	if got := quoteRows(t, pool, "latest_odds", "g1"); got != "acme:spread:full:1:-120:100:0:0:0:0 acme:total:full:1:0:0:0:45.5:-115:-105" {
		t.Fatalf("g1's latest rows left: %s", got)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks WHERE game_id <> 'g1'") + count(t, pool, "SELECT count(*) FROM latest_odds WHERE game_id <> 'g1'"); n != 0 {
		t.Fatalf("%d rows of g2 and g3 left", n)
	}
	// Again: nothing to do. A late quote from before the cutoff comes in
	// and goes at the next run.
	if e, err := parts.Expire(ctx, cutoff, 2); err != nil || e.Ticks != 0 || e.Latest != 0 {
		t.Fatalf("second run: %+v, %v", e, err)
	}
	mustApply(t, s, batch("s", 10, oddsInsert(quote("g2", "acme", at(11, 45), feed.MarketThreeWay, "", 210, 230, 130))))
	if e, err := parts.Expire(ctx, cutoff, 2); err != nil || e.Ticks != 1 || e.Latest != 1 {
		t.Fatalf("run after a late quote: %+v, %v", e, err)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 2 {
		t.Fatalf("%d ticks left, want 2", n)
	}
	// Market statuses, settlements and outages are not odds: not touched
	// (their tables are not read here; Expire names only quote tables).
}

// Maintain with a retention shorter than a day removes what is older, at
// row level, one row per statement here; what is newer stays until it
// ages past the retention.
func TestMaintainShortRetention(t *testing.T) {
	_, pool := newDB(t)
	parts := reporting.NewPartitions(pool)
	s := reporting.NewSync(pool, reporting.SyncOptions{Partitions: parts})
	var skew atomic.Int64 // the clock's lead over the real one
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	t0 := time.Now().UTC()
	mustApply(t, s, batch("s", 1,
		oddsInsert(quote("old", "acme", t0.Add(-time.Minute), feed.MarketSpread, "", -105, -115)),
		oddsInsert(quote("old", "acme", t0.Add(-time.Minute), feed.MarketTotal, "", -110, -110)),
		oddsInsert(quote("new", "acme", t0, feed.MarketSpread, "", -105, -115)),
	))
	go func() {
		defer close(done)
		parts.Maintain(ctx, reporting.MaintainOptions{Retention: 20 * time.Second, Interval: 100 * time.Millisecond, Batch: 1, Now: now, Logger: slog.New(slog.DiscardHandler)})
	}()
	gone := func(game string) bool {
		return count(t, pool, "SELECT count(*) FROM odds_ticks WHERE game_id = $1", game)+
			count(t, pool, "SELECT count(*) FROM latest_odds WHERE game_id = $1", game) == 0
	}
	waitFor(t, "the old game's quotes to go", func() bool { return gone("old") })
	if gone("new") {
		t.Fatal("the new game's quote went before its time")
	}
	skew.Store(int64(30 * time.Second)) // it ages past the retention
	waitFor(t, "the new game's quote to go", func() bool { return gone("new") })
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMaintainInterval(t *testing.T) {
	for _, tt := range []struct{ retention, want time.Duration }{
		{720 * time.Hour, time.Hour},
		{2 * time.Hour, 30 * time.Minute},
		{2 * time.Second, 500 * time.Millisecond},
		{time.Second, 250 * time.Millisecond},
		{time.Millisecond, 250 * time.Millisecond},
	} {
		if got := reporting.MaintainInterval(tt.retention); got != tt.want {
			t.Errorf("MaintainInterval(%v) = %v, want %v", tt.retention, got, tt.want)
		}
	}
}

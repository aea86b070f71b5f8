package reporting_test

import (
	"context"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// The embedded back end end to end for the new item types: quotes of
// every market, market status changes (a settlement rolled back),
// provider liveness (down, up again) and leases go from the store's
// change log through the Tailer into Postgres; nothing is parked.
func TestSyncMarketsThroughTailer(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.PutGame(ctx, game("g1", 0, feed.StatusLive), store.System); err != nil {
		t.Fatal(err)
	}
	runTailer(t, st, pool)

	if _, _, err := st.Heard(ctx, "p1", base); err != nil {
		t.Fatal(err)
	}
	quotes := []feed.Odds{
		quote("g1", "p1", base, feed.MarketSpread, feed.PeriodFull, -110, -110),
		quote("g1", "p1", base, feed.MarketTotal, feed.PeriodFull, -110, -105),
		quote("g1", "p1", base, feed.MarketThreeWay, feed.PeriodFirstHalf, 150, 220, 180),
	}
	if _, err := st.PutOdds(ctx, quotes); err != nil {
		t.Fatal(err)
	}
	for i, s := range totalSteps {
		if _, _, err := st.AcquireLease(ctx, "liveness", "r1", base.Add(time.Duration(i)*time.Second), 3*time.Second); err != nil {
			t.Fatal(err)
		}
		_, eff, err := st.PutMarketChange(ctx, feed.MarketChange{GameID: "g1", Market: feed.MarketTotal, Period: feed.PeriodFull,
			Action: s.action, Reason: s.reason, Results: s.results, At: base.Add(s.at), By: "p1", ByTrader: s.trader})
		if err != nil || eff != feed.Applied {
			t.Fatalf("step %d %s: %v, %v", i, s.action, eff, err)
		}
	}
	if _, ok, err := st.MarkProviderDown(ctx, "p1", base, base.Add(31*time.Second), "r1"); err != nil || !ok {
		t.Fatalf("mark down: %v %v", ok, err)
	}
	for _, at := range []time.Duration{50 * time.Second, 51 * time.Second} {
		if _, _, err := st.Heard(ctx, "p1", base.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	waitSynced(t, st, pool)
	// Every change of the log applied once (the embedded store logs no
	// lease: the AcquireLease calls above add nothing).
	last, err := st.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT applied_changes FROM sync_checkpoints"); n != int64(last) {
		t.Errorf("applied %d changes, the log holds %d", n, last)
	}

	for _, c := range []struct {
		sql  string
		want int64
	}{
		{"SELECT count(*) FROM dead_letters", 0},
		{"SELECT count(*) FROM odds_ticks WHERE game_id = 'g1'", 3},
		{"SELECT count(*) FROM latest_odds WHERE game_id = 'g1' AND market IN ('spread', 'total', 'three_way')", 3},
		{"SELECT over_odds FROM latest_odds WHERE market = 'total'", -110},
		{"SELECT version FROM markets WHERE game_id = 'g1' AND market = 'total' AND status = 'settled'", int64(len(totalSteps))},
		{"SELECT count(*) FROM market_status_history", int64(len(totalSteps))},
		{"SELECT count(*) FROM settlements WHERE ended_by = 'rollback'", 1},
		{"SELECT count(*) FROM settlements WHERE ended_version IS NULL AND results->>'over' = 'lose'", 1},
		{"SELECT extract(epoch FROM duration)::bigint FROM provider_outages WHERE provider = 'p1' AND down_version IS NOT NULL AND decided_by = 'r1'", 19},
	} {
		if got := count(t, pool, c.sql); got != c.want {
			t.Errorf("%s: %d, want %d", c.sql, got, c.want)
		}
	}
}

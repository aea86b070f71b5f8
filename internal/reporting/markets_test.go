package reporting_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// step is one change asked of a market, at base + at.
type step struct {
	action  feed.MarketAction
	at      time.Duration
	reason  string
	trader  bool
	results map[feed.Outcome]feed.Result
}

// marketChanges applies steps to one market with the store's rule
// (feed.ApplyMarketChange) and returns the change of each version, in
// version order, as the change stream carries them.
func marketChanges(t *testing.T, game string, m feed.Market, p feed.Period, steps ...step) []feed.Change {
	t.Helper()
	var cur feed.MarketStatus
	var out []feed.Change
	for i, s := range steps {
		by := "prov"
		if s.trader {
			by = "alice"
		}
		next, eff, err := feed.ApplyMarketChange(cur, i > 0, feed.MarketChange{GameID: game, Market: m, Period: p, Action: s.action,
			Reason: s.reason, Results: s.results, At: base.Add(s.at), By: by, ByTrader: s.trader})
		if err != nil || eff != feed.Applied {
			t.Fatalf("step %d %s: %v %v", i, s.action, eff, err)
		}
		next.UpdatedAt = next.At.Add(time.Millisecond)
		c := feed.Change{Kind: feed.ChangeModify, Key: next.Key(), ItemType: feed.TypeMarket, Version: next.Version, NewMarket: &next, At: next.UpdatedAt}
		if i == 0 {
			c.Kind = feed.ChangeInsert
		} else {
			old := cur
			c.OldMarket = &old
		}
		out = append(out, c)
		cur = next
	}
	return out
}

// providerChange is the change of one liveness version.
func providerChange(s feed.ProviderStatus) feed.Change {
	kind := feed.ChangeModify
	if s.Version == 1 {
		kind = feed.ChangeInsert
	}
	return feed.Change{Kind: kind, Key: s.Key(), ItemType: feed.TypeProvider, Version: s.Version, NewProvider: &s, At: s.LastHeard}
}

// liveness returns the versions of a provider's liveness item: heard at
// each of heard (seconds after base), marked down where the entry is
// negative (-d: down decided at base+d).
func liveness(t *testing.T, provider string, events ...int) []feed.Change {
	t.Helper()
	var cur feed.ProviderStatus
	found := false
	var out []feed.Change
	for _, e := range events {
		var next feed.ProviderStatus
		var write bool
		if e >= 0 {
			next, write = feed.Heard(cur, found, provider, base.Add(time.Duration(e)*time.Second))
		} else {
			next, write = feed.MarkDown(cur, found, cur.LastHeard, base.Add(time.Duration(-e)*time.Second), "replica-1")
		}
		if !write {
			t.Fatalf("%s: event %d wrote nothing", provider, e)
		}
		out = append(out, providerChange(next))
		cur, found = next, true
	}
	return out
}

// statusSnapshot returns the rows of the market and provider tables as
// text, to compare database states.
func statusSnapshot(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT concat_ws(E'\n',
		(SELECT string_agg(concat_ws(',', game_id, market, period, status, reason, results, prev, changed_by, by_trader, at, version, updated_at, deleted_at IS NOT NULL), E'\n' ORDER BY game_id, market, period) FROM markets),
		(SELECT string_agg(concat_ws(',', game_id, market, period, version, status, reason, note, results, prev, changed_by, by_trader, at, updated_at), E'\n' ORDER BY game_id, market, period, version) FROM market_status_history),
		(SELECT string_agg(concat_ws(',', game_id, market, period, version, kind, results, at, ended_version, ended_at, ended_by), E'\n' ORDER BY game_id, market, period, version) FROM settlements),
		(SELECT string_agg(concat_ws(',', provider, down_at, down_version, silent_since, decided_by, up_at, duration), E'\n' ORDER BY provider, down_at) FROM provider_outages))`).Scan(&s)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// totalSteps: a total with two bet stops (35 s), a trader's suspension
// (30 s), a settlement rolled back, and a settlement standing.
var totalSteps = []step{
	{action: feed.ActionOpen, at: 0},
	{action: feed.ActionSuspend, at: 10 * time.Second, reason: feed.ReasonBetStop},
	{action: feed.ActionResume, at: 40 * time.Second},
	{action: feed.ActionSuspend, at: 60 * time.Second, trader: true},
	{action: feed.ActionResume, at: 90 * time.Second, trader: true},
	{action: feed.ActionSuspend, at: 95 * time.Second, reason: feed.ReasonBetStop},
	{action: feed.ActionResume, at: 100 * time.Second},
	{action: feed.ActionClose, at: 110 * time.Second},
	{action: feed.ActionSettle, at: 200 * time.Second, results: map[feed.Outcome]feed.Result{feed.OutcomeOver: feed.ResultWin, feed.OutcomeUnder: feed.ResultLose}},
	{action: feed.ActionRollback, at: 300 * time.Second},
	{action: feed.ActionSettle, at: 400 * time.Second, results: map[feed.Outcome]feed.Result{feed.OutcomeOver: feed.ResultLose, feed.OutcomeUnder: feed.ResultWin}},
}

// statusFixture is the market and provider changes of the reports' fixture,
// in the order the stream carries them.
func statusFixture(t *testing.T) []feed.Change {
	t.Helper()
	var cs []feed.Change
	cs = append(cs, marketChanges(t, "g1", feed.MarketTotal, feed.PeriodFull, totalSteps...)...)
	// g2's moneyline is suspended from base+100s on: still at the report's end.
	cs = append(cs, marketChanges(t, "g2", feed.MarketMoneyline, feed.PeriodFull,
		step{action: feed.ActionOpen}, step{action: feed.ActionSuspend, at: 100 * time.Second})...)
	// g3's three-way is settled, then cancelled (the cancellation stands).
	cs = append(cs, marketChanges(t, "g3", feed.MarketThreeWay, feed.PeriodFull,
		step{action: feed.ActionClose, at: 50 * time.Second},
		step{action: feed.ActionSettle, at: 60 * time.Second, results: map[feed.Outcome]feed.Result{feed.OutcomeHome: feed.ResultWin, feed.OutcomeDraw: feed.ResultLose, feed.OutcomeAway: feed.ResultLose}},
		step{action: feed.ActionCancel, at: 70 * time.Second})...)
	// g4's spread is cancelled, and the cancellation rolled back.
	cs = append(cs, marketChanges(t, "g4", feed.MarketSpread, feed.PeriodFull,
		step{action: feed.ActionOpen}, step{action: feed.ActionCancel, at: 20 * time.Second}, step{action: feed.ActionRollback, at: 30 * time.Second})...)
	// p1: down at 31 s (heard again at 50 s: 19 s), down again at 100 s (not
	// heard since); p2: down at 10 s, heard at 20 s.
	cs = append(cs, liveness(t, "p1", 0, 1, -31, 50, 51, -100)...)
	cs = append(cs, liveness(t, "p2", 0, -10, 20, 21)...)
	return cs
}

// A lease is skipped, not parked.
func leaseChange() feed.Change {
	return feed.Change{Kind: feed.ChangeModify, Key: feed.LeaseKey("liveness"), ItemType: feed.TypeLease, Version: 1}
}

// Market statuses and provider liveness are synced once whatever the
// delivery: in order; reordered across and within batches with duplicates;
// replayed; all end with the same rows, and those rows are right.
func TestApplyMarketsAndProviders(t *testing.T) {
	fixture := statusFixture(t)

	_, inOrder := newDB(t)
	s := newSync(t, inOrder)
	b := batch("s", 1, append(slices.Clone(fixture), leaseChange())...)
	mustApply(t, s, b)
	mustApply(t, s, b) // a replay
	want := statusSnapshot(t, inOrder)
	if n := count(t, inOrder, "SELECT count(*) FROM dead_letters"); n != 0 {
		t.Fatalf("%d dead letters, want none (a lease is skipped)", n)
	}

	// One change per batch, newest first, each delivered twice, then the
	// whole set once more as one batch at new positions (a backfill or a
	// producer's retry).
	_, shuffled := newDB(t)
	s2 := newSync(t, shuffled)
	rev := slices.Clone(fixture)
	slices.Reverse(rev)
	pos := 1
	for _, c := range rev {
		mustApply(t, s2, batch("s", pos, c, c))
		pos += 2
	}
	mustApply(t, s2, batch("s", pos, fixture...))
	if got := statusSnapshot(t, shuffled); got != want {
		t.Fatalf("reordered and repeated:\n%s\nwant (in order)\n%s", got, want)
	}

	// The rows themselves.
	for _, c := range []struct {
		sql  string
		want int64
		args []any
	}{
		{"SELECT count(*) FROM markets", 4, nil},
		{"SELECT version FROM markets WHERE game_id = 'g1' AND market = 'total' AND period = 'full' AND status = 'settled'", 11, nil},
		{"SELECT count(*) FROM market_status_history", int64(len(totalSteps) + 2 + 3 + 3), nil},
		{"SELECT count(*) FROM market_status_history WHERE game_id = 'g1' AND status = 'suspended' AND reason = 'trader' AND by_trader", 1, nil},
		{"SELECT ended_version FROM settlements WHERE game_id = 'g1' AND version = 9 AND ended_by = 'rollback'", 10, nil},
		{"SELECT count(*) FROM settlements WHERE game_id = 'g1' AND version = 11 AND ended_version IS NULL AND results->>'under' = 'win'", 1, nil},
		{"SELECT ended_version FROM settlements WHERE game_id = 'g3' AND version = 2 AND kind = 'settled' AND ended_by = 'cancel'", 3, nil},
		{"SELECT ended_version FROM settlements WHERE game_id = 'g4' AND version = 2 AND kind = 'cancelled' AND ended_by = 'rollback'", 3, nil},
		{"SELECT count(*) FROM provider_outages", 3, nil},
		{"SELECT extract(epoch FROM duration)::bigint FROM provider_outages WHERE provider = 'p1' AND down_at = $1", 19, []any{base.Add(31 * time.Second)}},
		{"SELECT count(*) FROM provider_outages WHERE provider = 'p1' AND up_at IS NULL AND down_version = 6 AND decided_by = 'replica-1'", 1, nil},
		{"SELECT extract(epoch FROM duration)::bigint FROM provider_outages WHERE provider = 'p2'", 10, nil},
	} {
		if got := count(t, shuffled, c.sql, c.args...); got != c.want {
			t.Errorf("%s: %d, want %d", c.sql, got, c.want)
		}
	}
	if got, w := checkpoint(t, shuffled, "s"), fmt.Sprint(pos+len(fixture)-1); got != w {
		t.Fatalf("checkpoint %s, want %s", got, w)
	}
}

// A market status whose item was removed by a user is marked deleted at
// its version; a TTL expiry changes nothing; the removal of a liveness item
// is skipped.
func TestApplyMarketRemoves(t *testing.T) {
	_, pool := newDB(t)
	s := newSync(t, pool)
	cs := marketChanges(t, "g1", feed.MarketTotal, feed.PeriodFirstHalf, step{action: feed.ActionOpen}, step{action: feed.ActionClose, at: time.Second})
	last := *cs[1].NewMarket
	expired := feed.Change{Kind: feed.ChangeRemove, Key: last.Key(), ItemType: feed.TypeMarket, Version: 2, OldMarket: &last, Expired: true}
	mustApply(t, s, batch("s", 1, append(cs, expired)...))
	if n := count(t, pool, "SELECT count(*) FROM markets WHERE deleted_at IS NULL AND period = '1h' AND version = 2"); n != 1 {
		t.Fatal("a TTL expiry deleted the market")
	}
	removed := expired
	removed.Expired = false
	p := liveness(t, "p1", 0)[0]
	pRemoved := feed.Change{Kind: feed.ChangeRemove, Key: p.Key, ItemType: feed.TypeProvider, Version: 1, OldProvider: p.NewProvider}
	mustApply(t, s, batch("s", 10, removed, pRemoved))
	mustApply(t, s, batch("s", 20, cs[0])) // an older version, late
	if n := count(t, pool, "SELECT count(*) FROM markets WHERE deleted_at IS NOT NULL AND version = 2"); n != 1 {
		t.Fatal("the removal did not mark the market deleted, or a late version revived it")
	}
	if n := count(t, pool, "SELECT count(*) FROM dead_letters"); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM market_status_history"); n != 2 {
		t.Fatalf("%d history rows, want 2", n)
	}
}

// A backfill loads the current market statuses, liveness items and quotes
// of every market (leases skipped), idempotently; the sync's rows of earlier versions stay.
func TestBackfillMarketsAndProviders(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	cs := marketChanges(t, "g1", feed.MarketTotal, feed.PeriodFull, totalSteps...)
	// The sync saw versions 1-9 (the first settlement); the store holds 11.
	mustApply(t, newSync(t, pool), batch("s", 1, cs[:9]...))
	lv := liveness(t, "p1", 0, -31, 50, 51)
	items := staticScanner{
		feed.MarketItem(*cs[len(cs)-1].NewMarket),
		feed.ProviderItem(*lv[len(lv)-1].NewProvider),
		feed.LeaseItem(feed.Lease{Name: "liveness", Holder: "r1", Expires: base}),
		feed.OddsItem(quote("g1", "p1", base, feed.MarketTotal, feed.PeriodFirstHalf, -110, -110), time.Time{}),
	}
	for run := range 2 {
		if err := reporting.Backfill(ctx, items, pool, nil, reporting.BackfillOptions{Segments: 1, Restart: true}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			sql  string
			want int64
		}{
			{"SELECT version FROM markets WHERE status = 'settled'", 11},
			{"SELECT count(*) FROM odds_ticks WHERE market = 'total' AND period = '1h' AND line = 45.5 AND over_odds = -110", 1},
			{"SELECT count(*) FROM latest_odds WHERE market = 'total' AND period = '1h'", 1},
			{"SELECT count(*) FROM market_status_history", 10},
			{"SELECT count(*) FROM settlements", 2},
			{"SELECT count(*) FROM settlements WHERE ended_version IS NULL", 2}, // version 10 never seen
			// Only the current version (heard at 51 s) was seen: the outage
			// ends there, its down version unknown.
			{"SELECT extract(epoch FROM duration)::bigint FROM provider_outages WHERE provider = 'p1' AND down_version IS NULL", 20},
		} {
			if got := count(t, pool, c.sql); got != c.want {
				t.Errorf("run %d: %s: %d, want %d", run, c.sql, got, c.want)
			}
		}
	}
}

// Market and provider changes that fail are parked in dead letters (the
// rest of the batch applies); once the cause is fixed, Replay applies them
// and the rows are those of a sync that never failed.
func TestMarketChangesParkedAndReplayed(t *testing.T) {
	ctx := context.Background()
	var changes []feed.Change
	changes = append(changes, marketChanges(t, "g1", feed.MarketTotal, feed.PeriodFull, totalSteps[:4]...)...)
	changes = append(changes, marketChanges(t, "blocked", feed.MarketMoneyline, feed.PeriodFull,
		step{action: feed.ActionOpen}, step{action: feed.ActionSettle, at: time.Second, results: map[feed.Outcome]feed.Result{feed.OutcomeHome: feed.ResultWin, feed.OutcomeAway: feed.ResultLose}})...)
	changes = append(changes, liveness(t, "p1", 0, -31, 50)...)
	changes = append(changes, liveness(t, "blocked", 0, -10, 20)...)

	_, clean := newDB(t)
	mustApply(t, newSync(t, clean), batch("s", 1, changes...))
	want := statusSnapshot(t, clean)

	_, pool := newDB(t)
	// Causes we can fix later: constraints that refuse one game and one provider.
	for _, ddl := range []string{
		"ALTER TABLE market_status_history ADD CONSTRAINT no_blocked CHECK (game_id <> 'blocked')",
		"ALTER TABLE provider_outages ADD CONSTRAINT no_blocked CHECK (provider <> 'blocked')",
	} {
		if _, err := pool.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	mustApply(t, newSync(t, pool), batch("s", 1, changes...))
	// Parked: the blocked market's two versions, the blocked provider's
	// down and up (its first version writes no outage row).
	if n := count(t, pool, "SELECT count(*) FROM dead_letters WHERE kind = 'change'"); n != 4 {
		t.Fatalf("%d dead letters, want 4", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM market_status_history WHERE game_id = 'g1'"); n != 4 {
		t.Fatalf("%d history rows of g1, want its 4 applied", n)
	}
	for _, ddl := range []string{
		"ALTER TABLE market_status_history DROP CONSTRAINT no_blocked",
		"ALTER TABLE provider_outages DROP CONSTRAINT no_blocked",
	} {
		if _, err := pool.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	applied, failed, err := reporting.Replay(ctx, pool)
	if err != nil || applied != 4 || failed != 0 {
		t.Fatalf("Replay = %d applied, %d failed, %v; want 4, 0", applied, failed, err)
	}
	if got := statusSnapshot(t, pool); got != want {
		t.Fatalf("after the replay:\n%s\nwant\n%s", got, want)
	}
}

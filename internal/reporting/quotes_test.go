package reporting_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// quote returns a quote of market m and period p by provider at at, with
// the prices that market has.
func quote(game, provider string, at time.Time, m feed.Market, p feed.Period, prices ...int) feed.Odds {
	o := feed.Odds{GameID: game, Provider: provider, ObservedAt: at, Market: m, Period: p,
		ReceivedAt: at.Add(5 * time.Millisecond), Version: 1}
	switch m.Or() {
	case feed.MarketThreeWay:
		o.HomeOdds, o.DrawOdds, o.AwayOdds = prices[0], prices[1], prices[2]
	case feed.MarketTotal:
		o.Line, o.OverOdds, o.UnderOdds = 45.5, prices[0], prices[1]
	case feed.MarketSpread:
		o.HomeSpread, o.AwaySpread, o.HomeOdds, o.AwayOdds = -3, 3, prices[0], prices[1]
	default:
		o.HomeOdds, o.AwayOdds = prices[0], prices[1]
	}
	o.Normalize()
	return o
}

// quoteRows returns the rows of one table for a game as text, by key.
func quoteRows(t *testing.T, pool *pgxpool.Pool, table, game string) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(concat_ws(':', provider, market, period, version, home_odds, away_odds, draw_odds, line, over_odds, under_odds), ' '
		ORDER BY provider, market, period, observed_at, version), '') FROM `+table+` WHERE game_id = $1`, game).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Quotes of every market and period of one provider at one instant are
// rows of their own, with a latest row each; a correction of one is its
// next version; a removal deletes its versions only; duplicates and
// replays are stored once.
func TestApplyQuotesOfEveryMarket(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	s := newSync(t, pool)
	spread := quote("g1", "p1", base, feed.MarketSpread, feed.PeriodFull, -110, -110)
	ml := quote("g1", "p1", base, feed.MarketMoneyline, feed.PeriodFirstHalf, -150, 130)
	three := quote("g1", "p1", base, feed.MarketThreeWay, feed.PeriodFull, 150, 220, 180)
	total := quote("g1", "p1", base, feed.MarketTotal, feed.PeriodFull, -110, -105)
	total2 := total
	total2.Version, total2.OverOdds, total2.UnderOdds = 2, -120, 100
	b := batch("s", 1, oddsInsert(spread), oddsInsert(ml), oddsInsert(three), oddsInsert(total), oddsModify(total, total2), oddsInsert(three))
	mustApply(t, s, b)
	mustApply(t, s, b)
	mustApply(t, s, batch("s", 10, oddsInsert(total), oddsInsert(ml))) // duplicates at new positions
	wantTicks := "p1:moneyline:1h:1:-150:130:0:0:0:0 p1:spread:full:1:-110:-110:0:0:0:0 " +
		"p1:three_way:full:1:150:180:220:0:0:0 p1:total:full:1:0:0:0:45.5:-110:-105 p1:total:full:2:0:0:0:45.5:-120:100"
	if got := quoteRows(t, pool, "odds_ticks", "g1"); got != wantTicks {
		t.Fatalf("ticks:\n%s\nwant\n%s", got, wantTicks)
	}
	wantLatest := "p1:moneyline:1h:1:-150:130:0:0:0:0 p1:spread:full:1:-110:-110:0:0:0:0 " +
		"p1:three_way:full:1:150:180:220:0:0:0 p1:total:full:2:0:0:0:45.5:-120:100"
	if got := quoteRows(t, pool, "latest_odds", "g1"); got != wantLatest {
		t.Fatalf("latest:\n%s\nwant\n%s", got, wantLatest)
	}

	// An older total arriving late leaves the latest total alone; removing
	// the total deletes its versions and latest row, not the other markets'.
	older := quote("g1", "p1", base.Add(-time.Minute), feed.MarketTotal, feed.PeriodFull, -115, -105)
	mustApply(t, s, batch("s", 20, oddsInsert(older)))
	mustApply(t, s, batch("s", 30, oddsRemove(total2, false)))
	wantTicks = "p1:moneyline:1h:1:-150:130:0:0:0:0 p1:spread:full:1:-110:-110:0:0:0:0 " +
		"p1:three_way:full:1:150:180:220:0:0:0 p1:total:full:1:0:0:0:45.5:-115:-105"
	if got := quoteRows(t, pool, "odds_ticks", "g1"); got != wantTicks {
		t.Fatalf("ticks after the removal:\n%s\nwant\n%s", got, wantTicks)
	}
	// latest_odds falls back to the older total left.
	wantLatest = wantTicks
	if got := quoteRows(t, pool, "latest_odds", "g1"); got != wantLatest {
		t.Fatalf("latest after the removal:\n%s\nwant\n%s", got, wantLatest)
	}
	if n := count(t, pool, "SELECT count(*) FROM dead_letters"); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// Migration 00005 on a schema at 00004 holding ticks (in day partitions
// and the archive) and latest odds: up keeps every row, as a full-game
// spread, and takes quotes of other markets at the same instant; down
// deletes those and leaves the spreads as they were; up again.
func TestMigrateQuotesWithData(t *testing.T) {
	dsn, pool := newDB(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) error {
		_, err := pool.Exec(ctx, sql, args...)
		return err
	}
	migrateTo(t, dsn, 4)
	ensureToday(t, pool)
	old := time.Date(1999, 6, 1, 1, 0, 0, 0, time.UTC) // the archive
	for i, at := range []time.Time{base, base.Add(time.Minute), base.AddDate(0, 0, 1), old} {
		if err := exec(`INSERT INTO odds_ticks (game_id, provider, observed_at, observed_ns, away_spread, home_spread, away_odds, home_odds, version, received_at)
			VALUES ('g1', 'p1', $1, $2, 3, -3, -110, $3, 1, $1)`, at, i, -100-i); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec(`INSERT INTO odds_ticks (game_id, provider, observed_at, away_spread, home_spread, away_odds, home_odds, version, received_at)
		VALUES ('g1', 'p1', $1, 3, -3, -110, -130, 2, $1)`, base); err != nil {
		t.Fatal(err)
	}
	if err := exec(`INSERT INTO latest_odds (game_id, provider, observed_at, away_spread, home_spread, away_odds, home_odds, version, received_at)
		VALUES ('g1', 'p1', $1, 3, -3, -110, -103, 1, $1)`, base.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, pool)

	migrate(t, dsn, "up")
	if got := snapshot(t, pool); got != before {
		t.Fatalf("up changed the rows:\n%s\nwant\n%s", got, before)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks WHERE market = 'spread' AND period = 'full' AND line = 0 AND draw_odds = 0 AND over_odds = 0 AND under_odds = 0"); n != 5 {
		t.Fatalf("%d spread quotes after up, want all 5 rows", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM latest_odds WHERE market = 'spread' AND period = 'full'"); n != 1 {
		t.Fatalf("%d latest spreads after up, want 1", n)
	}
	quotesKey := "PRIMARY KEY (game_id, provider, observed_at, observed_ns, market, period, version)"
	checkKeys(t, pool, quotesKey)
	// A total at the instant of a spread, and its latest row.
	if err := exec(`INSERT INTO odds_ticks (game_id, provider, observed_at, market, period, away_spread, home_spread, away_odds, home_odds,
		line, over_odds, under_odds, version, received_at) VALUES ('g1', 'p1', $1, 'total', 'full', 0, 0, 0, 0, 45.5, -110, -110, 1, $1)`, base); err != nil {
		t.Fatalf("after up, a total at a spread's instant: %v", err)
	}
	if err := exec(`INSERT INTO latest_odds (game_id, provider, observed_at, market, period, away_spread, home_spread, away_odds, home_odds,
		line, over_odds, under_odds, version, received_at) VALUES ('g1', 'p1', $1, 'total', 'full', 0, 0, 0, 0, 45.5, -110, -110, 1, $1)`, base); err != nil {
		t.Fatalf("after up, a latest total: %v", err)
	}
	if n := count(t, pool, "SELECT round(quote_overround('total', 0, 0, 0, -110, -110) * 10000)::bigint"); n != 476 {
		t.Fatalf("quote_overround of -110/-110: %d/10000, want 476", n)
	}

	migrateTo(t, dsn, 4)
	if got := snapshot(t, pool); got != before {
		t.Fatalf("down left the rows:\n%s\nwant\n%s", got, before)
	}
	checkKeys(t, pool, "PRIMARY KEY (game_id, provider, observed_at, observed_ns, version)")

	migrate(t, dsn, "up")
	if got := snapshot(t, pool); got != before {
		t.Fatalf("up again changed the rows:\n%s\nwant\n%s", got, before)
	}
	checkKeys(t, pool, quotesKey)
}

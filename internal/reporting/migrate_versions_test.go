package reporting_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// Migration 00003 (the version in odds_ticks' primary key) up, down and up
// again on a partitioned table holding data: the rows stay, every
// partition's key follows the parent's, and down keeps the highest version
// of a key that has several.
func TestMigrateOddsVersionsWithData(t *testing.T) {
	dsn, pool := newDB(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) error {
		_, err := pool.Exec(ctx, sql, args...)
		return err
	}
	insert := func(game string, at time.Time, version, homeOdds int) error {
		return exec(`INSERT INTO odds_ticks (game_id, provider, observed_at, away_spread, home_spread, away_odds, home_odds, version, received_at)
			VALUES ($1, 'p1', $2, 1, -1, $3, $4, $5, $2)`, game, at, -homeOdds, homeOdds, version)
	}
	day2 := base.AddDate(0, 0, 1)
	migrateTo(t, dsn, 2) // the key without the version
	ensureToday(t, pool)
	for _, r := range []struct {
		game string
		at   time.Time
	}{{"a", base}, {"b", base}, {"c", day2}} {
		if err := insert(r.game, r.at, 1, 110); err != nil {
			t.Fatal(err)
		}
	}
	if err := insert("a", base, 2, 120); err == nil {
		t.Fatal("before 00003: a second version of a key was accepted")
	}
	before := snapshot(t, pool)

	migrateTo(t, dsn, 3)
	if got := snapshot(t, pool); got != before {
		t.Fatalf("up changed the rows:\n%s\nwant\n%s", got, before)
	}
	withVersion := "PRIMARY KEY (game_id, provider, observed_at, observed_ns, version)"
	checkKeys(t, pool, withVersion)
	if err := insert("a", base, 2, 120); err != nil {
		t.Fatalf("after up, a second version: %v", err)
	}
	if err := insert("a", base, 2, 130); err == nil {
		t.Fatal("after up, the same version twice was accepted")
	}
	// A partition made after the migration gets the new key.
	if err := reporting.NewPartitions(pool).Ensure(ctx, base.AddDate(0, 0, 5)); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, pool, withVersion)

	migrateTo(t, dsn, 2)
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 3 {
		t.Fatalf("%d rows after down, want 3", n)
	}
	if n := count(t, pool, "SELECT home_odds FROM odds_ticks WHERE game_id = 'a'"); n != 120 {
		t.Fatalf("down kept a's home odds %d, want the highest version's 120", n)
	}
	checkKeys(t, pool, "PRIMARY KEY (game_id, provider, observed_at, observed_ns)")

	migrateTo(t, dsn, 4)
	checkKeys(t, pool, withVersion)
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 3 {
		t.Fatalf("%d rows after up again, want 3", n)
	}
}

// checkKeys fails unless odds_ticks and each of its partitions have the
// primary key want.
func checkKeys(t *testing.T, pool *pgxpool.Pool, want string) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT c.relname, coalesce(pg_get_constraintdef(k.oid), 'none')
		FROM pg_class c LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
		WHERE c.relname = 'odds_ticks' OR c.relname LIKE 'odds\_ticks\_p%' AND c.relkind = 'r'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		var rel, def string
		if err := rows.Scan(&rel, &def); err != nil {
			t.Fatal(err)
		}
		if def != want {
			t.Errorf("%s: %s, want %s", rel, def, want)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("%d tables checked, want the parent and its partitions", n)
	}
}

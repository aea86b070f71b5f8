package reporting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// partitionCount returns how many partitions odds_ticks has.
func partitionCount(tb testing.TB, pool *pgxpool.Pool) int64 {
	tb.Helper()
	return count(tb, pool, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'odds_ticks'::regclass")
}

// Backdated odds (accepted back to 2000) do not make a partition per day:
// those observed before the retention window, as of the last maintenance
// run, go to the one archive partition, which the next run empties; day
// partitions are still made for the days kept and dropped after the
// retention.
func TestOldOddsGoToTheArchive(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	const retention = 720 * time.Hour
	now := time.Now().UTC()
	parts := reporting.NewPartitions(pool)
	maintain := func(now time.Time) []string { // what one Maintain run does
		t.Helper()
		if err := parts.EnsureAhead(ctx, now, 1, 3); err != nil {
			t.Fatal(err)
		}
		dropped, err := parts.DropPartitionsBefore(ctx, now.Add(-retention))
		if err != nil {
			t.Fatal(err)
		}
		return dropped
	}
	maintain(now)
	s := reporting.NewSync(pool, reporting.SyncOptions{Partitions: parts})
	// Another replica, whose keeper learnt the archive's bound before it moves.
	other := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(ctx); other.Close(ctx) })
	mustApply(t, other, batch("shard-2", 1, oddsInsert(odds("recent", "p", now.Add(-time.Minute), 1, 110))))

	before := partitionCount(t, pool)
	var changes []feed.Change
	sample := time.Unix(1637440215, 0) // the API reference's sample, 20 Nov 2021
	changes = append(changes, oddsInsert(odds("ref", "p", sample, 3, -110)))
	changes = append(changes, oddsInsert(odds("y2022", "p", time.Date(2022, 6, 1, 12, 0, 0, 0, time.UTC), 1, 120)))
	for i := range 200 {
		at := time.Date(2023, 1, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		changes = append(changes, oddsInsert(odds(fmt.Sprintf("old-%03d", i), "p", at, 1, 100+i)))
	}
	kept := now.AddDate(0, 0, -10) // inside the retention: a day partition
	changes = append(changes, oddsInsert(odds("kept", "p", kept, 1, 130)))
	mustApply(t, s, batch("shard-1", 1, changes...))

	if n := partitionCount(t, pool) - before; n != 1 {
		t.Fatalf("%d partitions made for 202 ticks of 202 old days and one of 10 days ago, want 1 (the kept day)", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks_archive"); n != 202 {
		t.Fatalf("%d ticks in the archive, want 202", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM latest_odds"); n != 204 {
		t.Fatalf("%d latest odds, want 204", n)
	}
	var day string
	if err := pool.QueryRow(ctx, "SELECT tableoid::regclass::text FROM odds_ticks WHERE game_id = 'kept'").Scan(&day); err != nil || day != reporting.PartitionName(kept) {
		t.Fatalf("the tick of 10 days ago is in %s (%v), want %s", day, err, reporting.PartitionName(kept))
	}

	// 25 days later: the kept day's partition is dropped, the archive moves
	// up to the new cutoff's day and loses its ticks, all older than the
	// retention.
	later := now.AddDate(0, 0, 25)
	dropped := maintain(later)
	if !contains(dropped, reporting.PartitionName(kept)) {
		t.Fatalf("dropped %v, want %s among them", dropped, reporting.PartitionName(kept))
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks WHERE observed_at < $1", later.Add(-retention)); n != 0 {
		t.Fatalf("%d ticks older than the retention left", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 1 {
		t.Fatalf("%d ticks left, want the recent one", n)
	}
	// A tick of the dropped day comes again, through either replica: the
	// archive takes it, no partition is made.
	before = partitionCount(t, pool)
	mustApply(t, s, batch("shard-1", 1000, oddsInsert(odds("kept", "p", kept.Add(time.Second), 1, 131))))
	mustApply(t, other, batch("shard-2", 1000, oddsInsert(odds("kept", "q", kept.Add(time.Second), 1, 131))))
	if n := partitionCount(t, pool) - before; n != 0 {
		t.Fatalf("%d partitions made for a dropped day", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks_archive"); n != 2 {
		t.Fatalf("%d ticks in the archive, want 2", n)
	}
	// A new day still gets its partition.
	next := later.AddDate(0, 0, 1)
	mustApply(t, s, batch("shard-1", 2000, oddsInsert(odds("new", "p", next, 1, 140))))
	if err := pool.QueryRow(ctx, "SELECT tableoid::regclass::text FROM odds_ticks WHERE game_id = 'new'").Scan(&day); err != nil || day != reporting.PartitionName(next) {
		t.Fatalf("a new day's tick is in %s (%v), want %s", day, err, reporting.PartitionName(next))
	}
}

// Migration 00004 down and up again with ticks in the archive: down moves
// them to day partitions, up makes an empty archive again; no row is lost.
func TestMigrateArchiveWithData(t *testing.T) {
	dsn, pool := newDB(t)
	ctx := context.Background()
	ensureToday(t, pool)
	if _, err := reporting.NewPartitions(pool).DropPartitionsBefore(ctx, time.Now().Add(-720*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{base, time.Unix(1637440215, 0), time.Date(2022, 6, 1, 1, 0, 0, 0, time.UTC), time.Date(2022, 6, 1, 2, 0, 0, 0, time.UTC)} {
		if _, err := pool.Exec(ctx, `INSERT INTO odds_ticks (game_id, provider, observed_at, observed_ns, away_spread, home_spread, away_odds, home_odds, version, received_at)
			VALUES ($1, 'p', $2, 7, 1, -1, -110, 110, 2, $2)`, fmt.Sprint("g", i), at); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks_archive"); n != 3 {
		t.Fatalf("%d ticks in the archive, want 3", n)
	}
	before := snapshot(t, pool)

	migrateTo(t, dsn, 3)
	if got := snapshot(t, pool); got != before {
		t.Fatalf("down changed the rows:\n%s\nwant\n%s", got, before)
	}
	if n := count(t, pool, "SELECT count(*) FROM pg_class WHERE relname = 'odds_ticks_archive'"); n != 0 {
		t.Fatal("the archive is still there after down")
	}
	for _, day := range []string{"odds_ticks_p20211120", "odds_ticks_p20220601"} {
		if n := count(t, pool, "SELECT count(*) FROM odds_ticks WHERE tableoid = $1::regclass", day); n == 0 {
			t.Errorf("no rows in %s after down", day)
		}
	}

	migrate(t, dsn, "up")
	if got := snapshot(t, pool); got != before {
		t.Fatalf("up changed the rows:\n%s\nwant\n%s", got, before)
	}
	// The next maintenance run drops the old days again and moves the
	// archive up.
	parts := reporting.NewPartitions(pool)
	if _, err := parts.DropPartitionsBefore(ctx, time.Now().Add(-720*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 1 {
		t.Fatalf("%d ticks after maintenance, want 1", n)
	}
	if err := parts.Ensure(ctx, time.Date(2022, 6, 1, 1, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT count(*) FROM pg_class WHERE relname = 'odds_ticks_p20220601'"); n != 0 {
		t.Fatal("a partition was made below the archive's bound")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

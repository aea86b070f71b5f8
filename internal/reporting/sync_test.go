package reporting_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

func TestApplyIdempotent(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(ctx) })
	var changes []feed.Change
	changes = append(changes, gameUpsert(game("g1", 1, feed.StatusScheduled)))
	for i := range 20 {
		// Two days, to create partitions on demand; nanoseconds kept.
		at := base.Add(time.Duration(i)*time.Minute + time.Duration(i)*time.Nanosecond)
		if i >= 10 {
			at = at.Add(-48 * time.Hour)
		}
		changes = append(changes, oddsInsert(odds("g1", fmt.Sprintf("p%d", i%3), at, float64(i)/2, 100+i)))
	}
	b := batch("shard-1", 100, changes...)
	mustApply(t, s, b)
	first := snapshot(t, pool)
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 20 {
		t.Fatalf("%d ticks, want 20", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks WHERE observed_ns > 0"); n != 19 {
		t.Fatalf("%d ticks keep their nanoseconds, want 19", n)
	}

	// The same batch again, by this Sync and by a fresh one (a restart):
	// nothing changes, not even the count of applied changes.
	mustApply(t, s, b)
	s.Close(ctx)
	s2 := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s2.Close(ctx) })
	mustApply(t, s2, b)
	if got := snapshot(t, pool); got != first {
		t.Fatalf("replay changed the rows:\n%s\nwant\n%s", got, first)
	}
	if got := checkpoint(t, pool, "shard-1"); got != b.Position {
		t.Fatalf("checkpoint %s, want %s", got, b.Position)
	}
	if n := count(t, pool, "SELECT applied_changes FROM sync_checkpoints"); n != 21 {
		t.Fatalf("applied_changes %d, want 21", n)
	}
	st, err := s2.Start(ctx, "shard-1")
	if err != nil || st != cdc.After(b.Position) {
		t.Fatalf("Start = %+v, %v; want after %s", st, err, b.Position)
	}
	if st, _ := s2.Start(ctx, "shard-new"); st.Kind != cdc.TrimHorizon {
		t.Fatalf("Start of a new shard = %+v, want TRIM_HORIZON", st)
	}

	// A redelivery overlapping the checkpoint (the last change of b, then a
	// new one) applies only the new change.
	o := odds("g1", "p9", base, 1, 150)
	mustApply(t, s2, batch("shard-1", 120, changes[len(changes)-1], oddsInsert(o)))
	if n := count(t, pool, "SELECT applied_changes FROM sync_checkpoints"); n != 22 {
		t.Fatalf("applied_changes %d after an overlapping batch, want 22", n)
	}

	// Duplicate records at new positions (a producer's retry, a backfill
	// that got there first), also twice in one batch: stored once.
	before := count(t, pool, "SELECT count(*) FROM odds_ticks")
	fresh := odds("g1", "p9", base.Add(time.Second), 1, 160)
	mustApply(t, s2, batch("shard-1", 200, oddsInsert(o), oddsInsert(fresh), oddsInsert(*changes[5].NewOdds), oddsInsert(fresh)))
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != before+1 {
		t.Fatalf("%d ticks after duplicates, want %d", n, before+1)
	}
	if n := count(t, pool, "SELECT home_odds FROM latest_odds WHERE provider = 'p9'"); n != 160 {
		t.Fatalf("latest home odds of p9 %d, want 160", n)
	}
}

func TestApplyPositionsCompareAsNumbers(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(context.Background()) })
	// Kinesis sequence numbers grow in length: "9" < "10" must hold.
	b := batch("shard-1", 9, oddsInsert(odds("g1", "p", base, 1, 110)))
	mustApply(t, s, b)
	b2 := batch("shard-1", 10, oddsInsert(odds("g1", "p", base.Add(time.Second), 2, 120)))
	mustApply(t, s, b2)
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 2 {
		t.Fatalf("%d ticks, want 2 (position 10 after 9)", n)
	}
	long := "49590338271490256608559692538361571095921575989136588898"
	b3 := batch("shard-1", 0, oddsInsert(odds("g1", "p", base.Add(2*time.Second), 3, 130)))
	b3.Changes[0].Position, b3.Position = long, long
	mustApply(t, s, b3)
	if got := checkpoint(t, pool, "shard-1"); got != long {
		t.Fatalf("checkpoint %s", got)
	}
}

func TestApplyOutOfOrder(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(context.Background()) })
	newer := odds("g1", "p1", base.Add(time.Minute), 3.5, 120)
	older := odds("g1", "p1", base, 1.5, 110)
	// Newer game version and newer odds first, the older ones later (a
	// Kinesis reordering or a late duplicate).
	mustApply(t, s, batch("s", 1, gameUpsert(game("g1", 3, feed.StatusLive)), oddsInsert(newer)))
	mustApply(t, s, batch("s", 3, gameUpsert(game("g1", 2, feed.StatusScheduled)), oddsInsert(older), gameUpsert(game("g1", 1, feed.StatusScheduled))))

	var version int64
	var status string
	if err := pool.QueryRow(context.Background(), "SELECT version, status FROM games WHERE game_id = 'g1'").Scan(&version, &status); err != nil {
		t.Fatal(err)
	}
	if version != 3 || status != "live" {
		t.Fatalf("game regressed to version %d %s", version, status)
	}
	var spread float64
	if err := pool.QueryRow(context.Background(), "SELECT home_spread FROM latest_odds WHERE game_id = 'g1' AND provider = 'p1'").Scan(&spread); err != nil {
		t.Fatal(err)
	}
	if spread != 3.5 {
		t.Fatalf("latest odds regressed to spread %v", spread)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 2 {
		t.Fatalf("%d ticks, want both", n)
	}
	// Within one batch too: the newest version of a game wins whatever
	// the order.
	mustApply(t, s, batch("s", 6, gameUpsert(game("g2", 5, feed.StatusLive)), gameUpsert(game("g2", 4, feed.StatusScheduled))))
	if n := count(t, pool, "SELECT version FROM games WHERE game_id = 'g2'"); n != 5 {
		t.Fatalf("g2 at version %d, want 5", n)
	}
}

func TestApplyRemoves(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(context.Background()) })
	o1 := odds("g1", "p1", base, 1, 110)
	o2 := odds("g1", "p1", base.Add(time.Minute), 2, 120)
	g := game("g1", 2, feed.StatusLive)
	mustApply(t, s, batch("s", 1, gameUpsert(g), oddsInsert(o1), oddsInsert(o2)))

	t.Run("TTL expiry keeps the rows", func(t *testing.T) {
		mustApply(t, s, batch("s", 10, oddsRemove(o1, true), oddsRemove(o2, true)))
		if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 2 {
			t.Fatalf("%d ticks after TTL expiries, want 2", n)
		}
	})
	t.Run("user removal of odds deletes the tick and refreshes latest", func(t *testing.T) {
		mustApply(t, s, batch("s", 20, oddsRemove(o2, false)))
		if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 1 {
			t.Fatalf("%d ticks, want 1", n)
		}
		if n := count(t, pool, "SELECT home_odds FROM latest_odds WHERE game_id = 'g1' AND provider = 'p1'"); n != 110 {
			t.Fatalf("latest home odds %d, want the remaining tick's 110", n)
		}
	})
	t.Run("user removal of a game marks it deleted", func(t *testing.T) {
		mustApply(t, s, batch("s", 30, gameRemove(g)))
		if n := count(t, pool, "SELECT count(*) FROM games WHERE deleted_at IS NOT NULL"); n != 1 {
			t.Fatal("game not marked deleted")
		}
		// A late older change does not bring it back.
		mustApply(t, s, batch("s", 31, gameUpsert(game("g1", 1, feed.StatusScheduled))))
		if n := count(t, pool, "SELECT count(*) FROM games WHERE deleted_at IS NOT NULL AND version = 2"); n != 1 {
			t.Fatal("a late older change revived the deleted game")
		}
	})
}

func TestPoisonedRecordsAndReplay(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	ctx := context.Background()
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(ctx) })

	// A cause we can fix later: a constraint that refuses one provider.
	if _, err := pool.Exec(ctx, "ALTER TABLE odds_ticks ADD CONSTRAINT no_blocked CHECK (provider <> 'blocked')"); err != nil {
		t.Fatal(err)
	}
	var changes []feed.Change
	for i := range 12 {
		changes = append(changes, oddsInsert(odds("g1", "p", base.Add(time.Duration(i)*time.Second), 1, 110+i)))
	}
	changes[3] = oddsInsert(odds("g1", "blocked", base, 1, 110))       // fixable
	changes[7] = oddsInsert(odds("g1", "bad\x00name", base, 1, 110))   // Postgres refuses NUL in text: permanent
	changes[9] = feed.Change{Kind: feed.ChangeInsert, ItemType: "BET"} // unknown item type: permanent
	wild := odds("g1", "p", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 1, 110)
	changes[11] = oddsInsert(wild) // no partition is made for year 9999: permanent
	b := batch("shard-1", 1000, changes...)
	b.Bad = []cdc.BadRecord{{Source: "shard-1", Position: "1005", Data: []byte("{not json"), Err: errors.New("malformed record")}}
	mustApply(t, s, b)

	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 8 {
		t.Fatalf("%d ticks, want the 8 good ones", n)
	}
	if got := checkpoint(t, pool, "shard-1"); got != b.Position {
		t.Fatalf("checkpoint %s, want %s (moved on past the bad records)", got, b.Position)
	}
	rows, err := pool.Query(ctx, "SELECT position::text, kind, error FROM dead_letters ORDER BY position")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var pos, kind, msg string
		if err := rows.Scan(&pos, &kind, &msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, pos+" "+kind)
		if msg == "" {
			t.Errorf("dead letter %s without an error", pos)
		}
	}
	if want := "1003 change,1005 record,1007 change,1009 change,1011 change"; strings.Join(got, ",") != want {
		t.Fatalf("dead letters %v, want %s", got, want)
	}

	// Replay before the fix: nothing applies, attempts count up.
	applied, failed, err := reporting.Replay(ctx, pool)
	if err != nil || applied != 0 || failed != 5 {
		t.Fatalf("Replay = %d applied, %d failed, %v; want 0, 5", applied, failed, err)
	}
	// Fix the cause, replay: the blocked tick arrives, the rest stay.
	if _, err := pool.Exec(ctx, "ALTER TABLE odds_ticks DROP CONSTRAINT no_blocked"); err != nil {
		t.Fatal(err)
	}
	applied, failed, err = reporting.Replay(ctx, pool)
	if err != nil || applied != 1 || failed != 4 {
		t.Fatalf("Replay = %d applied, %d failed, %v; want 1, 4", applied, failed, err)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks WHERE provider = 'blocked'"); n != 1 {
		t.Fatal("replayed tick not applied")
	}
	if n := count(t, pool, "SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL AND attempts = 3"); n != 4 {
		t.Fatalf("%d unresolved dead letters with 3 attempts, want 4", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM dead_letters WHERE resolved_at IS NOT NULL"); n != 1 {
		t.Fatal("replayed dead letter not resolved")
	}
	// Replaying again does nothing more.
	if applied, _, err := reporting.Replay(ctx, pool); err != nil || applied != 0 {
		t.Fatalf("second Replay applied %d, %v", applied, err)
	}
}

func TestOneOwnerPerSource(t *testing.T) {
	dsn, poolA := newDB(t)
	ensureToday(t, poolA)
	ctx := context.Background()
	poolB, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)
	a := reporting.NewSync(poolA, reporting.SyncOptions{})
	b := reporting.NewSync(poolB, reporting.SyncOptions{})
	t.Cleanup(func() { a.Close(ctx); b.Close(ctx) })

	mustApply(t, a, batch("shard-1", 1, oddsInsert(odds("g1", "p", base, 1, 110))))
	// B may sync another shard, but not A's.
	mustApply(t, b, batch("shard-2", 1, oddsInsert(odds("g2", "p", base, 1, 110))))
	next := batch("shard-1", 2, oddsInsert(odds("g1", "p", base.Add(time.Second), 2, 120)))
	if err := b.Apply(ctx, next); !errors.Is(err, reporting.ErrNotOwner) {
		t.Fatalf("B applied A's shard: err = %v, want ErrNotOwner", err)
	}
	if err := a.Apply(ctx, batch("shard-2", 2, oddsInsert(odds("g2", "p", base.Add(time.Second), 2, 120)))); !errors.Is(err, reporting.ErrNotOwner) {
		t.Fatalf("A applied B's shard: err = %v, want ErrNotOwner", err)
	}

	// A dies: its Postgres session ends (as when the process is killed).
	if _, err := poolB.Exec(ctx, "SELECT pg_terminate_backend($1)", int32(reporting.LockPID(a))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := b.Apply(ctx, next)
		if err == nil {
			break
		}
		if !errors.Is(err, reporting.ErrNotOwner) || time.Now().After(deadline) {
			t.Fatalf("B did not take over: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := checkpoint(t, poolB, "shard-1"); got != "2" {
		t.Fatalf("checkpoint %s, want 2", got)
	}
	// A comes back: its lock session is gone and B holds the shard.
	if err := a.Apply(ctx, batch("shard-1", 3, oddsInsert(odds("g1", "p", base.Add(2*time.Second), 3, 130)))); !errors.Is(err, reporting.ErrNotOwner) {
		t.Fatalf("A after losing its lock: err = %v, want ErrNotOwner", err)
	}
	// B shuts down cleanly (Close, pool closed): A takes over at once,
	// from B's checkpoint.
	b.Close(ctx)
	poolB.Close()
	st, err := a.Start(ctx, "shard-1")
	if err != nil || st != cdc.After("2") {
		t.Fatalf("A starts at %+v, %v; want after 2", st, err)
	}
	// B's session ends asynchronously on the server after its connection
	// closes: A gets the lock within moments.
	deadline = time.Now().Add(10 * time.Second)
	for {
		err := a.Apply(ctx, batch("shard-1", 3, oddsInsert(odds("g1", "p", base.Add(2*time.Second), 3, 130))))
		if err == nil {
			break
		}
		if !errors.Is(err, reporting.ErrNotOwner) || time.Now().After(deadline) {
			t.Fatalf("A did not take over after B closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := count(t, poolA, "SELECT count(*) FROM odds_ticks"); n != 4 {
		t.Fatalf("%d ticks, want 4", n)
	}
}

func TestApplyPostgresUnavailable(t *testing.T) {
	dsn, pool := newDB(t)
	ensureToday(t, pool)
	ctx := context.Background()
	// A pool on a port nobody listens on: Postgres is down.
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Port = 1
	cfg.ConnConfig.ConnectTimeout = time.Second
	down, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	b := batch("shard-1", 1, oddsInsert(odds("g1", "p", base, 1, 110)))
	s := reporting.NewSync(down, reporting.SyncOptions{})
	if err := s.Apply(ctx, b); err == nil || errors.Is(err, reporting.ErrNotOwner) {
		t.Fatalf("Apply with Postgres down: %v, want a connection error", err)
	}
	// Back up: the same batch (the Tailer redelivers it) applies.
	s2 := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s2.Close(ctx) })
	mustApply(t, s2, b)
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 1 {
		t.Fatalf("%d ticks", n)
	}
}

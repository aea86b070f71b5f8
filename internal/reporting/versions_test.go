package reporting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// corrected returns o's next version with a new home price (a provider's
// correction of its price at the same instant).
func corrected(o feed.Odds, homeOdds int) feed.Odds {
	n := o
	n.Version, n.HomeOdds, n.AwayOdds = o.Version+1, homeOdds, -homeOdds
	n.ReceivedAt = o.ReceivedAt.Add(time.Second)
	return n
}

// oddsModify is the MODIFY change that carries the correction n of old.
func oddsModify(old, n feed.Odds) feed.Change {
	return feed.Change{Kind: feed.ChangeModify, Key: n.Key(), ItemType: feed.TypeOdds, Version: n.Version, NewOdds: &n, OldOdds: &old, At: n.ReceivedAt}
}

// versionsOf returns the versions and home prices stored for one key, by
// version.
func versionsOf(t *testing.T, pool *pgxpool.Pool, o feed.Odds) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(version || ':' || home_odds, ' ' ORDER BY version), '')
		FROM odds_ticks WHERE game_id = $1 AND provider = $2 AND observed_at = $3`, o.GameID, o.Provider, o.ObservedAt).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// latestOf returns the version and home price of latest_odds of o's game
// and provider ("" when there is none).
func latestOf(t *testing.T, pool *pgxpool.Pool, o feed.Odds) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT coalesce((SELECT version || ':' || home_odds FROM latest_odds
		WHERE game_id = $1 AND provider = $2), '')`, o.GameID, o.Provider).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSync(t *testing.T, pool *pgxpool.Pool) *reporting.Sync {
	t.Helper()
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func TestApplyCorrections(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	s := newSync(t, pool)
	v1 := odds("g1", "p1", base.Add(time.Nanosecond), 1, 110)
	v2 := corrected(v1, 120)
	v3 := corrected(v2, 130)

	t.Run("a MODIFY inserts the new version's row", func(t *testing.T) {
		mustApply(t, s, batch("s", 1, oddsInsert(v1)))
		b := batch("s", 2, oddsModify(v1, v2))
		mustApply(t, s, b)
		if got := versionsOf(t, pool, v1); got != "1:110 2:120" {
			t.Fatalf("rows %q, want both versions", got)
		}
		if got := latestOf(t, pool, v1); got != "2:120" {
			t.Fatalf("latest %q, want version 2", got)
		}
		// A replay of the batch, by this Sync and as duplicates at new
		// positions (the safe path), changes nothing.
		want := snapshot(t, pool)
		mustApply(t, s, b)
		mustApply(t, s, batch("s", 10, oddsModify(v1, v2), oddsInsert(v1), oddsModify(v1, v2)))
		if got := snapshot(t, pool); got != want {
			t.Fatalf("replay changed the rows:\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("a newer version first, then the older ones", func(t *testing.T) {
		o1 := odds("g1", "p2", base, 2, 150)
		o2 := corrected(o1, 160)
		o3 := corrected(o2, 170)
		mustApply(t, s, batch("s", 20, oddsModify(o2, o3)))
		mustApply(t, s, batch("s", 21, oddsInsert(o1), oddsModify(o1, o2)))
		if got := versionsOf(t, pool, o1); got != "1:150 2:160 3:170" {
			t.Fatalf("rows %q, want all three versions", got)
		}
		if got := latestOf(t, pool, o1); got != "3:170" {
			t.Fatalf("latest %q, want version 3", got)
		}
		// Within one batch too, whatever the order.
		o4 := odds("g1", "p3", base, 2, 150)
		o5 := corrected(o4, 190)
		mustApply(t, s, batch("s", 30, oddsModify(o4, o5), oddsInsert(o4)))
		if got, l := versionsOf(t, pool, o4), latestOf(t, pool, o4); got != "1:150 2:190" || l != "2:190" {
			t.Fatalf("rows %q, latest %q", got, l)
		}
	})
	t.Run("a REMOVE deletes every version", func(t *testing.T) {
		earlier := odds("g1", "p1", base.Add(-time.Minute), 1, 105)
		mustApply(t, s, batch("s", 40, oddsInsert(earlier), oddsModify(earlier, corrected(earlier, 106)), oddsModify(v2, v3)))
		if got := latestOf(t, pool, v1); got != "3:130" {
			t.Fatalf("latest %q, want version 3", got)
		}
		mustApply(t, s, batch("s", 43, oddsRemove(v3, false)))
		if got := versionsOf(t, pool, v1); got != "" {
			t.Fatalf("rows %q left after the removal", got)
		}
		if got := latestOf(t, pool, v1); got != "2:106" {
			t.Fatalf("latest %q, want the earlier tick's newest version", got)
		}
		// A TTL expiry keeps the history.
		o1 := odds("g1", "p2", base, 2, 150)
		mustApply(t, s, batch("s", 44, oddsRemove(corrected(corrected(o1, 160), 170), true)))
		if got := versionsOf(t, pool, o1); got != "1:150 2:160 3:170" {
			t.Fatalf("rows %q after a TTL expiry", got)
		}
	})
	t.Run("versions written after a REMOVE in the same batch stay", func(t *testing.T) {
		o := odds("g2", "p1", base, 1, 110)
		again := odds("g2", "p1", base, 1, 140) // re-created after the removal: version 1 again
		mustApply(t, s, batch("s", 50, oddsInsert(o), oddsModify(o, corrected(o, 120)),
			oddsRemove(corrected(o, 120), false), oddsInsert(again)))
		if got, l := versionsOf(t, pool, o), latestOf(t, pool, o); got != "1:140" || l != "1:140" {
			t.Fatalf("rows %q, latest %q; want the re-created item only", got, l)
		}
	})
}

// staticScanner is a reporting.Scanner over a fixed list of items, one
// segment, one page: the store's current items as a backfill reads them.
type staticScanner []feed.Item

func (s staticScanner) ScanSegment(_ context.Context, segment, _ int, _ string, page func([]feed.Item, string) error) error {
	if segment != 0 {
		return page(nil, "")
	}
	return page(s, "")
}

// A backfill reads the store's current version only: v2 in the store, v1
// synced before, leaves both rows and latest at v2; a backfill of v1 after
// the sync applied v2 does not move latest back.
func TestBackfillKeepsVersions(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	ctx := context.Background()
	s := newSync(t, pool)
	a1 := odds("g1", "p1", base, 1, 110)
	b1 := odds("g1", "p2", base, 1, 110)
	mustApply(t, s, batch("s", 1, oddsInsert(a1), oddsInsert(b1), oddsModify(b1, corrected(b1, 120))))
	items := staticScanner{feed.OddsItem(corrected(a1, 130), time.Time{}), feed.OddsItem(b1, time.Time{})}
	for run := range 2 {
		if err := reporting.Backfill(ctx, items, pool, nil, reporting.BackfillOptions{Segments: 2, Restart: true}); err != nil {
			t.Fatal(err)
		}
		if got, l := versionsOf(t, pool, a1), latestOf(t, pool, a1); got != "1:110 2:130" || l != "2:130" {
			t.Fatalf("run %d: rows %q, latest %q; want both versions, latest v2", run, got, l)
		}
		if got, l := versionsOf(t, pool, b1), latestOf(t, pool, b1); got != "1:110 2:120" || l != "2:120" {
			t.Fatalf("run %d: rows %q, latest %q; want both versions, latest v2", run, got, l)
		}
	}
}

// Line movement and movers count a corrected observation once, as its
// newest version; provider volume counts every version.
func TestReportsCountCorrections(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	ctx := context.Background()
	s := newSync(t, pool)
	q := db.New(pool)
	// p1: -110 at t0, -120 at t1 corrected to -110 (no move after all),
	// -130 at t2 corrected twice; the first observation corrected too.
	t0 := odds("g1", "p1", base, -3, -110)
	t1 := odds("g1", "p1", base.Add(time.Minute), -3, -120)
	t2 := odds("g1", "p1", base.Add(2*time.Minute), -4, -130)
	t0b, t1b, t2b := corrected(t0, -105), corrected(t1, -105), corrected(t2, -140)
	t2c := corrected(t2b, -150)
	mustApply(t, s, batch("s", 1, oddsInsert(t0), oddsInsert(t1), oddsInsert(t2),
		oddsModify(t0, t0b), oddsModify(t1, t1b), oddsModify(t2, t2b), oddsModify(t2b, t2c)))

	moves, err := q.LineMovement(ctx, db.LineMovementParams{GameID: "g1", FromTime: base.Add(-time.Hour), ToTime: base.Add(time.Hour), MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range moves {
		got = append(got, fmt.Sprintf("%s %g %d", m.ObservedAt.Sub(base), m.HomeSpread, m.HomeOdds))
	}
	if fmt.Sprint(got) != "[0s -3 -105 2m0s -4 -150]" {
		t.Fatalf("movement %v, want the newest versions, t1 not a move", got)
	}
	movers, err := q.BiggestMovers(ctx, db.BiggestMoversParams{Since: base.Add(-time.Hour), MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(movers) != 1 || movers[0].Ticks != 3 || movers[0].OpenHomeOdds != -105 || movers[0].LastHomeOdds != -150 || movers[0].SpreadMove != 1 {
		t.Fatalf("movers %+v, want 3 ticks from -105 to -150", movers)
	}
	fresh, err := q.ProviderFreshness(ctx, base.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 1 || fresh[0].Ticks != 7 {
		t.Fatalf("provider volume %+v, want 7 (every version)", fresh)
	}
	prob, err := q.GameProbability(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if len(prob) != 1 || prob[0].HomeOdds != -150 {
		t.Fatalf("probability from %+v, want the newest version's -150", prob)
	}
}

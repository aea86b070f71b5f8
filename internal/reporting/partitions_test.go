package reporting_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

func TestPartitionsConcurrentCreators(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	day := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	// Several keepers (as several replicas would have), racing for the
	// same days: no error, each partition once.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			p := reporting.NewPartitions(pool)
			errs <- p.Ensure(ctx, day, day.Add(time.Duration(i)*time.Hour*3))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent creator: %v", err)
		}
	}
	days, err := reporting.NewPartitions(pool).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 16 creators cover 14 Mar .. 16 Mar (0..45 hours after 15:09).
	if len(days) != 3 || !days[0].Equal(reporting.Day(day)) {
		t.Fatalf("partitions %v", days)
	}
	if got := reporting.PartitionName(day); got != "odds_ticks_p20260314" {
		t.Fatalf("PartitionName = %s", got)
	}
}

func TestPartitionsEnsureAheadAndRetention(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	p := reporting.NewPartitions(pool)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if err := p.EnsureAhead(ctx, now, 1, 3); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureAhead(ctx, now, 1, 3); err != nil { // again: nothing to do
		t.Fatal(err)
	}
	days, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 5 || !days[0].Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) || !days[4].Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("partitions %v, want 22..26 Nov", days)
	}
	// A row per day, then drop everything observed before 24 Nov 12:00:
	// the partitions of 22 and 23 Nov go (24 Nov still holds newer rows).
	for _, d := range days {
		if _, err := pool.Exec(ctx, `INSERT INTO odds_ticks (game_id, provider, observed_at, away_spread, home_spread, away_odds, home_odds, version, received_at)
			VALUES ('g', 'p', $1, 0, 0, 100, 100, 1, $1)`, d.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// A row of a day with no partition (and after the archive's bound,
	// still 2000-01-01) fails: there is no default partition.
	if _, err := pool.Exec(ctx, `INSERT INTO odds_ticks (game_id, provider, observed_at, away_spread, home_spread, away_odds, home_odds, version, received_at)
		VALUES ('g', 'p', '2020-01-01Z', 0, 0, 100, 100, 1, now())`); err == nil {
		t.Fatal("a row without a partition was stored")
	}
	dropped, err := p.DropPartitionsBefore(ctx, time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 2 || dropped[0] != "odds_ticks_p20261122" || dropped[1] != "odds_ticks_p20261123" {
		t.Fatalf("dropped %v", dropped)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 3 {
		t.Fatalf("%d rows left, want 3", n)
	}
	// The archive now ends where the days kept begin (24 Nov): a dropped
	// day (or any before) is not made again, its rows go to the archive; a
	// new day is made.
	if err := p.Ensure(ctx, time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if days, _ := p.List(ctx); len(days) != 3 {
		t.Fatalf("partitions %v after ensuring dropped days", days)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO odds_ticks (game_id, provider, observed_at, away_spread, home_spread, away_odds, home_odds, version, received_at)
		VALUES ('g', 'p', '2026-11-22 01:00Z', 0, 0, 100, 100, 1, now()), ('g', 'p', '2020-01-01Z', 0, 0, 100, 100, 1, now())`); err != nil {
		t.Fatalf("rows before the days kept: %v", err)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks_archive"); n != 2 {
		t.Fatalf("%d rows in the archive, want 2", n)
	}
	if err := p.Ensure(ctx, time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if days, _ := p.List(ctx); len(days) != 4 {
		t.Fatalf("partitions %v after ensuring a new day", days)
	}
}

func TestPartitionsMaintain(t *testing.T) {
	_, pool := newDB(t)
	p := reporting.NewPartitions(pool)
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if err := p.Ensure(ctx, now.AddDate(0, 0, -40), now.AddDate(0, 0, -10)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Maintain(ctx, reporting.MaintainOptions{Retention: 30 * 24 * time.Hour, Ahead: 2, Now: func() time.Time { return now }})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		days, err := p.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// 10 days ago (kept), then 22..25 Nov; 40 days ago dropped.
		if len(days) == 5 && days[0].Equal(reporting.Day(now.AddDate(0, 0, -10))) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions %v", days)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

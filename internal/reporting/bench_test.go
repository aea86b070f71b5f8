package reporting_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// benchBatchSizes are the batch sizes measured: the embedded log's default
// batch (500) and a small one.
var benchBatchSizes = []int{100, 500}

// benchOdds returns batch n's odds: 50 games x 4 providers, unique times.
func benchOdds(n, size int) []feed.Odds {
	out := make([]feed.Odds, size)
	for i := range out {
		k := n*size + i
		at := base.Add(time.Duration(k) * time.Millisecond)
		out[i] = odds(fmt.Sprintf("game-%d", k%50), fmt.Sprintf("p%d", (k/50)%4), at, float64(k%13)/2, 100+k%80)
	}
	return out
}

// BenchmarkSyncApply measures Sync.Apply (set-based upserts of ticks and
// latest odds, plus the checkpoint, in one transaction) in rows/s; compare
// with BenchmarkRawCopyFrom of the same rows into the same table.
func BenchmarkSyncApply(b *testing.B) {
	for _, size := range benchBatchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			_, pool := newDB(b)
			ensureToday(b, pool)
			s := reporting.NewSync(pool, reporting.SyncOptions{})
			b.Cleanup(func() { s.Close(context.Background()) })
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n++ {
				ods := benchOdds(n, size)
				changes := make([]feed.Change, size)
				for i := range ods {
					changes[i] = oddsInsert(ods[i])
					changes[i].Source, changes[i].Position = "shard-1", strconv.Itoa(n*size+i+1)
				}
				if err := s.Apply(ctx, cdc.Batch{Source: "shard-1", Changes: changes, Position: changes[size-1].Position}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkRawCopyFrom copies the same rows into odds_ticks with pgx
// CopyFrom, nothing else: the ceiling for BenchmarkSyncApply.
func BenchmarkRawCopyFrom(b *testing.B) {
	cols := []string{"game_id", "provider", "observed_at", "observed_ns", "away_spread", "home_spread", "away_odds", "home_odds", "version", "received_at"}
	for _, size := range benchBatchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			_, pool := newDB(b)
			ensureToday(b, pool)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n++ {
				ods := benchOdds(n, size)
				rows := make([][]any, size)
				for i, o := range ods {
					rows[i] = []any{o.GameID, o.Provider, o.ObservedAt, int16(0), o.AwaySpread, o.HomeSpread, int32(o.AwayOdds), int32(o.HomeOdds), o.Version, o.ReceivedAt}
				}
				if _, err := pool.CopyFrom(ctx, pgx.Identifier{"odds_ticks"}, cols, pgx.CopyFromRows(rows)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkSyncVsCopy alternates a Sync.Apply batch and a raw CopyFrom of
// the same rows (into a second database's odds_ticks) in one loop, so both
// see the same machine load: on a shared machine the ratio is the figure to
// trust ("apply/copy", target >= 0.5).
func BenchmarkSyncVsCopy(b *testing.B) {
	cols := []string{"game_id", "provider", "observed_at", "observed_ns", "away_spread", "home_spread", "away_odds", "home_odds", "version", "received_at"}
	const size = 500
	_, pool := newDB(b)
	_, raw := newDB(b)
	ensureToday(b, pool)
	ensureToday(b, raw)
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	b.Cleanup(func() { s.Close(context.Background()) })
	ctx := context.Background()
	var applyTime, copyTime time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		ods := benchOdds(n, size)
		changes := make([]feed.Change, size)
		rows := make([][]any, size)
		for i, o := range ods {
			changes[i] = oddsInsert(o)
			changes[i].Source, changes[i].Position = "shard-1", strconv.Itoa(n*size+i+1)
			rows[i] = []any{o.GameID, o.Provider, o.ObservedAt, int16(0), o.AwaySpread, o.HomeSpread, int32(o.AwayOdds), int32(o.HomeOdds), o.Version, o.ReceivedAt}
		}
		t0 := time.Now()
		if err := s.Apply(ctx, cdc.Batch{Source: "shard-1", Changes: changes, Position: changes[size-1].Position}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := raw.CopyFrom(ctx, pgx.Identifier{"odds_ticks"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		applyTime += t1.Sub(t0)
		copyTime += time.Since(t1)
	}
	rowsDone := float64(b.N * size)
	b.ReportMetric(rowsDone/applyTime.Seconds(), "apply-rows/s")
	b.ReportMetric(rowsDone/copyTime.Seconds(), "copy-rows/s")
	b.ReportMetric(copyTime.Seconds()/applyTime.Seconds(), "apply/copy")
}

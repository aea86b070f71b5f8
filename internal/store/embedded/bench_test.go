package embedded

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

var benchGames, benchProviders = func() (g [20]string, p [5]string) {
	for i := range g {
		g[i] = fmt.Sprintf("game-%02d", i)
	}
	for i := range p {
		p[i] = fmt.Sprintf("provider-%d", i)
	}
	return g, p
}()

// benchBatch returns batch n of 500 new odds over 20 games and 5 providers.
func benchBatch(n int) []feed.Odds {
	const size = 500
	odds := make([]feed.Odds, size)
	base := t0.Add(time.Duration(n) * time.Second)
	for i := range odds {
		at := base.Add(time.Duration(i) * time.Microsecond)
		odds[i] = feed.Odds{
			GameID: benchGames[i%20], Provider: benchProviders[i%5],
			ObservedAt: at, ReceivedAt: at.Add(time.Millisecond),
			AwaySpread: 3.5, HomeSpread: -3.5, AwayOdds: 100 + i, HomeOdds: -110 - i,
		}
	}
	return odds
}

// BenchmarkPutOdds500 measures one writer storing batches of 500 new odds,
// each batch one durable (fsynced) transaction.
func BenchmarkPutOdds500(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{OddsTTL: 24 * time.Hour})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		batch := benchBatch(n)
		n++
		b.StartTimer()
		mustPutOdds(b, s, batch)
	}
	b.ReportMetric(float64(n*500)/b.Elapsed().Seconds(), "odds/s")
}

// BenchmarkPutOdds500Parallel measures concurrent writers of 500-odds
// batches sharing group commits, as concurrent HTTP requests do.
func BenchmarkPutOdds500Parallel(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{OddsTTL: 24 * time.Hour})
	b.ReportAllocs()
	b.SetParallelism(4)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mustPutOdds(b, s, benchBatch(int(next.Add(1))))
		}
	})
	b.ReportMetric(float64(next.Load()*500)/b.Elapsed().Seconds(), "odds/s")
}

package reporting_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// runTailer runs a Tailer with a Sync over the store's change log until
// the returned stop is called.
func runTailer(t *testing.T, st *embedded.Store, pool *pgxpool.Pool) (stop func()) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	s := reporting.NewSync(pool, reporting.SyncOptions{Logger: log})
	tl := cdc.NewTailer(cdc.NewLogSource(st, cdc.LogOptions{Logger: log}), cdc.TailerOptions{Logger: log, Backoff: cdc.Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond}})
	tl.Add(s, cdc.ConsumerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = tl.Run(ctx) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			_ = s.Close(context.Background())
		})
	}
	t.Cleanup(stop)
	return stop
}

func putOdds(t *testing.T, st *embedded.Store, from, n int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i += 50 {
		var b []feed.Odds
		for j := i; j < min(i+50, from+n); j++ {
			o := odds(fmt.Sprintf("game-%d", j%20), fmt.Sprintf("p%d", j%3), time.Now().UTC().Add(time.Duration(j)*time.Microsecond), float64(j%9), 100+j%50)
			o.ReceivedAt = time.Now().UTC()
			b = append(b, o)
		}
		if _, err := st.PutOdds(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

func waitRows(t *testing.T, pool *pgxpool.Pool, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := count(t, pool, "SELECT count(*) FROM odds_ticks")
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			t.Fatalf("%d ticks, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The embedded back end end to end: the store's change log through the
// Tailer into Postgres, across a restart, exactly once.
func TestSyncThroughTailer(t *testing.T) {
	_, pool := newDB(t)
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for g := range 20 {
		if _, _, err := st.PutGame(context.Background(), game(fmt.Sprintf("game-%d", g), 0, feed.StatusLive), store.System); err != nil {
			t.Fatal(err)
		}
	}
	stop := runTailer(t, st, pool)
	putOdds(t, st, 0, 2000)
	waitRows(t, pool, 2000)
	stop()

	putOdds(t, st, 2000, 500) // written while the sync is down
	runTailer(t, st, pool)
	putOdds(t, st, 2500, 500)
	waitRows(t, pool, 3000)
	waitSynced(t, st, pool)
	last, err := st.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT applied_changes FROM sync_checkpoints"); n != int64(last) {
		t.Fatalf("applied %d changes, the log holds %d: some applied twice or lost", n, last)
	}
	if n := count(t, pool, "SELECT count(*) FROM games"); n != 20 {
		t.Fatalf("%d games", n)
	}
	var p50, p99 float64
	if err := pool.QueryRow(context.Background(), `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at) * 1000),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at) * 1000)
		FROM odds_ticks`).Scan(&p50, &p99); err != nil {
		t.Fatal(err)
	}
	t.Logf("received-to-applied delay (incl. the sync's downtime): p50 %.1f ms, p99 %.1f ms", p50, p99)
}

// BenchmarkFreshness streams odds into the embedded store at a fixed rate
// (5,000/s, in requests of 50 every 10 ms) for 5 s per iteration while the
// Tailer syncs them, and reports the delay from observation to the row's
// applied_at (the sync transaction's start; the commit follows within
// milliseconds).
func BenchmarkFreshness(b *testing.B) {
	const perTick, tick, span = 50, 10 * time.Millisecond, 5 * time.Second
	_, pool := newDB(b)
	ensureToday(b, pool)
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	s := reporting.NewSync(pool, reporting.SyncOptions{Logger: log})
	tl := cdc.NewTailer(cdc.NewLogSource(st, cdc.LogOptions{Logger: log}), cdc.TailerOptions{Logger: log})
	tl.Add(s, cdc.ConsumerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = tl.Run(ctx) })
	defer func() { cancel(); wg.Wait(); s.Close(context.Background()) }()

	total := 0
	b.ResetTimer()
	for range b.N {
		ticker := time.NewTicker(tick)
		end := time.Now().Add(span)
		for time.Now().Before(end) {
			<-ticker.C
			now := time.Now().UTC()
			batch := make([]feed.Odds, perTick)
			for i := range batch {
				batch[i] = odds(fmt.Sprintf("game-%d", total%200), fmt.Sprintf("p%d", (total/200)%5), now.Add(time.Duration(total)*time.Nanosecond), 1, 110)
				batch[i].ReceivedAt = now
				total++
			}
			if _, err := st.PutOdds(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		ticker.Stop()
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(b, pool, "SELECT count(*) FROM odds_ticks") < int64(total) {
		if time.Now().After(deadline) {
			b.Fatal("sync did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	var p50, p99, maxMs float64
	if err := pool.QueryRow(context.Background(), `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - observed_at) * 1000),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - observed_at) * 1000),
		max(extract(epoch FROM applied_at - observed_at) * 1000)::float8
		FROM odds_ticks`).Scan(&p50, &p99, &maxMs); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/(float64(b.N)*span.Seconds()), "odds/s")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(maxMs, "max-ms")
}

package app_test

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// TestPostgresOutage stops Postgres for 30 s in the middle of a stream of
// posts: live WebSocket pushes never pause, and once Postgres is back the
// reporting rows are complete.
func TestPostgresOutage(t *testing.T) {
	pg, err := harness.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	dsn := pg.NewDatabase(t)
	if err := reporting.Migrate(context.Background(), dsn, reporting.MigrateUp, io.Discard); err != nil {
		t.Fatal(err)
	}
	k := newKeys()
	base := serve(t, map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(),
		"ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATABASE_URL": dsn})
	games := []string{"o1", "o2"}
	for _, g := range games {
		client{t, base, k.provider}.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	ws := dial(t, base, "", k.analyst)
	send(t, ws, map[string]any{"type": "subscribe", "topics": []string{"all"}})

	// Watch the live stream: the odds frames received, and when the last
	// one came.
	var mu sync.Mutex
	var last time.Time
	received := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f frame
			if json.Unmarshal(data, &f) != nil || f.Type != "odds" {
				continue
			}
			mu.Lock()
			received++
			last = time.Now()
			mu.Unlock()
		}
	}()
	stream := func() (int, time.Time) {
		mu.Lock()
		defer mu.Unlock()
		return received, last
	}
	// watch waits d, measuring on a ticker the silence since the last
	// frame: the longest one, whether or not a frame ends it (a stream that
	// stalls for good is as silent as it gets).
	var maxGap time.Duration
	watch := func(d time.Duration) {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); {
			<-tick.C
			if _, at := stream(); time.Since(at) > maxGap {
				maxGap = time.Since(at)
			}
		}
	}

	stop := make(chan struct{})
	done := make(chan int)
	go func() { done <- postPaced(base, k.provider, games, stop) }()
	eventually(t, 30*time.Second, "the stream to flow", func() bool { n, _ := stream(); return n > 0 })
	watch(time.Second)
	if err := pg.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Log("postgres stopped")
	before, _ := stream()
	watch(2 * time.Second)
	var ready map[string]string
	client{t, base, ""}.want(503, "GET", "/readyz", nil, &ready)
	if ready["postgres"] != "unreachable" || ready["store"] != "ok" {
		t.Errorf("readyz during the outage = %v", ready)
	}
	watch(28 * time.Second)
	after, _ := stream()
	duringOutage, gap := after-before, maxGap
	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	t.Log("postgres started")
	time.Sleep(time.Second) // posts with postgres back
	close(stop)
	posted := <-done
	// 200 odds/s are posted: 6,000 during the outage.
	if gap > 2*time.Second || duringOutage < 1000 { // against a 30 s outage; generous for a loaded CI machine
		t.Errorf("the live stream paused for %v while postgres was down (%d odds pushed in the 30 s)", gap, duringOutage)
	}
	want := storeTicks(t, client{t, base, k.analyst}, games)
	deadline := time.Now().Add(60 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = reportTicks(t, dsn); len(got) >= len(want) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(got) != len(want) || checksum(got) != checksum(want) {
		t.Fatalf("postgres has %d rows (checksum %s), the feed store %d (checksum %s)", len(got), checksum(got), len(want), checksum(want))
	}
	t.Logf("%d odds posted; %d pushed live during the outage (longest silence %v); postgres complete with %d rows", posted, duringOutage, gap, len(got))
}

// postPaced posts a batch of 10 odds every 50 ms until stop; it returns the
// odds acknowledged.
func postPaced(base, key string, games []string, stop <-chan struct{}) int {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	start := time.Now().UTC().Add(-time.Hour)
	acked := 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			return acked
		case <-tick.C:
		}
		var items []oddsJSON
		for j := range 10 {
			n := i*10 + j
			items = append(items, oddsJSON{GameID: games[n%len(games)], ObservedAt: start.Add(time.Duration(n) * time.Millisecond),
				AwaySpread: 0.5, HomeSpread: -0.5, AwayOdds: 100 + n%50, HomeOdds: -110})
		}
		if status, err := post(base, key, items); err == nil && status == 200 {
			acked += len(items)
		}
	}
}

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

	// Watch the live stream: the longest silence while odds are posted.
	var mu sync.Mutex
	var maxGap time.Duration
	received := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		last := time.Now()
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f frame
			if json.Unmarshal(data, &f) != nil || f.Type != "odds" {
				continue
			}
			now := time.Now()
			mu.Lock()
			if received > 0 && now.Sub(last) > maxGap {
				maxGap = now.Sub(last)
			}
			received++
			mu.Unlock()
			last = now
		}
	}()

	stop := make(chan struct{})
	done := make(chan int)
	go func() { done <- postPaced(base, k.provider, games, stop) }()
	time.Sleep(time.Second)
	if err := pg.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Log("postgres stopped")
	time.Sleep(2 * time.Second)
	var ready map[string]string
	client{t, base, ""}.want(503, "GET", "/readyz", nil, &ready)
	if ready["postgres"] != "unreachable" || ready["store"] != "ok" {
		t.Errorf("readyz during the outage = %v", ready)
	}
	time.Sleep(28 * time.Second)
	mu.Lock()
	duringOutage, gap := received, maxGap
	mu.Unlock()
	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	t.Log("postgres started")
	time.Sleep(time.Second)
	close(stop)
	posted := <-done
	if gap > 2*time.Second { // against a 30 s outage; generous for a loaded CI machine
		t.Errorf("the live stream paused for %v while postgres was down", gap)
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

package app_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestStreamResumeAcrossRestart kills the server in the middle of a stream
// and restarts it; a client reconnecting with since (and the observedAt of
// its newest odds) misses nothing and gets nothing twice.
func TestStreamResumeAcrossRestart(t *testing.T) {
	k := newKeys()
	dir := t.TempDir()
	base, cmd := startChild(t, dir, k.spec)
	client{t, base, k.provider}.want(201, "PUT", "/v1/games/k1", map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)

	var url atomic.Value
	url.Store(base)
	start := time.Now().UTC().Add(-time.Hour)
	var n, fails atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	post5 := func() { // the provider keeps posting, through the restart
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			i := n.Load()
			var items []oddsJSON
			for j := range 5 {
				items = append(items, oddsJSON{GameID: "k1", ObservedAt: start.Add(time.Duration(i+int64(j)) * time.Millisecond), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + int(i)%50 + j, HomeOdds: -120})
			}
			if status, err := post(url.Load().(string), k.provider, items); err == nil && status == 200 {
				n.Add(5)
			} else {
				fails.Add(1)
			}
		}
	}
	// waitPosted waits until more posts than after were acknowledged.
	waitPosted := func(what string, after int64) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() bool { return n.Load() > after })
	}

	got := map[time.Time]int{}
	var lastSeq uint64
	var lastAt time.Time
	var epoch string
	take := func(o oddsJSON) {
		got[o.ObservedAt.UTC()]++
		if o.ObservedAt.After(lastAt) {
			lastAt = o.ObservedAt
		}
	}
	ws := dial(t, base, "", k.analyst)
	send(t, ws, map[string]any{"type": "subscribe", "topics": []string{"game:k1"}})
	posting := false
	for deadline := time.Now().Add(time.Second); !posting || time.Now().Before(deadline); {
		f := read[struct {
			frame
			Missed []oddsJSON `json:"missed"`
		}](t, ws)
		epoch = f.Epoch
		switch f.Type {
		case "snapshot":
			var os []oddsJSON
			_ = json.Unmarshal(f.Odds, &os)
			for _, o := range os {
				take(o)
			}
			lastSeq = f.Seq
			// Subscribed: the provider starts, and the stream runs
			// for a second.
			wg.Add(1)
			go post5()
			posting, deadline = true, time.Now().Add(time.Second)
		case "odds":
			var o oddsJSON
			_ = json.Unmarshal(f.Odds, &o)
			take(o)
			lastSeq = f.Seq
		}
	}
	if len(got) == 0 {
		t.Fatal("no odds streamed before the kill")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	ws.CloseNow()
	// Posts fail while the server is down.
	failed := fails.Load()
	eventually(t, 30*time.Second, "a post to fail while the server is down", func() bool { return fails.Load() > failed })
	base2, _ := startChild(t, dir, k.spec)
	url.Store(base2)
	// Odds the client misses while disconnected.
	waitPosted("posts to the restarted server", n.Load())

	ws2 := dial(t, base2, "", k.analyst)
	send(t, ws2, map[string]any{"type": "subscribe", "topics": []string{"game:k1"},
		"since": map[string]uint64{"k1": lastSeq}, "epoch": epoch, "sinceTime": map[string]time.Time{"k1": lastAt}})
	// And odds posted after the resume.
	waitPosted("posts after the resume", n.Load()+10)
	close(stop)
	wg.Wait()
	// A last odds, the newest: once it has arrived, so has everything
	// posted before it, and any duplicate of it.
	marker := oddsJSON{GameID: "k1", ObservedAt: time.Now().UTC().Truncate(time.Millisecond), AwaySpread: 1, HomeSpread: -1, AwayOdds: 777, HomeOdds: -120}
	client{t, base2, k.provider}.want(200, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{marker}}, nil)
	for got[marker.ObservedAt.UTC()] == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, data, err := ws2.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for the last odds: %v (%d distinct odds received)", err, len(got))
		}
		var f struct {
			frame
			Missed    []oddsJSON `json:"missed"`
			Truncated bool       `json:"truncated"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case "snapshot":
			if !f.Reset || f.Truncated {
				t.Fatalf("resume snapshot: reset %v truncated %v", f.Reset, f.Truncated)
			}
			for _, o := range f.Missed {
				take(o)
			}
		case "odds":
			var o oddsJSON
			_ = json.Unmarshal(f.Odds, &o)
			take(o)
		}
	}

	want := storeTicks(t, client{t, base2, k.analyst}, []string{"k1"})
	dups := 0
	for _, c := range got {
		if c > 1 {
			dups++
		}
	}
	if dups > 0 || len(got) != len(want) {
		t.Fatalf("client holds %d distinct odds (%d delivered more than once); the store has %d", len(got), dups, len(want))
	}
	t.Logf("client saw all %d odds exactly once across a SIGKILL and restart", len(want))
}

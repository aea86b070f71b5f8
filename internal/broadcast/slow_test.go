package broadcast

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// smallBufDialer dials with a small receive buffer (harness.SmallReceiveBuffers).
func smallBufDialer() *websocket.DialOptions {
	return &websocket.DialOptions{HTTPClient: harness.SmallReceiveBuffers()}
}

// startSmallBufHub serves a hub with o on a listener with small send
// buffers, and returns it and its ws:// URL.
func startSmallBufHub(t *testing.T, o Options) (*Hub, string) {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hub := New(st, o)
	srv := httptest.NewUnstartedServer(hub)
	srv.Listener = harness.SmallSendBuffers(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
	})
	return hub, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// TestStuckWriteDropsClient: a client that stops reading while its queue
// is still far under the bounds blocks its writer on full socket buffers;
// the write watchdog drops it after WriteTimeout (pings are too rare to).
func TestStuckWriteDropsClient(t *testing.T) {
	hub, url := startSmallBufHub(t, Options{QueueBytes: 64 << 20, HardQueueBytes: 64 << 20,
		WriteTimeout: 200 * time.Millisecond, PingInterval: time.Hour})
	stuck := dial(t, url, smallBufDialer())
	subscribe(t, stuck, "all")
	syncPoint(t, stuck)
	// From here on it reads nothing.
	start := time.Now()
	for i := range 2000 {
		o := odds("g1", "p", i)
		hub.Publish(feed.Change{Kind: feed.ChangeInsert, NewOdds: &o})
	}
	waitFor(t, func() bool { return hub.Stats().Clients == 0 })
	if s := hub.Stats(); s.SlowClosed != 0 || s.Sent >= 2000 {
		t.Fatalf("stats = %+v, want the client dropped mid-stream by the watchdog, not by the queue bound", s)
	}
	t.Logf("stuck client dropped %v after the first publish; stats %+v", time.Since(start).Round(time.Millisecond), hub.Stats())
}

// TestSlowClient: a client that never reads is conflated, then closed with
// StatusPolicyViolation "client too slow", while a fast client subscribed
// to the same topic gets every message promptly.
func TestSlowClient(t *testing.T) {
	hub, url := startSmallBufHub(t, Options{QueueBytes: 4 << 10, HardQueueBytes: 16 << 10, WriteTimeout: 20 * time.Second})
	slowDialer := smallBufDialer()
	fast := dial(t, url, nil)
	slow := dial(t, url, slowDialer)
	for _, c := range []*websocket.Conn{fast, slow} {
		subscribe(t, c, "all")
		syncPoint(t, c)
	}
	// From here on the slow client reads nothing.

	seqs := map[string]uint64{}
	var worst time.Duration
	sent := 0
	publish := func(gameID string, i int) {
		o := odds(gameID, "p", i)
		start := time.Now()
		hub.Publish(feed.Change{Kind: feed.ChangeInsert, NewOdds: &o})
		sent++
		f := read(t, fast)
		worst = max(worst, time.Since(start))
		seqs[gameID]++
		if f.Type != "odds" || f.GameID != gameID || f.Seq != seqs[gameID] {
			t.Fatalf("fast client got %+v, want odds of %s seq %d", f, gameID, seqs[gameID])
		}
	}

	// Phase 1: many odds of a few games: the slow client's queue is
	// conflated to the newest per game and stays under the hard bound.
	for i := range 800 {
		publish(fmt.Sprintf("g%d", i%4), i)
	}
	if s := hub.Stats(); s.Conflated == 0 || s.SlowClosed != 0 {
		t.Fatalf("after phase 1 stats = %+v, want conflation and no close", s)
	}
	// Phase 2: odds of ever new games cannot be conflated: past the hard
	// bound the slow client is closed.
	for i := 0; hub.Stats().SlowClosed == 0; i++ {
		if i == 2000 {
			t.Fatalf("slow client never closed: stats = %+v", hub.Stats())
		}
		publish(fmt.Sprintf("h%d", i), i)
	}
	t.Logf("fast client: %d messages, slowest publish->receive %v; stats %+v", sent, worst, hub.Stats())
	// A few more: the fast client is unaffected.
	for i := range 50 {
		publish(fmt.Sprintf("k%d", i), i)
	}

	// Now the slow client reads: what was in flight, then the close frame.
	received := 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := slow.Read(ctx)
		if err == nil {
			received++
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != ReasonTooSlow {
			t.Fatalf("slow client read error %v, want close %v %q", err, websocket.StatusPolicyViolation, ReasonTooSlow)
		}
		break
	}
	if received >= sent {
		t.Fatalf("slow client received %d of %d messages: nothing was conflated or dropped", received, sent)
	}
	t.Logf("slow client received %d of %d messages before the close frame", received, sent)
	waitFor(t, func() bool { return hub.Stats().Clients == 1 })
}

package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/broadcast"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// TestMetricsHubConflationAndSlowClose: a stream client that stops reading
// is conflated, then closed for being too slow; /metrics, wired to the hub
// as the server wires it, shows oddsfeed_websocket_conflated_total and
// oddsfeed_websocket_slow_closed_total move from 0, then the client gone
// and oddsfeed_websocket_dropped_total (what it had queued) moved.
// The hub has small queue bounds (the server's are 256 KiB and 1 MiB, which
// loopback socket buffers would take megabytes of odds to reach).
func TestMetricsHubConflationAndSlowClose(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hub := broadcast.New(st, broadcast.Options{QueueBytes: 4 << 10, HardQueueBytes: 16 << 10, WriteTimeout: 20 * time.Second})
	srv := httptest.NewUnstartedServer(hub)
	srv.Listener = harness.SmallSendBuffers(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
	})
	metrics := app.HubMetricsHandler(hub)
	scrapeHub := func() string {
		rec := httptest.NewRecorder()
		metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}

	dialer := &websocket.DialOptions{HTTPClient: harness.SmallReceiveBuffers()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), dialer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = slow.CloseNow() })
	send(t, slow, map[string]any{"type": "subscribe", "topics": []string{"all"}})
	syncPoint(t, slow) // from here on it reads nothing

	before := scrapeHub()
	for _, s := range []string{`oddsfeed_websocket_conflated_total`, `oddsfeed_websocket_slow_closed_total`, `oddsfeed_websocket_dropped_total`} {
		if v := sample(t, before, s); v != 0 {
			t.Fatalf("%s before = %v", s, v)
		}
	}
	if v := sample(t, before, `oddsfeed_websocket_clients`); v != 1 {
		t.Fatalf("clients before = %v, want 1", v)
	}
	at := time.Now().UTC()
	publish := func(game string, i int) {
		o := feed.Odds{GameID: game, Provider: "p", ObservedAt: at.Add(time.Duration(i) * time.Millisecond),
			AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: 100 + i%50, HomeOdds: -110, ReceivedAt: at}
		hub.Publish(feed.Change{Kind: feed.ChangeInsert, NewOdds: &o})
	}
	// Many odds of a few games: past the soft bound they are conflated.
	for i := range 800 {
		publish(fmt.Sprintf("c%d", i%4), i)
	}
	if v := sample(t, scrapeHub(), `oddsfeed_websocket_conflated_total`); v == 0 {
		t.Fatal("oddsfeed_websocket_conflated_total did not move")
	}
	// Odds of ever new games cannot be conflated: past the hard bound the
	// client is closed.
	for i := 0; hub.Stats().SlowClosed == 0; i++ {
		if i == 5000 {
			t.Fatalf("the slow client was never closed: %+v", hub.Stats())
		}
		publish(fmt.Sprintf("n%d", i), i)
	}
	after := scrapeHub()
	if v := sample(t, after, `oddsfeed_websocket_slow_closed_total`); v != 1 {
		t.Errorf("oddsfeed_websocket_slow_closed_total = %v, want 1", v)
	}
	if v := sample(t, after, `oddsfeed_websocket_messages_sent_total`); v == 0 {
		t.Error("oddsfeed_websocket_messages_sent_total did not move")
	}
	// Once its handler ends, the client is gone and what it had queued is
	// counted dropped.
	eventually(t, 10*time.Second, "the slow client's handler to end", func() bool {
		return sample(t, scrapeHub(), `oddsfeed_websocket_clients`) == 0
	})
	if v := sample(t, scrapeHub(), `oddsfeed_websocket_dropped_total`); v == 0 {
		t.Error("oddsfeed_websocket_dropped_total did not move")
	}
}

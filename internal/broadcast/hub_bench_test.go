package broadcast

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// discardTransport is the benchmark sink: a write costs nothing, so the
// figures are the hub's own (encode once, index lookup, enqueue to every
// client, wake and drain by each writer goroutine), not the kernel's.
type discardTransport struct{}

func (discardTransport) write([]byte) error                 { return nil }
func (discardTransport) stuck(int64, time.Duration) bool    { return false }
func (discardTransport) close(websocket.StatusCode, string) {}
func (discardTransport) abort()                             {}

// BenchmarkHubFanout publishes one odds change per op to N subscribers of
// one topic, and stops the clock when every writer goroutine has taken
// every message from its queue (b.N*N deliveries). Queue bounds are set
// high so nothing is conflated: every message is delivered.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := New(nil, Options{QueueBytes: 1 << 30, HardQueueBytes: 1 << 30})
			clients := make([]*client, n)
			for i := range clients {
				c := newClient(h, discardTransport{}, false)
				if !h.register(c) {
					b.Fatal("register")
				}
				h.subscribe(context.Background(), c, []topic{{kind: topicGame, name: "g1"}}, &request{})
				go c.writeLoop()
				clients[i] = c
			}
			// Drop the snapshots from the count.
			for h.stats.sent.Load() < uint64(n) {
				time.Sleep(time.Millisecond)
			}
			base := h.stats.sent.Load()
			// Distinct ticks, each newer than the last (the hub drops an odds
			// change that is not newer than what it holds for the provider).
			changes := make([]feed.Change, b.N)
			for i := range changes {
				o := odds("g1", "p", i+2)
				changes[i] = feed.Change{Kind: feed.ChangeInsert, NewOdds: &o}
			}
			want := base + uint64(b.N)*uint64(n)

			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				h.Publish(changes[i])
			}
			for h.stats.sent.Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(uint64(b.N)*uint64(n))/elapsed.Seconds(), "msgs/s")
			if s := h.Stats(); s.Conflated != 0 || s.SlowClosed != 0 {
				b.Fatalf("stats %+v: messages were not all delivered", s)
			}
			for _, c := range clients {
				h.unregister(c)
				c.abort()
				<-c.writerDone
				h.wg.Done()
			}
		})
	}
}

// BenchmarkHubFanoutWebSocket is the same fan-out end to end over real
// loopback WebSocket connections (coder/websocket on both sides), counted
// when each client has read every message. Small N only: each client is a
// connection and two goroutines on each side.
func BenchmarkHubFanoutWebSocket(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := New(nil, Options{QueueBytes: 1 << 30, HardQueueBytes: 1 << 30})
			srv := httptest.NewServer(h)
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			var received atomic.Int64
			var wg sync.WaitGroup
			conns := make([]*websocket.Conn, n)
			for i := range conns {
				c, _, err := websocket.Dial(context.Background(), url, nil)
				if err != nil {
					b.Fatalf("dial: %v", err)
				}
				conns[i] = c
				if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"subscribe","topics":["game:g1"]}`)); err != nil {
					b.Fatal(err)
				}
				for range 2 { // the providers frame, the snapshot
					if _, _, err := c.Read(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				wg.Go(func() {
					for {
						if _, _, err := c.Read(context.Background()); err != nil {
							return
						}
						received.Add(1)
					}
				})
			}
			// Distinct ticks, each newer than the last (the hub drops an odds
			// change that is not newer than what it holds for the provider).
			changes := make([]feed.Change, b.N)
			for i := range changes {
				o := odds("g1", "p", i+2)
				changes[i] = feed.Change{Kind: feed.ChangeInsert, NewOdds: &o}
			}
			want := int64(b.N) * int64(n)

			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				h.Publish(changes[i])
			}
			for received.Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(want)/elapsed.Seconds(), "msgs/s")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := h.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			wg.Wait()
		})
	}
}

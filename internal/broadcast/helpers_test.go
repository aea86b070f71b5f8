package broadcast

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// env is a hub backed by the real embedded store, served by an httptest
// server. Changes written to the store are published from its change log,
// as the CDC consumer would.
type env struct {
	t     *testing.T
	st    *embedded.Store
	hub   *Hub
	srv   *httptest.Server
	url   string
	after uint64
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	hub := New(st, o)
	srv := httptest.NewServer(hub)
	e := &env{t: t, st: st, hub: hub, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		srv.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return e
}

var t0 = time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)

func game(id, sport string, status feed.GameStatus) feed.Game {
	return feed.Game{ID: id, Sport: sport, Summary: id + " summary", GameDate: t0.Add(48 * time.Hour),
		Status: status, HomeTeam: "Home", AwayTeam: "Away"}
}

func odds(gameID, provider string, i int) feed.Odds {
	return feed.Odds{GameID: gameID, Provider: provider, ObservedAt: t0.Add(time.Duration(i) * time.Second),
		AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: 100 + i, HomeOdds: -110 - i, ReceivedAt: t0.Add(time.Duration(i) * time.Second)}
}

func (e *env) putGame(g feed.Game) {
	e.t.Helper()
	if _, _, err := e.st.PutGame(context.Background(), g, store.System); err != nil {
		e.t.Fatalf("put game: %v", err)
	}
}

func (e *env) putOdds(os ...feed.Odds) {
	e.t.Helper()
	outs, err := e.st.PutOdds(context.Background(), os)
	if err != nil {
		e.t.Fatalf("put odds: %v", err)
	}
	for i, o := range outs {
		if o != store.Stored {
			e.t.Fatalf("put odds %d: %v", i, o)
		}
	}
}

// publish publishes every change logged since the last call and returns
// how many.
func (e *env) publish() int {
	e.t.Helper()
	changes, err := e.st.ChangesAfter(e.after, 0)
	if err != nil {
		e.t.Fatalf("read change log: %v", err)
	}
	for _, c := range changes {
		e.hub.Publish(c)
		seq, err := strconv.ParseUint(c.Position, 10, 64)
		if err != nil {
			e.t.Fatalf("change position %q: %v", c.Position, err)
		}
		e.after = seq
	}
	return len(changes)
}

// skip forgets the changes logged so far, as if the hub started after them.
func (e *env) skip() {
	e.t.Helper()
	seq, err := e.st.LastSeq()
	if err != nil {
		e.t.Fatalf("last seq: %v", err)
	}
	e.after = seq
}

// dial connects to url; for an analyst stream (no ?client=) it reads the
// providers frame every connection starts with.
func dial(t *testing.T, url string, o *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c := dialRaw(t, url, o)
	if !strings.Contains(url, "client=") {
		if f := read(t, c); f.Type != "providers" {
			t.Fatalf("first frame %+v, want providers", f)
		}
	}
	return c
}

// dialRaw connects to url and reads nothing.
func dialRaw(t *testing.T, url string, o *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, o)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// frame is any server message, decoded loosely.
type frame struct {
	Type    string          `json:"type"`
	Epoch   string          `json:"epoch"`
	GameID  string          `json:"gameId"`
	Seq     uint64          `json:"seq"`
	Reset   bool            `json:"reset"`
	Odds    json.RawMessage `json:"odds"`
	Game    *feed.Game      `json:"game"`
	Message string          `json:"message"`
	// Markets of a snapshot; Market of a market frame.
	Markets []feed.MarketStatus `json:"markets"`
	Market  *feed.MarketStatus  `json:"market"`
	// Providers of the providers frame; Provider of a provider frame.
	Providers []feed.ProviderStatus `json:"providers"`
	Provider  *feed.ProviderStatus  `json:"provider"`
	// Missed and Truncated answer a sinceTime.
	Missed    []feed.Odds `json:"missed"`
	Truncated bool        `json:"truncated"`
}

func (f frame) odds(t *testing.T) feed.Odds {
	t.Helper()
	var o feed.Odds
	if err := json.Unmarshal(f.Odds, &o); err != nil {
		t.Fatalf("odds of %s frame: %v", f.Type, err)
	}
	return o
}

func (f frame) snapshot(t *testing.T) []feed.Odds {
	t.Helper()
	var os []feed.Odds
	if err := json.Unmarshal(f.Odds, &os); err != nil {
		t.Fatalf("odds of %s frame: %v", f.Type, err)
	}
	return os
}

func readRaw(t *testing.T, c *websocket.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("read: message type %v, want text", typ)
	}
	return b
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	var f frame
	if err := json.Unmarshal(readRaw(t, c), &f); err != nil {
		t.Fatalf("decode frame: %v", err)
	}
	return f
}

// expectNothing fails when a message arrives within d. It closes c (the
// library closes a connection whose read is cancelled).
func expectNothing(t *testing.T, c *websocket.Conn, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if _, b, err := c.Read(ctx); err == nil {
		t.Fatalf("unexpected message %s", b)
	}
}

func subscribe(t *testing.T, c *websocket.Conn, topics ...string) {
	t.Helper()
	send(t, c, map[string]any{"type": "subscribe", "topics": topics})
}

// syncPoint sends a request the hub answers with an error and reads that
// answer as the next message: requests are handled in order, so what was
// sent before has been applied, and nothing else was queued in between.
func syncPoint(t *testing.T, c *websocket.Conn) {
	t.Helper()
	send(t, c, map[string]any{"type": "sync"})
	if f := read(t, c); f.Type != "error" {
		t.Fatalf("got %+v, want the error reply of the sync point", f)
	}
}

package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// fakeStore is a Snapshotter and Historian that counts its reads of games:
// every game has one odds as its latest, one market status and `missed`
// odds in its history. Providers (read on connection, not by a subscribe)
// are counted apart.
type fakeStore struct {
	reads, providerReads atomic.Int64
	missed               int
}

func (s *fakeStore) LatestQuotes(_ context.Context, id string) ([]feed.Odds, error) {
	s.reads.Add(1)
	return []feed.Odds{odds(id, "p", 0)}, nil
}

func (s *fakeStore) Markets(_ context.Context, id string) ([]feed.MarketStatus, error) {
	s.reads.Add(1)
	return []feed.MarketStatus{{GameID: id, Market: feed.MarketSpread, Period: feed.PeriodFull, State: feed.MarketOpen, At: t0, Version: 1}}, nil
}

func (s *fakeStore) Providers(context.Context) ([]feed.ProviderStatus, error) {
	s.providerReads.Add(1)
	return []feed.ProviderStatus{{Provider: "p", State: feed.ProviderUp, LastHeard: t0, Version: 1}}, nil
}

func (s *fakeStore) ListOdds(_ context.Context, r store.OddsRange) (store.OddsPage, error) {
	s.reads.Add(1)
	off, _ := strconv.Atoi(r.Cursor)
	var page store.OddsPage
	for i := s.missed - off; i >= 1 && len(page.Odds) < r.Limit; i-- { // newest first
		page.Odds = append(page.Odds, odds(r.GameID, "p", i))
	}
	if next := off + len(page.Odds); next < s.missed {
		page.NextCursor = strconv.Itoa(next)
	}
	return page, nil
}

// serveAs serves h behind a stand-in for the auth middleware: the
// principal is the X-Principal header, its session X-Session, its expiry
// X-Expires (RFC 3339).
func serveAs(t *testing.T, h *Hub) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.Principal{Name: r.Header.Get("X-Principal"), Role: auth.RoleAnalyst, Session: r.Header.Get("X-Session")}
		if s := r.Header.Get("X-Expires"); s != "" {
			p.Expires, _ = time.Parse(time.RFC3339Nano, s)
		}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func as(kv ...string) *websocket.DialOptions {
	o := &websocket.DialOptions{HTTPHeader: http.Header{}}
	for i := 0; i+1 < len(kv); i += 2 {
		o.HTTPHeader.Set(kv[i], kv[i+1])
	}
	return o
}

func gameTopics(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("game:g%d", from+i)
	}
	return out
}

// closeStatus reads c until it is closed and returns the close frame's code
// and reason.
func closeStatus(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce.Code, ce.Reason
	}
}

// TestTopicLimitBeforeStoreWork: a subscribe over the topic limit is
// refused before it reads the store (it used to read every game first).
func TestTopicLimitBeforeStoreWork(t *testing.T) {
	st := &fakeStore{}
	url := serveAs(t, New(st, Options{}))
	c := dial(t, url, nil)
	send(t, c, map[string]any{"type": "subscribe", "topics": gameTopics(0, maxTopics+1)})
	if f := read(t, c); f.Type != "error" || !strings.Contains(f.Message, "at most") {
		t.Fatalf("got %+v, want the topic limit error", f)
	}
	if n := st.reads.Load(); n != 0 {
		t.Errorf("a refused subscribe read the store %d times", n)
	}
	subscribe(t, c, gameTopics(0, 10)...)
	for range 10 {
		if f := read(t, c); f.Type != "snapshot" {
			t.Fatalf("got %+v, want a snapshot", f)
		}
	}
	st.reads.Store(0)
	send(t, c, map[string]any{"type": "subscribe", "topics": gameTopics(2000, maxTopics-9)})
	if f := read(t, c); f.Type != "error" || !strings.Contains(f.Message, "at most") {
		t.Fatalf("got %+v, want the topic limit error", f)
	}
	if n := st.reads.Load(); n != 0 {
		t.Errorf("a refused subscribe read the store %d times", n)
	}
}

// TestSubscribeStoreReadsBounded: one subscribe reads the store at most
// MaxRequestReads times (two reads a game: its quotes and its markets);
// the games past that get a truncated snapshot.
func TestSubscribeStoreReadsBounded(t *testing.T) {
	st := &fakeStore{}
	url := serveAs(t, New(st, Options{}))
	c := dial(t, url, nil)
	const games, reads = 300, 100 // the default MaxRequestReads
	subscribe(t, c, gameTopics(0, games)...)
	truncated := 0
	for range games {
		f := read(t, c)
		if f.Type != "snapshot" {
			t.Fatalf("got %+v, want a snapshot", f)
		}
		if f.Truncated {
			truncated++
			if len(f.snapshot(t)) != 0 || len(f.Markets) != 0 {
				t.Errorf("%s: a truncated snapshot of a game not read has odds or markets", f.GameID)
			}
		} else if len(f.snapshot(t)) != 1 || len(f.Markets) != 1 {
			t.Errorf("%s: a snapshot read from the store: %d odds, %d markets; want 1 and 1", f.GameID, len(f.snapshot(t)), len(f.Markets))
		}
	}
	if n := st.reads.Load(); n > reads {
		t.Errorf("one subscribe read the store %d times, want at most %d", n, reads)
	}
	if truncated != games-reads/2 {
		t.Errorf("%d truncated snapshots, want %d", truncated, games-reads/2)
	}
}

// TestSubscribeBytesBounded: a sinceTime over many games queues at most
// MaxRequestBytes of missed odds; the games past it get their current odds
// and "truncated":true.
func TestSubscribeBytesBounded(t *testing.T) {
	st := &fakeStore{missed: 5000}
	url := serveAs(t, New(st, Options{}))
	c := dial(t, url, nil)
	c.SetReadLimit(64 << 20)
	const games = 8
	since := map[string]string{}
	for i := range games {
		since[fmt.Sprintf("g%d", i)] = t0.Format(time.RFC3339Nano)
	}
	send(t, c, map[string]any{"type": "subscribe", "topics": []string{"all"}, "sinceTime": since})
	total, full := 0, 0
	for range games {
		b := readRaw(t, c)
		total += len(b)
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != "snapshot" || len(f.snapshot(t)) != 1 {
			t.Fatalf("got %s, want a snapshot with the current odds", b[:min(len(b), 200)])
		}
		switch {
		case len(f.Missed) == 5000 && !f.Truncated:
			full++
		case len(f.Missed) != 0 || !f.Truncated:
			t.Errorf("%s: %d missed, truncated %v: want all 5000 or none and truncated", f.GameID, len(f.Missed), f.Truncated)
		}
	}
	if limit := 4 << 20; total > limit+games*1024 {
		t.Errorf("one subscribe queued %d bytes, want about %d at most", total, limit)
	}
	if full == 0 || full == games {
		t.Errorf("%d of %d games got their missed odds, want some but not all", full, games)
	}
}

// TestRequestRateLimit: past its token bucket a connection's requests get
// an error; one that keeps flooding is closed with 1008.
func TestRequestRateLimit(t *testing.T) {
	url := serveAs(t, New(&fakeStore{}, Options{}))
	c := dial(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Past the burst of 40 (fewer than 40 refused in a row): error replies,
	// and the connection stays.
	for range 60 {
		send(t, c, map[string]any{"type": "unsubscribe", "topics": []string{"all"}})
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v, want a 'too many requests' error reply", err)
		}
		if strings.Contains(string(b), "too many requests") {
			break
		}
	}
	// Flooding on: closed with 1008. (Replies still queued when the close
	// comes are dropped with the connection.)
	for range 200 {
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"unsubscribe","topics":["all"]}`)); err != nil {
			break // closed under us
		}
	}
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("read: %v, want a close with 1008", err)
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) && ce.Reason != ReasonTooManyRequests {
			t.Errorf("close reason %q", ce.Reason)
		}
		return
	}
}

// TestConnsPerPrincipal: past MaxConnsPerPrincipal a principal's upgrade is
// refused with 429; another principal is not affected.
func TestConnsPerPrincipal(t *testing.T) {
	url := serveAs(t, New(&fakeStore{}, Options{}))
	for range 50 { // the default
		dial(t, url, as("X-Principal", "alice"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, url, as("X-Principal", "alice"))
	if err == nil {
		_ = c.CloseNow()
		t.Fatal("the 51st stream of a principal was accepted")
	}
	if res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the 51st stream: %v, want 429", err)
	}
	dial(t, url, as("X-Principal", "bob"))
}

// TestTopicsPerPrincipal: the topics of all the streams of one principal
// are capped, before any store read.
func TestTopicsPerPrincipal(t *testing.T) {
	st := &fakeStore{}
	url := serveAs(t, New(st, Options{Limits: Limits{MaxTopicsPerPrincipal: 15}}))
	a := dial(t, url, as("X-Principal", "alice"))
	subscribe(t, a, gameTopics(0, 10)...)
	for range 10 {
		read(t, a)
	}
	b := dial(t, url, as("X-Principal", "alice"))
	st.reads.Store(0)
	subscribe(t, b, gameTopics(10, 6)...)
	if f := read(t, b); f.Type != "error" || !strings.Contains(f.Message, "principal") {
		t.Fatalf("got %+v, want the per-principal topic limit", f)
	}
	if n := st.reads.Load(); n != 0 {
		t.Errorf("a refused subscribe read the store %d times", n)
	}
	subscribe(t, b, gameTopics(10, 5)...)
	if f := read(t, b); f.Type != "snapshot" {
		t.Fatalf("got %+v, want a snapshot", f)
	}
}

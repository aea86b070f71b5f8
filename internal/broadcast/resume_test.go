package broadcast

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// restart drops the env's hub and server, as a killed server would be, and
// starts a new hub (a new epoch) on the same store, asking snap for
// snapshots and history (the store itself when nil).
func (e *env) restart(o Options, snap Snapshotter) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		e.t.Fatalf("shut down old hub: %v", err)
	}
	e.srv.Close()
	if snap == nil {
		snap = e.st
	}
	hub := New(snap, o)
	srv := httptest.NewServer(hub)
	e.hub, e.srv, e.url = hub, srv, "ws"+strings.TrimPrefix(srv.URL, "http")
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			e.t.Errorf("hub shutdown: %v", err)
		}
		srv.Close()
	})
}

// resumer is an analyst client that keeps what a resume needs: the epoch,
// the last seq and the newest observedAt of the odds it has, and every odds
// it got in order.
type resumer struct {
	conn   *websocket.Conn
	epoch  string
	seq    uint64
	newest time.Time
	got    []feed.Odds
}

func (r *resumer) keep(os ...feed.Odds) {
	for _, o := range os {
		r.got = append(r.got, o)
		if o.ObservedAt.After(r.newest) {
			r.newest = o.ObservedAt
		}
	}
}

// restart restarts e's hub while r is connected; r must see its
// connection closed with StatusGoingAway.
func (r *resumer) restart(t *testing.T, e *env, o Options, snap Snapshotter) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { // reading answers the close handshake
		_, _, err := r.conn.Read(context.Background())
		errc <- err
	}()
	e.restart(o, snap)
	var ce websocket.CloseError
	if err := <-errc; !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Fatalf("client saw %v, want StatusGoingAway", err)
	}
}

// readOdds reads n live odds messages of g1 and keeps them.
func (r *resumer) readOdds(t *testing.T, n int) {
	t.Helper()
	for n > 0 {
		f := read(t, r.conn)
		if f.Type == "seen" && f.GameID == "g1" && f.Seq == r.seq+1 {
			r.seq = f.Seq // an odds it got as missed: its seq, not its odds again
			continue
		}
		n--
		if f.Type != "odds" || f.GameID != "g1" || f.Seq <= r.seq {
			t.Fatalf("got %+v, want odds of g1 after seq %d", f, r.seq)
		}
		r.epoch, r.seq = f.Epoch, f.Seq
		r.keep(f.odds(t))
	}
}

// resume sends the subscription a reconnecting client makes.
func (r *resumer) resume(t *testing.T, topic string) {
	t.Helper()
	send(t, r.conn, map[string]any{"type": "subscribe", "topics": []string{topic},
		"since": map[string]uint64{"g1": r.seq}, "epoch": r.epoch,
		"sinceTime": map[string]string{"g1": r.newest.Format(time.RFC3339Nano)}})
}

func oddsKeys(os []feed.Odds) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = fmt.Sprintf("%s@%s/%d", o.Provider, o.ObservedAt.Format(time.RFC3339Nano), o.AwayOdds)
	}
	return out
}

func wantOdds(t *testing.T, what string, got, want []feed.Odds) {
	t.Helper()
	if g, w := oddsKeys(got), oddsKeys(want); !slices.Equal(g, w) {
		t.Fatalf("%s:\n got  %v\n want %v", what, g, w)
	}
}

// storedOdds is every odds of g1 in the store, oldest first.
func (e *env) storedOdds() []feed.Odds {
	e.t.Helper()
	page, err := e.st.ListOdds(context.Background(), store.OddsRange{GameID: "g1", Page: store.Page{Limit: store.MaxLimit}})
	if err != nil {
		e.t.Fatalf("list odds: %v", err)
	}
	slices.Reverse(page.Odds)
	return page.Odds
}

func TestResumeAcrossRestart(t *testing.T) {
	tests := []struct {
		name  string
		topic string
		// replay: the new hub's change stream starts before the writes it
		// has not published (from a checkpoint), so it publishes them live
		// after the client resumed; else it starts after them.
		replay bool
	}{
		{"game topic, stream starts after restart", "game:g1", false},
		{"game topic, stream replays unpublished writes", "game:g1", true},
		{"all, stream starts after restart", "all", false},
		{"all, stream replays unpublished writes", "all", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.putGame(game("g1", "soccer", feed.StatusLive))
			e.publish()
			r := &resumer{conn: dial(t, e.url, nil)}
			subscribe(t, r.conn, tt.topic)
			if f := read(t, r.conn); f.Type != "snapshot" || f.GameID != "g1" {
				t.Fatalf("got %+v, want snapshot of g1", f)
			}
			e.putOdds(odds("g1", "pa", 1), odds("g1", "pb", 2), odds("g1", "pa", 3))
			e.publish()
			r.readOdds(t, 3)
			// Written but not yet published when the server dies.
			e.putOdds(odds("g1", "pb", 4))

			epochA := e.hub.Epoch()
			r.restart(t, e, Options{}, nil)
			// Written while the server is down; two at the same instant.
			e.putOdds(odds("g1", "pa", 5), odds("g1", "pa", 6), odds("g1", "pb", 6), odds("g1", "pc", 7))
			if !tt.replay {
				e.skip()
			}
			if e.hub.Epoch() == epochA {
				t.Fatal("the new hub has the old epoch")
			}

			r.conn = dial(t, e.url, nil)
			r.resume(t, tt.topic)
			f := read(t, r.conn)
			if f.Type != "snapshot" || f.GameID != "g1" || !f.Reset || f.Epoch != e.hub.Epoch() || f.Truncated {
				t.Fatalf("got %+v, want reset snapshot of g1 in the new epoch, not truncated", f)
			}
			wantOdds(t, "missed", f.Missed,
				[]feed.Odds{odds("g1", "pb", 4), odds("g1", "pa", 5), odds("g1", "pa", 6), odds("g1", "pb", 6), odds("g1", "pc", 7)})
			r.keep(f.Missed...)
			r.epoch, r.seq = f.Epoch, f.Seq
			syncPoint(t, r.conn)

			e.putOdds(odds("g1", "pa", 8), odds("g1", "pc", 9))
			published := e.publish()
			if want := map[bool]int{false: 2, true: 7}[tt.replay]; published != want {
				t.Fatalf("published %d changes, want %d", published, want)
			}
			r.readOdds(t, 2) // the replayed 4..7 come as seen frames: already in missed
			syncPoint(t, r.conn)
			wantOdds(t, "everything the client got", r.got, e.storedOdds())
		})
	}
}

// historian is the real store with smaller pages, calling during once
// after its first page is read (a publish racing the resume).
type historian struct {
	*embedded.Store
	pageSize int
	once     sync.Once
	during   func()
}

func (h *historian) ListOdds(ctx context.Context, r store.OddsRange) (store.OddsPage, error) {
	if h.pageSize > 0 {
		r.Limit = min(r.Limit, h.pageSize)
	}
	page, err := h.Store.ListOdds(ctx, r)
	if h.during != nil {
		h.once.Do(h.during)
	}
	return page, err
}

func TestResumeMissedLimits(t *testing.T) {
	down := func(i int) feed.Odds { return odds("g1", []string{"pa", "pb"}[i%2], i) }
	tests := []struct {
		name      string
		limit     int
		pageSize  int
		during    bool // one odds is written and published during the store read
		want      []int
		truncated bool
	}{
		{"under the limit, small pages", 10, 2, false, []int{2, 3, 4, 5, 6, 7}, false},
		{"at the limit", 6, 4, false, []int{2, 3, 4, 5, 6, 7}, false},
		{"over the limit keeps the newest", 4, 0, false, []int{4, 5, 6, 7}, true},
		{"over the limit, small pages", 3, 2, false, []int{5, 6, 7}, true},
		{"published during the read", 10, 2, true, []int{2, 3, 4, 5, 6, 7, 20}, false},
		{"published during the read, over the limit", 3, 2, true, []int{6, 7, 20}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.putGame(game("g1", "soccer", feed.StatusLive))
			e.putOdds(down(1))
			e.publish()
			r := &resumer{conn: dial(t, e.url, nil)}
			subscribe(t, r.conn, "game:g1")
			if f := read(t, r.conn); f.Type != "snapshot" || len(f.snapshot(t)) != 1 {
				t.Fatalf("got %+v, want snapshot with odds 1", f)
			}
			r.keep(down(1))
			r.epoch = e.hub.Epoch()

			var hubB atomic.Pointer[Hub]
			h := &historian{Store: e.st, pageSize: tt.pageSize}
			if tt.during {
				h.during = func() {
					o := odds("g1", "pc", 20)
					if _, err := e.st.PutOdds(context.Background(), []feed.Odds{o}); err != nil {
						t.Errorf("put odds during the read: %v", err)
					}
					hubB.Load().Publish(feed.Change{Kind: feed.ChangeInsert, NewOdds: &o, ItemType: feed.TypeOdds})
				}
			}
			r.restart(t, e, Options{MissedLimit: tt.limit}, h)
			hubB.Store(e.hub)
			for i := 2; i <= 7; i++ {
				e.putOdds(down(i))
			}
			e.skip()

			r.conn = dial(t, e.url, nil)
			r.resume(t, "game:g1")
			f := read(t, r.conn)
			if f.Type != "snapshot" || !f.Reset || f.Truncated != tt.truncated {
				t.Fatalf("got %+v, want reset snapshot with truncated=%v", f, tt.truncated)
			}
			var want []feed.Odds
			for _, i := range tt.want {
				if i == 20 {
					want = append(want, odds("g1", "pc", 20))
					continue
				}
				want = append(want, down(i))
			}
			wantOdds(t, "missed", f.Missed, want)
			r.seq = f.Seq
			syncPoint(t, r.conn)
			e.skip() // the odds written during the read was published by hand

			e.putOdds(odds("g1", "pa", 30))
			e.publish()
			r.readOdds(t, 1)
			syncPoint(t, r.conn)
		})
	}
}

func TestSinceTimeRules(t *testing.T) {
	e := newEnv(t, Options{History: 8})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putOdds(odds("g1", "pa", 1), odds("g1", "pa", 2))
	e.publish() // seq 1..3
	since := t0.Add(time.Second).Format(time.RFC3339Nano)

	t.Run("ring replay wins over sinceTime", func(t *testing.T) {
		c := dial(t, e.url, nil)
		send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
			"since": map[string]uint64{"g1": 2}, "epoch": e.hub.Epoch(), "sinceTime": map[string]string{"g1": since}})
		if f := read(t, c); f.Type != "odds" || f.Seq != 3 {
			t.Fatalf("got %+v, want replayed seq 3", f)
		}
		syncPoint(t, c)
	})
	t.Run("sinceTime alone", func(t *testing.T) {
		c := dial(t, e.url, nil)
		send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
			"sinceTime": map[string]string{"g1": since}})
		f := read(t, c)
		if f.Type != "snapshot" || !f.Reset || f.Seq != 3 {
			t.Fatalf("got %+v, want reset snapshot", f)
		}
		wantOdds(t, "missed", f.Missed, []feed.Odds{odds("g1", "pa", 2)})
	})
	t.Run("bad game id", func(t *testing.T) {
		c := dial(t, e.url, nil)
		send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
			"sinceTime": map[string]string{"": since}})
		if f := read(t, c); f.Type != "error" || !strings.Contains(f.Message, "sinceTime") {
			t.Fatalf("got %+v, want a sinceTime error", f)
		}
	})
	t.Run("not covered by the topics", func(t *testing.T) {
		c := dial(t, e.url, nil)
		send(t, c, map[string]any{"type": "subscribe", "topics": []string{"sport:tennis"},
			"sinceTime": map[string]string{"g1": since}})
		syncPoint(t, c) // no snapshot of g1
	})
}

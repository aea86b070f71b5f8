package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

func TestSubscribeGameSnapshotThenChanges(t *testing.T) {
	e := newEnv(t, Options{})
	e.putGame(game("g1", "soccer", feed.StatusScheduled))
	e.putOdds(odds("g1", "pb", 1), odds("g1", "pa", 2), odds("g1", "pa", 3))
	e.skip() // the hub starts after these: the snapshot must come from the store

	c := dial(t, e.url, nil)
	subscribe(t, c, "game:g1")
	snap := read(t, c)
	if snap.Type != "snapshot" || snap.GameID != "g1" || snap.Seq != 0 || snap.Reset || snap.Epoch != e.hub.Epoch() {
		t.Fatalf("snapshot = %+v", snap)
	}
	got := snap.snapshot(t)
	if len(got) != 2 || got[0].Provider != "pa" || got[0].AwayOdds != 103 || got[1].Provider != "pb" {
		t.Fatalf("snapshot odds = %+v, want latest of pa then pb", got)
	}

	e.putOdds(odds("g1", "pa", 4), odds("g1", "pb", 5))
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.publish()
	// A TTL expiry is not news and takes no seq.
	old := odds("g1", "pa", 1)
	e.hub.Publish(feed.Change{Kind: feed.ChangeRemove, Expired: true, OldOdds: &old, ItemType: feed.TypeOdds})
	e.putOdds(odds("g1", "pc", 6))
	e.publish()

	want := []struct {
		typ      string
		provider string
	}{{"odds", "pa"}, {"odds", "pb"}, {"game", ""}, {"odds", "pc"}}
	for i, w := range want {
		f := read(t, c)
		if f.Type != w.typ || f.GameID != "g1" || f.Seq != uint64(i+1) || f.Epoch != e.hub.Epoch() {
			t.Fatalf("message %d = %+v, want %s seq %d", i, f, w.typ, i+1)
		}
		switch w.typ {
		case "odds":
			if o := f.odds(t); o.Provider != w.provider {
				t.Fatalf("message %d provider = %s, want %s", i, o.Provider, w.provider)
			}
		case "game":
			if f.Game == nil || f.Game.Status != feed.StatusLive {
				t.Fatalf("game message %d = %+v", i, f.Game)
			}
		}
	}
}

func TestTopics(t *testing.T) {
	tests := []struct {
		topic string
		snaps []string // snapshots, sorted by game id
		msgs  []string // then game/type/seq, in publish order
	}{
		{"all", []string{"s1", "s2", "t1"}, []string{"u1/game/1", "u1/odds/2", "s1/odds/2", "t1/odds/2", "s2/odds/2"}},
		{"sport:soccer", []string{"s1", "s2"}, []string{"s1/odds/2", "s2/odds/2"}},
		{"sport:tennis", []string{"t1"}, []string{"t1/odds/2"}},
		{"sport:golf", nil, []string{"u1/game/1", "u1/odds/2"}},
		{"game:t1", []string{"t1"}, []string{"t1/odds/2"}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.putGame(game("s1", "soccer", feed.StatusLive))
			e.putGame(game("t1", "tennis", feed.StatusLive))
			e.putGame(game("s2", "soccer", feed.StatusLive))
			e.publish() // the hub learns the sports
			c := dial(t, e.url, nil)
			subscribe(t, c, tt.topic)
			for _, id := range tt.snaps {
				f := read(t, c)
				if f.Type != "snapshot" || f.GameID != id || f.Seq != 1 || f.Game == nil {
					t.Fatalf("got %+v, want snapshot of %s at seq 1", f, id)
				}
			}
			syncPoint(t, c) // the subscription is live
			e.putGame(game("u1", "golf", feed.StatusLive))
			e.putOdds(odds("u1", "p", 1))
			for _, id := range []string{"s1", "t1", "s2"} {
				e.putOdds(odds(id, "p", 1))
			}
			e.publish()
			for _, want := range tt.msgs {
				f := read(t, c)
				if got := fmt.Sprintf("%s/%s/%d", f.GameID, f.Type, f.Seq); got != want {
					t.Fatalf("got %s, want %s", got, want)
				}
			}
			syncPoint(t, c) // and nothing else came
		})
	}
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t, Options{})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putGame(game("g2", "soccer", feed.StatusLive))
	e.publish()
	c := dial(t, e.url, nil)
	subscribe(t, c, "game:g1", "game:g2")
	for _, id := range []string{"g1", "g2"} {
		if f := read(t, c); f.Type != "snapshot" || f.GameID != id {
			t.Fatalf("got %+v, want snapshot of %s", f, id)
		}
	}
	send(t, c, map[string]any{"type": "unsubscribe", "topics": []string{"game:g1"}})
	syncPoint(t, c)
	e.putOdds(odds("g1", "p", 1), odds("g2", "p", 1))
	e.publish()
	if f := read(t, c); f.Type != "odds" || f.GameID != "g2" {
		t.Fatalf("got %+v, want odds of g2 only", f)
	}
	if n := e.hub.Stats().Clients; n != 1 {
		t.Fatalf("clients = %d", n)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, Options{})
	c := dial(t, e.url, nil)
	for _, req := range []any{
		map[string]any{"type": "subscribe", "topics": []string{"nope"}},
		map[string]any{"type": "subscribe", "topics": []string{"game:bad id"}},
		map[string]any{"type": "dance"},
	} {
		send(t, c, req)
		if f := read(t, c); f.Type != "error" || f.Message == "" {
			t.Fatalf("%v: got %+v, want error", req, f)
		}
	}
}

func TestSinceResume(t *testing.T) {
	e := newEnv(t, Options{History: 4})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.publish() // seq 1
	a := dial(t, e.url, nil)
	subscribe(t, a, "game:g1")
	if f := read(t, a); f.Type != "snapshot" || f.Seq != 1 {
		t.Fatalf("snapshot = %+v", f)
	}
	e.putOdds(odds("g1", "p", 1), odds("g1", "p", 2), odds("g1", "p", 3))
	e.publish() // seq 2..4
	if f := read(t, a); f.Seq != 2 {
		t.Fatalf("got %+v", f)
	}
	_ = a.Close(websocket.StatusNormalClosure, "") // a leaves having seen seq 2

	tests := []struct {
		name      string
		since     uint64
		epoch     string
		wantSeqs  []uint64 // replayed odds
		wantReset bool
	}{
		{"replay missed", 2, e.hub.Epoch(), []uint64{3, 4}, false},
		{"up to date", 4, e.hub.Epoch(), nil, false},
		{"other epoch", 2, "old-epoch", nil, true},
		{"future seq", 9, e.hub.Epoch(), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := dial(t, e.url, nil)
			send(t, b, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
				"since": map[string]uint64{"g1": tt.since}, "epoch": tt.epoch})
			for _, seq := range tt.wantSeqs {
				if f := read(t, b); f.Type != "odds" || f.Seq != seq {
					t.Fatalf("got %+v, want replayed odds seq %d", f, seq)
				}
			}
			if tt.wantReset {
				f := read(t, b)
				if f.Type != "snapshot" || !f.Reset || f.Seq != 4 || len(f.snapshot(t)) != 1 {
					t.Fatalf("got %+v, want reset snapshot at seq 4", f)
				}
			}
			syncPoint(t, b) // nothing else came for g1
		})
	}

	t.Run("replay then live", func(t *testing.T) {
		b := dial(t, e.url, nil)
		send(t, b, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
			"since": map[string]uint64{"g1": 3}, "epoch": e.hub.Epoch()})
		if f := read(t, b); f.Type != "odds" || f.Seq != 4 {
			t.Fatalf("got %+v, want replayed seq 4", f)
		}
		syncPoint(t, b)
		e.putOdds(odds("g1", "p", 10))
		e.publish()
		if f := read(t, b); f.Type != "odds" || f.Seq != 5 {
			t.Fatalf("got %+v, want live seq 5", f)
		}
	})

	t.Run("history overrun", func(t *testing.T) {
		for i := range 6 {
			e.putOdds(odds("g1", "r", 20+i))
		}
		e.publish()
		b := dial(t, e.url, nil)
		send(t, b, map[string]any{"type": "subscribe", "topics": []string{"game:g1"},
			"since": map[string]uint64{"g1": 2}, "epoch": e.hub.Epoch()})
		f := read(t, b)
		if f.Type != "snapshot" || !f.Reset {
			t.Fatalf("got %+v, want reset snapshot", f)
		}
	})
}

func TestOriginCheck(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		origin   string
		ok       bool
	}{
		{"no origin (non-browser)", nil, "", true},
		{"foreign origin refused", nil, "https://evil.example", false},
		{"allowed pattern", []string{"app.example.com"}, "https://app.example.com", true},
		{"other origin with patterns", []string{"app.example.com"}, "https://evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{OriginPatterns: tt.patterns})
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: h})
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				_ = c.CloseNow()
				return
			}
			if err == nil {
				_ = c.CloseNow()
				t.Fatal("dial with a foreign origin succeeded")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial: %v, response %v, want 403", err, resp)
			}
		})
	}
}

func TestShutdownSendsGoingAway(t *testing.T) {
	e := newEnv(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		c := dial(t, e.url, nil)
		subscribe(t, c, "all")
		wg.Go(func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	waitFor(t, func() bool { return e.hub.Stats().Clients == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	t.Logf("shutdown of 3 clients took %v", time.Since(start))
	wg.Wait()
	close(errs)
	for err := range errs {
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != ReasonShutdown {
			t.Fatalf("client saw %v, want StatusGoingAway %q", err, ReasonShutdown)
		}
	}
	if n := e.hub.Stats().Clients; n != 0 {
		t.Fatalf("clients after shutdown = %d", n)
	}
	resp, err := http.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %d, want 503", resp.StatusCode)
	}
}

func TestReferenceClient(t *testing.T) {
	e := newEnv(t, Options{})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putOdds(odds("g1", "p", 1))
	e.publish() // known game with odds: a normal client would get a snapshot

	ref := dial(t, e.url+"?client=abc123", nil)
	env := dial(t, e.url, nil)
	subscribe(t, env, "all")
	if f := read(t, env); f.Type != "snapshot" {
		t.Fatalf("got %+v", f)
	}
	waitFor(t, func() bool { return e.hub.Stats().Clients == 2 })

	o := odds("g1", "p", 2)
	o.AwaySpread, o.HomeSpread, o.AwayOdds, o.HomeOdds = 2.5, -2.5, 120, -140
	o.ObservedAt = t0.Add(2*time.Second + 123456789)
	e.putGame(game("g1", "soccer", feed.StatusClosed)) // not for the reference client
	e.putOdds(o)
	e.publish()
	fix := o // a correction of o: the reference client gets it too
	fix.AwayOdds, fix.Version, fix.ReceivedAt = 125, 2, o.ReceivedAt.Add(time.Second)
	e.hub.Publish(feed.Change{Kind: feed.ChangeModify, Key: fix.Key(), Version: 2, NewOdds: &fix, OldOdds: &o})
	e.putOdds(odds("g1", "p", 4))
	e.publish()

	// As the reference's StreamConsumer pushed it: date is the item's
	// CREATED, the epoch second the server received it.
	for i, w := range []feed.Odds{o, fix, odds("g1", "p", 4)} {
		want := fmt.Sprintf(`{"gameId":"g1","away":%v,"home":%v,"awayOdds":%d,"homeOdds":%d,"date":%d}`,
			w.AwaySpread, w.HomeSpread, w.AwayOdds, w.HomeOdds, w.ReceivedAt.Unix())
		if got := string(readRaw(t, ref)); got != want {
			t.Fatalf("reference frame %d\n got %s\nwant %s", i, got, want)
		}
	}
	// The envelope client got the game, both odds and the modify.
	for _, typ := range []string{"game", "odds", "odds", "odds"} {
		if f := read(t, env); f.Type != typ {
			t.Fatalf("envelope client got %+v, want %s", f, typ)
		}
	}
	// Requests from a reference client are ignored.
	subscribe(t, ref, "game:g1")
	expectNothing(t, ref, 200*time.Millisecond)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

func TestPing(t *testing.T) {
	// A ping is answered by the peer's reader: the pong timeout
	// (max(PingInterval, WriteTimeout)) is generous, so that a loaded
	// machine under -race does not drop the reading client for answering
	// late; the pings are frequent, so the reading one answers many of them
	// before the deaf one is dropped.
	e := newEnv(t, Options{PingInterval: 20 * time.Millisecond, WriteTimeout: 2 * time.Second})
	live := dial(t, e.url, nil)
	frames := make(chan frame, 16)
	go func() { // reading answers pings
		for {
			_, b, err := live.Read(context.Background())
			if err != nil {
				close(frames)
				return
			}
			var f frame
			_ = json.Unmarshal(b, &f)
			frames <- f
		}
	}()
	deaf := dial(t, e.url, nil) // never reads, so never answers a ping
	waitFor(t, func() bool { return e.hub.Stats().Clients == 2 })
	// The deaf client is dropped once its first ping times out. The live
	// one, connected earlier, was pinged as often and as long: had it not
	// answered, it would have been dropped first.
	waitFor(t, func() bool { return e.hub.Stats().Clients == 1 })
	// The one left is the reading one: it still gets answers...
	send(t, live, map[string]any{"type": "sync"})
	select {
	case f, ok := <-frames:
		if !ok || f.Type != "error" {
			t.Fatalf("reading client after the deaf one was dropped: got %+v (open %v), want the sync point's answer", f, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading client got no answer after the deaf one was dropped")
	}
	// ...and the deaf one's connection was closed by the hub.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := deaf.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the deaf client's connection is still open")
			}
			break
		}
	}
	if n := e.hub.Stats().Clients; n != 1 {
		t.Fatalf("clients = %d, want the reading one kept", n)
	}
}

// TestSnapshotThenLaggingStream: the stream lags the store, so a change
// already in a subscriber's snapshot (read from the store) is published
// after it; the subscriber must not get it twice.
func TestSnapshotThenLaggingStream(t *testing.T) {
	e := newEnv(t, Options{})
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putOdds(odds("g1", "p", 1)) // stored, not yet published
	c := dial(t, e.url, nil)
	subscribe(t, c, "game:g1")
	if f := read(t, c); f.Type != "snapshot" || len(f.Odds) == 0 {
		t.Fatalf("first frame %+v", f)
	}
	e.putOdds(odds("g1", "p", 2))
	e.publish() // the game, odds 1 (already in the snapshot), odds 2
	var seqs []uint64
	for {
		f := read(t, c)
		seqs = append(seqs, f.Seq)
		if f.Type == "game" || f.Type == "seen" { // seen: odds 1's seq, not odds 1 again
			continue
		}
		if f.Type != "odds" || !strings.Contains(string(f.Odds), `"awayOdds":102`) {
			t.Fatalf("after the snapshot got %+v %s, want only odds 2", f, f.Odds)
		}
		break
	}
	if fmt.Sprint(seqs) != "[1 2 3]" {
		t.Fatalf("seqs after the snapshot %v, want [1 2 3]: dense, odds 1 as a seen frame", seqs)
	}
}

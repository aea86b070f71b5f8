package broadcast

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// fakeClock makes h's pruning clock a counter the test moves.
func fakeClock(h *Hub) *atomic.Int64 {
	var now atomic.Int64
	now.Store(1)
	h.clock = now.Load
	return &now
}

func (h *Hub) hasGame(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.games[id] != nil
}

func publishGame(h *Hub, g feed.Game) {
	h.Publish(feed.Change{Kind: feed.ChangeModify, ItemType: feed.TypeGame, NewGame: &g})
}

// TestIdleGamesDropped: closed games, and games no topic covers that stay
// idle, are dropped; a covered open game is kept.
func TestIdleGamesDropped(t *testing.T) {
	e := newEnv(t, Options{GameIdle: time.Hour, ClosedGameIdle: time.Minute})
	now := fakeClock(e.hub)
	c := dial(t, e.url, nil)
	subscribe(t, c, "sport:soccer")
	syncPoint(t, c)
	publishGame(e.hub, game("closed", "soccer", feed.StatusClosed))
	publishGame(e.hub, game("covered", "soccer", feed.StatusLive))
	publishGame(e.hub, game("idle", "nba", feed.StatusLive))

	now.Add(int64(2 * time.Minute))
	publishGame(e.hub, game("busy", "nba", feed.StatusLive)) // the sweep runs on publishes
	if e.hub.hasGame("closed") || !e.hub.hasGame("idle") || !e.hub.hasGame("covered") {
		t.Fatalf("after 2m: closed %v idle %v covered %v; want only the closed game dropped",
			e.hub.hasGame("closed"), e.hub.hasGame("idle"), e.hub.hasGame("covered"))
	}
	now.Add(int64(2 * time.Hour))
	publishGame(e.hub, game("busy", "nba", feed.StatusLive))
	if e.hub.hasGame("idle") || !e.hub.hasGame("covered") || !e.hub.hasGame("busy") {
		t.Fatalf("after 2h: idle %v covered %v busy %v; want only the idle game dropped",
			e.hub.hasGame("idle"), e.hub.hasGame("covered"), e.hub.hasGame("busy"))
	}
}

// TestMaxGames: the hub keeps at most MaxGames games.
func TestMaxGames(t *testing.T) {
	h := New(nil, Options{MaxGames: 10})
	for i := range 25 {
		o := odds(fmt.Sprintf("g%d", i), "p", 1)
		h.Publish(insert(o))
	}
	h.mu.Lock()
	n := len(h.games)
	h.mu.Unlock()
	if n > 10 {
		t.Errorf("%d games kept, want at most 10", n)
	}
}

// TestDroppedGameResume: a game dropped from memory keeps its seqs unique
// within the epoch: a since of its old life is not replayed from its new
// one, and resuming it with sinceTime reads what was missed from the
// store.
func TestDroppedGameResume(t *testing.T) {
	e := newEnv(t, Options{ClosedGameIdle: time.Minute})
	now := fakeClock(e.hub)
	e.putGame(game("g1", "soccer", feed.StatusLive))
	e.putOdds(odds("g1", "pa", 1), odds("g1", "pa", 2))
	e.publish()
	a := dial(t, e.url, nil)
	subscribe(t, a, "game:g1")
	snap := read(t, a)
	if snap.Type != "snapshot" || snap.Seq != 3 {
		t.Fatalf("got %+v, want a snapshot at seq 3", snap)
	}
	_ = a.CloseNow()
	e.putOdds(odds("g1", "pa", 3))
	e.putGame(game("g1", "soccer", feed.StatusClosed))
	e.publish() // seq 4 and 5
	now.Add(int64(2 * time.Minute))
	publishGame(e.hub, game("other", "nba", feed.StatusLive))
	if e.hub.hasGame("g1") {
		t.Fatal("the closed game was not dropped")
	}
	e.putOdds(odds("g1", "pb", 4)) // a late odds brings it back
	e.publish()

	b := dial(t, e.url, nil)
	send(t, b, map[string]any{"type": "subscribe", "topics": []string{"game:g1"}, "epoch": e.hub.Epoch(),
		"since": map[string]uint64{"g1": snap.Seq}, "sinceTime": map[string]time.Time{"g1": odds("g1", "pa", 2).ObservedAt}})
	f := read(t, b)
	if f.Type != "snapshot" || !f.Reset {
		t.Fatalf("got %+v, want a reset snapshot (the ring of the game's old life is gone)", f)
	}
	if f.Seq <= 5 {
		t.Errorf("the game came back at seq %d, at or below its old seq 5", f.Seq)
	}
	wantOdds(t, "missed", f.Missed, []feed.Odds{odds("g1", "pa", 3), odds("g1", "pb", 4)})

	// A game not seen yet starts at the floor, densely.
	c := dial(t, e.url, nil)
	subscribe(t, c, "game:new")
	s := read(t, c)
	publishGame(e.hub, game("new", "nba", feed.StatusLive))
	if g := read(t, c); g.Type != "game" || g.Seq != s.Seq+1 {
		t.Errorf("snapshot at %d then %+v, want the game change at the next seq", s.Seq, g)
	}
}

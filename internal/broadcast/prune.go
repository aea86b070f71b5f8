package broadcast

import (
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Pruning keeps the hub's per-game state bounded.
//
// A game is dropped when it is closed and has not changed for
// ClosedGameIdle, or when no client's topics cover it and it has not changed
// for GameIdle; never while a subscriber resumes it from the store (it has
// a watch). Past MaxGames the least recently active game is dropped too.
// The sweep runs on the publish path, at most every quarter of the shorter
// idle time: O(games) under the lock, no goroutine.
//
// A dropped game loses its history ring, latest odds and sport. Its seq
// must not repeat within the epoch, or a client's since could be taken for
// one of the new incarnation's seqs: seqFloor is the highest seq of any
// dropped game, and a game the hub makes starts there (0 until a game is
// dropped). So a client resuming a dropped game with since gets a reset
// snapshot (and with sinceTime, its missed odds read from the store), a
// subscriber of a game not seen yet gets a snapshot at seqFloor, and a
// client still covering a game that comes back sees its seq jump (a gap:
// it resubscribes as for any gap). A dropped game that comes back reaches
// sport:<sport> again from its next game change, as any game the hub has
// not seen.

// maybeSweepLocked drops the idle games, at most once per sweep period.
func (h *Hub) maybeSweepLocked(now int64) {
	period := int64(min(h.o.GameIdle, h.o.ClosedGameIdle) / 4)
	if now-h.lastSweep < period {
		return
	}
	h.lastSweep = now
	for id, gs := range h.games {
		if h.idleLocked(id, gs, now) {
			h.dropGameLocked(id, gs)
		}
	}
}

// idleLocked reports whether game id may be dropped at now.
func (h *Hub) idleLocked(id string, gs *gameState, now int64) bool {
	if len(h.watches[id]) > 0 {
		return false
	}
	idle := time.Duration(now - gs.active)
	if gs.game != nil && gs.game.Status == feed.StatusClosed && idle >= h.o.ClosedGameIdle {
		return true
	}
	return idle >= h.o.GameIdle && !h.coveredLocked(id, gs)
}

// coveredLocked reports whether some client's topics cover game id.
func (h *Hub) coveredLocked(id string, gs *gameState) bool {
	return len(h.index[topic{kind: topicAll}]) > 0 ||
		gs.sport != "" && len(h.index[topic{kind: topicSport, name: gs.sport}]) > 0 ||
		len(h.index[topic{kind: topicGame, name: id}]) > 0
}

// evictLocked drops the least recently active game that no subscriber is
// resuming, to make room for another (MaxGames).
func (h *Hub) evictLocked() {
	var oldest string
	var ogs *gameState
	for id, gs := range h.games {
		if len(h.watches[id]) == 0 && (ogs == nil || gs.active < ogs.active) {
			oldest, ogs = id, gs
		}
	}
	if ogs != nil {
		h.log.Debug("broadcast game state full; dropping the least recently active game", "game", oldest, "max", h.o.MaxGames)
		h.dropGameLocked(oldest, ogs)
	}
}

func (h *Hub) dropGameLocked(id string, gs *gameState) {
	h.seqFloor = max(h.seqFloor, gs.seq)
	delete(h.games, id)
}

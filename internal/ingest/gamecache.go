package ingest

import (
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Bounds of the game cache. Past maxCachedGames entries a map is simply
// emptied: it refills from the store at the cost of one read per game.
const (
	maxCachedGames = 50000
	// gameContentTTL bounds how long the last written content of a game is
	// trusted: another replica (or an admin) may have changed the game since,
	// so the reference form re-writes (a no-op when equal) at least this
	// often.
	gameContentTTL = time.Minute
)

// gameCache remembers which game ids exist (games are never deleted) and
// the last content this process wrote or read for each game, so that odds
// batches do not cost a game read per item.
type gameCache struct {
	now     func() time.Time
	mu      sync.RWMutex
	known   map[string]struct{}
	content map[string]cachedGame
}

type cachedGame struct {
	g  feed.Game
	at time.Time
}

func newGameCache(now func() time.Time) *gameCache {
	return &gameCache{now: now, known: make(map[string]struct{}), content: make(map[string]cachedGame)}
}

// isKnown reports whether id is known to exist.
func (c *gameCache) isKnown(id string) bool {
	c.mu.RLock()
	_, ok := c.known[id]
	c.mu.RUnlock()
	return ok
}

// addKnown records that ids exist.
func (c *gameCache) addKnown(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if len(c.known) >= maxCachedGames {
			clear(c.known)
		}
		c.known[id] = struct{}{}
	}
}

// get returns the content last written or read for id, if still fresh.
func (c *gameCache) get(id string) (feed.Game, bool) {
	c.mu.RLock()
	e, ok := c.content[id]
	c.mu.RUnlock()
	if !ok || c.now().Sub(e.at) > gameContentTTL {
		return feed.Game{}, false
	}
	return e.g, true
}

// put records g as the stored content of its game.
func (c *gameCache) put(g feed.Game) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.content) >= maxCachedGames {
		clear(c.content)
	}
	if len(c.known) >= maxCachedGames {
		clear(c.known)
	}
	c.content[g.ID] = cachedGame{g: g, at: c.now()}
	c.known[g.ID] = struct{}{}
}

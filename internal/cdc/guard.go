package cdc

import (
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// GuardOptions bound a Guard's memory.
type GuardOptions struct {
	// Window is how long a key is remembered after it was last touched: at
	// least Window, at most 2·Window (default 10 minutes).
	Window time.Duration
	// MaxEntries caps the keys remembered (default 1,000,000); past it the
	// least recently touched half is forgotten.
	MaxEntries int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Guard drops changes that are not newer than what was admitted for the
// same item: duplicates (Kinesis delivers at least once) and older changes
// arriving late (out of order across shards, or a replayed batch).
//
// Per item key it remembers the highest version admitted, and whether that
// was a REMOVE. Admit accepts:
//   - an INSERT or MODIFY whose version is greater than the last; after a
//     REMOVE, also one created after the REMOVE (an item re-created with a
//     fresh version), but not a late duplicate of the removed item;
//   - a REMOVE whose version is at least the last (the old image of a
//     REMOVE has the version of the item's last write), unless that REMOVE
//     was already admitted.
//
// Memory is bounded by two generations of maps: keys untouched for longer
// than Window (or pushed out by MaxEntries) are forgotten, so a duplicate
// older than that window could pass again. The Guard is for consumers that
// must not go backwards in memory (the WebSocket broadcast); consumers that
// need exactly-once effects persist the versions they applied (reporting
// does, in Postgres). A Guard is safe for concurrent use.
type Guard struct {
	mu      sync.Mutex
	window  time.Duration
	maxGen  int
	now     func() time.Time
	cur     map[feed.Key]guardEntry
	prev    map[feed.Key]guardEntry
	rotated time.Time
}

type guardEntry struct {
	version int64
	removed bool
	at      time.Time // of the admitted change
}

// NewGuard returns an empty Guard.
func NewGuard(o GuardOptions) *Guard {
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1_000_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Guard{
		window: o.Window,
		maxGen: max(o.MaxEntries/2, 1),
		now:    o.Now,
		cur:    make(map[feed.Key]guardEntry),
		prev:   make(map[feed.Key]guardEntry),
	}
	g.rotated = g.now()
	return g
}

// Admit reports whether c is newer than every change admitted for its key,
// and if so remembers it. Every item type is judged the same way, by key
// and version (games, odds, market statuses, providers' liveness); a lease
// (feed.TypeLease) is never admitted nor remembered: no consumer reads it.
func (g *Guard) Admit(c feed.Change) bool {
	if c.ItemType == feed.TypeLease {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maybeRotate()
	last, ok := g.cur[c.Key]
	if !ok {
		last, ok = g.prev[c.Key]
	}
	if ok && !admits(last, c) {
		if _, inCur := g.cur[c.Key]; !inCur {
			g.put(c.Key, last) // touched: keep it in the young generation
		}
		return false
	}
	g.put(c.Key, guardEntry{version: c.Version, removed: c.Kind == feed.ChangeRemove, at: c.At})
	return true
}

func admits(last guardEntry, c feed.Change) bool {
	if c.Kind == feed.ChangeRemove {
		if last.removed {
			return c.Version > last.version
		}
		return c.Version >= last.version
	}
	if c.Version > last.version {
		return true
	}
	return last.removed && c.At.After(last.at)
}

// Len returns the number of keys remembered.
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.cur) + len(g.prev) // a key is never in both
}

func (g *Guard) put(k feed.Key, e guardEntry) {
	g.cur[k] = e
	delete(g.prev, k)
	if len(g.cur) >= g.maxGen {
		g.rotate()
	}
}

func (g *Guard) maybeRotate() {
	switch idle := g.now().Sub(g.rotated); {
	case idle >= 2*g.window: // both generations are stale
		g.rotate()
		g.prev = make(map[feed.Key]guardEntry)
	case idle >= g.window:
		g.rotate()
	}
}

func (g *Guard) rotate() {
	g.prev = g.cur
	g.cur = make(map[feed.Key]guardEntry, len(g.prev)/2)
	g.rotated = g.now()
}

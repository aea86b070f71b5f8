package broadcast

import (
	"slices"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// gameState is what the hub knows of one game: its sequence, sport, latest
// odds per provider and the ring of its recent messages. Guarded by Hub.mu.
type gameState struct {
	seq    uint64
	game   *feed.Game // nil until a game change is seen
	sport  string
	latest map[string]feed.Odds // provider -> newest (feed.Odds.Newer)
	// seeded is true once the latest odds were merged from the Snapshotter,
	// so a game:<id> subscription need not ask it again.
	seeded bool
	// unpublished holds, per provider, the odds read from the Snapshotter
	// that the stream has not delivered yet (the stream lags the store). A
	// snapshot that carries one makes its client skip the live copy; other
	// clients get it when it comes. At most one per provider.
	unpublished map[string]oddsKey
	// hist is a ring of the last messages (len <= cap); start is the oldest.
	hist  []*message
	start int
	// active is when the game last changed (monoNow), for pruning.
	active int64
}

func newGameState(history int) *gameState {
	return &gameState{latest: map[string]feed.Odds{}, hist: make([]*message, 0, history)}
}

// observe records o as the provider's latest when it is newer.
func (g *gameState) observe(o feed.Odds) {
	if cur, ok := g.latest[o.Provider]; !ok || o.Newer(cur) {
		g.latest[o.Provider] = o
	}
}

// seed merges odds read from the Snapshotter: the ones that become the
// provider's latest are unpublished until the stream delivers them.
func (g *gameState) seed(o feed.Odds) {
	if cur, ok := g.latest[o.Provider]; ok && !o.Newer(cur) {
		return
	}
	g.latest[o.Provider] = o
	if g.unpublished == nil {
		g.unpublished = map[string]oddsKey{}
	}
	g.unpublished[o.Provider] = keyOf(&o)
}

// published notes that the stream delivered o.
func (g *gameState) published(o feed.Odds) {
	if k, ok := g.unpublished[o.Provider]; ok && k == keyOf(&o) {
		delete(g.unpublished, o.Provider)
	}
}

// unpublishedIn returns the keys of the unpublished odds among snapshot.
func (g *gameState) unpublishedIn(snapshot []feed.Odds) map[oddsKey]struct{} {
	var out map[oddsKey]struct{}
	for i := range snapshot {
		k := keyOf(&snapshot[i])
		if u, ok := g.unpublished[snapshot[i].Provider]; ok && u == k {
			if out == nil {
				out = map[oddsKey]struct{}{}
			}
			out[k] = struct{}{}
		}
	}
	return out
}

// record appends m to the history ring.
func (g *gameState) record(m *message) {
	if cap(g.hist) == 0 {
		return
	}
	if len(g.hist) < cap(g.hist) {
		g.hist = append(g.hist, m)
		return
	}
	g.hist[g.start] = m
	g.start = (g.start + 1) % len(g.hist)
}

// dropHistory frees the ring (a closed game is not resumed).
func (g *gameState) dropHistory() {
	clear(g.hist)
	g.hist = g.hist[:0:0]
	g.start = 0
}

// since returns the messages after seq, and false when they are no longer
// all in the ring (or seq is from the future).
func (g *gameState) since(seq uint64) ([]*message, bool) {
	switch {
	case seq == g.seq:
		return nil, true
	case seq > g.seq || len(g.hist) == 0:
		return nil, false
	}
	oldest := g.hist[g.start].seq
	if oldest > seq+1 {
		return nil, false
	}
	out := make([]*message, 0, g.seq-seq)
	for i := range g.hist {
		m := g.hist[(g.start+i)%len(g.hist)]
		if m.seq > seq {
			out = append(out, m)
		}
	}
	return out, true
}

// snapshot returns the latest odds ordered by provider.
func (g *gameState) snapshot() []feed.Odds {
	out := make([]feed.Odds, 0, len(g.latest))
	for _, o := range g.latest {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b feed.Odds) int {
		switch {
		case a.Provider < b.Provider:
			return -1
		case a.Provider > b.Provider:
			return 1
		}
		return 0
	})
	return out
}

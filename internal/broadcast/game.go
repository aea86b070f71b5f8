package broadcast

import (
	"cmp"
	"slices"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// quoteKey names a series of quotes within a game: its provider, market and
// period (feed.Odds.QuoteID without the game). Late odds and conflation are
// judged per series. A comparable struct: no string is built per publish.
type quoteKey struct {
	provider string
	market   feed.Market
	period   feed.Period
}

func quoteOf(o *feed.Odds) quoteKey { return quoteKey{o.Provider, o.Market.Or(), o.Period.Or()} }

// marketKey names one market (type and period) of a game.
type marketKey struct {
	market feed.Market
	period feed.Period
}

func marketOf(s *feed.MarketStatus) marketKey { return marketKey{s.Market.Or(), s.Period.Or()} }

// gameState is what the hub knows of one game: its sequence, sport, latest
// quote per series, its markets' statuses and the ring of its recent
// messages. Guarded by Hub.mu.
type gameState struct {
	seq    uint64
	game   *feed.Game // nil until a game change is seen
	sport  string
	latest map[quoteKey]feed.Odds // newest (feed.Odds.Newer) per provider, market and period
	// markets is the newest status (by version) of each market; nil until
	// one is seen.
	markets map[marketKey]feed.MarketStatus
	// seeded is true once the latest quotes and the market statuses were
	// merged from the Snapshotter, so a game:<id> subscription need not
	// ask it again.
	seeded bool
	// unpublished holds, per series, the odds read from the Snapshotter
	// that the stream has not delivered yet (the stream lags the store). A
	// snapshot that carries one makes its client skip the live copy; other
	// clients get it when it comes. At most one per series.
	unpublished map[quoteKey]itemKey
	// unpublishedMarkets is the same for market statuses: the version read.
	unpublishedMarkets map[marketKey]int64
	// hist is a ring of the last messages (len <= cap); start is the oldest.
	hist  []*message
	start int
	// active is when the game last changed (monoNow), for pruning.
	active int64
}

func newGameState(history int) *gameState {
	return &gameState{latest: map[quoteKey]feed.Odds{}, hist: make([]*message, 0, history)}
}

// observe records o as its series' latest when it is newer.
func (g *gameState) observe(o feed.Odds) {
	k := quoteOf(&o)
	if cur, ok := g.latest[k]; !ok || o.Newer(cur) {
		g.latest[k] = o
	}
}

// seed merges odds read from the Snapshotter: the ones that become their
// series' latest are unpublished until the stream delivers them.
func (g *gameState) seed(o feed.Odds) {
	k := quoteOf(&o)
	if cur, ok := g.latest[k]; ok && !o.Newer(cur) {
		return
	}
	g.latest[k] = o
	if g.unpublished == nil {
		g.unpublished = map[quoteKey]itemKey{}
	}
	g.unpublished[k] = keyOf(&o)
}

// published notes that the stream delivered o.
func (g *gameState) published(o feed.Odds) {
	if len(g.unpublished) == 0 {
		return
	}
	k := quoteOf(&o)
	if u, ok := g.unpublished[k]; ok && u == keyOf(&o) {
		delete(g.unpublished, k)
	}
}

// observeMarket records s as its market's status unless the hub has a
// later version; it reports whether s is current.
func (g *gameState) observeMarket(s feed.MarketStatus) bool {
	k := marketOf(&s)
	if cur, ok := g.markets[k]; ok && cur.Version > s.Version {
		return false
	}
	if g.markets == nil {
		g.markets = map[marketKey]feed.MarketStatus{}
	}
	g.markets[k] = s
	if v, ok := g.unpublishedMarkets[k]; ok && s.Version >= v {
		delete(g.unpublishedMarkets, k)
	}
	return true
}

// seedMarket merges a market status read from the Snapshotter: a later
// version than the hub's is unpublished until the stream delivers it.
func (g *gameState) seedMarket(s feed.MarketStatus) {
	k := marketOf(&s)
	if cur, ok := g.markets[k]; ok && cur.Version >= s.Version {
		return
	}
	if g.markets == nil {
		g.markets = map[marketKey]feed.MarketStatus{}
	}
	g.markets[k] = s
	if g.unpublishedMarkets == nil {
		g.unpublishedMarkets = map[marketKey]int64{}
	}
	g.unpublishedMarkets[k] = s.Version
}

// unpublishedIn returns the keys of the unpublished odds and market
// statuses among a snapshot's.
func (g *gameState) unpublishedIn(snapshot []feed.Odds, markets []feed.MarketStatus) map[itemKey]struct{} {
	var out map[itemKey]struct{}
	add := func(k itemKey) {
		if out == nil {
			out = map[itemKey]struct{}{}
		}
		out[k] = struct{}{}
	}
	for i := range snapshot {
		k := keyOf(&snapshot[i])
		if u, ok := g.unpublished[quoteOf(&snapshot[i])]; ok && u == k {
			add(k)
		}
	}
	for i := range markets {
		if v, ok := g.unpublishedMarkets[marketOf(&markets[i])]; ok && v == markets[i].Version {
			add(statusKeyOf(&markets[i]))
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

// snapshot returns the latest quote of every series, ordered by provider,
// market and period (as store.FeedStore.LatestQuotes orders them).
func (g *gameState) snapshot() []feed.Odds {
	out := make([]feed.Odds, 0, len(g.latest))
	for _, o := range g.latest {
		out = append(out, o)
	}
	slices.SortFunc(out, store.CompareQuotes)
	return out
}

// marketList returns the market statuses ordered by market then period
// (as store.MarketStore.Markets orders them); never nil.
func (g *gameState) marketList() []feed.MarketStatus {
	out := make([]feed.MarketStatus, 0, len(g.markets))
	for _, s := range g.markets {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b feed.MarketStatus) int {
		return cmp.Or(cmp.Compare(a.Market.Or(), b.Market.Or()), cmp.Compare(a.Period.Or(), b.Period.Or()))
	})
	return out
}

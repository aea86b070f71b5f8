package broadcast

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Snapshotter gives what the hub has not seen on the change stream (it
// starts at the stream's tip): a game's current quotes and market statuses,
// and every provider's liveness. The feed store implements it.
type Snapshotter interface {
	// LatestQuotes returns the newest quote of each provider, market and
	// period of a game (store.FeedStore.LatestQuotes).
	LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error)
	// Markets returns the statuses of a game's markets
	// (store.MarketStore.Markets).
	Markets(ctx context.Context, gameID string) ([]feed.MarketStatus, error)
	// Providers returns every provider's liveness
	// (store.ProviderStore.Providers).
	Providers(ctx context.Context) ([]feed.ProviderStatus, error)
}

// Stats are the hub's counters since New.
type Stats struct {
	// Clients connected now.
	Clients int
	// Sent is the number of frames written to clients.
	Sent uint64
	// Conflated is the number of queued odds messages replaced by a newer
	// one of the same game, provider, market and period for a client under
	// pressure.
	Conflated uint64
	// Dropped is the number of queued messages discarded because their
	// client was closed.
	Dropped uint64
	// SlowClosed is the number of clients closed for being too slow.
	SlowClosed uint64
}

// Hub fans changes out to WebSocket clients. See the package doc.
type Hub struct {
	snap  Snapshotter
	hist  Historian // nil when snap does not implement it
	o     Options
	log   *slog.Logger
	epoch string

	// mu orders publishes and subscriptions: a subscriber's snapshot and
	// the changes after it are consistent. It is never held while writing
	// to a socket: enqueueing is non-blocking.
	mu         sync.Mutex
	closed     bool
	games      map[string]*gameState
	index      map[topic]map[*client]struct{}
	clients    map[*client]struct{}
	refClients int
	pubStamp   uint64
	watching   bool // the write watchdog is running
	// watches collect, per game, the odds published while a resuming
	// subscriber reads what it missed from the store.
	watches map[string]map[*oddsWatch]struct{}
	// owners counts connections and topics per principal (limits.go).
	owners map[string]*owner
	// providers is every provider's newest liveness (by version), provSeq
	// the provider sequence (one per provider frame sent), provMsg the
	// providers frame of the current state (nil: to encode again), and
	// provSeeded whether the Snapshotter's providers were merged (status.go).
	providers  map[string]feed.ProviderStatus
	provSeq    uint64
	provMsg    *message
	provSeeded bool
	// seqFloor is the highest seq of a dropped game: a game (re)created
	// after it starts there, so a seq never repeats within the epoch
	// (prune.go). lastSweep is when idle games were last looked for.
	seqFloor  uint64
	lastSweep int64
	clock     func() int64   // monoNow; tests set it
	wg        sync.WaitGroup // connection handlers

	stats struct {
		sent, conflated, dropped, slowClosed atomic.Uint64
	}
}

// New returns a hub that asks s for snapshots of games it has not seen.
// When s also implements Historian (the feed store does), a resuming
// client's sinceTime is answered with the odds it missed.
func New(s Snapshotter, o Options) *Hub {
	o = o.withDefaults()
	hist, _ := s.(Historian)
	return &Hub{
		snap: s, hist: hist, o: o, log: o.Logger,
		watches:   map[string]map[*oddsWatch]struct{}{},
		owners:    map[string]*owner{},
		providers: map[string]feed.ProviderStatus{},
		clock:     monoNow,
		epoch:     rand.Text()[:16],
		games:     map[string]*gameState{},
		index:     map[topic]map[*client]struct{}{},
		clients:   map[*client]struct{}{},
	}
}

// Epoch identifies this hub's lifetime; seq numbers are only comparable
// within one epoch.
func (h *Hub) Epoch() string { return h.epoch }

// Publish fans one admitted change out to the interested clients. It never
// blocks on a client. A REMOVE (a TTL expiry included) reaches no client;
// it only drops a removed odds from the game's current prices. A lease
// change (no images) reaches no client either.
//
// Every odds change is pushed, whatever order the stream delivers it in:
// one older than the newest the hub has for its game, provider, market and
// period (its feed.Odds.QuoteID) is marked late (it does not become the
// current price), a version after the first is marked a correction. Every
// market status change is pushed too, with its game's next seq; a
// provider's liveness goes to every connection (status.go). Duplicates are
// the tailer's Guard's to drop (the changes reaching Publish are admitted
// ones).
func (h *Hub) Publish(c feed.Change) {
	if c.Kind == feed.ChangeRemove {
		if c.OldOdds != nil {
			h.forgetOdds(*c.OldOdds)
		}
		return
	}
	switch {
	case c.NewOdds != nil:
		h.publishOdds(*c.NewOdds)
	case c.NewGame != nil:
		h.publishGame(*c.NewGame)
	case c.NewMarket != nil:
		h.publishMarket(*c.NewMarket)
	case c.NewProvider != nil:
		h.publishProvider(*c.NewProvider)
	}
}

func (h *Hub) publishOdds(o feed.Odds) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := h.clock()
	gs := h.gameLocked(o.GameID, now)
	cur, had := gs.latest[quoteOf(&o)]
	late := had && cur.Newer(o)
	m, err := h.oddsMessage(&o, gs.seq+1, late)
	var ref *message
	if err == nil && h.refClients > 0 && o.IsFullGameSpread() { // the reference knows no other market
		ref, err = referenceMessage(&o)
	}
	if err != nil {
		h.log.Error("broadcast dropped odds change", "game", o.GameID, "provider", o.Provider, "err", err)
		return
	}
	gs.seq++
	gs.active = now
	gs.observe(o)
	gs.published(o)
	gs.record(m)
	for w := range h.watches[o.GameID] {
		w.add(o, h.o.MissedLimit)
	}
	h.fanoutLocked(gs, o.GameID, m, ref)
	h.maybeSweepLocked(now)
}

// forgetOdds drops o from its game's current prices when it is its
// series' current one (it expired or was removed): snapshots no longer
// carry it, and the next game:<id> subscription reads the game's current
// prices from the store again (the series' next newest, if any). Clients
// are not sent anything: a removal is not an odds.
func (h *Hub) forgetOdds(o feed.Odds) {
	h.mu.Lock()
	defer h.mu.Unlock()
	gs := h.games[o.GameID]
	if gs == nil {
		return
	}
	k := quoteOf(&o)
	if cur, ok := gs.latest[k]; ok && keyOf(&cur) == keyOf(&o) {
		delete(gs.latest, k)
		delete(gs.unpublished, k)
		gs.seeded = false
	}
}

func (h *Hub) publishGame(g feed.Game) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := h.clock()
	gs := h.gameLocked(g.ID, now)
	m, err := h.gameMessage(&g, gs.seq+1)
	if err != nil {
		h.log.Error("broadcast dropped game change", "game", g.ID, "err", err)
		return
	}
	gs.seq++
	gs.active = now
	gs.game, gs.sport = &g, g.Sport
	switch {
	case g.Status == feed.StatusClosed:
		gs.dropHistory()
	case cap(gs.hist) == 0:
		gs.hist = make([]*message, 0, h.o.History)
	}
	gs.record(m)
	h.fanoutLocked(gs, g.ID, m, nil)
	h.maybeSweepLocked(now)
}

// gameLocked returns game id's state, made (from seqFloor, within MaxGames)
// when the hub has none.
func (h *Hub) gameLocked(id string, now int64) *gameState {
	gs := h.games[id]
	if gs == nil {
		if len(h.games) >= h.o.MaxGames {
			h.evictLocked()
		}
		gs = newGameState(h.o.History)
		gs.seq, gs.active = h.seqFloor, now
		h.games[id] = gs
	}
	return gs
}

// fanoutLocked enqueues m (or ref, for reference clients) once to every
// client subscribed to all, the game's sport or the game. A client that
// already has m's odds or market status (skipLocked) gets a "seen" frame of
// its seq instead.
func (h *Hub) fanoutLocked(gs *gameState, id string, m, ref *message) {
	h.pubStamp++
	stamp := h.pubStamp
	var now time.Time // read once, only when a client has a skip set
	var seen *message // m's seq for the clients that already have its odds
	send := func(t topic) {
		for c := range h.index[t] {
			if c.stamp == stamp {
				continue
			}
			c.stamp = stamp
			switch {
			case !c.ref:
				if c.skip != nil && c.skipLocked(m, &now) {
					if seen == nil {
						seen = h.seenMessage(m)
					}
					c.enqueue(seen)
					continue
				}
				c.enqueue(m)
			case ref != nil:
				c.enqueue(ref)
			}
		}
	}
	send(topic{kind: topicAll})
	if gs.sport != "" {
		send(topic{kind: topicSport, name: gs.sport})
	}
	send(topic{kind: topicGame, name: id})
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	n := len(h.clients)
	h.mu.Unlock()
	return Stats{
		Clients:    n,
		Sent:       h.stats.sent.Load(),
		Conflated:  h.stats.conflated.Load(),
		Dropped:    h.stats.dropped.Load(),
		SlowClosed: h.stats.slowClosed.Load(),
	}
}

// register adds a client; false when the hub is shut down. On true the
// caller must call h.wg.Done when the client's handler ends.
func (h *Hub) register(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	if !c.ref {
		// Before any other frame: every provider's liveness.
		c.enqueuePinned([]*message{h.providersMessageLocked()})
	}
	if !h.watching {
		h.watching = true
		go h.watchWrites()
	}
	if c.ref {
		// A reference client is subscribed to all from the start, with no
		// snapshot.
		h.refClients++
		h.addTopicLocked(c, topic{kind: topicAll})
	}
	h.wg.Add(1)
	return true
}

// watchWrites is the write watchdog: every quarter of WriteTimeout it drops
// the clients whose write under way has taken longer than WriteTimeout (a
// peer that stopped reading with its socket buffers full). It runs while
// the hub has clients.
func (h *Hub) watchWrites() {
	t := time.NewTicker(max(h.o.WriteTimeout/4, time.Millisecond))
	defer t.Stop()
	var stuck []*client
	for range t.C {
		now := monoNow()
		h.mu.Lock()
		if h.closed || len(h.clients) == 0 {
			h.watching = false
			h.mu.Unlock()
			return
		}
		for c := range h.clients {
			if c.tr.stuck(now, h.o.WriteTimeout) {
				stuck = append(stuck, c)
			}
		}
		h.mu.Unlock()
		for _, c := range stuck {
			h.log.Info("broadcast write timed out; dropping client", "timeout", h.o.WriteTimeout)
			c.abort()
		}
		clear(stuck)
		stuck = stuck[:0]
	}
}

// unregister removes a client and its subscriptions.
func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	for t := range c.topics {
		h.removeTopicLocked(c, t)
	}
	delete(h.clients, c)
	if c.ref {
		h.refClients--
	}
}

func (h *Hub) addTopicLocked(c *client, t topic) {
	if _, ok := c.topics[t]; ok {
		return
	}
	if c.own != nil {
		c.own.topics++
	}
	c.topics[t] = struct{}{}
	set := h.index[t]
	if set == nil {
		set = map[*client]struct{}{}
		h.index[t] = set
	}
	set[c] = struct{}{}
}

func (h *Hub) removeTopicLocked(c *client, t topic) {
	if _, ok := c.topics[t]; !ok {
		return
	}
	if c.own != nil {
		c.own.topics--
	}
	delete(c.topics, t)
	if set := h.index[t]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.index, t)
		}
	}
}

// Shutdown closes every client with a StatusGoingAway close frame and waits
// for their handlers to end. When ctx ends first it drops the connections
// left without waiting and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		go c.close(websocket.StatusGoingAway, ReasonShutdown)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range cs {
			go c.abort()
		}
		return fmt.Errorf("shut down broadcast hub: %w", ctx.Err())
	}
}

package broadcast

import (
	"cmp"
	"context"
	"slices"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Market statuses and providers' liveness.
//
// A market status change is a message of its game like odds: it takes the
// game's next seq, is kept in the game's history ring (a resume with since
// replays it), goes to the subscribers of all, the game's sport and the
// game, and the game's snapshot carries every market's newest status. Every
// version the stream delivers is pushed once, in the order it arrives; one
// older than the status the hub has does not replace it (clients keep the
// highest version). A status a snapshot read from the store before the
// stream delivered it is withheld from that client (a "seen" frame takes
// its seq), as for odds (resume.go).
//
// A provider's liveness is not a game's: every connection but the
// reference clients gets it. The hub keeps each provider's newest status
// (by version); a connection gets them all in a "providers" frame first,
// then a "provider" frame per change, numbered by the hub's provider
// sequence (dense, its own counter). A status is sent once: the hub reads
// the providers from the Snapshotter on the first connection (the stream
// only has what changed since the hub started), and a status it learns
// there or from the stream that is not newer than the one it has is not
// sent again. So a client has the newest status of every provider, with no
// gap in the provider seq, and needs no resume: a new connection starts
// from a providers frame.

// publishMarket pushes a market status change to the game's subscribers.
func (h *Hub) publishMarket(s feed.MarketStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := h.clock()
	gs := h.gameLocked(s.GameID, now)
	m, err := h.marketMessage(&s, gs.seq+1)
	if err != nil {
		h.log.Error("broadcast dropped market change", "game", s.GameID, "market", s.ID(), "err", err)
		return
	}
	gs.seq++
	gs.active = now
	gs.observeMarket(s)
	gs.record(m)
	h.fanoutLocked(gs, s.GameID, m, nil)
	h.maybeSweepLocked(now)
}

// publishProvider pushes a provider's liveness to every connection.
func (h *Hub) publishProvider(s feed.ProviderStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.mergeProviderLocked(s)
}

// mergeProviderLocked makes s the provider's status and sends it to every
// connection, unless the hub has that version or a later one.
func (h *Hub) mergeProviderLocked(s feed.ProviderStatus) {
	if cur, ok := h.providers[s.Provider]; ok && cur.Version >= s.Version {
		return
	}
	m, err := h.providerMessage(&s, h.provSeq+1)
	if err != nil {
		h.log.Error("broadcast dropped provider change", "provider", s.Provider, "err", err)
		return
	}
	h.provSeq++
	h.providers[s.Provider] = s
	h.provMsg = nil
	for c := range h.clients {
		if !c.ref {
			c.enqueue(m)
		}
	}
}

// providersMessageLocked is the providers frame of the current state,
// encoded once per state.
func (h *Hub) providersMessageLocked() *message {
	if h.provMsg != nil {
		return h.provMsg
	}
	ps := make([]feed.ProviderStatus, 0, len(h.providers))
	for _, s := range h.providers {
		ps = append(ps, s)
	}
	slices.SortFunc(ps, func(a, b feed.ProviderStatus) int { return cmp.Compare(a.Provider, b.Provider) })
	m, err := h.providersMessage(ps, h.provSeq)
	if err != nil { // times, strings and numbers always encode
		h.log.Error("broadcast providers frame not encoded", "err", err)
		m, _ = h.providersMessage([]feed.ProviderStatus{}, h.provSeq)
	}
	h.provMsg = m
	return m
}

// seedProviders reads every provider's liveness from the Snapshotter, once
// per hub (again after a failed read), before a connection is registered:
// its providers frame then holds the providers that have not changed since
// the hub started.
func (h *Hub) seedProviders(ctx context.Context) {
	h.mu.Lock()
	done := h.provSeeded || h.snap == nil
	h.mu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
	ps, err := h.snap.Providers(ctx)
	cancel()
	if err != nil {
		h.log.Warn("broadcast providers not read", "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for _, s := range ps {
		h.mergeProviderLocked(s)
	}
	h.provSeeded = true
}

package broadcast

import (
	"context"
	"slices"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// subscribeAttempts bounds how often subscribe starts over when a game's
// history ring was overrun while it read the store (see apply).
const subscribeAttempts = 3

// prepared is what prepare read from the store for one subscribe.
type prepared struct {
	fetched map[string]*fetched // games the hub had no snapshot of
	unread  map[string]bool     // games that needed those reads but did not get them all
	resumes map[string]*resume
}

// fetched is what the Snapshotter gave of one game: its latest quotes and
// its markets' statuses; complete when both reads were made.
type fetched struct {
	odds     []feed.Odds
	markets  []feed.MarketStatus
	complete bool
}

// subscribe adds topics to c and queues, for every game they newly cover,
// a snapshot or (with a usable since) a replay of the missed messages. A
// snapshot answering a sinceTime carries the odds missed (resume.go). The
// topic limits are checked before any store read, and the request's store
// reads and queued bytes are bounded (Limits).
func (h *Hub) subscribe(ctx context.Context, c *client, topics []topic, req *request) {
	h.mu.Lock()
	msg := h.checkTopicsLocked(c, c.addedLocked(topics))
	h.mu.Unlock()
	if msg != "" {
		h.reply(c, msg)
		return
	}
	b := &budget{reads: h.o.Limits.MaxRequestReads, bytes: h.o.Limits.MaxRequestBytes}
	for i := 1; ; i++ {
		p := h.prepare(ctx, c, topics, req, b)
		if h.apply(c, topics, req, p, b, i < subscribeAttempts) {
			return
		}
	}
}

// prepare reads, without holding the lock, the latest quotes and the
// market statuses of the games asked for that the hub has no snapshot of
// (two reads a game), and the odds missed since req.SinceTime of the games
// whose since cannot be replayed, within b.
func (h *Hub) prepare(ctx context.Context, c *client, topics []topic, req *request, b *budget) *prepared {
	var need []string
	h.mu.Lock()
	needs := func(id string) bool {
		gs := h.games[id]
		return (gs == nil || !gs.seeded) && !slices.Contains(need, id)
	}
	for _, t := range topics {
		if _, ok := c.topics[t]; ok {
			continue
		}
		switch t.kind {
		case topicGame:
			if needs(t.name) {
				need = append(need, t.name)
			}
		case topicAll: // a resumed game the hub has not seen yet is covered too
			for id := range req.SinceTime {
				if needs(id) {
					need = append(need, id)
				}
			}
		}
	}
	p := &prepared{fetched: make(map[string]*fetched, len(need)), unread: map[string]bool{}}
	p.resumes = h.planResumesLocked(c, topics, req)
	h.mu.Unlock()
	if h.snap != nil && !c.ref {
		for _, id := range need {
			f := h.fetch(ctx, id, b)
			if f != nil {
				p.fetched[id] = f
			}
			if f == nil || !f.complete {
				p.unread[id] = true
			}
		}
	}
	ids := make([]string, 0, len(p.resumes))
	for id := range p.resumes {
		ids = append(ids, id)
	}
	slices.Sort(ids) // which games the reads budget covers does not depend on map order
	for _, id := range ids {
		r := p.resumes[id]
		r.odds, r.more, r.err = h.readMissed(ctx, r.id, r.after, b)
		if r.err != nil {
			h.log.Warn("broadcast missed odds not read", "game", r.id, "err", r.err)
		}
	}
	return p
}

// fetch reads a game's latest quotes and market statuses, one read of b
// each; nil when neither was read.
func (h *Hub) fetch(ctx context.Context, id string, b *budget) *fetched {
	ctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
	defer cancel()
	f := &fetched{}
	if !b.read() {
		return nil
	}
	odds, err := h.snap.LatestQuotes(ctx, id)
	if err != nil {
		h.log.Warn("broadcast snapshot failed", "game", id, "err", err)
		return nil
	}
	f.odds = odds
	if !b.read() {
		return f
	}
	markets, err := h.snap.Markets(ctx, id)
	if err != nil {
		h.log.Warn("broadcast snapshot of markets failed", "game", id, "err", err)
		return f
	}
	f.markets, f.complete = markets, true
	return f
}

// apply subscribes c under the lock and queues its snapshots and replays.
// It returns false, having changed nothing but the seeded snapshots, when
// retry is set and a game to resume from sinceTime has no store read
// because its ring was overrun after prepare looked: subscribe then starts
// over.
func (h *Hub) apply(c *client, topics []topic, req *request, p *prepared, b *budget, retry bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range p.resumes {
		h.unwatchLocked(r)
	}
	if h.closed {
		return true
	}
	for id, f := range p.fetched {
		h.seedLocked(id, f)
	}
	added := c.addedLocked(topics)
	if msg := h.checkTopicsLocked(c, added); msg != "" { // another stream of its principal subscribed meanwhile
		c.enqueuePinned([]*message{h.errorMessage(msg)})
		return true
	}
	ids := h.newlyCoveredLocked(c, added)
	if retry && h.hist != nil {
		for _, id := range ids {
			if _, ok := req.SinceTime[id]; ok && p.resumes[id] == nil && !h.replayableLocked(h.games[id], id, req) {
				return false
			}
		}
	}
	for _, t := range added {
		h.addTopicLocked(c, t)
	}
	if c.ref || len(ids) == 0 {
		return true
	}
	var msgs []*message
	for _, id := range ids {
		msgs = append(msgs, h.framesLocked(c, id, req, p, b)...)
	}
	c.enqueuePinned(msgs)
	return true
}

// framesLocked returns what c gets for game id newly covered: the replay
// of its since, or a snapshot (its latest quotes and market statuses, with
// the missed odds of its sinceTime).
// Past b's bytes, a replay or missed odds give way to a snapshot of the
// current odds with "truncated":true.
func (h *Hub) framesLocked(c *client, id string, req *request, p *prepared, b *budget) []*message {
	gs := h.games[id]
	over := false
	if h.replayableLocked(gs, id, req) {
		replay, _ := gs.since(req.Since[id])
		n := 0
		for _, m := range replay {
			n += len(m.data)
		}
		if n <= b.bytes {
			b.bytes -= n
			return replay
		}
		over = true
	}
	_, hasSince := req.Since[id]
	_, hasTime := req.SinceTime[id]
	f := snapshotFrame{Type: "snapshot", Epoch: h.epoch, GameID: id, Seq: h.seqFloor, Reset: hasSince || hasTime,
		Odds: []feed.Odds{}, Markets: []feed.MarketStatus{}, Truncated: over || p.unread[id]}
	var skip, missedSkip map[itemKey]struct{}
	if gs != nil {
		f.Seq, f.Odds, f.Markets, f.Game = gs.seq, gs.snapshot(), gs.marketList(), gs.game
		skip = gs.unpublishedIn(f.Odds, f.Markets)
	}
	if r := p.resumes[id]; r != nil {
		var trunc bool
		f.Missed, trunc, missedSkip = h.missedLocked(r)
		f.Truncated = f.Truncated || trunc
	} else if hasTime {
		f.Truncated = true // no Historian, or retries ran out: nothing read
	}
	data, err := encode(f)
	if err == nil && len(data) > b.bytes && f.Missed != nil {
		f.Missed, f.Truncated, missedSkip = nil, true, nil
		data, err = encode(f)
	}
	if err != nil {
		h.log.Error("broadcast snapshot not encoded", "game", id, "err", err)
		return nil
	}
	b.bytes = max(0, b.bytes-len(data))
	until := time.Now().Add(h.o.DedupeWindow)
	for _, keys := range []map[itemKey]struct{}{skip, missedSkip} {
		if keys != nil {
			c.addSkipLocked(id, keys, until)
		}
	}
	return []*message{{data: data, gameID: id, seq: f.Seq}}
}

// seedLocked merges a game's latest quotes and market statuses read from
// the Snapshotter; the game is seeded when both were read.
func (h *Hub) seedLocked(id string, f *fetched) {
	gs := h.games[id]
	if gs == nil {
		if len(f.odds) == 0 && len(f.markets) == 0 {
			return // nothing known: keep no state for arbitrary ids
		}
		gs = h.gameLocked(id, h.clock())
	}
	for _, o := range f.odds {
		gs.seed(o)
	}
	for _, s := range f.markets {
		gs.seedMarket(s)
	}
	gs.seeded = gs.seeded || f.complete
}

// newlyCoveredLocked lists, sorted, the games the added topics cover that
// c's current topics do not.
func (h *Hub) newlyCoveredLocked(c *client, added []topic) []string {
	seen := map[string]struct{}{}
	var ids []string
	add := func(id string, gs *gameState) {
		if _, ok := seen[id]; ok || c.coversLocked(id, gs) {
			return
		}
		seen[id] = struct{}{}
		ids = append(ids, id)
	}
	for _, t := range added {
		switch t.kind {
		case topicAll:
			for id, gs := range h.games {
				add(id, gs)
			}
		case topicSport:
			for id, gs := range h.games {
				if gs.sport == t.name {
					add(id, gs)
				}
			}
		case topicGame:
			add(t.name, h.games[t.name])
		}
	}
	slices.Sort(ids)
	return ids
}

// coversLocked reports whether c's topics already deliver game id.
func (c *client) coversLocked(id string, gs *gameState) bool {
	if _, ok := c.topics[topic{kind: topicAll}]; ok {
		return true
	}
	if _, ok := c.topics[topic{kind: topicGame, name: id}]; ok {
		return true
	}
	if gs != nil && gs.sport != "" {
		_, ok := c.topics[topic{kind: topicSport, name: gs.sport}]
		return ok
	}
	return false
}

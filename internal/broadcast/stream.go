package broadcast

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Limits on what one client may ask.
const (
	maxRequestBytes = 64 << 10
	maxTopics       = 1000
)

// ServeHTTP is the GET /v1/stream endpoint: it upgrades to a WebSocket
// (Origin checked against Options.OriginPatterns) and serves the client
// until it leaves or the hub shuts down. Authentication is the caller's.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	ref := r.URL.Query().Get("client") != ""
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.o.OriginPatterns})
	if err != nil { // Accept has written the response (403 for a foreign Origin).
		h.log.Info("websocket refused", "err", err, "origin", r.Header.Get("Origin"))
		return
	}
	conn.SetReadLimit(maxRequestBytes)
	c := newClient(h, newWSTransport(conn), ref)
	if !h.register(c) {
		_ = conn.Close(websocket.StatusGoingAway, ReasonShutdown)
		return
	}
	defer h.wg.Done()
	go c.writeLoop()
	go c.pingLoop(conn, h.o.PingInterval, max(h.o.PingInterval, h.o.WriteTimeout))
	h.readLoop(c, conn)
	h.unregister(c)
	c.abort() // waits for a close handshake already under way
	<-c.writerDone
}

// readLoop reads the client's requests until the connection ends; reading
// also answers pings and close frames.
func (h *Hub) readLoop(c *client, conn *websocket.Conn) {
	ctx := context.Background()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			h.log.Debug("websocket read ended", "err", err)
			return
		}
		if c.ref {
			continue // the reference client only listens
		}
		if typ != websocket.MessageText {
			h.reply(c, "messages must be JSON text")
			continue
		}
		var req request
		if err := json.Unmarshal(data, &req); err != nil {
			h.reply(c, "bad message: "+err.Error())
			continue
		}
		topics := make([]topic, 0, len(req.Topics))
		for _, s := range req.Topics {
			t, err := parseTopic(s)
			if err != nil {
				h.reply(c, err.Error())
				topics = nil
				break
			}
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
		if topics == nil {
			continue
		}
		switch req.Type {
		case "subscribe":
			if msg := checkSinceTime(req.SinceTime); msg != "" {
				h.reply(c, msg)
				continue
			}
			h.subscribe(ctx, c, topics, &req)
		case "unsubscribe":
			h.unsubscribe(c, topics)
		default:
			h.reply(c, fmt.Sprintf("unknown message type %q: want subscribe or unsubscribe", req.Type))
		}
	}
}

// reply queues an error message to one client.
func (h *Hub) reply(c *client, text string) {
	c.enqueuePinned([]*message{h.errorMessage(text)})
}

// checkSinceTime returns why a sinceTime map is refused, or "".
func checkSinceTime(m map[string]time.Time) string {
	if len(m) > maxTopics {
		return fmt.Sprintf("sinceTime: at most %d games", maxTopics)
	}
	for id := range m {
		if r := feed.ValidateID(id); r != "" {
			return fmt.Sprintf("sinceTime: game id %q %s", id, r)
		}
	}
	return ""
}

// subscribeAttempts bounds how often subscribe starts over when a game's
// history ring was overrun while it read the store (see apply).
const subscribeAttempts = 3

// subscribe adds topics to c and queues, for every game they newly cover,
// a snapshot or (with a usable since) a replay of the missed messages. A
// snapshot answering a sinceTime carries the odds missed (resume.go).
func (h *Hub) subscribe(ctx context.Context, c *client, topics []topic, req *request) {
	for i := 1; ; i++ {
		fetched, resumes := h.prepare(ctx, c, topics, req)
		if h.apply(c, topics, req, fetched, resumes, i < subscribeAttempts) {
			return
		}
	}
}

// prepare reads, without holding the lock, the latest odds of the games
// asked for that the hub has no snapshot of, and the odds missed since
// req.SinceTime of the games whose since cannot be replayed.
func (h *Hub) prepare(ctx context.Context, c *client, topics []topic, req *request) (map[string][]feed.Odds, map[string]*resume) {
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
	resumes := h.planResumesLocked(c, topics, req)
	h.mu.Unlock()
	fetched := make(map[string][]feed.Odds, len(need))
	if h.snap != nil && !c.ref {
		for _, id := range need {
			sctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
			odds, err := h.snap.LatestOddsByProvider(sctx, id)
			cancel()
			if err != nil {
				h.log.Warn("broadcast snapshot failed", "game", id, "err", err)
				continue
			}
			fetched[id] = odds
		}
	}
	for _, r := range resumes {
		r.odds, r.more, r.err = h.readMissed(ctx, r.id, r.after)
		if r.err != nil {
			h.log.Warn("broadcast missed odds not read", "game", r.id, "err", r.err)
		}
	}
	return fetched, resumes
}

// apply subscribes c under the lock and queues its snapshots and replays.
// It returns false, having changed nothing but the seeded snapshots, when
// retry is set and a game to resume from sinceTime has no store read
// because its ring was overrun after prepare looked: subscribe then starts
// over.
func (h *Hub) apply(c *client, topics []topic, req *request, fetched map[string][]feed.Odds, resumes map[string]*resume, retry bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range resumes {
		h.unwatchLocked(r)
	}
	if h.closed {
		return true
	}
	for id, odds := range fetched {
		h.seedLocked(id, odds)
	}
	var added []topic
	for _, t := range topics {
		if _, ok := c.topics[t]; !ok {
			added = append(added, t)
		}
	}
	if len(c.topics)+len(added) > maxTopics {
		c.enqueuePinned([]*message{h.errorMessage(fmt.Sprintf("at most %d topics per connection", maxTopics))})
		return true
	}
	ids := h.newlyCoveredLocked(c, added)
	if retry && h.hist != nil {
		for _, id := range ids {
			if _, ok := req.SinceTime[id]; ok && resumes[id] == nil && !h.replayableLocked(h.games[id], id, req) {
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
		gs := h.games[id]
		if h.replayableLocked(gs, id, req) {
			replay, _ := gs.since(req.Since[id])
			msgs = append(msgs, replay...)
			continue
		}
		_, hasSince := req.Since[id]
		_, hasTime := req.SinceTime[id]
		f := snapshotFrame{Type: "snapshot", Epoch: h.epoch, GameID: id, Reset: hasSince || hasTime, Odds: []feed.Odds{}}
		if gs != nil {
			f.Seq, f.Odds, f.Game = gs.seq, gs.snapshot(), gs.game
			if skip := gs.unpublishedIn(f.Odds); skip != nil {
				c.addSkipLocked(id, skip, time.Now().Add(h.o.DedupeWindow))
			}
		}
		if r := resumes[id]; r != nil {
			f.Missed, f.Truncated = h.missedLocked(c, r)
		} else if hasTime {
			f.Truncated = true // no Historian, or retries ran out: nothing read
		}
		b, err := encode(f)
		if err != nil {
			h.log.Error("broadcast snapshot not encoded", "game", id, "err", err)
			continue
		}
		msgs = append(msgs, &message{data: b, gameID: id, seq: f.Seq})
	}
	c.enqueuePinned(msgs)
	return true
}

// seedLocked merges a game's latest odds read from the Snapshotter.
func (h *Hub) seedLocked(id string, odds []feed.Odds) {
	gs := h.games[id]
	if gs == nil {
		if len(odds) == 0 {
			return // nothing known: keep no state for arbitrary ids
		}
		gs = h.gameLocked(id)
	}
	for _, o := range odds {
		gs.seed(o)
	}
	gs.seeded = true
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

// unsubscribe removes topics from c.
func (h *Hub) unsubscribe(c *client, topics []topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range topics {
		h.removeTopicLocked(c, t)
	}
}

package broadcast

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// ServeHTTP is the GET /v1/stream endpoint: it upgrades to a WebSocket
// (Origin checked against Options.OriginPatterns) and serves the client
// until it leaves or the hub shuts down. Authentication is the caller's:
// the auth.Principal in the request context (auth.PrincipalFrom), when
// there is one, counts towards its Limits, and the stream is closed when
// its session ends (CloseSession) or its credential expires.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	p, _ := auth.PrincipalFrom(r.Context())
	own, ok := h.reserve(p.Name)
	if !ok {
		http.Error(w, fmt.Sprintf("at most %d streams per principal", h.o.Limits.MaxConnsPerPrincipal), http.StatusTooManyRequests)
		return
	}
	defer h.release(own)
	ref := r.URL.Query().Get("client") != ""
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.o.OriginPatterns})
	if err != nil { // Accept has written the response (403 for a foreign Origin).
		h.log.Info("websocket refused", "err", err, "origin", r.Header.Get("Origin"))
		return
	}
	conn.SetReadLimit(maxRequestBytes)
	c := newClient(h, newWSTransport(conn), ref)
	c.own, c.session = own, p.Session
	if !ref {
		h.seedProviders(context.Background()) // bounded by WriteTimeout
	}
	if !h.register(c) {
		_ = conn.Close(websocket.StatusGoingAway, ReasonShutdown)
		return
	}
	defer h.wg.Done()
	stop := c.expireAt(p)
	go c.writeLoop()
	go c.pingLoop(conn, h.o.PingInterval, max(h.o.PingInterval, h.o.WriteTimeout))
	h.readLoop(c, conn)
	stop()
	h.unregister(c)
	c.abort() // waits for a close handshake already under way
	<-c.writerDone
}

// readLoop reads the client's requests until the connection ends; reading
// also answers pings and close frames. Requests past the client's rate are
// refused (and a client that keeps sending them is closed) before any work.
func (h *Hub) readLoop(c *client, conn *websocket.Conn) {
	ctx := context.Background()
	var rate bucket
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			h.log.Debug("websocket read ended", "err", err)
			return
		}
		if !rate.take(&h.o.Limits, monoNow()) {
			if rate.refused == h.o.Limits.RequestBurst {
				h.log.Info("broadcast client flooding; closing it")
				go c.close(websocket.StatusPolicyViolation, ReasonTooManyRequests)
			}
			if rate.refused >= h.o.Limits.RequestBurst {
				continue // reading on answers the close handshake
			}
			if !c.ref {
				h.reply(c, fmt.Sprintf("too many requests: at most %g per second", h.o.Limits.RequestRate))
			}
			continue
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
		if len(req.Topics) > maxTopics {
			h.reply(c, fmt.Sprintf("at most %d topics per connection", maxTopics))
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

// unsubscribe removes topics from c.
func (h *Hub) unsubscribe(c *client, topics []topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range topics {
		h.removeTopicLocked(c, t)
	}
}

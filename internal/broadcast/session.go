package broadcast

import (
	"time"

	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

// CloseSession closes, with StatusPolicyViolation and ReasonSessionEnded,
// every stream opened with dashboard session id (auth.Principal.Session;
// directly, or with a stream token minted with it). The dashboard calls it
// when a session ends (dashboard.Options.OnSessionEnd).
func (h *Hub) CloseSession(id string) {
	if id == "" {
		return
	}
	var cs []*client
	h.mu.Lock()
	for c := range h.clients {
		if c.session == id {
			cs = append(cs, c)
		}
	}
	h.mu.Unlock()
	for _, c := range cs {
		go c.close(websocket.StatusPolicyViolation, ReasonSessionEnded)
	}
}

// expireAt closes c when its credential expires (p.Expires); the returned
// stop cancels that. A credential without expiry returns a no-op.
func (c *client) expireAt(p auth.Principal) (stop func() bool) {
	if p.Expires.IsZero() {
		return func() bool { return false }
	}
	reason := ReasonTokenExpired
	if p.Session != "" {
		reason = ReasonSessionExpired
	}
	t := time.AfterFunc(time.Until(p.Expires), func() { c.close(websocket.StatusPolicyViolation, reason) })
	return t.Stop
}

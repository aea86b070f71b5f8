package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

// maxHeardProviders bounds the liveness throttle's map. Providers are
// authenticated principals, so it never nears this; past it the map is
// emptied (each provider then writes once more).
const maxHeardProviders = 10000

// maxHeartbeatBytes bounds a heartbeat's body ({"provider":"..."} at most).
const maxHeartbeatBytes = 4 << 10

// heardCache throttles the liveness writes of this replica: a provider is
// recorded heard (store.Heard) at most once per feed.HeardGranularity, and
// its status as last stored is kept for heartbeats to answer with.
type heardCache struct {
	mu   sync.Mutex
	last map[string]heardEntry
}

type heardEntry struct {
	at     time.Time           // when this replica last asked the store
	status feed.ProviderStatus // what the store answered (zero: not yet)
}

func newHeardCache() *heardCache {
	return &heardCache{last: make(map[string]heardEntry)}
}

// claim reports whether provider is due a liveness write at now, taking
// the slot when it is, so concurrent requests of one provider write once;
// else it returns the status last stored.
func (c *heardCache) claim(provider string, now time.Time) (feed.ProviderStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.last[provider]
	if ok && now.Sub(e.at) < feed.HeardGranularity {
		return e.status, false // zero while another request writes it
	}
	if !ok && len(c.last) >= maxHeardProviders {
		clear(c.last)
	}
	e.at = now
	c.last[provider] = e
	return e.status, true
}

func (c *heardCache) stored(provider string, st feed.ProviderStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.last[provider]; ok {
		e.status = st
		c.last[provider] = e
	}
}

// noteHeard records that provider was heard at now, throttled. A write
// that fails is logged, not the request's failure: the provider's odds
// count, and it is retried after feed.HeardGranularity.
func (h *Handler) noteHeard(ctx context.Context, provider string, now time.Time) {
	if _, due := h.heard.claim(provider, now); !due {
		return
	}
	st, _, err := h.s.Heard(ctx, provider, now)
	if err != nil {
		h.log.WarnContext(ctx, "ingest: record provider heard failed", "provider", provider, "err", err)
		return
	}
	h.heard.stored(provider, st)
}

// heartbeatIn is the body of POST /v1/heartbeat: empty, or
// {"provider":"..."} (an admin's heartbeat on a provider's behalf).
type heartbeatIn struct {
	Provider textMember `json:"provider"`
}

// decodeHeartbeat returns the provider a heartbeat body, sent by p, is
// for; or the problem: a bad field (field "" when the body is no object).
func decodeHeartbeat(body []byte, p auth.Principal) (provider string, bad *feed.FieldError) {
	var in heartbeatIn
	if len(bytes.TrimSpace(body)) > 0 && (!json.Valid(body) || decodeItem(body, &in) != nil) {
		return "", &feed.FieldError{Reason: `the body must be empty or a JSON object {"provider":"..."}`}
	}
	admin := p.Role == auth.RoleAdmin
	var c checker
	switch {
	case in.Provider.bad != "":
		c.fail("provider", in.Provider.bad)
	case !in.Provider.set && admin:
		c.fail("provider", "is required: the provider an admin's heartbeat is for")
	case !in.Provider.set:
		return p.Name, nil
	case feed.ValidateID(in.Provider.v) != "":
		c.fail("provider", feed.ValidateID(in.Provider.v))
	case in.Provider.v != p.Name && !admin:
		c.fail("provider", "must be the authenticated provider "+p.Name)
	}
	if len(c.errs) > 0 {
		return "", &c.errs[0]
	}
	return in.Provider.v, nil
}

// postHeartbeat serves POST /v1/heartbeat: the provider is alive. 200
// {"provider":<ProviderStatus>}, its liveness as stored.
func (h *Handler) postHeartbeat(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	body, err := httpx.ReadBody(w, r, maxHeartbeatBytes)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	provider, bad := decodeHeartbeat(body, p)
	if httpx.BadBody(w, r, bad, "the heartbeat was not recorded") {
		return
	}
	if !h.allow(w, r, p.Name, 1) {
		return
	}
	now := h.o.Now().UTC()
	st, due := h.heard.claim(provider, now)
	if due || st.Provider == "" {
		var err error
		if st, _, err = h.s.Heard(r.Context(), provider, now); err != nil {
			h.storeFailed(w, r, "record provider heard", err)
			return
		}
		h.heard.stored(provider, st)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]feed.ProviderStatus{"provider": st})
}

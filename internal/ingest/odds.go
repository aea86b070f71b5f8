package ingest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// oddsIn is one item of POST /v1/odds.
type oddsIn struct {
	GameID     textMember `json:"gameId"`
	Provider   textMember `json:"provider"`
	ObservedAt timeMember `json:"observedAt"`
	AwaySpread numMember  `json:"awaySpread"`
	HomeSpread numMember  `json:"homeSpread"`
	AwayOdds   numMember  `json:"awayOdds"`
	HomeOdds   numMember  `json:"homeOdds"`
}

func sameName(s string) string { return s }

// postOdds serves POST /v1/odds.
func (h *Handler) postOdds(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	env, ok := h.readEnvelope(w, r)
	if !ok {
		return
	}
	provider := p.Name
	if env.Provider != nil && *env.Provider != provider {
		if p.Role != auth.RoleAdmin {
			httpx.Invalid(w, r, http.StatusUnprocessableEntity, "nothing was stored",
				httpx.ParamError("provider", "must be the authenticated provider "+p.Name))
			return
		}
		provider = *env.Provider // admins may write on a provider's behalf
	}
	if !h.allow(w, r, p.Name, len(env.Odds)) {
		return
	}
	now := h.o.Now().UTC()
	b := newBatch(len(env.Odds), sameName)
	for i, raw := range env.Odds {
		o, errs := decodeOdds(raw, provider, p.Role == auth.RoleAdmin, now)
		if len(errs) > 0 {
			b.failAll(i, errs)
			continue
		}
		b.add(i, o)
	}
	if !h.checkGames(w, r, b) {
		return
	}
	var outcomes []store.Outcome
	var err error
	if len(b.odds) > 0 {
		outcomes, err = h.s.PutOdds(r.Context(), b.odds)
	}
	h.finish(w, r, b, outcomes, err, func(rep report) { httpx.WriteJSON(w, http.StatusOK, rep.result()) })
}

// decodeOdds decodes and validates one item. provider is the authenticated
// provider; an item naming another one is refused unless admin is set.
func decodeOdds(raw json.RawMessage, provider string, admin bool, now time.Time) (feed.Odds, feed.FieldErrors) {
	var in oddsIn
	if errs := decodeItem(raw, &in); errs != nil {
		return feed.Odds{}, errs
	}
	var c checker
	o := feed.Odds{Provider: provider, ReceivedAt: now}
	if c.usable("gameId", in.GameID.member, false) {
		o.GameID = in.GameID.v
	}
	if c.usable("provider", in.Provider.member, false) && in.Provider.v != provider {
		if admin {
			o.Provider = in.Provider.v // admins may write on a provider's behalf
		} else {
			c.fail("provider", "must be the authenticated provider "+provider)
		}
	}
	o.ObservedAt, _ = c.time("observedAt", in.ObservedAt, parseRFC3339,
		"must be an RFC 3339 time such as 2026-11-20T20:30:15.238Z")
	c.quote(&o, in.AwaySpread, in.HomeSpread, in.AwayOdds, in.HomeOdds)
	c.validated(o.Validate(now))
	return o, c.errs
}

func parseRFC3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

// checkGames refuses the valid items of b whose game does not exist. Known
// ids are cached (games are never deleted), so a steady stream of batches
// costs no reads. It writes 503 and returns false when the store fails.
func (h *Handler) checkGames(w http.ResponseWriter, r *http.Request, b *batch) bool {
	var ask []string
	seen := map[string]struct{}{}
	for _, o := range b.odds {
		if _, dup := seen[o.GameID]; dup {
			continue
		}
		seen[o.GameID] = struct{}{}
		if !h.games.isKnown(o.GameID) {
			ask = append(ask, o.GameID)
		}
	}
	if len(ask) == 0 {
		return true
	}
	exist, err := h.s.GamesExist(r.Context(), ask)
	if err != nil {
		h.storeFailed(w, r, "check games exist", err)
		return false
	}
	var known []string
	unknown := map[string]struct{}{}
	for _, id := range ask {
		if exist[id] {
			known = append(known, id)
		} else {
			unknown[id] = struct{}{}
		}
	}
	h.games.addKnown(known...)
	if len(unknown) == 0 {
		return true
	}
	isUnknown := func(o feed.Odds) bool { _, u := unknown[o.GameID]; return u }
	for i, o := range b.odds {
		if isUnknown(o) {
			b.fail(b.index[i], "gameId", "unknown game "+o.GameID)
		}
	}
	b.drop(isUnknown)
	return true
}

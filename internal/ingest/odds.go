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

// oddsIn is one item of POST /v1/odds. Numbers start as sentinels so an
// absent one is reported as required rather than taken as 0.
type oddsIn struct {
	GameID     string  `json:"gameId"`
	Provider   *string `json:"provider"`
	ObservedAt string  `json:"observedAt"`
	AwaySpread float64 `json:"awaySpread"`
	HomeSpread float64 `json:"homeSpread"`
	AwayOdds   int     `json:"awayOdds"`
	HomeOdds   int     `json:"homeOdds"`
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
	h.finish(w, r, b, outcomes, err, func(rep report) {
		res := result{Stored: rep.Stored, Duplicates: rep.Duplicates, Conflicts: rep.Conflicts}
		for _, i := range rep.DuplicateIndices {
			res.Results = append(res.Results, itemOutcome{Index: i, Outcome: store.Duplicate.String()})
		}
		httpx.WriteJSON(w, http.StatusOK, res)
	})
}

// decodeOdds decodes and validates one item. provider is the authenticated
// provider; an item naming another one is refused unless admin is set.
func decodeOdds(raw json.RawMessage, provider string, admin bool, now time.Time) (feed.Odds, feed.FieldErrors) {
	if isNull(raw) {
		return feed.Odds{}, feed.FieldErrors{{Field: "", Reason: "must be an object"}}
	}
	in := oddsIn{AwaySpread: missingFloat, HomeSpread: missingFloat, AwayOdds: missingInt, HomeOdds: missingInt}
	var errs feed.FieldErrors
	if err := json.Unmarshal(raw, &in); err != nil {
		// encoding/json decodes the other fields and reports the first
		// mistyped one: name it, and go on checking the rest.
		f, reason := itemDecodeError(err)
		errs = append(errs, feed.FieldError{Field: f, Reason: reason})
		if f == "" {
			return feed.Odds{}, errs
		}
	}
	o := feed.Odds{GameID: in.GameID, Provider: provider, AwaySpread: in.AwaySpread, HomeSpread: in.HomeSpread,
		AwayOdds: in.AwayOdds, HomeOdds: in.HomeOdds, ReceivedAt: now}
	if in.Provider != nil && *in.Provider != provider {
		if !admin {
			errs = append(errs, feed.FieldError{Field: "provider", Reason: "must be the authenticated provider " + provider})
		} else {
			o.Provider = *in.Provider
		}
	}
	if in.ObservedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.ObservedAt)
		if err != nil && !hasField(errs, "observedAt") {
			errs = append(errs, feed.FieldError{Field: "observedAt", Reason: "must be an RFC 3339 time such as 2026-11-20T20:30:15.238Z"})
		}
		o.ObservedAt = t.UTC()
	}
	missing := func(name string, absent bool) {
		if absent && !hasField(errs, name) {
			errs = append(errs, feed.FieldError{Field: name, Reason: "is required"})
		}
	}
	missing("awaySpread", isMissingFloat(in.AwaySpread))
	missing("homeSpread", isMissingFloat(in.HomeSpread))
	missing("awayOdds", in.AwayOdds == missingInt)
	missing("homeOdds", in.HomeOdds == missingInt)
	for _, e := range o.Validate(now) {
		if !hasField(errs, e.Field) {
			errs = append(errs, e)
		}
	}
	return o, errs
}

func hasField(errs feed.FieldErrors, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
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

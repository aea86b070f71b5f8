package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// maxOutcomes bounds the results of a settlement: more than any market has.
const maxOutcomes = 8

// changeIn is one change of POST /v1/markets:
//
//	{"gameId":"g1","market":"total","period":"full","action":"settle",
//	 "results":{"over":"win","under":"lose"},"at":"2026-11-20T22:00:00Z"}
type changeIn struct {
	GameID  textMember    `json:"gameId"`
	Market  textMember    `json:"market"`
	Period  textMember    `json:"period"`
	Action  textMember    `json:"action"`
	Reason  textMember    `json:"reason"`
	Note    textMember    `json:"note"`
	Results resultsMember `json:"results"`
	At      timeMember    `json:"at"`
}

// resultsMember is a settlement's {"outcome":"result",...}; an outcome whose
// result is not a string has its own error (results.<outcome>).
type resultsMember struct {
	member
	v    map[feed.Outcome]feed.Result
	errs feed.FieldErrors
}

func (m *resultsMember) UnmarshalJSON(b []byte) error {
	*m = resultsMember{}
	if isNull(b) {
		return nil
	}
	m.set = true
	var raw map[string]json.RawMessage
	if b[0] != '{' || json.Unmarshal(b, &raw) != nil {
		m.bad = `must be an object such as {"home":"win","away":"lose"}`
		return nil
	}
	if len(raw) > maxOutcomes {
		m.bad = fmt.Sprintf("has more outcomes than any market (at most %d)", maxOutcomes)
		return nil
	}
	m.v = make(map[feed.Outcome]feed.Result, len(raw))
	for k, v := range raw {
		s, ok := jsonString(v)
		if !ok {
			m.errs = append(m.errs, feed.FieldError{Field: "results." + k, Reason: "must be a string"})
			continue
		}
		m.v[feed.Outcome(k)] = feed.Result(s)
	}
	return nil
}

// decodeChange decodes and validates one market change. now is the
// server's clock.
func decodeChange(raw json.RawMessage, now time.Time) (feed.MarketChange, feed.FieldErrors) {
	var in changeIn
	if errs := decodeItem(raw, &in); errs != nil {
		return feed.MarketChange{}, errs
	}
	var c checker
	var ch feed.MarketChange
	text := func(field string, m textMember) string {
		if c.usable(field, m.member, false) {
			return m.v
		}
		return ""
	}
	ch.GameID = text("gameId", in.GameID)
	ch.Market = feed.Market(text("market", in.Market))
	ch.Period = feed.Period(text("period", in.Period))
	ch.Action = feed.MarketAction(text("action", in.Action))
	ch.Reason = text("reason", in.Reason)
	ch.Note = text("note", in.Note)
	if c.usable("results", in.Results.member, false) {
		ch.Results = in.Results.v
		for _, e := range in.Results.errs {
			c.fail(e.Field, e.Reason)
		}
	}
	ch.At, _ = c.time("at", in.At, parseRFC3339, "must be an RFC 3339 time such as 2026-11-20T20:30:15.238Z")
	c.validated(ch.Validate(now))
	return ch, c.errs
}

// readChanges reads the body of POST /v1/markets, one change or
// {"changes":[...]}: the raw changes and whether it was a batch. It writes
// the problem (400, 413) and returns false when the body is unusable.
func (h *Handler) readChanges(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, bool, bool) {
	body, err := httpx.ReadBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		httpx.Error(w, r, err)
		return nil, false, false
	}
	raws, batch, reason := splitChanges(body, h.o.MaxItems)
	if reason == nil {
		return raws, batch, true
	}
	if reason.Field == "" {
		typ := httpx.TypeInvalidInput
		if !json.Valid(body) {
			typ = httpx.TypeMalformed
		}
		httpx.WriteProblem(w, r, httpx.Problem{Type: typ, Status: http.StatusBadRequest, Detail: reason.Reason})
		return nil, false, false
	}
	httpx.Invalid(w, r, http.StatusBadRequest, "nothing was changed", httpx.ParamError(reason.Field, reason.Reason))
	return nil, false, false
}

// splitChanges splits a body into its changes: {"changes":[...]} (batch)
// or one change object. reason says why it cannot (Field "" for the body).
func splitChanges(body []byte, maxItems int) (raws []json.RawMessage, batch bool, reason *feed.FieldError) {
	var top map[string]json.RawMessage
	if !json.Valid(body) {
		return nil, false, &feed.FieldError{Reason: "the body is not valid JSON"}
	}
	if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &top) != nil {
		return nil, false, &feed.FieldError{Reason: `the body must be a JSON object: one change, or {"changes":[...]}`}
	}
	list, batch := top["changes"]
	if !batch {
		return []json.RawMessage{body}, false, nil
	}
	if isNull(list) || json.Unmarshal(list, &raws) != nil {
		return nil, true, &feed.FieldError{Field: "changes", Reason: "must be an array"}
	}
	switch {
	case len(raws) == 0:
		return nil, true, &feed.FieldError{Field: "changes", Reason: "must contain at least one change"}
	case len(raws) > maxItems:
		return nil, true, &feed.FieldError{Field: "changes", Reason: fmt.Sprintf("at most %d changes", maxItems)}
	}
	return raws, true, nil
}

// changeField names field of change i as the request does:
// "changes[2].results.draw" in a batch, "results.draw" alone.
func changeField(batch bool, i int, field string) string {
	if !batch {
		return field
	}
	prefix := "changes[" + strconv.Itoa(i) + "]"
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// ownerOnly reports whether an action is the game owner's (or an admin's)
// alone: any provider may post a bet stop or lift it.
func ownerOnly(a feed.MarketAction) bool {
	return a != feed.ActionSuspend && a != feed.ActionResume
}

// changeResult is what became of one change.
type changeResult struct {
	Index  int               `json:"index"`
	GameID string            `json:"gameId"`
	Market feed.Market       `json:"market"`
	Period feed.Period       `json:"period"`
	Effect string            `json:"effect"`
	Status feed.MarketStatus `json:"status"`
}

// postMarkets serves POST /v1/markets: providers' (and admins') changes of
// market status, applied in order. 200 {"results":[...]} when every change
// took effect (applied, duplicate or superseded); 400 naming the bad fields
// and 403 for a change only the game's owner may make (nothing changed
// then); 409 (a change the market's status does not allow) or 403 (a
// market a trader suspended) lists the refused changes, the others applied
// (results).
func (h *Handler) postMarkets(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	raws, batch, ok := h.readChanges(w, r)
	if !ok || !h.allow(w, r, p.Name, len(raws)) {
		return
	}
	now := h.o.Now().UTC()
	byTrader := p.Role == auth.RoleAdmin || p.Role == auth.RoleTrader
	changes := make([]feed.MarketChange, len(raws))
	var errs []httpx.FieldError
	for i, raw := range raws {
		c, fe := decodeChange(raw, now)
		for _, e := range fe {
			errs = append(errs, httpx.ParamError(changeField(batch, i, e.Field), e.Reason))
		}
		c.By, c.ByTrader = p.Name, byTrader
		changes[i] = c
	}
	if len(errs) > 0 {
		httpx.Invalid(w, r, http.StatusBadRequest, "nothing was changed", errs...)
		return
	}
	if !h.checkChangeGames(w, r, p, changes, batch) {
		return
	}
	results := make([]changeResult, 0, len(changes))
	var refused []httpx.FieldError
	status := 0
	for i, c := range changes {
		st, effect, err := h.s.PutMarketChange(r.Context(), c)
		switch {
		case errors.Is(err, feed.ErrTransition), errors.Is(err, feed.ErrTraderSuspension):
			refused = append(refused, httpx.ParamError(changeField(batch, i, "action"), err.Error()))
			if s := httpx.StatusOf(err); status == 0 || s == http.StatusConflict {
				status = s
			}
			continue
		case err != nil:
			h.log.ErrorContext(r.Context(), "ingest: store market change failed", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "1")
			httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnavailable, Status: http.StatusServiceUnavailable,
				Detail: fmt.Sprintf("the store failed: the changes from index %d on were not applied and may be retried; "+
					"those in results were", i), Errors: refused, Extensions: map[string]any{"results": results}})
			return
		}
		results = append(results, changeResult{Index: i, GameID: c.GameID, Market: c.Market.Or(), Period: c.Period.Or(),
			Effect: effect.String(), Status: st})
	}
	if len(refused) > 0 {
		typ := httpx.TypeForbidden
		if status == http.StatusConflict {
			typ = httpx.TypeConflict
		}
		httpx.WriteProblem(w, r, httpx.Problem{Type: typ, Status: status,
			Detail: "some changes were refused (see errors); those in results took effect",
			Errors: refused, Extensions: map[string]any{"results": results}})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
}

// checkChangeGames checks that the games of changes exist (400 naming
// gameId) and that p may make each change (403: settle, cancel, rollback,
// open and close are the game owner's or an admin's). It writes the
// problem and returns false when not.
func (h *Handler) checkChangeGames(w http.ResponseWriter, r *http.Request, p auth.Principal, changes []feed.MarketChange, batch bool) bool {
	as := writer(p)
	games := map[string]*feed.Game{}
	var unknown, forbidden []httpx.FieldError
	for i, c := range changes {
		g, seen := games[c.GameID]
		if !seen {
			stored, found, err := h.gameOf(r, c.GameID)
			if err != nil {
				h.storeFailed(w, r, "get game", err)
				return false
			}
			if found {
				g = &stored
			}
			games[c.GameID] = g
		}
		switch {
		case g == nil:
			unknown = append(unknown, httpx.ParamError(changeField(batch, i, "gameId"), "unknown game "+c.GameID))
		case ownerOnly(c.Action) && !as.MayChange(*g):
			forbidden = append(forbidden, httpx.ParamError(changeField(batch, i, "action"),
				fmt.Sprintf("only the game's owner or an admin may %s its markets", c.Action)))
		}
	}
	switch {
	case len(unknown) > 0:
		httpx.Invalid(w, r, http.StatusBadRequest, "nothing was changed", unknown...)
		return false
	case len(forbidden) > 0:
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeForbidden, Status: http.StatusForbidden,
			Detail: "nothing was changed: " + store.ErrNotOwner.Error(), Errors: forbidden})
		return false
	}
	return true
}

// gameOf returns a game as last seen (cached) or stored.
func (h *Handler) gameOf(r *http.Request, id string) (feed.Game, bool, error) {
	if g, ok := h.games.get(id); ok {
		return g, true, nil
	}
	return h.storedGame(r, id)
}

package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

// Trader suspends and re-opens markets for a trader: internal/trading.Desk,
// the same desk the API's POST /v1/games/{id}/suspend and /resume call. An
// empty market is the whole game (every market with a status or a quote);
// the result is the statuses the action wrote.
type Trader interface {
	Suspend(ctx context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error)
	Resume(ctx context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error)
}

// maxTradeBytes bounds a trader action's JSON body.
const maxTradeBytes = 4 << 10

// canTrade reports whether a principal may suspend and re-open markets
// here: a trader or an admin, on a dashboard with a Trader.
func (d *Dashboard) canTrade(p auth.Principal) bool {
	return d.o.Trader != nil && p.Role.Allows(auth.RoleTrader)
}

// tradeRequest is a trader action's body: no market is the whole game.
type tradeRequest struct {
	Market feed.Market `json:"market"`
	Period feed.Period `json:"period"`
	Reason string      `json:"reason"`
	Note   string      `json:"note"`
}

// trade serves POST /games/{id}/suspend and /games/{id}/resume: a
// same-origin request with the session cookie and its CSRF token in
// X-CSRF-Token, from a trader or admin (anyone else: 403), with a JSON
// tradeRequest. It answers 200 {"markets":[...]} (the statuses written), or
// a problem: 400 naming bad fields, 403, 404 (no such game), 409 (the
// market's state does not allow it: settled, cancelled).
func (d *Dashboard) trade(action feed.MarketAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		forbid := func(detail string) {
			httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeForbidden, Status: http.StatusForbidden, Detail: detail})
		}
		if !sameOrigin(r) {
			forbid("cross-site request refused")
			return
		}
		sess, ok := d.session(r)
		if !ok {
			httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnauthorized, Status: http.StatusUnauthorized, Detail: "sign in first"})
			return
		}
		if !sess.csrfOK(r.Header.Get(CSRFHeader)) {
			forbid("missing or wrong CSRF token")
			return
		}
		p := sess.p
		p.Session, p.Expires = sess.id, sess.expires
		if !p.Role.Allows(auth.RoleTrader) {
			forbid("the " + string(p.Role) + " role may not suspend or re-open markets")
			return
		}
		if d.o.Trader == nil {
			httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeBlank, Status: http.StatusServiceUnavailable, Detail: "trading is not configured on this server"})
			return
		}
		body, err := httpx.ReadBody(w, r, maxTradeBytes)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		gameID := chi.URLParam(r, "id")
		req, errs, err := decodeTrade(body, gameID, action, d.o.Now())
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		if len(errs) > 0 {
			httpx.Invalid(w, r, http.StatusBadRequest, "the trader action is not valid", errs...)
			return
		}
		do := d.o.Trader.Suspend
		if action == feed.ActionResume {
			do = d.o.Trader.Resume
		}
		markets, err := do(r.Context(), p, gameID, req.Market, req.Period, req.Reason, req.Note)
		if err != nil {
			if httpx.StatusOf(err) >= 500 {
				d.log.Error("dashboard: trader action", "action", action, "game", gameID, "principal", p.Name, "err", err)
			}
			httpx.Error(w, r, err)
			return
		}
		d.log.Info("dashboard: trader action", "action", action, "game", gameID, "market", req.Market, "period", req.Period,
			"principal", p.Name, "markets", len(markets))
		if markets == nil {
			markets = []feed.MarketStatus{}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"markets": markets})
	}
}

// decodeTrade decodes and checks a trader action's body (an empty body is
// the whole game, no reason): err wraps httpx.ErrMalformedJSON when it is
// not a JSON object of strings; errs names the fields that are not valid.
func decodeTrade(body []byte, gameID string, action feed.MarketAction, now time.Time) (req tradeRequest, errs []httpx.FieldError, err error) {
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return tradeRequest{}, nil, errors.Join(httpx.ErrMalformedJSON, err)
		}
	}
	return req, validateTrade(gameID, action, req, now), nil
}

// validateTrade checks a trader action by the rule every market change is
// checked by (feed.MarketChange.Validate); no market (the whole game) is
// allowed here.
func validateTrade(gameID string, action feed.MarketAction, req tradeRequest, now time.Time) []httpx.FieldError {
	c := feed.MarketChange{GameID: gameID, Market: req.Market, Period: req.Period, Action: action,
		Reason: req.Reason, Note: req.Note, At: now}
	if c.Market == "" {
		c.Market = feed.MarketSpread // the whole game: any market passes
	}
	var errs []httpx.FieldError
	for _, e := range c.Validate(now) {
		errs = append(errs, httpx.ParamError(e.Field, e.Reason))
	}
	return errs
}

package feedread

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

type latestBody struct {
	Latest     *feed.Odds  `json:"latest"`
	ByProvider []feed.Odds `json:"byProvider"`
}

type oddsPage struct {
	Odds       []feed.Odds `json:"odds"`
	NextCursor string      `json:"nextCursor"`
}

// latestOdds serves GET /v1/games/{id}/odds/latest[?provider=]: the newest
// odds overall (null when there are none) and the newest of each provider.
// With provider, both hold that provider's newest odds (404 when none).
func (h *Handler) latestOdds(w http.ResponseWriter, r *http.Request) {
	id, ok := gameID(w, r, "id", chi.URLParam(r, "id"))
	if !ok {
		return
	}
	if provider := r.URL.Query().Get("provider"); provider != "" {
		if reason := feed.ValidateID(provider); reason != "" {
			httpx.Invalid(w, r, http.StatusBadRequest, "bad query parameters", httpx.ParamError("provider", reason))
			return
		}
		o, err := h.s.LatestOdds(r.Context(), id, provider)
		if errors.Is(err, store.ErrNotFound) {
			err = notFound("no odds of provider " + provider + " for game " + id)
		}
		if err != nil {
			h.fail(w, r, "latest odds", err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, latestBody{Latest: &o, ByProvider: []feed.Odds{o}})
		return
	}
	by, err := h.s.LatestOddsByProvider(r.Context(), id)
	if err != nil {
		h.fail(w, r, "latest odds by provider", err)
		return
	}
	body := latestBody{ByProvider: by}
	if len(by) == 0 {
		// No odds: tell an unknown game (404) from one without odds yet.
		if _, err := h.s.GetGame(r.Context(), id); err != nil {
			h.fail(w, r, "get game", gameErr(err, id))
			return
		}
		body.ByProvider = []feed.Odds{}
	} else {
		body.Latest = newest(by)
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// newest returns the newest of the providers' latest odds: the latest odds
// of the game. Ties on ObservedAt go to the greater provider, as in the
// store's key order (ODDS#<observedAt>#<provider>, newest first).
func newest(by []feed.Odds) *feed.Odds {
	best := by[0]
	for _, o := range by[1:] {
		if o.ObservedAt.After(best.ObservedAt) || (o.ObservedAt.Equal(best.ObservedAt) && o.Provider > best.Provider) {
			best = o
		}
	}
	return &best
}

// listOdds serves GET /v1/games/{id}/odds?from=&to=&limit=&cursor=, newest
// first: of the full-game spread, or of market= and period= (market=all:
// every market).
func (h *Handler) listOdds(w http.ResponseWriter, r *http.Request) {
	id, ok := gameID(w, r, "id", chi.URLParam(r, "id"))
	if !ok {
		return
	}
	q := query{r: r}
	rg := store.OddsRange{GameID: id, From: q.time("from"), To: q.time("to"), Page: q.page()}
	rg.Market, rg.Period, rg.AllMarkets = q.market()
	if !rg.From.IsZero() && !rg.To.IsZero() && rg.From.After(rg.To) {
		q.errs = append(q.errs, httpx.ParamError("from", "must not be after to"))
	}
	if !q.ok(w) {
		return
	}
	page, err := h.s.ListOdds(r.Context(), rg)
	if err != nil {
		h.fail(w, r, "list odds", err)
		return
	}
	if len(page.Odds) == 0 {
		if _, err := h.s.GetGame(r.Context(), id); err != nil {
			h.fail(w, r, "get game", gameErr(err, id))
			return
		}
		page.Odds = []feed.Odds{}
	}
	httpx.WriteJSON(w, http.StatusOK, oddsPage{Odds: page.Odds, NextCursor: page.NextCursor})
}

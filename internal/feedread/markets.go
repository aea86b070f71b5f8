package feedread

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

type marketsBody struct {
	GameID  string              `json:"gameId"`
	Markets []feed.MarketStatus `json:"markets"`
	Quotes  []feed.Odds         `json:"quotes"`
}

type providersBody struct {
	Providers []feed.ProviderStatus `json:"providers"`
}

// gameMarkets serves GET /v1/games/{id}/markets: the statuses of a game's
// markets and the newest quote of each provider, market and period.
func (h *Handler) gameMarkets(w http.ResponseWriter, r *http.Request) {
	id, ok := gameID(w, r, "id", chi.URLParam(r, "id"))
	if !ok {
		return
	}
	markets, err := h.s.Markets(r.Context(), id)
	if err != nil {
		h.fail(w, r, "markets", err)
		return
	}
	quotes, err := h.s.LatestQuotes(r.Context(), id)
	if err != nil {
		h.fail(w, r, "latest quotes", err)
		return
	}
	if len(markets) == 0 && len(quotes) == 0 {
		// Nothing: tell an unknown game (404) from one not quoted yet.
		if _, err := h.s.GetGame(r.Context(), id); err != nil {
			h.fail(w, r, "get game", gameErr(err, id))
			return
		}
	}
	if markets == nil {
		markets = []feed.MarketStatus{}
	}
	if quotes == nil {
		quotes = []feed.Odds{}
	}
	httpx.WriteJSON(w, http.StatusOK, marketsBody{GameID: id, Markets: markets, Quotes: quotes})
}

// providers serves GET /v1/providers: every provider's liveness.
func (h *Handler) providers(w http.ResponseWriter, r *http.Request) {
	ps, err := h.s.Providers(r.Context())
	if err != nil {
		h.fail(w, r, "providers", err)
		return
	}
	if ps == nil {
		ps = []feed.ProviderStatus{}
	}
	httpx.WriteJSON(w, http.StatusOK, providersBody{Providers: ps})
}

// market reads the market and period query parameters of an odds listing:
// none is the full-game spread (the first API's odds); market=all every
// market (with no period).
func (q *query) market() (m feed.Market, p feed.Period, all bool) {
	v := q.r.URL.Query()
	m, p = feed.Market(v.Get("market")), feed.Period(v.Get("period"))
	if m == "all" {
		if p != "" {
			q.errs = append(q.errs, httpx.ParamError("period", "must be absent with market=all"))
		}
		return "", "", true
	}
	if !m.Valid() {
		q.errs = append(q.errs, httpx.ParamError("market", "must be one of moneyline, three_way, spread, total, or all"))
	}
	if !p.Valid() {
		q.errs = append(q.errs, httpx.ParamError("period", "must be one of full, 1h, 2h"))
	}
	o := feed.Odds{Market: m, Period: p}
	o.Normalize() // "spread" and "full" are stored as ""
	return o.Market, o.Period, false
}

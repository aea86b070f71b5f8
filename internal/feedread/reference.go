package feedread

import (
	"errors"
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

type refBody struct {
	Odds []feed.ReferenceOdds `json:"odds"`
}

// referenceFeeds serves GET /feeds?game=<id>: the latest odds of a game in
// the reference design's shape, {"odds":[...]} with at most one item.
func (h *Handler) referenceFeeds(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("game")
	if raw == "" {
		httpx.Invalid(w, r, http.StatusBadRequest, "bad query parameters", httpx.ParamError("game", "is required"))
		return
	}
	id, ok := gameID(w, r, "game", raw)
	if !ok {
		return
	}
	body := refBody{Odds: []feed.ReferenceOdds{}}
	o, err := h.s.LatestOdds(r.Context(), id, "")
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := h.s.GetGame(r.Context(), id); err != nil {
			h.fail(w, r, "get game", gameErr(err, id))
			return
		}
	case err != nil:
		h.fail(w, r, "latest odds", err)
		return
	default:
		body.Odds = append(body.Odds, o.Reference())
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

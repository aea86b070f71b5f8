package feedread

import (
	"errors"
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// refTimeLayout is how the reference design writes times: UTC, no zone.
const refTimeLayout = "2006-01-02 15:04:05.000"

// refOdds is one odds item in the reference design's shape.
type refOdds struct {
	GameID   string  `json:"gameId"`
	Away     float64 `json:"away"`
	Home     float64 `json:"home"`
	AwayOdds int     `json:"awayOdds"`
	HomeOdds int     `json:"homeOdds"`
	Date     string  `json:"date"`
}

type refBody struct {
	Odds []refOdds `json:"odds"`
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
	body := refBody{Odds: []refOdds{}}
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
		body.Odds = append(body.Odds, toRef(o))
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

func toRef(o feed.Odds) refOdds {
	return refOdds{GameID: o.GameID, Away: o.AwaySpread, Home: o.HomeSpread, AwayOdds: o.AwayOdds, HomeOdds: o.HomeOdds,
		Date: o.ObservedAt.UTC().Format(refTimeLayout)}
}

package feedread

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

type gamesPage struct {
	Games      []feed.Game `json:"games"`
	NextCursor string      `json:"nextCursor"`
}

// listGames serves GET /v1/games?status=scheduled|live&limit=&cursor=.
func (h *Handler) listGames(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	status := feed.GameStatus(r.URL.Query().Get("status"))
	switch status {
	case feed.StatusScheduled, feed.StatusLive:
	case "":
		q.errs = append(q.errs, httpx.ParamError("status", "is required: scheduled or live"))
	default:
		q.errs = append(q.errs, httpx.ParamError("status", "must be scheduled or live"))
	}
	p := q.page()
	if !q.ok(w) {
		return
	}
	page, err := h.s.ListGames(r.Context(), status, p)
	if err != nil {
		h.fail(w, r, "list games", err)
		return
	}
	if page.Games == nil {
		page.Games = []feed.Game{}
	}
	httpx.WriteJSON(w, http.StatusOK, gamesPage{Games: page.Games, NextCursor: page.NextCursor})
}

// getGame serves GET /v1/games/{id}.
func (h *Handler) getGame(w http.ResponseWriter, r *http.Request) {
	id, ok := gameID(w, r, "id", chi.URLParam(r, "id"))
	if !ok {
		return
	}
	g, err := h.s.GetGame(r.Context(), id)
	if err != nil {
		h.fail(w, r, "get game", gameErr(err, id))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, g)
}

// gameErr words a not-found error for the game id.
func gameErr(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("game " + id + " not found")
	}
	return err
}

// notFoundError is a store.ErrNotFound with a client-facing text.
type notFoundError string

func (e notFoundError) Error() string { return string(e) }
func (e notFoundError) Unwrap() error { return store.ErrNotFound }

func notFound(msg string) error { return notFoundError(msg) }

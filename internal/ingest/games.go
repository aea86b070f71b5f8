package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// gameIn is the body of PUT /v1/games/{id}. Version and updatedAt, if sent,
// are ignored: the store sets them.
type gameIn struct {
	ID       *string `json:"id"`
	Sport    string  `json:"sport"`
	Summary  string  `json:"summary"`
	Venue    string  `json:"venue"`
	GameDate string  `json:"gameDate"`
	Status   string  `json:"status"`
	HomeTeam string  `json:"homeTeam"`
	AwayTeam string  `json:"awayTeam"`
}

// errNotOwner is the problem of a provider's change of a game it does not
// own.
var errNotOwner = fmt.Errorf("%w; odds for it may still be posted", store.ErrNotOwner)

// writer is who p writes games as: a game a provider creates is its own,
// and only it (or an admin) may change it.
func writer(p auth.Principal) store.As {
	return store.As{Principal: p.Name, Admin: p.Role == auth.RoleAdmin}
}

// putGame serves PUT /v1/games/{id}: 201 with the stored game when it was
// created, 200 when it was updated or already had this content, 403 when
// it is another provider's.
func (h *Handler) putGame(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	body, err := httpx.ReadBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	var in gameIn
	if err := json.Unmarshal(body, &in); err != nil {
		writeDecodeError(w, r, err, "the body must be a JSON object (a game)")
		return
	}
	if !h.allow(w, r, p.Name, 1) {
		return
	}
	g := feed.Game{ID: id, Sport: in.Sport, Summary: in.Summary, Venue: in.Venue, Status: feed.GameStatus(in.Status),
		HomeTeam: in.HomeTeam, AwayTeam: in.AwayTeam}
	var errs []httpx.FieldError
	if in.ID != nil && *in.ID != id {
		errs = append(errs, httpx.ParamError("id", "must match the id in the path"))
	}
	dateOK := true
	if in.GameDate != "" {
		t, err := time.Parse(time.RFC3339Nano, in.GameDate)
		if err != nil {
			dateOK = false
			errs = append(errs, httpx.ParamError("gameDate", "must be an RFC 3339 time such as 2026-11-20T16:00:00Z"))
		}
		g.GameDate = t.UTC()
	}
	for _, e := range g.Validate() {
		if e.Field == "gameDate" && !dateOK {
			continue
		}
		errs = append(errs, httpx.ParamError(e.Field, e.Reason))
	}
	if len(errs) > 0 {
		httpx.Invalid(w, r, http.StatusUnprocessableEntity, "the game was not stored", errs...)
		return
	}
	stored, changed, err := h.s.PutGame(r.Context(), g, writer(p))
	switch {
	case errors.Is(err, store.ErrNotOwner):
		httpx.Error(w, r, errNotOwner) // 403
		return
	case err != nil:
		h.storeFailed(w, r, "put game", err)
		return
	}
	h.games.put(stored)
	status := http.StatusOK
	if changed && stored.Version == 1 {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/games/"+stored.ID)
	}
	httpx.WriteJSON(w, status, stored)
}

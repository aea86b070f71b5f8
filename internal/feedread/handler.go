// Package feedread is the read HTTP API over the feed store: games by
// status, a game, its latest odds (overall and per provider), its odds
// history (of one market, or all), its markets' status and latest quotes,
// providers' liveness, and the AWS reference design's GET /feeds. Authentication is
// applied by the caller (analyst role; GET /feeds also provider).
package feedread

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Store is what feedread needs of the feed store (a subset of
// store.FeedStore).
type Store interface {
	GetGame(ctx context.Context, id string) (feed.Game, error)
	ListGames(ctx context.Context, status feed.GameStatus, p store.Page) (store.GamePage, error)
	LatestOdds(ctx context.Context, gameID, provider string) (feed.Odds, error)
	LatestOddsByProvider(ctx context.Context, gameID string) ([]feed.Odds, error)
	ListOdds(ctx context.Context, r store.OddsRange) (store.OddsPage, error)
	LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error)
	Markets(ctx context.Context, gameID string) ([]feed.MarketStatus, error)
	Providers(ctx context.Context) ([]feed.ProviderStatus, error)
}

// Options tune a Handler.
type Options struct {
	// Logger gets one line per failed request.
	Logger *slog.Logger
}

// Handler serves the read API.
type Handler struct {
	s   Store
	log *slog.Logger
}

// New returns a Handler reading from s.
func New(s Store, o Options) *Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{s: s, log: log}
}

// Routes mounts GET /v1/games, /v1/games/{id}, /v1/games/{id}/odds/latest
// and /v1/games/{id}/odds. The caller applies authentication (analyst).
func (h *Handler) Routes(r chi.Router) {
	r.Get("/v1/games", h.listGames)
	r.Get("/v1/games/{id}", h.getGame)
	r.Get("/v1/games/{id}/odds/latest", h.latestOdds)
	r.Get("/v1/games/{id}/odds", h.listOdds)
}

// MarketRoutes mounts GET /v1/games/{id}/markets (a game's market statuses
// and latest quotes) and GET /v1/providers (providers' liveness). Their
// callers are analysts, traders and providers, hence their own mount.
func (h *Handler) MarketRoutes(r chi.Router) {
	r.Get("/v1/games/{id}/markets", h.gameMarkets)
	r.Get("/v1/providers", h.providers)
}

// ReferenceRoutes mounts GET /feeds, the reference design's ReadFeeds. Its
// callers are analysts and providers, hence its own mount.
func (h *Handler) ReferenceRoutes(r chi.Router) {
	r.Get("/feeds", h.referenceFeeds)
}

// fail writes err (status from the httpx table), logging server errors once.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	if httpx.StatusOf(err) >= 500 {
		h.log.ErrorContext(r.Context(), "feedread: store failed", "op", op, "path", r.URL.Path, "err", err)
	}
	if errors.Is(err, store.ErrBadCursor) {
		httpx.Invalid(w, r, http.StatusBadRequest, "the cursor is not valid for this query", httpx.ParamError("cursor", "is not a cursor of this listing"))
		return
	}
	httpx.Error(w, r, err)
}

// gameID returns the {id} path parameter, or writes 400 naming it.
func gameID(w http.ResponseWriter, r *http.Request, name string, id string) (string, bool) {
	if reason := feed.ValidateID(id); reason != "" {
		httpx.Invalid(w, r, http.StatusBadRequest, "", httpx.ParamError(name, reason))
		return "", false
	}
	return id, true
}

// query holds the parsed common query parameters and the first error.
type query struct {
	r    *http.Request
	errs []httpx.FieldError
}

func (q *query) page() store.Page {
	p := store.Page{Cursor: q.r.URL.Query().Get("cursor")}
	if s := q.r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxLimit {
			q.errs = append(q.errs, httpx.ParamError("limit", "must be an integer from 1 to "+strconv.Itoa(store.MaxLimit)))
		}
		p.Limit = n
	}
	return p
}

func (q *query) time(name string) time.Time {
	s := q.r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.errs = append(q.errs, httpx.ParamError(name, "must be an RFC 3339 time such as 2026-11-20T16:00:00Z"))
	}
	return t
}

// ok writes 400 listing the errors, if any.
func (q *query) ok(w http.ResponseWriter) bool {
	if len(q.errs) == 0 {
		return true
	}
	httpx.Invalid(w, q.r, http.StatusBadRequest, "bad query parameters", q.errs...)
	return false
}

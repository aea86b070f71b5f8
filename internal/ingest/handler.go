// Package ingest is the provider-facing HTTP API: odds batches
// (POST /v1/odds: quotes of every market), games (PUT /v1/games/{id}),
// market status changes (POST /v1/markets), liveness (POST /v1/heartbeat;
// odds count too) and the AWS reference design's PUT/POST /feeds form. It validates every item, stores the good ones
// durably, reports each bad one by index and field, and rate-limits each
// provider. Authentication is applied by the caller (auth.Require); the
// provider of stored odds is the authenticated principal.
//
// Batch policy: the valid items of a request are stored even when others are
// bad. 200 means every item is durable (new, a duplicate of what was already
// stored, or a correction: the same key with other values, stored as a new
// version); 422 lists the bad items (invalid, unknown game, or a correction
// of an odds that has no versions left) and says which indices were stored;
// 503 (with Retry-After) means the store failed and lists which indices are
// durable and which are not, so a provider retries only those.
//
// Bodies may be gzip-compressed (Content-Encoding: gzip); the size limit
// applies to the decompressed body.
package ingest

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Store is what ingest needs of the feed store (a subset of
// store.FeedStore).
type Store interface {
	PutGame(ctx context.Context, g feed.Game, as store.As) (stored feed.Game, changed bool, err error)
	PutGames(ctx context.Context, writes []store.GameWrite, as store.As) ([]store.GameResult, error)
	GetGame(ctx context.Context, id string) (feed.Game, error)
	GamesExist(ctx context.Context, ids []string) (map[string]bool, error)
	PutOdds(ctx context.Context, odds []feed.Odds) ([]store.Outcome, error)
	PutMarketChange(ctx context.Context, c feed.MarketChange) (feed.MarketStatus, feed.ChangeEffect, error)
	Heard(ctx context.Context, provider string, at time.Time) (feed.ProviderStatus, bool, error)
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxItems     = 500
	DefaultRate         = 200000
	DefaultBurst        = 20000
)

// Options tune a Handler. Zero values take the defaults.
type Options struct {
	// MaxBodyBytes bounds a request body (default 1 MiB; 500 items fit);
	// a bigger body gets 413.
	MaxBodyBytes int64
	// MaxItems bounds the items of one batch (default 500); more get 422.
	MaxItems int
	// Rate is each provider's sustained allowance in odds items per second
	// (token bucket, default 200000); over it a request gets 429.
	Rate float64
	// Burst is the bucket size in items (default 20000).
	Burst int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets one line per failed request (never keys, never items).
	Logger *slog.Logger
}

// Handler serves the ingest API.
type Handler struct {
	s     Store
	o     Options
	lim   *limiter
	games *gameCache
	heard *heardCache
	log   *slog.Logger
}

// New returns a Handler writing to s.
func New(s Store, o Options) *Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxItems <= 0 {
		o.MaxItems = DefaultMaxItems
	}
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		s:     s,
		o:     o,
		lim:   newLimiter(o.Rate, o.Burst, o.Now),
		games: newGameCache(o.Now),
		heard: newHeardCache(),
		log:   log,
	}
}

// Routes mounts POST /v1/odds, POST /v1/markets, POST /v1/heartbeat,
// PUT /v1/games/{id} and PUT and POST /feeds. The caller applies
// authentication (provider role) around them.
func (h *Handler) Routes(r chi.Router) {
	r.Post("/v1/odds", h.postOdds)
	r.Post("/v1/markets", h.postMarkets)
	r.Post("/v1/heartbeat", h.postHeartbeat)
	r.Put("/v1/games/{id}", h.putGame)
	r.Put("/feeds", h.putFeeds)
	r.Post("/feeds", h.putFeeds)
}

// principal returns the authenticated caller, or writes 401 and returns
// false when the caller forgot to apply authentication.
func (h *Handler) principal(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oddsfeed"`)
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnauthorized, Status: http.StatusUnauthorized,
			Detail: "an API key is required"})
	}
	return p, ok
}

// allow takes n items from the provider's bucket, or writes 429.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, provider string, n int) bool {
	ok, wait := h.lim.take(provider, n)
	if ok {
		return true
	}
	secs := retryAfterSeconds(wait)
	w.Header().Set("Retry-After", secs)
	httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeRateLimited, Status: http.StatusTooManyRequests,
		Detail:     "rate limit exceeded for provider " + provider + "; retry after " + secs + "s",
		Extensions: map[string]any{"retryAfterSeconds": wait.Seconds()}})
	return false
}

// storeFailed logs a store error once and writes it (503 or 500).
func (h *Handler) storeFailed(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "ingest: store failed", "op", op, "path", r.URL.Path, "err", err)
	if httpx.StatusOf(err) == http.StatusInternalServerError {
		// Any store failure is worth a retry from the provider's side.
		w.Header().Set("Retry-After", "1")
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnavailable, Status: http.StatusServiceUnavailable,
			Detail: "the store is unavailable; nothing was stored, retry later"})
		return
	}
	httpx.Error(w, r, err)
}

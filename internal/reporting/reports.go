package reporting

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Limits of the reports' query parameters.
const (
	DefaultMovementRange = 24 * time.Hour
	MaxMovementRange     = 31 * 24 * time.Hour
	DefaultMovementLimit = 5000
	MaxMovementLimit     = 50000
	DefaultMoversWindow  = time.Hour
	MaxWindow            = 7 * 24 * time.Hour
	DefaultMoversLimit   = 20
	MaxMoversLimit       = 500
	DefaultFreshWindow   = 5 * time.Minute
)

// ReportsOptions tune Reports.
type ReportsOptions struct {
	// Logger gets one line per failed request (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Reports serves the analysts' reports from the reporting schema.
type Reports struct {
	q   *db.Queries
	log *slog.Logger
	now func() time.Time
}

// NewReports returns the reports API reading through pool (a read replica
// will do).
func NewReports(pool *pgxpool.Pool, o ReportsOptions) *Reports {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Reports{q: db.New(pool), log: o.Logger, now: o.Now}
}

// Routes mounts the reports (GET, JSON). The caller applies authentication
// (analyst role).
//
//	/v1/reports/games/{id}/movement?from=&to=&limit=  line movement per provider
//	/v1/reports/games/{id}/probability                implied probability and overround per provider
//	/v1/reports/movers?window=1h&limit=20             biggest movers in a window
//	/v1/reports/providers?window=5m                   provider freshness and volume
//	/v1/reports/pipeline                              lag per shard, dead letters
//
// and the market reports (marketreports.go): suspensions, outages,
// settlements, margins.
func (rp *Reports) Routes(r chi.Router) {
	r.Get("/v1/reports/games/{id}/movement", rp.movement)
	r.Get("/v1/reports/games/{id}/probability", rp.probability)
	r.Get("/v1/reports/movers", rp.movers)
	r.Get("/v1/reports/providers", rp.providers)
	r.Get("/v1/reports/pipeline", rp.pipeline)
	rp.marketRoutes(r)
}

func (rp *Reports) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	if httpx.StatusOf(err) >= 500 {
		rp.log.ErrorContext(r.Context(), "reports: query failed", "op", op, "path", r.URL.Path, "err", err)
	}
	httpx.Error(w, r, err)
}

// params parses query parameters, collecting every error.
type params struct {
	r    *http.Request
	errs []httpx.FieldError
}

func (p *params) bad(name, reason string) { p.errs = append(p.errs, httpx.ParamError(name, reason)) }

func (p *params) time(name string, def time.Time) time.Time {
	s := p.r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.bad(name, "must be an RFC 3339 time such as 2026-11-20T16:00:00Z")
	}
	return t
}

func (p *params) duration(name string, def, maxD time.Duration) time.Duration {
	s := p.r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxD {
		p.bad(name, "must be a duration such as 15m or 1h, at most "+maxD.String())
	}
	return d
}

func (p *params) int(name string, def, maxN int) int {
	s := p.r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxN {
		p.bad(name, "must be an integer from 1 to "+strconv.Itoa(maxN))
	}
	return n
}

func (p *params) gameID() string {
	id := chi.URLParam(p.r, "id")
	if reason := feed.ValidateID(id); reason != "" {
		p.bad("id", reason)
	}
	return id
}

// ok writes 400 listing the errors, if any.
func (p *params) ok(w http.ResponseWriter) bool {
	if len(p.errs) == 0 {
		return true
	}
	httpx.Invalid(w, p.r, http.StatusBadRequest, "", p.errs...)
	return false
}

// Point is one tick of a line movement.
type Point struct {
	ObservedAt time.Time `json:"observedAt"`
	AwaySpread float64   `json:"awaySpread"`
	HomeSpread float64   `json:"homeSpread"`
	AwayOdds   int32     `json:"awayOdds"`
	HomeOdds   int32     `json:"homeOdds"`
}

// ProviderMovement is one provider's line over time.
type ProviderMovement struct {
	Provider string  `json:"provider"`
	Points   []Point `json:"points"`
}

// Movement is the body of the line movement report.
type Movement struct {
	GameID    string             `json:"gameId"`
	From      time.Time          `json:"from"`
	To        time.Time          `json:"to"`
	Providers []ProviderMovement `json:"providers"`
	// Truncated is true when the limit cut the points.
	Truncated bool `json:"truncated"`
}

func (rp *Reports) movement(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	id := p.gameID()
	to := p.time("to", rp.now())
	from := p.time("from", to.Add(-DefaultMovementRange))
	limit := p.int("limit", DefaultMovementLimit, MaxMovementLimit)
	if len(p.errs) == 0 && (!from.Before(to) || to.Sub(from) > MaxMovementRange) {
		p.bad("from", "must be before to, at most "+MaxMovementRange.String()+" earlier")
	}
	if !p.ok(w) {
		return
	}
	rows, err := rp.q.LineMovement(r.Context(), db.LineMovementParams{GameID: id, FromTime: from, ToTime: to, MaxRows: int32(limit + 1)})
	if err != nil {
		rp.fail(w, r, "line movement", err)
		return
	}
	m := Movement{GameID: id, From: from.UTC(), To: to.UTC(), Providers: []ProviderMovement{}}
	if len(rows) > limit {
		rows, m.Truncated = rows[:limit], true
	}
	for _, row := range rows {
		if n := len(m.Providers); n == 0 || m.Providers[n-1].Provider != row.Provider {
			m.Providers = append(m.Providers, ProviderMovement{Provider: row.Provider})
		}
		pm := &m.Providers[len(m.Providers)-1]
		pm.Points = append(pm.Points, Point{ObservedAt: row.ObservedAt.UTC(), AwaySpread: row.AwaySpread,
			HomeSpread: row.HomeSpread, AwayOdds: row.AwayOdds, HomeOdds: row.HomeOdds})
	}
	httpx.WriteJSON(w, http.StatusOK, m)
}

// Mover is one game and provider whose line moved in the window.
type Mover struct {
	GameID          string    `json:"gameId"`
	Summary         string    `json:"summary,omitempty"`
	Sport           string    `json:"sport,omitempty"`
	Provider        string    `json:"provider"`
	Ticks           int64     `json:"ticks"`
	OpenHomeSpread  float64   `json:"openHomeSpread"`
	LastHomeSpread  float64   `json:"lastHomeSpread"`
	OpenHomeOdds    int32     `json:"openHomeOdds"`
	LastHomeOdds    int32     `json:"lastHomeOdds"`
	SpreadMove      float64   `json:"spreadMove"`
	ProbabilityMove float64   `json:"probabilityMove"`
	FirstObserved   time.Time `json:"firstObserved"`
	LastObserved    time.Time `json:"lastObserved"`
}

// Movers is the body of the biggest movers report.
type Movers struct {
	Window string    `json:"window"`
	Since  time.Time `json:"since"`
	Movers []Mover   `json:"movers"`
}

func (rp *Reports) movers(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	window := p.duration("window", DefaultMoversWindow, MaxWindow)
	limit := p.int("limit", DefaultMoversLimit, MaxMoversLimit)
	if !p.ok(w) {
		return
	}
	since := rp.now().Add(-window).UTC()
	rows, err := rp.q.BiggestMovers(r.Context(), db.BiggestMoversParams{Since: since, MaxRows: int32(limit)})
	if err != nil {
		rp.fail(w, r, "biggest movers", err)
		return
	}
	out := Movers{Window: window.String(), Since: since, Movers: make([]Mover, 0, len(rows))}
	for _, m := range rows {
		out.Movers = append(out.Movers, Mover{
			GameID: m.GameID, Summary: m.Summary, Sport: m.Sport, Provider: m.Provider, Ticks: m.Ticks,
			OpenHomeSpread: m.OpenHomeSpread, LastHomeSpread: m.LastHomeSpread,
			OpenHomeOdds: m.OpenHomeOdds, LastHomeOdds: m.LastHomeOdds,
			SpreadMove: m.SpreadMove, ProbabilityMove: round(m.ProbabilityMove),
			FirstObserved: m.FirstObserved.UTC(), LastObserved: m.LastObserved.UTC(),
		})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// ProviderProbability is one provider's latest prices as probabilities.
type ProviderProbability struct {
	Provider        string    `json:"provider"`
	ObservedAt      time.Time `json:"observedAt"`
	AwaySpread      float64   `json:"awaySpread"`
	HomeSpread      float64   `json:"homeSpread"`
	AwayOdds        int32     `json:"awayOdds"`
	HomeOdds        int32     `json:"homeOdds"`
	AwayProbability float64   `json:"awayProbability"`
	HomeProbability float64   `json:"homeProbability"`
	// Overround is the book's margin: the implied probabilities' sum minus 1.
	Overround float64 `json:"overround"`
	// FairAway and FairHome are the probabilities with the margin removed.
	FairAway float64 `json:"fairAway"`
	FairHome float64 `json:"fairHome"`
}

// Probability is the body of the implied probability report.
type Probability struct {
	GameID    string                `json:"gameId"`
	Summary   string                `json:"summary,omitempty"`
	Status    string                `json:"status,omitempty"`
	Providers []ProviderProbability `json:"providers"`
}

func (rp *Reports) probability(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	id := p.gameID()
	if !p.ok(w) {
		return
	}
	rows, err := rp.q.GameProbability(r.Context(), id)
	if err != nil {
		rp.fail(w, r, "game probability", err)
		return
	}
	out := Probability{GameID: id, Providers: make([]ProviderProbability, 0, len(rows))}
	g, err := rp.q.GetGame(r.Context(), id)
	switch {
	case err == nil:
		out.Summary, out.Status = g.Summary, g.Status
	case errors.Is(err, pgx.ErrNoRows):
		if len(rows) == 0 {
			httpx.Error(w, r, store.ErrNotFound)
			return
		}
	default:
		rp.fail(w, r, "get game", err)
		return
	}
	for _, l := range rows {
		sum := l.AwayProbability + l.HomeProbability
		out.Providers = append(out.Providers, ProviderProbability{
			Provider: l.Provider, ObservedAt: l.ObservedAt.UTC(), AwaySpread: l.AwaySpread, HomeSpread: l.HomeSpread,
			AwayOdds: l.AwayOdds, HomeOdds: l.HomeOdds,
			AwayProbability: round(l.AwayProbability), HomeProbability: round(l.HomeProbability),
			Overround: round(l.Overround), FairAway: round(l.AwayProbability / sum), FairHome: round(l.HomeProbability / sum),
		})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// ProviderFreshness is one provider's freshness and volume.
type ProviderFreshness struct {
	Provider     string    `json:"provider"`
	LastObserved time.Time `json:"lastObserved"`
	LastApplied  time.Time `json:"lastApplied"`
	// Ticks observed in the window, and that per minute.
	Ticks            int64   `json:"ticks"`
	UpdatesPerMinute float64 `json:"updatesPerMinute"`
	// Delay from ingest (received) to the row in Postgres, in the window.
	DelayP50Ms float64 `json:"delayP50Ms"`
	DelayP99Ms float64 `json:"delayP99Ms"`
	DelayAvgMs float64 `json:"delayAvgMs"`
}

// Providers is the body of the provider freshness report.
type Providers struct {
	Window    string              `json:"window"`
	Providers []ProviderFreshness `json:"providers"`
}

func (rp *Reports) providers(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	window := p.duration("window", DefaultFreshWindow, MaxWindow)
	if !p.ok(w) {
		return
	}
	rows, err := rp.q.ProviderFreshness(r.Context(), rp.now().Add(-window))
	if err != nil {
		rp.fail(w, r, "provider freshness", err)
		return
	}
	out := Providers{Window: window.String(), Providers: make([]ProviderFreshness, 0, len(rows))}
	for _, f := range rows {
		out.Providers = append(out.Providers, ProviderFreshness{
			Provider: f.Provider, LastObserved: f.LastObserved.UTC(), LastApplied: f.LastApplied.UTC(),
			Ticks: f.Ticks, UpdatesPerMinute: round(float64(f.Ticks) / window.Minutes()),
			DelayP50Ms: round(f.DelayP50Ms), DelayP99Ms: round(f.DelayP99Ms), DelayAvgMs: round(f.DelayAvgMs),
		})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// SourceState is one consumer's position in one source (shard).
type SourceState struct {
	Consumer       string    `json:"consumer"`
	Source         string    `json:"source"`
	Position       string    `json:"position"`
	MillisBehind   int64     `json:"millisBehind"`
	AppliedChanges int64     `json:"appliedChanges"`
	UpdatedAt      time.Time `json:"updatedAt"`
	// SecondsSinceUpdate is how long ago the checkpoint last moved.
	SecondsSinceUpdate float64 `json:"secondsSinceUpdate"`
}

// DeadLetterState counts one consumer's unresolved dead letters.
type DeadLetterState struct {
	Consumer   string    `json:"consumer"`
	Unresolved int64     `json:"unresolved"`
	Oldest     time.Time `json:"oldest"`
}

// Pipeline is the body of the pipeline report.
type Pipeline struct {
	Sources     []SourceState     `json:"sources"`
	DeadLetters []DeadLetterState `json:"deadLetters"`
	// UnresolvedDeadLetters is the total over consumers.
	UnresolvedDeadLetters int64 `json:"unresolvedDeadLetters"`
}

func (rp *Reports) pipeline(w http.ResponseWriter, r *http.Request) {
	out, err := rp.Pipeline(r.Context())
	if err != nil {
		rp.fail(w, r, "pipeline", err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// Pipeline returns the pipeline state (also for metrics and `oddsfeed
// status`-like commands).
func (rp *Reports) Pipeline(ctx context.Context) (Pipeline, error) {
	cps, err := rp.q.PipelineCheckpoints(ctx)
	if err != nil {
		return Pipeline{}, err
	}
	dls, err := rp.q.DeadLetterCounts(ctx)
	if err != nil {
		return Pipeline{}, err
	}
	now := rp.now()
	out := Pipeline{Sources: make([]SourceState, 0, len(cps)), DeadLetters: make([]DeadLetterState, 0, len(dls))}
	for _, c := range cps {
		out.Sources = append(out.Sources, SourceState{
			Consumer: c.Consumer, Source: c.Source, Position: c.Position, MillisBehind: c.MillisBehind,
			AppliedChanges: c.AppliedChanges, UpdatedAt: c.UpdatedAt.UTC(),
			SecondsSinceUpdate: round(max(now.Sub(c.UpdatedAt).Seconds(), 0)),
		})
	}
	for _, d := range dls {
		out.DeadLetters = append(out.DeadLetters, DeadLetterState{Consumer: d.Consumer, Unresolved: d.Unresolved, Oldest: d.Oldest.UTC()})
		out.UnresolvedDeadLetters += d.Unresolved
	}
	return out, nil
}

// round keeps 4 decimals, for readable JSON.
func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1e4) / 1e4
}

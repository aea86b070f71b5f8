package reporting

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// Limits of the market reports' query parameters.
const (
	DefaultMarketWindow    = 24 * time.Hour
	MaxMarketWindow        = 31 * 24 * time.Hour
	DefaultSuspensionLimit = 500
	MaxSuspensionLimit     = 5000
)

// marketRoutes mounts the reports on markets, settlements and providers'
// liveness (called by Routes).
//
//	/v1/reports/suspensions?window=24h&game=&limit=500  time suspended per game, market and reason
//	/v1/reports/outages?window=24h                      provider outages: count, longest, total
//	/v1/reports/settlements?window=24h                  settlement summary and results per outcome
//	/v1/reports/margins?window=24h                      margin (overround) per market type and provider
func (rp *Reports) marketRoutes(r chi.Router) {
	r.Get("/v1/reports/suspensions", rp.suspensions)
	r.Get("/v1/reports/outages", rp.outages)
	r.Get("/v1/reports/settlements", rp.settlements)
	r.Get("/v1/reports/margins", rp.margins)
}

// window reads ?window= (default DefaultMarketWindow): the range
// [now-window, now).
func (p *params) window(now time.Time) (since, until time.Time) {
	w := p.duration("window", DefaultMarketWindow, MaxMarketWindow)
	until = now.UTC()
	return until.Add(-w), until
}

// Range is the time range a market report covers.
type Range struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Suspension is the time one market of a game was suspended for one
// reason within the range.
type Suspension struct {
	GameID string `json:"gameId"`
	Market string `json:"market"`
	Period string `json:"period"`
	Reason string `json:"reason"`
	// Intervals is how many times it was suspended (for this reason);
	// Ongoing is 1 when it still is.
	Intervals int64   `json:"intervals"`
	Ongoing   int64   `json:"ongoing"`
	Seconds   float64 `json:"seconds"`
}

// Suspensions is the body of the suspended time report.
type Suspensions struct {
	Range
	GameID      string       `json:"gameId,omitempty"`
	Suspensions []Suspension `json:"suspensions"`
	Truncated   bool         `json:"truncated"`
}

func (rp *Reports) suspensions(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	since, until := p.window(rp.now())
	limit := p.int("limit", DefaultSuspensionLimit, MaxSuspensionLimit)
	game := r.URL.Query().Get("game")
	if game != "" {
		if reason := feed.ValidateID(game); reason != "" {
			p.bad("game", reason)
		}
	}
	if !p.ok(w) {
		return
	}
	rows, err := rp.q.SuspendedTime(r.Context(), db.SuspendedTimeParams{
		Since: since, Until: until, GameID: game, MaxRows: int32(limit + 1),
	})
	if err != nil {
		rp.fail(w, r, "suspended time", err)
		return
	}
	out := Suspensions{Range: Range{since, until}, GameID: game, Suspensions: make([]Suspension, 0, len(rows))}
	if len(rows) > limit {
		rows, out.Truncated = rows[:limit], true
	}
	for _, s := range rows {
		out.Suspensions = append(out.Suspensions, Suspension{GameID: s.GameID, Market: s.Market, Period: s.Period,
			Reason: s.Reason, Intervals: s.Intervals, Ongoing: s.Ongoing, Seconds: round(s.Seconds)})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// ProviderOutages sums one provider's outages begun within the range.
type ProviderOutages struct {
	Provider string `json:"provider"`
	Outages  int64  `json:"outages"`
	// Ongoing counts the outages not over (they last until the range's end).
	Ongoing        int64     `json:"ongoing"`
	LongestSeconds float64   `json:"longestSeconds"`
	TotalSeconds   float64   `json:"totalSeconds"`
	LastDownAt     time.Time `json:"lastDownAt"`
}

// Outages is the body of the provider outages report.
type Outages struct {
	Range
	Providers []ProviderOutages `json:"providers"`
}

func (rp *Reports) outages(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	since, until := p.window(rp.now())
	if !p.ok(w) {
		return
	}
	rows, err := rp.q.OutageSummary(r.Context(), db.OutageSummaryParams{Since: since, Until: until})
	if err != nil {
		rp.fail(w, r, "provider outages", err)
		return
	}
	out := Outages{Range: Range{since, until}, Providers: make([]ProviderOutages, 0, len(rows))}
	for _, o := range rows {
		out.Providers = append(out.Providers, ProviderOutages{Provider: o.Provider, Outages: o.Outages, Ongoing: o.Ongoing,
			LongestSeconds: round(o.LongestSeconds), TotalSeconds: round(o.TotalSeconds), LastDownAt: o.LastDownAt.UTC()})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// MarketSettlements counts the settlements of one market type and period
// made within the range.
type MarketSettlements struct {
	Market string `json:"market"`
	Period string `json:"period"`
	// Settled and Cancelled count those standing (not rolled back or
	// cancelled since); RolledBack those a rollback undid.
	Settled    int64 `json:"settled"`
	Cancelled  int64 `json:"cancelled"`
	RolledBack int64 `json:"rolledBack"`
}

// OutcomeResults counts the standing settlements of a market type that
// gave an outcome a result.
type OutcomeResults struct {
	Market  string `json:"market"`
	Outcome string `json:"outcome"`
	Result  string `json:"result"`
	Markets int64  `json:"markets"`
}

// Settlements is the body of the settlement summary.
type Settlements struct {
	Range
	// Totals over the markets below.
	Settled    int64               `json:"settled"`
	Cancelled  int64               `json:"cancelled"`
	RolledBack int64               `json:"rolledBack"`
	Markets    []MarketSettlements `json:"markets"`
	Results    []OutcomeResults    `json:"results"`
}

func (rp *Reports) settlements(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	since, until := p.window(rp.now())
	if !p.ok(w) {
		return
	}
	sum, err := rp.q.SettlementSummary(r.Context(), db.SettlementSummaryParams{Since: since, Until: until})
	if err != nil {
		rp.fail(w, r, "settlement summary", err)
		return
	}
	res, err := rp.q.SettlementResults(r.Context(), db.SettlementResultsParams{Since: since, Until: until})
	if err != nil {
		rp.fail(w, r, "settlement results", err)
		return
	}
	out := Settlements{Range: Range{since, until}, Markets: make([]MarketSettlements, 0, len(sum)), Results: make([]OutcomeResults, 0, len(res))}
	for _, s := range sum {
		out.Markets = append(out.Markets, MarketSettlements(s))
		out.Settled += s.Settled
		out.Cancelled += s.Cancelled
		out.RolledBack += s.RolledBack
	}
	for _, x := range res {
		out.Results = append(out.Results, OutcomeResults(x))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// Margin is the average margin of one provider's quotes of one market type
// and period within the range.
type Margin struct {
	Market   string `json:"market"`
	Period   string `json:"period"`
	Provider string `json:"provider"`
	Quotes   int64  `json:"quotes"`
	// Overround is the average of the quotes' implied probabilities' sum
	// less 1 (0.045 is 4.5%); Min and Max its extremes.
	Overround    float64 `json:"overround"`
	MinOverround float64 `json:"minOverround"`
	MaxOverround float64 `json:"maxOverround"`
}

// Margins is the body of the margin report.
type Margins struct {
	Range
	Margins []Margin `json:"margins"`
}

func (rp *Reports) margins(w http.ResponseWriter, r *http.Request) {
	p := &params{r: r}
	since, until := p.window(rp.now())
	if !p.ok(w) {
		return
	}
	rows, err := rp.q.Margins(r.Context(), db.MarginsParams{Since: since, Until: until})
	if err != nil {
		rp.fail(w, r, "margins", err)
		return
	}
	out := Margins{Range: Range{since, until}, Margins: make([]Margin, 0, len(rows))}
	for _, m := range rows {
		out.Margins = append(out.Margins, Margin{Market: m.Market, Period: m.Period, Provider: m.Provider, Quotes: m.Quotes,
			Overround: round(m.Overround), MinOverround: round(m.MinOverround), MaxOverround: round(m.MaxOverround)})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

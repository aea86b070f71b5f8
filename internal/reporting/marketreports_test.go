package reporting_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// The market reports on a small fixture (statusFixture, and the quotes
// below), an hour after base.
func TestMarketReports(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	s := newSync(t, pool)
	changes := statusFixture(t)
	spread := quote("g1", "p1", base, feed.MarketSpread, feed.PeriodFull, -110, -110)
	spread2 := spread
	spread2.Version, spread2.HomeOdds, spread2.AwayOdds = 2, -120, 100 // a correction: counts once, as itself
	quotes := []feed.Odds{
		quote("g1", "p1", base.Add(time.Minute), feed.MarketSpread, feed.PeriodFull, -105, -115),
		quote("g1", "p1", base, feed.MarketTotal, feed.PeriodFull, -110, -110),
		quote("g3", "p2", base, feed.MarketThreeWay, feed.PeriodFull, 150, 220, 180),
		quote("g1", "p1", base, feed.MarketMoneyline, feed.PeriodFirstHalf, -150, 130),
		quote("g1", "p1", base.Add(-48*time.Hour), feed.MarketTotal, feed.PeriodFull, -200, 150), // out of the window
	}
	changes = append(changes, oddsInsert(spread), oddsModify(spread, spread2))
	for _, q := range quotes {
		changes = append(changes, oddsInsert(q))
	}
	mustApply(t, s, batch("s", 1, changes...))

	now := base.Add(time.Hour)
	r := chi.NewRouter()
	reporting.NewReports(pool, reporting.ReportsOptions{Now: func() time.Time { return now }}).Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	var sus reporting.Suspensions
	get(t, srv, "/v1/reports/suspensions", nil, http.StatusOK, &sus)
	wantSus := []reporting.Suspension{
		{GameID: "g2", Market: "moneyline", Period: "full", Reason: "bet_stop", Intervals: 1, Ongoing: 1, Seconds: 3500},
		{GameID: "g1", Market: "total", Period: "full", Reason: "bet_stop", Intervals: 2, Seconds: 35},
		{GameID: "g1", Market: "total", Period: "full", Reason: "trader", Intervals: 1, Seconds: 30},
	}
	if !reflect.DeepEqual(sus.Suspensions, wantSus) || sus.Truncated || !sus.Until.Equal(now) {
		t.Fatalf("suspensions %+v, want %+v", sus, wantSus)
	}
	// One game; a window that cuts the first bet stop (from base+25s: 15 s
	// of it, and all of the others'); a limit.
	get(t, srv, "/v1/reports/suspensions", url.Values{"game": {"g1"}, "window": {"3575s"}, "limit": {"1"}}, http.StatusOK, &sus)
	wantSus = []reporting.Suspension{{GameID: "g1", Market: "total", Period: "full", Reason: "trader", Intervals: 1, Seconds: 30}}
	if !reflect.DeepEqual(sus.Suspensions, wantSus) || !sus.Truncated {
		t.Fatalf("suspensions of g1 in the window, limit 1: %+v, want %+v, truncated", sus, wantSus)
	}
	get(t, srv, "/v1/reports/suspensions", url.Values{"game": {"g1"}, "window": {"3575s"}}, http.StatusOK, &sus)
	if len(sus.Suspensions) != 2 || sus.Suspensions[0].Seconds != 30 || sus.Suspensions[1].Seconds != 20 {
		t.Fatalf("suspensions of g1 from base+25s: %+v, want trader 30 s, bet stops 15+5 s", sus.Suspensions)
	}

	// From base+200s: only g2's suspension, begun before the window.
	get(t, srv, "/v1/reports/suspensions", url.Values{"window": {"3400s"}}, http.StatusOK, &sus)
	wantSus = []reporting.Suspension{{GameID: "g2", Market: "moneyline", Period: "full", Reason: "bet_stop", Intervals: 1, Ongoing: 1, Seconds: 3400}}
	if !reflect.DeepEqual(sus.Suspensions, wantSus) {
		t.Fatalf("suspensions from base+200s: %+v, want %+v", sus.Suspensions, wantSus)
	}

	var out reporting.Outages
	get(t, srv, "/v1/reports/outages", nil, http.StatusOK, &out)
	wantOut := []reporting.ProviderOutages{
		{Provider: "p1", Outages: 2, Ongoing: 1, LongestSeconds: 3500, TotalSeconds: 3519, LastDownAt: base.Add(100 * time.Second)},
		{Provider: "p2", Outages: 1, LongestSeconds: 10, TotalSeconds: 10, LastDownAt: base.Add(10 * time.Second)},
	}
	if !reflect.DeepEqual(out.Providers, wantOut) {
		t.Fatalf("outages %+v, want %+v", out.Providers, wantOut)
	}

	var st reporting.Settlements
	get(t, srv, "/v1/reports/settlements", nil, http.StatusOK, &st)
	wantMarkets := []reporting.MarketSettlements{
		{Market: "spread", Period: "full", RolledBack: 1},
		{Market: "three_way", Period: "full", Cancelled: 1},
		{Market: "total", Period: "full", Settled: 1, RolledBack: 1},
	}
	wantResults := []reporting.OutcomeResults{
		{Market: "total", Outcome: "over", Result: "lose", Markets: 1},
		{Market: "total", Outcome: "under", Result: "win", Markets: 1},
	}
	if !reflect.DeepEqual(st.Markets, wantMarkets) || !reflect.DeepEqual(st.Results, wantResults) ||
		st.Settled != 1 || st.Cancelled != 1 || st.RolledBack != 2 {
		t.Fatalf("settlements %+v, want markets %+v, results %+v, totals 1/1/2", st, wantMarkets, wantResults)
	}

	var mg reporting.Margins
	get(t, srv, "/v1/reports/margins", nil, http.StatusOK, &mg)
	avg := func(qs ...feed.Odds) float64 {
		sum := 0.0
		for _, q := range qs {
			sum += q.Overround()
		}
		return sum / float64(len(qs))
	}
	wantMg := []struct {
		market, period, provider string
		quotes                   int64
		overround                float64
	}{
		{"moneyline", "1h", "p1", 1, avg(quotes[3])},
		{"spread", "full", "p1", 2, avg(spread2, quotes[0])},
		{"three_way", "full", "p2", 1, avg(quotes[2])},
		{"total", "full", "p1", 1, avg(quotes[1])},
	}
	if len(mg.Margins) != len(wantMg) {
		t.Fatalf("margins %+v, want %+v", mg.Margins, wantMg)
	}
	for i, w := range wantMg {
		g := mg.Margins[i]
		if g.Market != w.market || g.Period != w.period || g.Provider != w.provider || g.Quotes != w.quotes || math.Abs(g.Overround-w.overround) > 1e-4 {
			t.Errorf("margin %d: %+v, want %+v", i, g, w)
		}
	}
	if th := mg.Margins[2]; math.Abs(th.Overround-0.0696) > 1e-4 || th.MinOverround != th.Overround || th.MaxOverround != th.Overround {
		t.Errorf("three-way margin %+v, want 0.0696 (150/220/180)", th)
	}

	// Bad parameters: 400 naming them.
	get(t, srv, "/v1/reports/suspensions", url.Values{"window": {"40d"}, "game": {"bad id!"}}, http.StatusBadRequest, nil)
	get(t, srv, "/v1/reports/margins", url.Values{"window": {"-1h"}}, http.StatusBadRequest, nil)
	get(t, srv, "/v1/reports/outages", url.Values{"window": {"745h"}}, http.StatusBadRequest, nil)
}

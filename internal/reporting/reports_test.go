package reporting_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// reportsServer seeds a database through the sync and serves the reports.
func reportsServer(t *testing.T) *httptest.Server {
	t.Helper()
	_, pool := newDB(t)
	ctx := context.Background()
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(ctx) })
	changes := []feed.Change{gameUpsert(game("g1", 1, feed.StatusLive)), gameUpsert(game("g2", 1, feed.StatusLive))}
	// g1/p1 moves from -3 to -7 with repeated ticks; g1/p2 flat; g2/p1 moves 1 point.
	for i, hs := range []float64{-3, -3, -4, -4, -7} {
		changes = append(changes, oddsInsert(odds("g1", "p1", base.Add(time.Duration(i)*time.Minute), hs, -110-10*i)))
		flat := odds("g1", "p2", base.Add(time.Duration(i)*time.Minute), -3, -110)
		flat.AwayOdds = -110
		changes = append(changes, oddsInsert(flat))
	}
	changes = append(changes, oddsInsert(odds("g2", "p1", base, 1, 150)), oddsInsert(odds("g2", "p1", base.Add(time.Minute), 2, 150)))
	mustApply(t, s, batch("shard-1", 1, changes...))
	b := batch("shard-1", 100)
	b.Bad = []cdc.BadRecord{{Position: "100", Data: []byte("x")}}
	b.Position, b.MillisBehindLatest = "100", 42
	mustApply(t, s, b)

	r := chi.NewRouter()
	reporting.NewReports(pool, reporting.ReportsOptions{}).Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, q url.Values, want int, into any) {
	t.Helper()
	u := srv.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d", u, resp.StatusCode, want)
	}
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReports(t *testing.T) {
	srv := reportsServer(t)
	from := base.Add(-time.Minute).Format(time.RFC3339)
	to := base.Add(time.Hour).Format(time.RFC3339)

	t.Run("movement", func(t *testing.T) {
		var m reporting.Movement
		get(t, srv, "/v1/reports/games/g1/movement", url.Values{"from": {from}, "to": {to}}, 200, &m)
		if len(m.Providers) != 2 || m.Providers[0].Provider != "p1" {
			t.Fatalf("providers %+v", m.Providers)
		}
		// p1 ticks all differ in price (5 points); p2 never moves (1 point).
		if len(m.Providers[0].Points) != 5 || len(m.Providers[1].Points) != 1 {
			t.Fatalf("points %d and %d, want 5 and 1", len(m.Providers[0].Points), len(m.Providers[1].Points))
		}
		if last := m.Providers[0].Points[4]; last.HomeSpread != -7 || !last.ObservedAt.Equal(base.Add(4*time.Minute)) {
			t.Fatalf("last point %+v", last)
		}
		get(t, srv, "/v1/reports/games/g1/movement", url.Values{"from": {from}, "to": {to}, "limit": {"3"}}, 200, &m)
		if !m.Truncated {
			t.Fatal("limit 3 not reported as truncated")
		}
		get(t, srv, "/v1/reports/games/g1/movement", nil, 200, &m) // default: the last 24 hours
		if len(m.Providers) != 2 {
			t.Fatalf("default range: %+v", m.Providers)
		}
	})
	t.Run("movers", func(t *testing.T) {
		var m reporting.Movers
		get(t, srv, "/v1/reports/movers", url.Values{"window": {"2h"}, "limit": {"2"}}, 200, &m)
		if len(m.Movers) != 2 || m.Movers[0].GameID != "g1" || m.Movers[0].Provider != "p1" || m.Movers[0].SpreadMove != 4 || m.Movers[0].Ticks != 5 {
			t.Fatalf("movers %+v", m.Movers)
		}
		if m.Movers[0].Summary == "" || m.Movers[1].GameID != "g2" || m.Movers[1].SpreadMove != 1 {
			t.Fatalf("movers %+v", m.Movers)
		}
		get(t, srv, "/v1/reports/movers", url.Values{"window": {"1m"}}, 200, &m)
		if len(m.Movers) != 0 {
			t.Fatalf("movers in the last minute: %+v", m.Movers)
		}
	})
	t.Run("probability", func(t *testing.T) {
		var p reporting.Probability
		get(t, srv, "/v1/reports/games/g2/probability", nil, 200, &p)
		if len(p.Providers) != 1 || p.Status != "live" {
			t.Fatalf("%+v", p)
		}
		// -150 / +150: 0.6 + 0.4 = 1, no margin.
		pp := p.Providers[0]
		if pp.AwayProbability != 0.6 || pp.HomeProbability != 0.4 || pp.Overround != 0 {
			t.Fatalf("%+v", pp)
		}
		get(t, srv, "/v1/reports/games/g1/probability", nil, 200, &p)
		// p2: -110/-110: 0.5238 each, overround 4.76%.
		pp = p.Providers[1]
		if math.Abs(pp.Overround-0.0476) > 1e-4 || pp.FairHome != 0.5 {
			t.Fatalf("%+v", pp)
		}
		get(t, srv, "/v1/reports/games/nope/probability", nil, 404, nil)
	})
	t.Run("providers", func(t *testing.T) {
		var p reporting.Providers
		get(t, srv, "/v1/reports/providers", url.Values{"window": {"3h"}}, 200, &p)
		if len(p.Providers) != 2 || p.Providers[0].Provider != "p1" || p.Providers[0].Ticks != 7 {
			t.Fatalf("%+v", p.Providers)
		}
		f := p.Providers[0]
		if !f.LastObserved.Equal(base.Add(4*time.Minute)) || f.UpdatesPerMinute <= 0 || f.DelayP99Ms <= 0 || f.DelayP50Ms > f.DelayP99Ms {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("pipeline", func(t *testing.T) {
		var p reporting.Pipeline
		get(t, srv, "/v1/reports/pipeline", nil, 200, &p)
		if len(p.Sources) != 1 || p.Sources[0].Position != "100" || p.Sources[0].MillisBehind != 42 || p.UnresolvedDeadLetters != 1 {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			q    url.Values
		}{
			{"/v1/reports/games/g1/movement", url.Values{"from": {"yesterday"}}},
			{"/v1/reports/games/g1/movement", url.Values{"from": {to}, "to": {from}}},
			{"/v1/reports/games/g1/movement", url.Values{"limit": {"0"}}},
			{"/v1/reports/movers", url.Values{"window": {"forever"}}},
			{"/v1/reports/movers", url.Values{"limit": {"100000"}}},
			{"/v1/reports/providers", url.Values{"window": {"-1m"}}},
		} {
			t.Run(tc.path+"?"+tc.q.Encode(), func(t *testing.T) {
				var p map[string]any
				get(t, srv, tc.path, tc.q, 400, &p)
				if p["errors"] == nil {
					t.Fatalf("problem without errors: %v", p)
				}
			})
		}
	})
}

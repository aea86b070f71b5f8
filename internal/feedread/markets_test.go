package feedread_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/feedread"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// marketsFixture: game m1 with quotes of three markets by acme, a market
// status, and two providers' liveness; game m2 with nothing.
func marketsFixture(t *testing.T) (get func(path string) *httptest.ResponseRecorder, base time.Time) {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	base = time.Date(2026, 11, 20, 20, 30, 0, 0, time.UTC)
	for _, id := range []string{"m1", "m2"} {
		if _, _, err := s.PutGame(ctx, feed.Game{ID: id, Sport: "soccer", Summary: "A v B", GameDate: base, Status: feed.StatusLive}, store.System); err != nil {
			t.Fatal(err)
		}
	}
	var odds []feed.Odds
	for i := range 3 {
		at := base.Add(time.Duration(i) * time.Minute)
		odds = append(odds,
			feed.Odds{GameID: "m1", Provider: "acme", ObservedAt: at, AwaySpread: 1, HomeSpread: -1, AwayOdds: -110, HomeOdds: -110 - i, ReceivedAt: at},
			feed.Odds{GameID: "m1", Provider: "acme", ObservedAt: at, Market: feed.MarketTotal, Line: 2.5, OverOdds: -110, UnderOdds: -110 - i, ReceivedAt: at},
			feed.Odds{GameID: "m1", Provider: "acme", ObservedAt: at, Market: feed.MarketTotal, Period: feed.PeriodFirstHalf, Line: 1, OverOdds: -110, UnderOdds: -110 - i, ReceivedAt: at})
	}
	if _, err := s.PutOdds(ctx, odds); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutMarketChange(ctx, feed.MarketChange{GameID: "m1", Market: feed.MarketTotal, Action: feed.ActionSuspend, At: base, By: "acme"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"zeta", "acme"} {
		if _, _, err := s.Heard(ctx, p, base); err != nil {
			t.Fatal(err)
		}
	}
	k := auth.NewKeyring()
	key, hash := auth.NewKey()
	k.Add(auth.Principal{Name: "acme", Role: auth.RoleProvider}, hash)
	h := feedread.New(s, feedread.Options{})
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleProvider))
		h.Routes(r)
		h.MarketRoutes(r)
	})
	return func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}, base
}

func TestGameMarketsAndProviders(t *testing.T) {
	get, _ := marketsFixture(t)
	type marketsBody struct {
		GameID  string              `json:"gameId"`
		Markets []feed.MarketStatus `json:"markets"`
		Quotes  []feed.Odds         `json:"quotes"`
	}
	b := decode[marketsBody](t, get("/v1/games/m1/markets"))
	if b.GameID != "m1" || len(b.Markets) != 1 || b.Markets[0].State != feed.MarketSuspended || len(b.Quotes) != 3 {
		t.Fatalf("m1 %+v", b)
	}
	for _, q := range b.Quotes {
		if q.UnderOdds != -112 && q.HomeOdds != -112 {
			t.Fatalf("not the newest quote of its market: %+v", q)
		}
	}
	if rec := get("/v1/games/m2/markets"); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"gameId":"m2","markets":[],"quotes":[]}` {
		t.Fatalf("m2: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/v1/games/nope/markets"); rec.Code != 404 {
		t.Fatalf("unknown game: %d %s", rec.Code, rec.Body)
	}
	ps := decode[struct {
		Providers []feed.ProviderStatus `json:"providers"`
	}](t, get("/v1/providers"))
	if len(ps.Providers) != 2 || ps.Providers[0].Provider != "acme" || ps.Providers[1].State != feed.ProviderUp {
		t.Fatalf("providers %+v", ps)
	}
}

// TestOddsOfAMarket: GET /v1/games/{id}/odds is the full-game spread by
// default (as before markets), one market and period when asked, or all.
func TestOddsOfAMarket(t *testing.T) {
	get, _ := marketsFixture(t)
	count := func(path string) (n int, markets []string) {
		p := decode[oddsPage](t, get(path))
		for _, o := range p.Odds {
			if id := feed.MarketID(o.Market, o.Period); !slices.Contains(markets, id) {
				markets = append(markets, id)
			}
		}
		slices.Sort(markets)
		return len(p.Odds), markets
	}
	for _, tt := range []struct {
		query   string
		n       int
		markets []string
	}{
		{"", 3, []string{"spread/full"}},
		{"?market=spread&period=full", 3, []string{"spread/full"}},
		{"?market=total", 3, []string{"total/full"}},
		{"?market=total&period=1h", 3, []string{"total/1h"}},
		{"?market=all", 9, []string{"spread/full", "total/1h", "total/full"}},
		{"?market=moneyline", 0, nil},
	} {
		if n, markets := count("/v1/games/m1/odds" + tt.query); n != tt.n || !slices.Equal(markets, tt.markets) {
			t.Fatalf("%s: %d odds of %v, want %d of %v", tt.query, n, markets, tt.n, tt.markets)
		}
	}
	for _, q := range []string{"?market=corners", "?period=3q", "?market=all&period=1h"} {
		if rec := get("/v1/games/m1/odds" + q); rec.Code != 400 {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

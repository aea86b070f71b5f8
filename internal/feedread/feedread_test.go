package feedread_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// fixture: games s1, s2 (scheduled), l1 (live, with odds of two providers),
// l2 (live, no odds), c1 (closed).
type fixture struct {
	t        *testing.T
	router   http.Handler
	analyst  string
	provider string
	base     time.Time // observedAt of the first odds of l1
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	day := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	for i, g := range []feed.Game{
		{ID: "s2", Status: feed.StatusScheduled, GameDate: day.Add(48 * time.Hour)},
		{ID: "s1", Status: feed.StatusScheduled, GameDate: day.Add(24 * time.Hour)},
		{ID: "l1", Status: feed.StatusLive, GameDate: day.Add(-time.Hour)},
		{ID: "l2", Status: feed.StatusLive, GameDate: day.Add(-time.Hour)},
		{ID: "c1", Status: feed.StatusClosed, GameDate: day.Add(-48 * time.Hour)},
	} {
		g.Sport, g.Summary = "soccer", fmt.Sprintf("game %d", i)
		if _, _, err := s.PutGame(ctx, g, store.System); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2026, 11, 20, 20, 30, 15, 238e6, time.UTC)
	var odds []feed.Odds
	for i := range 5 {
		for _, p := range []string{"acme", "zeta"} {
			odds = append(odds, feed.Odds{GameID: "l1", Provider: p, ObservedAt: base.Add(time.Duration(i) * time.Minute),
				AwaySpread: 3, HomeSpread: -3, AwayOdds: -110 - i, HomeOdds: -110, ReceivedAt: base})
		}
	}
	odds = odds[:len(odds)-1] // zeta's last quote is missing: acme is newest
	if _, err := s.PutOdds(ctx, odds); err != nil {
		t.Fatal(err)
	}

	k := auth.NewKeyring()
	f := &fixture{t: t, base: base}
	for _, p := range []struct {
		name string
		role auth.Role
		dst  *string
	}{{"ana", auth.RoleAnalyst, &f.analyst}, {"acme", auth.RoleProvider, &f.provider}} {
		key, hash := auth.NewKey()
		k.Add(auth.Principal{Name: p.name, Role: p.role}, hash)
		*p.dst = key
	}
	h := feedread.New(s, feedread.Options{})
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleAnalyst))
		h.Routes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleAnalyst, auth.RoleProvider))
		h.ReferenceRoutes(r)
	})
	f.router = r
	return f
}

func (f *fixture) get(path, key string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	f.router.ServeHTTP(rec, r)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode: %v: %s", err, rec.Body)
	}
	return v
}

type gamesPage struct {
	Games      []feed.Game `json:"games"`
	NextCursor string      `json:"nextCursor"`
}

type oddsPage struct {
	Odds       []feed.Odds `json:"odds"`
	NextCursor string      `json:"nextCursor"`
}

type latest struct {
	Latest     *feed.Odds  `json:"latest"`
	ByProvider []feed.Odds `json:"byProvider"`
}

func TestListGames(t *testing.T) {
	f := newFixture(t)
	p := decode[gamesPage](t, f.get("/v1/games?status=scheduled&limit=1", f.analyst))
	if len(p.Games) != 1 || p.Games[0].ID != "s1" || p.NextCursor == "" {
		t.Fatalf("page 1 %+v", p)
	}
	p = decode[gamesPage](t, f.get("/v1/games?status=scheduled&limit=1&cursor="+p.NextCursor, f.analyst))
	if len(p.Games) != 1 || p.Games[0].ID != "s2" {
		t.Fatalf("page 2 %+v", p)
	}
	p = decode[gamesPage](t, f.get("/v1/games?status=live", f.analyst))
	if len(p.Games) != 2 || p.NextCursor != "" {
		t.Fatalf("live %+v", p)
	}
}

func TestGetGame(t *testing.T) {
	f := newFixture(t)
	if g := decode[feed.Game](t, f.get("/v1/games/l1", f.analyst)); g.ID != "l1" || g.Version != 1 {
		t.Fatalf("game %+v", g)
	}
}

func TestLatestOdds(t *testing.T) {
	f := newFixture(t)
	l := decode[latest](t, f.get("/v1/games/l1/odds/latest", f.analyst))
	if l.Latest == nil || l.Latest.Provider != "acme" || !l.Latest.ObservedAt.Equal(f.base.Add(4*time.Minute)) {
		t.Fatalf("latest %+v", l.Latest)
	}
	if len(l.ByProvider) != 2 || l.ByProvider[1].Provider != "zeta" || !l.ByProvider[1].ObservedAt.Equal(f.base.Add(3*time.Minute)) {
		t.Fatalf("by provider %+v", l.ByProvider)
	}
	l = decode[latest](t, f.get("/v1/games/l1/odds/latest?provider=zeta", f.analyst))
	if l.Latest == nil || l.Latest.Provider != "zeta" || len(l.ByProvider) != 1 {
		t.Fatalf("zeta %+v", l)
	}
	rec := f.get("/v1/games/l2/odds/latest", f.analyst)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"latest":null,"byProvider":[]}` {
		t.Fatalf("no odds: %d %s", rec.Code, rec.Body)
	}
}

func TestListOdds(t *testing.T) {
	f := newFixture(t)
	p := decode[oddsPage](t, f.get("/v1/games/l1/odds?limit=4", f.analyst))
	if len(p.Odds) != 4 || p.NextCursor == "" || !p.Odds[0].ObservedAt.Equal(f.base.Add(4*time.Minute)) {
		t.Fatalf("page 1 %+v", p)
	}
	for i := 1; i < len(p.Odds); i++ {
		if p.Odds[i].ObservedAt.After(p.Odds[i-1].ObservedAt) {
			t.Fatalf("not newest first: %+v", p.Odds)
		}
	}
	rest := decode[oddsPage](t, f.get("/v1/games/l1/odds?limit=100&cursor="+p.NextCursor, f.analyst))
	if len(rest.Odds) != 5 || rest.NextCursor != "" {
		t.Fatalf("page 2 %+v", rest)
	}
	from, to := f.base.Add(time.Minute).Format(time.RFC3339Nano), f.base.Add(2*time.Minute).Format(time.RFC3339Nano)
	p = decode[oddsPage](t, f.get("/v1/games/l1/odds?from="+from+"&to="+to, f.analyst))
	if len(p.Odds) != 4 {
		t.Fatalf("range: %d odds, want 4", len(p.Odds))
	}
	p = decode[oddsPage](t, f.get("/v1/games/l2/odds", f.analyst))
	if p.Odds == nil || len(p.Odds) != 0 {
		t.Fatalf("no odds %+v", p)
	}
}

func TestReferenceFeeds(t *testing.T) {
	f := newFixture(t)
	for _, key := range []string{f.analyst, f.provider} {
		rec := f.get("/feeds?game=l1", key)
		want := `{"odds":[{"gameId":"l1","away":3,"home":-3,"awayOdds":-114,"homeOdds":-110,"date":"2026-11-20 20:34:15.238"}]}`
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != want {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	rec := f.get("/feeds?game=l2", f.analyst)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"odds":[]}` {
		t.Fatalf("no odds: %d %s", rec.Code, rec.Body)
	}
}

// TestBadRequests checks each refused read: the status and the parameter
// the problem names.
func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		path   string
		key    string
		status int
		fields []string
	}{
		{"games without status", "/v1/games", "", 400, []string{"status"}},
		{"games of closed status", "/v1/games?status=closed", "", 400, []string{"status"}},
		{"bad limit", "/v1/games?status=live&limit=0", "", 400, []string{"limit"}},
		{"limit not a number", "/v1/games?status=live&limit=ten", "", 400, []string{"limit"}},
		{"bad cursor", "/v1/games?status=live&cursor=garbage", "", 400, []string{"cursor"}},
		{"unknown game", "/v1/games/nope", "", 404, nil},
		{"bad game id", "/v1/games/-x", "", 400, []string{"id"}},
		{"latest of unknown game", "/v1/games/nope/odds/latest", "", 404, nil},
		{"latest of a provider without odds", "/v1/games/l1/odds/latest?provider=nobody", "", 404, nil},
		{"bad provider", "/v1/games/l1/odds/latest?provider=a%23b", "", 400, []string{"provider"}},
		{"odds of unknown game", "/v1/games/nope/odds", "", 404, nil},
		{"bad from", "/v1/games/l1/odds?from=yesterday", "", 400, []string{"from"}},
		{"bad to and limit", "/v1/games/l1/odds?to=1&limit=-1", "", 400, []string{"to", "limit"}},
		{"from after to", "/v1/games/l1/odds?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z", "", 400, []string{"from"}},
		{"odds bad cursor", "/v1/games/l1/odds?cursor=zzz", "", 400, []string{"cursor"}},
		{"feeds without game", "/feeds", "", 400, []string{"game"}},
		{"feeds of unknown game", "/feeds?game=nope", "", 404, nil},
		{"no key", "/v1/games/l1", "-", 401, nil},
		{"provider may not read games", "/v1/games/l1", "provider", 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := f.analyst
			switch tt.key {
			case "-":
				key = ""
			case "provider":
				key = f.provider
			}
			rec := f.get(tt.path, key)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var p struct {
				Status int `json:"status"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tt.status {
				t.Fatalf("problem %s (%v)", rec.Body, err)
			}
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Fatalf("fields %q, want %q: %s", fields, tt.fields, rec.Body)
			}
		})
	}
}

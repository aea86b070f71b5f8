package trading_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
	"github.com/oddsfeed/oddsfeed/internal/trading"
)

// env is a router over a real embedded store with the route groups of
// the server (app.routes): ingest for providers, reads for analysts and
// traders, the trader's actions for traders; one key per role.
type env struct {
	t     *testing.T
	store *embedded.Store
	desk  *trading.Desk
	h     http.Handler
	keys  map[auth.Role]string
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e := &env{t: t, store: s, keys: map[auth.Role]string{}, now: time.Now().UTC().Truncate(time.Millisecond)}
	k := auth.NewKeyring()
	for _, p := range []auth.Principal{{Name: "acme", Role: auth.RoleProvider}, {Name: "ana", Role: auth.RoleAnalyst},
		{Name: "tess", Role: auth.RoleTrader}, {Name: "root", Role: auth.RoleAdmin}} {
		key, hash := auth.NewKey()
		k.Add(p, hash)
		e.keys[p.Role] = key
	}
	e.desk = trading.New(s, func() time.Time { return e.now })
	rd := feedread.New(s, feedread.Options{})
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleProvider, auth.RoleAdmin))
		ingest.New(s, ingest.Options{}).Routes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin))
		rd.Routes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleProvider, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin))
		rd.MarketRoutes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleTrader, auth.RoleAdmin))
		trading.NewHandler(e.desk, nil).Routes(r)
	})
	e.h = r
	return e
}

func (e *env) do(method, path string, role auth.Role, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+e.keys[role])
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// game stores game g1 (owned by acme) with a quote of each of markets,
// by acme, a minute ago.
func (e *env) game(markets ...feed.Odds) {
	e.t.Helper()
	ctx := context.Background()
	if _, _, err := e.store.PutGame(ctx, feed.Game{ID: "g1", Sport: "soccer", Summary: "A v B", GameDate: e.now.Add(-time.Hour),
		Status: feed.StatusLive}, store.As{Principal: "acme"}); err != nil {
		e.t.Fatal(err)
	}
	for i := range markets {
		markets[i].GameID, markets[i].Provider = "g1", "acme"
		markets[i].ObservedAt = e.now.Add(-time.Minute + time.Duration(i)*time.Second)
		markets[i].ReceivedAt = markets[i].ObservedAt
	}
	if len(markets) > 0 {
		if _, err := e.store.PutOdds(ctx, markets); err != nil {
			e.t.Fatal(err)
		}
	}
}

// change applies a provider's change to g1 directly.
func (e *env) change(m feed.Market, p feed.Period, a feed.MarketAction, at time.Time, results map[feed.Outcome]feed.Result) {
	e.t.Helper()
	if _, _, err := e.store.PutMarketChange(context.Background(), feed.MarketChange{GameID: "g1", Market: m, Period: p, Action: a,
		Results: results, At: at, By: "acme"}); err != nil {
		e.t.Fatalf("%s %s: %v", a, m, err)
	}
}

var (
	moneyline = feed.Odds{Market: feed.MarketMoneyline, AwayOdds: 150, HomeOdds: -170}
	total1h   = feed.Odds{Market: feed.MarketTotal, Period: feed.PeriodFirstHalf, Line: 1.5, OverOdds: -110, UnderOdds: -110}
	spread    = feed.Odds{AwaySpread: 1, HomeSpread: -1, AwayOdds: -110, HomeOdds: -110}
)

func ids(ms []feed.MarketStatus) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID() + ":" + string(m.State)
	}
	return out
}

// TestTraderSuspendsWholeGame: a trader's suspension of a game takes every
// market quoted or with a status that is open or suspended (a provider's
// bet stop becomes the trader's, which no provider lifts), leaves settled
// ones alone; the whole-game resume re-opens them all.
func TestTraderSuspendsWholeGame(t *testing.T) {
	e := newEnv(t)
	e.game(moneyline, total1h, spread)
	at := e.now.Add(-30 * time.Second)
	e.change(feed.MarketSpread, "", feed.ActionSuspend, at, nil) // a provider's bet stop
	e.change(feed.MarketThreeWay, "", feed.ActionSettle, at,
		map[feed.Outcome]feed.Result{feed.OutcomeHome: feed.ResultWin, feed.OutcomeDraw: feed.ResultLose, feed.OutcomeAway: feed.ResultLose})

	rec := e.do(http.MethodPost, "/v1/games/g1/suspend", auth.RoleTrader, `{"reason":"pitch invasion","note":"all markets"}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var body struct {
		Markets []feed.MarketStatus `json:"markets"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := []string{"moneyline/full:suspended", "spread/full:suspended", "total/1h:suspended"}
	if got := ids(body.Markets); !slices.Equal(got, want) {
		t.Fatalf("suspended %v, want %v", got, want)
	}
	for _, m := range body.Markets {
		if !m.ByTrader || m.By != "tess" || m.Reason != "pitch invasion" || m.Note != "all markets" || !m.At.Equal(e.now) {
			t.Fatalf("not the trader's suspension: %+v", m)
		}
	}
	// A provider cannot lift it.
	_, _, err := e.store.PutMarketChange(context.Background(), feed.MarketChange{GameID: "g1", Market: feed.MarketSpread,
		Action: feed.ActionResume, At: e.now.Add(time.Second), By: "acme"})
	if !errors.Is(err, feed.ErrTraderSuspension) {
		t.Fatalf("provider resume: %v", err)
	}
	// GET /v1/games/g1/markets shows them, to traders and providers alike.
	for _, role := range []auth.Role{auth.RoleTrader, auth.RoleProvider, auth.RoleAnalyst} {
		rec = e.do(http.MethodGet, "/v1/games/g1/markets", role, "")
		var got struct {
			GameID  string              `json:"gameId"`
			Markets []feed.MarketStatus `json:"markets"`
			Quotes  []feed.Odds         `json:"quotes"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != 200 || err != nil || got.GameID != "g1" || len(got.Markets) != 4 || len(got.Quotes) != 3 {
			t.Fatalf("%s GET markets: %d %s", role, rec.Code, rec.Body)
		}
	}

	e.now = e.now.Add(time.Minute)
	out, err := e.desk.Resume(context.Background(), auth.Principal{Name: "root", Role: auth.RoleAdmin}, "g1", "", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(out), []string{"moneyline/full:open", "spread/full:open", "total/1h:open"}; !slices.Equal(got, want) {
		t.Fatalf("resumed %v, want %v", got, want)
	}
	ms, _ := e.store.Markets(context.Background(), "g1")
	if got, want := ids(ms), []string{"moneyline/full:open", "spread/full:open", "three_way/full:settled", "total/1h:open"}; !slices.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
}

// TestTraderOneMarket: one market (and period) suspended and re-opened;
// a provider's clock ahead of the server's does not make the trader's call
// older; a settled market cannot be suspended (409); bad input is 400, an
// unknown game 404.
func TestTraderOneMarket(t *testing.T) {
	e := newEnv(t)
	e.game(moneyline, total1h)
	e.change(feed.MarketTotal, feed.PeriodFirstHalf, feed.ActionSuspend, e.now.Add(2*time.Minute), nil) // the provider's clock is ahead
	rec := e.do(http.MethodPost, "/v1/games/g1/resume", auth.RoleTrader, `{"market":"total","period":"1h"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"open"`) {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body)
	}
	out, err := e.desk.Suspend(context.Background(), auth.Principal{Name: "tess", Role: auth.RoleTrader}, "g1", feed.MarketMoneyline, "", "", "")
	if err != nil || len(out) != 1 || out[0].State != feed.MarketSuspended || out[0].Reason != feed.ReasonTrader || out[0].Period != feed.PeriodFull {
		t.Fatalf("suspend moneyline: %+v %v", out, err)
	}
	if ms, _ := e.store.Markets(context.Background(), "g1"); len(ms) != 2 {
		t.Fatalf("markets %v", ids(ms))
	}
	e.change(feed.MarketTotal, feed.PeriodFirstHalf, feed.ActionSettle, e.now.Add(3*time.Minute),
		map[feed.Outcome]feed.Result{feed.OutcomeOver: feed.ResultWin, feed.OutcomeUnder: feed.ResultLose})
	if rec := e.do(http.MethodPost, "/v1/games/g1/suspend", auth.RoleTrader, `{"market":"total","period":"1h"}`); rec.Code != 409 {
		t.Fatalf("suspend a settled market: %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct {
		path, body string
		status     int
		field      string
	}{
		{"/v1/games/g1/suspend", `{"market":"corners"}`, 400, "market"},
		{"/v1/games/g1/suspend", `{"period":"3q"}`, 400, "period"},
		{"/v1/games/g1/suspend", `{"market":5}`, 400, "market"},
		{"/v1/games/g1/suspend", `{"reason":"` + strings.Repeat("x", 200) + `"}`, 400, "reason"},
		{"/v1/games/g1/suspend", `[]`, 400, ""},
		{"/v1/games/nope/suspend", ``, 404, ""},
		{"/v1/games/-x/resume", ``, 400, "id"},
	} {
		rec := e.do(http.MethodPost, tt.path, auth.RoleTrader, tt.body)
		var p struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		field := ""
		if len(p.Errors) > 0 {
			field = p.Errors[0].Field
		}
		if rec.Code != tt.status || field != tt.field {
			t.Fatalf("%s %s: %d %s, want %d naming %q", tt.path, tt.body, rec.Code, rec.Body, tt.status, tt.field)
		}
	}
}

// TestRoles: analysts read but do not suspend; providers neither suspend
// nor read what analysts read; traders read and suspend but post no
// odds; the desk itself refuses a principal that is no trader.
func TestRoles(t *testing.T) {
	e := newEnv(t)
	e.game(moneyline)
	tests := []struct {
		role         auth.Role
		method, path string
		body         string
		status       int
	}{
		{auth.RoleAnalyst, http.MethodPost, "/v1/games/g1/suspend", "", 403},
		{auth.RoleAnalyst, http.MethodPost, "/v1/games/g1/resume", "", 403},
		{auth.RoleProvider, http.MethodPost, "/v1/games/g1/suspend", "", 403},
		{auth.RoleProvider, http.MethodGet, "/v1/games/g1", "", 403},
		{auth.RoleTrader, http.MethodPost, "/v1/odds", `{"odds":[]}`, 403},
		{auth.RoleTrader, http.MethodPost, "/v1/markets", `{}`, 403},
		{auth.RoleTrader, http.MethodPost, "/v1/heartbeat", ``, 403},
		{auth.RoleTrader, http.MethodGet, "/v1/games/g1", "", 200},
		{auth.RoleTrader, http.MethodGet, "/v1/games/g1/odds?market=moneyline", "", 200},
		{auth.RoleTrader, http.MethodGet, "/v1/providers", "", 200},
		{auth.RoleProvider, http.MethodGet, "/v1/providers", "", 200},
		{auth.RoleTrader, http.MethodPost, "/v1/games/g1/suspend", `{"market":"moneyline"}`, 200},
		{auth.RoleAdmin, http.MethodPost, "/v1/games/g1/resume", `{"market":"moneyline"}`, 200},
	}
	for _, tt := range tests {
		if rec := e.do(tt.method, tt.path, tt.role, tt.body); rec.Code != tt.status {
			t.Errorf("%s %s %s: %d, want %d: %s", tt.role, tt.method, tt.path, rec.Code, tt.status, rec.Body)
		}
	}
	_, err := e.desk.Suspend(context.Background(), auth.Principal{Name: "ana", Role: auth.RoleAnalyst}, "g1", "", "", "", "")
	if !errors.Is(err, trading.ErrNotTrader) {
		t.Fatalf("analyst at the desk: %v", err)
	}
}

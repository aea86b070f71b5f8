package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// fakeServer answers the games, odds, markets and heartbeat API as the
// contracts of issue 12 say the server does, for what the simulator can
// get wrong: a game's first writer owns it and only it may write it, open,
// close, settle, cancel or roll back its markets; odds for unknown games
// are 422; quotes are validated per market (decimal odds converted);
// market changes apply by feed.ApplyMarketChange (409 when they do not
// apply). legacy: a server before markets (no heartbeat or markets route).
type fakeServer struct {
	legacy  bool
	mu      sync.Mutex
	owner   map[string]string // game -> key
	status  map[string][]feed.GameStatus
	quoted  map[string]map[string]bool // game -> keys that posted odds
	markets map[string]feed.MarketStatus
	history map[string][]feed.MarketStatus // per game|market: every status applied
	heard   map[string][]time.Time         // key -> when it posted odds or a heartbeat
	kinds   map[feed.Market]int
	decimal int
	errs    []string
}

func newFakeServer(legacy bool) *fakeServer {
	return &fakeServer{legacy: legacy, owner: map[string]string{}, status: map[string][]feed.GameStatus{},
		quoted: map[string]map[string]bool{}, markets: map[string]feed.MarketStatus{}, history: map[string][]feed.MarketStatus{},
		heard: map[string][]time.Time{}, kinds: map[feed.Market]int{}}
}

// wireIn is an odds item as the fake server reads it.
type wireIn struct {
	GameID                       string
	ObservedAt                   time.Time
	Market                       feed.Market
	Period                       feed.Period
	AwaySpread, HomeSpread, Line float64
	AwayOdds, HomeOdds, DrawOdds float64
	OverOdds, UnderOdds          float64
	OddsFormat                   string
}

func (in wireIn) odds() (feed.Odds, bool) {
	o := feed.Odds{GameID: in.GameID, Provider: "p", ObservedAt: in.ObservedAt, Market: in.Market, Period: in.Period,
		AwaySpread: in.AwaySpread, HomeSpread: in.HomeSpread, Line: in.Line}
	ok := true
	for _, p := range []struct {
		to *int
		v  float64
	}{{&o.AwayOdds, in.AwayOdds}, {&o.HomeOdds, in.HomeOdds}, {&o.DrawOdds, in.DrawOdds}, {&o.OverOdds, in.OverOdds}, {&o.UnderOdds, in.UnderOdds}} {
		switch {
		case p.v == 0:
		case in.OddsFormat == "decimal":
			a, good := feed.DecimalToAmerican(p.v)
			*p.to, ok = a, ok && good
		default:
			*p.to = int(p.v)
		}
	}
	o.Normalize()
	return o, ok
}

func (f *fakeServer) fail(w http.ResponseWriter, status int, msg string) {
	f.errs = append(f.errs, msg)
	w.WriteHeader(status)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/games/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/games/")
		var g feed.Game
		if err := json.NewDecoder(r.Body).Decode(&g); err != nil {
			f.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		g.ID = id
		if errs := g.Validate(); len(errs) > 0 {
			f.fail(w, http.StatusUnprocessableEntity, errs.Error())
			return
		}
		if o, ok := f.owner[id]; ok && o != key {
			f.fail(w, http.StatusForbidden, "not the owner of "+id)
			return
		}
		f.owner[id] = key
		f.status[id] = append(f.status[id], g.Status)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/odds":
		var body struct{ Odds []wireIn }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		for _, in := range body.Odds {
			o, ok := in.odds()
			if _, known := f.owner[o.GameID]; !known || !ok || len(o.Validate(time.Now())) > 0 || (f.legacy && !o.IsFullGameSpread()) {
				f.fail(w, http.StatusUnprocessableEntity, "bad quote "+o.GameID)
				return
			}
			if in.OddsFormat == "decimal" {
				f.decimal++
			}
			f.kinds[o.Market.Or()]++
			if f.quoted[o.GameID] == nil {
				f.quoted[o.GameID] = map[string]bool{}
			}
			f.quoted[o.GameID][key] = true
		}
		f.heard[key] = append(f.heard[key], time.Now())
		_ = json.NewEncoder(w).Encode(map[string]int{"stored": len(body.Odds)})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/heartbeat" && !f.legacy:
		f.heard[key] = append(f.heard[key], time.Now())
		_ = json.NewEncoder(w).Encode(map[string]any{"provider": map[string]string{"status": "up"}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/markets" && !f.legacy:
		var body struct{ Changes []feed.MarketChange }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Changes) == 0 || len(body.Changes) > 500 {
			f.fail(w, http.StatusBadRequest, "bad changes")
			return
		}
		type result struct {
			Effect string            `json:"effect"`
			Status feed.MarketStatus `json:"status"`
		}
		var out []result
		for _, c := range body.Changes {
			if errs := c.Validate(time.Now()); len(errs) > 0 {
				f.fail(w, http.StatusBadRequest, errs.Error())
				return
			}
			owner, known := f.owner[c.GameID]
			if !known || (c.Action != feed.ActionSuspend && c.Action != feed.ActionResume && owner != key) {
				f.fail(w, http.StatusForbidden, string(c.Action)+" of "+c.GameID+" by another than its owner")
				return
			}
			k := c.GameID + "|" + feed.MarketID(c.Market, c.Period)
			cur, found := f.markets[k]
			next, effect, err := feed.ApplyMarketChange(cur, found, c)
			if errors.Is(err, feed.ErrTransition) {
				f.fail(w, http.StatusConflict, k+": "+err.Error())
				return
			}
			if effect == feed.Applied {
				f.markets[k] = next
				f.history[k] = append(f.history[k], next)
			}
			out = append(out, result{effect.String(), next})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": out})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func liveProviders() []Provider {
	providers := make([]Provider, len(DefaultProviders))
	for i, p := range DefaultProviders {
		p.Key = "key-" + p.Name
		providers[i] = p
	}
	return providers
}

// TestLiveThroughTheAPI: Live creates and moves each game on with its
// owner's key, posts every provider's quotes of every market (some in
// decimal odds) for games that exist, stops bets around events, closes and
// settles the markets of closed games by their owner, every change
// applying; the quiet provider goes silent for its while and the others
// do not.
func TestLiveThroughTheAPI(t *testing.T) {
	f := newFakeServer(false)
	srv := httptest.NewServer(f)
	defer srv.Close()
	providers := liveProviders()
	res, err := Live(context.Background(), Options{BaseURL: srv.URL, Providers: providers, Games: 6, Rate: 100,
		LiveFor: 2 * time.Second, Duration: 10 * time.Second, Seed: 5, QuietEvery: 8 * time.Second, QuietFor: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", Result{Requests: res.Requests, Odds: res.Odds, GameWrites: res.GameWrites, Corrections: res.Corrections, Late: res.Late,
		Decimal: res.Decimal, MarketChanges: res.MarketChanges, Heartbeats: res.Heartbeats})
	f.mu.Lock()
	defer f.mu.Unlock()
	if res.Failed > 0 || res.Odds == 0 || res.Dropped > 0 || len(f.errs) > 0 || res.SpreadsOnly {
		t.Errorf("%d requests failed (%v), %d odds acknowledged, %d dropped, spreads only %v", res.Failed, f.errs, res.Odds, res.Dropped, res.SpreadsOnly)
	}
	closed, owners, full := 0, map[string]bool{}, 0
	for id, ss := range f.status {
		owners[f.owner[id]] = true
		if ss[len(ss)-1] == feed.StatusClosed {
			closed++
		}
		if len(f.quoted[id]) == len(providers) {
			full++
		}
	}
	if closed == 0 || len(owners) != len(providers) || full == 0 {
		t.Errorf("%d games closed, owners %v, %d games quoted by every provider", closed, owners, full)
	}
	for _, m := range feed.Markets {
		if f.kinds[m] == 0 {
			t.Errorf("no %s quotes: %v", m, f.kinds)
		}
	}
	if f.decimal == 0 || f.decimal != res.Decimal {
		t.Errorf("%d quotes in decimal, Live says %d", f.decimal, res.Decimal)
	}
	states := map[feed.MarketState]int{}
	stopped := 0
	for _, h := range f.history {
		for _, s := range h {
			if s.State == feed.MarketSuspended && s.Reason == feed.ReasonBetStop {
				stopped++
			}
		}
		states[h[len(h)-1].State]++
	}
	t.Logf("%d markets, now %v; %d bet stops", len(f.history), states, stopped)
	if states[feed.MarketSettled] == 0 || stopped == 0 {
		t.Errorf("markets %v, %d bet stops: want settled markets and bet stops", states, stopped)
	}
	// The quiet provider (the last) is silent for 3s from 4s on; the
	// others are heard at least every 2s (every tick, but for a loaded
	// machine).
	for _, p := range providers {
		gap := maxGap(f.heard[p.Key])
		quiet := p.Name == providers[len(providers)-1].Name
		if (quiet && gap < 2900*time.Millisecond) || (!quiet && gap > 2*time.Second) {
			t.Errorf("%s: longest silence %v", p.Name, gap)
		}
	}
}

func maxGap(ts []time.Time) time.Duration {
	var g time.Duration
	for i := 1; i < len(ts); i++ {
		g = max(g, ts[i].Sub(ts[i-1]))
	}
	return g
}

// TestLiveAgainstAServerBeforeMarkets: a server without POST /v1/heartbeat
// gets full-game spreads in American odds only, and no market changes.
func TestLiveAgainstAServerBeforeMarkets(t *testing.T) {
	f := newFakeServer(true)
	srv := httptest.NewServer(f)
	defer srv.Close()
	res, err := Live(context.Background(), Options{BaseURL: srv.URL, Providers: liveProviders(), Games: 4, Rate: 50,
		LiveFor: 2 * time.Second, Duration: 3 * time.Second, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !res.SpreadsOnly || res.Failed > 0 || res.Odds == 0 || len(f.errs) > 0 || f.decimal > 0 || len(f.kinds) != 1 || f.kinds[feed.MarketSpread] == 0 {
		t.Errorf("spreads only %v, %d failed (%v), %d odds, %d decimal, kinds %v", res.SpreadsOnly, res.Failed, f.errs, res.Odds, f.decimal, f.kinds)
	}
}

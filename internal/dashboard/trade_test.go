package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// fakeTrader is the dashboard's Trader, recording its calls: a suspend of
// the whole game suspends its two markets; game "settled" refuses as a
// settled market does, game "nope" does not exist.
type fakeTrader struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeTrader) do(action string, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error) {
	f.mu.Lock()
	f.calls = append(f.calls, strings.Join([]string{action, p.Name, string(p.Role), gameID, string(m), string(per), reason, note}, " "))
	f.mu.Unlock()
	switch gameID {
	case "settled":
		return nil, feed.ErrTransition
	case "nope":
		return nil, store.ErrNotFound
	}
	state := feed.MarketSuspended
	if action == "resume" {
		state = feed.MarketOpen
	}
	markets := []feed.Market{m}
	if m == "" {
		markets = []feed.Market{feed.MarketMoneyline, feed.MarketTotal}
	}
	var out []feed.MarketStatus
	for _, m := range markets {
		out = append(out, feed.MarketStatus{GameID: gameID, Market: m, Period: per.Or(), State: state, Reason: reason, By: p.Name, ByTrader: true, Version: 1})
	}
	return out, nil
}

func (f *fakeTrader) Suspend(_ context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error) {
	return f.do("suspend", p, gameID, m, per, reason, note)
}

func (f *fakeTrader) Resume(_ context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error) {
	return f.do("resume", p, gameID, m, per, reason, note)
}

func (f *fakeTrader) taken() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// post sends a JSON body with the browser's cookie and the given headers.
func (b *browser) postJSON(path, body string, header ...string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(text)
}

// TestTraderRoutes checks the dashboard's trader routes (POST
// /games/{id}/suspend and /resume): only a trader's or admin's session
// with its CSRF token reaches the Trader, with the session's principal;
// an analyst gets 403, a missing or wrong CSRF token 403, a cross-site
// origin 403, no session 401; bad fields 400 naming them; the Trader's
// errors map to their statuses (409 for a transition, 404 for no game).
// The board page tells the front end whether to offer trading.
func TestTraderRoutes(t *testing.T) {
	hash := dashboard.HashPasswordIter(password, dashboard.MinIterations)
	users := map[string]dashboard.UserEntry{}
	for name, role := range map[string]auth.Role{"ana": auth.RoleAnalyst, "tess": auth.RoleTrader, "ops": auth.RoleAdmin} {
		users[name] = dashboard.UserEntry{Principal: auth.Principal{Name: name, Role: role}, PasswordHash: hash}
	}
	trader := &fakeTrader{}
	_, base := newDashServer(t, dashboard.Options{Keys: auth.NewKeyring(), Users: users, Trader: trader})
	login := func(name string) (*browser, string) {
		b := newBrowser(t, base)
		return b, b.signIn(url.Values{"username": {name}, "password": {password}})
	}
	ana, anaCSRF := login("ana")
	tess, tessCSRF := login("tess")
	ops, opsCSRF := login("ops")

	body := `{"market":"total","period":"full","reason":"var check","note":"goal under review"}`
	t.Run("trader suspends and resumes a market", func(t *testing.T) {
		code, text := tess.postJSON("/games/g1/suspend", body, dashboard.CSRFHeader, tessCSRF, "Origin", base)
		if code != http.StatusOK {
			t.Fatalf("suspend: %d %s", code, text)
		}
		var res struct{ Markets []feed.MarketStatus }
		if err := json.Unmarshal([]byte(text), &res); err != nil || len(res.Markets) != 1 || res.Markets[0].State != feed.MarketSuspended {
			t.Fatalf("suspend answered %s (%v)", text, err)
		}
		if code, text := tess.postJSON("/games/g1/resume", `{"market":"total"}`, dashboard.CSRFHeader, tessCSRF); code != http.StatusOK {
			t.Fatalf("resume: %d %s", code, text)
		}
		want := []string{"suspend tess trader g1 total full var check goal under review", "resume tess trader g1 total   "}
		if got := trader.taken(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("trader calls %q, want %q", got, want)
		}
	})
	t.Run("admin suspends the whole game", func(t *testing.T) {
		code, text := ops.postJSON("/games/g2/suspend", `{}`, dashboard.CSRFHeader, opsCSRF)
		if code != http.StatusOK || strings.Count(text, `"status":"suspended"`) != 2 {
			t.Fatalf("suspend the game: %d %s", code, text)
		}
		if got := trader.taken(); len(got) != 1 || got[0] != "suspend ops admin g2    " {
			t.Fatalf("trader calls %q", got)
		}
	})

	refused := []struct {
		name   string
		b      *browser
		path   string
		body   string
		header []string
		code   int
		detail string
	}{
		{"analyst", ana, "/games/g1/suspend", body, []string{dashboard.CSRFHeader, anaCSRF}, 403, "analyst role may not"},
		{"analyst resumes", ana, "/games/g1/resume", body, []string{dashboard.CSRFHeader, anaCSRF}, 403, "analyst role may not"},
		{"no CSRF token", tess, "/games/g1/suspend", body, nil, 403, "CSRF"},
		{"wrong CSRF token", tess, "/games/g1/suspend", body, []string{dashboard.CSRFHeader, anaCSRF}, 403, "CSRF"},
		{"CSRF token as a form field only", tess, "/games/g1/suspend?csrf=" + tessCSRF, body, nil, 403, "CSRF"},
		{"cross-site", tess, "/games/g1/suspend", body, []string{dashboard.CSRFHeader, tessCSRF, "Origin", "https://evil.example"}, 403, "cross-site"},
		{"no session", newBrowser(t, base), "/games/g1/suspend", body, []string{dashboard.CSRFHeader, tessCSRF}, 401, "sign in"},
		{"bad market", tess, "/games/g1/suspend", `{"market":"corners"}`, []string{dashboard.CSRFHeader, tessCSRF}, 400, `"field":"market"`},
		{"bad period", tess, "/games/g1/suspend", `{"market":"total","period":"3q"}`, []string{dashboard.CSRFHeader, tessCSRF}, 400, `"field":"period"`},
		{"long note", tess, "/games/g1/suspend", `{"note":"` + strings.Repeat("n", feed.MaxTextLen+1) + `"}`, []string{dashboard.CSRFHeader, tessCSRF}, 400, `"field":"note"`},
		{"bad game id", tess, "/games/a%20b/suspend", body, []string{dashboard.CSRFHeader, tessCSRF}, 400, `"field":"gameId"`},
		{"malformed JSON", tess, "/games/g1/suspend", `{"market":`, []string{dashboard.CSRFHeader, tessCSRF}, 400, "malformed"},
		{"too large", tess, "/games/g1/suspend", `{"note":"` + strings.Repeat("n", 5000) + `"}`, []string{dashboard.CSRFHeader, tessCSRF}, 413, ""},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			code, text := tt.b.postJSON(tt.path, tt.body, tt.header...)
			if code != tt.code || !strings.Contains(text, tt.detail) {
				t.Fatalf("%d %s, want %d with %q", code, text, tt.code, tt.detail)
			}
			if got := trader.taken(); len(got) > 0 {
				t.Fatalf("the Trader was called: %q", got)
			}
		})
	}

	t.Run("the Trader's errors", func(t *testing.T) {
		for game, want := range map[string]int{"settled": http.StatusConflict, "nope": http.StatusNotFound} {
			if code, text := tess.postJSON("/games/"+game+"/suspend", body, dashboard.CSRFHeader, tessCSRF); code != want {
				t.Errorf("%s: %d %s, want %d", game, code, text, want)
			}
		}
		trader.taken()
	})

	t.Run("the page offers trading to traders and admins only", func(t *testing.T) {
		for _, c := range []struct {
			b    *browser
			want bool
		}{{ana, false}, {tess, true}, {ops, true}} {
			_, page := c.b.req("GET", "/", nil)
			if got := strings.Contains(page, `data-trade="1"`); got != c.want {
				t.Errorf("data-trade on the board page: %v, want %v", got, c.want)
			}
		}
		// Without a Trader nobody is offered trading, and the routes say so.
		_, base := newDashServer(t, dashboard.Options{Keys: auth.NewKeyring(), Users: users})
		b := newBrowser(t, base)
		csrf := b.signIn(url.Values{"username": {"ops"}, "password": {password}})
		if _, page := b.req("GET", "/", nil); strings.Contains(page, "data-trade") {
			t.Error("a dashboard without a Trader offers trading")
		}
		if code, text := b.postJSON("/games/g1/suspend", body, dashboard.CSRFHeader, csrf); code != http.StatusServiceUnavailable {
			t.Errorf("suspend without a Trader: %d %s, want 503", code, text)
		}
	})
}

package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
)

// TestLiveAgainstTheServer: Live against the real server (embedded back
// end): nothing it posts is refused; the markets of closed games end up
// settled (or cancelled) with results, every market type is quoted, and
// the quiet provider is marked down by the server's liveness monitor.
func TestLiveAgainstTheServer(t *testing.T) {
	providers := make([]simulate.Provider, len(simulate.DefaultProviders))
	var spec []string
	for i, p := range simulate.DefaultProviders {
		key, hash := auth.NewKey()
		p.Key = key
		providers[i] = p
		spec = append(spec, fmt.Sprintf("%s:%s:%s", p.Name, auth.RoleProvider, hash))
	}
	analyst, hash := auth.NewKey()
	spec = append(spec, "ana:"+string(auth.RoleAnalyst)+":"+hash)
	vars := map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_LOG_LEVEL": "warn",
		"ODDSFEED_API_KEYS": strings.Join(spec, ","), "ODDSFEED_LOCAL_POSTGRES": "off", "ODDSFEED_PROVIDER_TIMEOUT": "2s"}
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.NewServer(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urlc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(url string) { urlc <- url }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}

	// A proxy in front of the server notes the games Live closes (the API
	// lists only open games).
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var closed []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1/games/"); ok && r.Method == http.MethodPut {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if strings.Contains(string(body), `"status":"closed"`) {
				mu.Lock()
				closed = append(closed, id)
				mu.Unlock()
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	var failures []string
	res, err := simulate.Live(ctx, simulate.Options{BaseURL: front.URL, Providers: providers, Games: 6, Rate: 60, Batch: 50,
		LiveFor: 4 * time.Second, Duration: 16 * time.Second, Seed: 12, GamePrefix: "srv-",
		QuietEvery: 12 * time.Second, QuietFor: 4 * time.Second,
		Log: func(msg string, args ...any) { failures = append(failures, fmt.Sprint(append([]any{msg}, args...)...)) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("requests %d, odds %d, decimal %d, market changes %d, heartbeats %d, game writes %d",
		res.Requests, res.Odds, res.Decimal, res.MarketChanges, res.Heartbeats, res.GameWrites)
	if res.SpreadsOnly || res.Failed > 0 || res.MarketChanges == 0 || res.Decimal == 0 {
		t.Fatalf("spreads only %v, %d failed: %v", res.SpreadsOnly, res.Failed, failures)
	}

	get := func(path string, out any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+analyst)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	states := map[feed.MarketState]int{}
	kinds := map[feed.Market]int{}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range closed {
		var m struct {
			Markets []feed.MarketStatus
			Quotes  []feed.Odds
		}
		get("/v1/games/"+id+"/markets", &m)
		for _, s := range m.Markets {
			states[s.State]++
			if s.State == feed.MarketSettled && len(s.Results) != len(s.Market.Outcomes()) {
				t.Errorf("%s %s settled with %v", id, s.Market, s.Results)
			}
		}
		for _, q := range m.Quotes {
			kinds[q.Market.Or()]++
		}
	}
	t.Logf("%d closed games: markets %v, latest quotes %v", len(closed), states, kinds)
	if len(closed) == 0 || states[feed.MarketSettled] == 0 || len(kinds) < len(feed.Markets) {
		t.Errorf("%d closed games, markets %v, quotes %v", len(closed), states, kinds)
	}
	var ps struct{ Providers []feed.ProviderStatus }
	get("/v1/providers", &ps)
	for _, p := range ps.Providers {
		t.Logf("provider %+v", p)
		if p.Provider == providers[len(providers)-1].Name && p.DownAt.IsZero() {
			t.Errorf("the quiet provider %s was never marked down", p.Provider)
		}
	}
}

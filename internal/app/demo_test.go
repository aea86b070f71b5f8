package app_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
)

// serveDemo runs `serve -demo` through app.Run, as main does, with vars and
// returns its base URL and its log. It stops when the test ends.
func serveDemo(t *testing.T, vars map[string]string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- app.Run(ctx, app.Env{Args: []string{"serve", "-demo"}, Getenv: func(k string) string { return vars[k] }, Stdout: pw, Stderr: logs})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve -demo returned %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	url, err := app.ListeningURL(pr)
	if err != nil {
		t.Fatalf("serve -demo did not start: %v (%v)\n%s", err, drain(done), logs.String())
	}
	return url, logs
}

// demoView is what an analyst sees of a demo server, gathered by scan.
type demoView struct {
	c         client
	games     map[string]feed.Game // every game seen, with its last status
	sports    map[string]bool      // sports of games with odds
	providers map[string]bool      // providers of the latest odds
	owners    map[string]bool
	quoted    map[string]bool // games whose latest odds were read
	liveWith3 string          // a live game with every provider's odds
	lastScan  time.Time
}

// scan lists the open games, reads the latest odds of those not read yet
// and the status of games no longer open (closed).
func (v *demoView) scan() {
	t := v.c.t
	open := map[string]bool{}
	for _, status := range []string{"scheduled", "live"} {
		var page struct{ Games []feed.Game }
		v.c.want(200, "GET", "/v1/games?limit=200&status="+status, nil, &page)
		for _, g := range page.Games {
			open[g.ID] = true
			v.games[g.ID] = g
			v.owners[g.Owner] = true
		}
	}
	for id, g := range v.games {
		if !open[id] && g.Status != feed.StatusClosed {
			v.c.want(200, "GET", "/v1/games/"+id, nil, &g)
			v.games[id] = g
		}
		if v.quoted[id] && id != v.liveWith3 {
			continue
		}
		var latest struct{ ByProvider []feed.Odds }
		v.c.want(200, "GET", "/v1/games/"+id+"/odds/latest", nil, &latest)
		if len(latest.ByProvider) == 0 {
			continue
		}
		v.quoted[id], v.sports[g.Sport] = true, true
		for _, o := range latest.ByProvider {
			v.providers[o.Provider] = true
			sum := feed.ImpliedProbability(o.HomeOdds) + feed.ImpliedProbability(o.AwayOdds)
			if errs := o.Validate(time.Now()); len(errs) > 0 || sum < 1.03 || sum > 1.1 {
				t.Errorf("odds %+v: %v, implied %.3f (margins are 4.5%% to 8%%)", o, errs, sum)
			}
		}
		if len(latest.ByProvider) == len(simulate.DefaultProviders) && g.Status == feed.StatusLive && v.liveWith3 == "" {
			v.liveWith3 = id
		}
	}
}

func (v *demoView) count(status feed.GameStatus) int {
	n := 0
	for _, g := range v.games {
		if g.Status == status {
			n++
		}
	}
	return n
}

// TestServeDemo: `serve -demo` on a fresh data directory shows, within a
// bounded wait, games of several sports quoted by the demo's providers
// (each with its margin), scheduled, live and closed ones, each owned by a
// demo provider.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	base, logs := serveDemo(t, map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": dir, "ODDSFEED_LOCAL_POSTGRES": "off"})
	analyst, err := app.DevKey(dir, auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	v := &demoView{c: client{t, base, analyst}, games: map[string]feed.Game{}, sports: map[string]bool{},
		providers: map[string]bool{}, owners: map[string]bool{}, quoted: map[string]bool{}}
	eventually(t, 90*time.Second, "games of several sports and providers, scheduled, live and closed", func() bool {
		if time.Since(v.lastScan) < 500*time.Millisecond {
			return false
		}
		v.lastScan = time.Now()
		v.scan()
		return len(v.sports) >= 3 && len(v.providers) == len(simulate.DefaultProviders) && v.liveWith3 != "" &&
			v.count(feed.StatusClosed) >= 1 && v.count(feed.StatusScheduled) >= 1
	})
	t.Logf("%d games: %d scheduled, %d live, %d closed; sports %v; providers %v", len(v.games),
		v.count(feed.StatusScheduled), v.count(feed.StatusLive), v.count(feed.StatusClosed), v.sports, v.providers)
	for _, p := range simulate.DefaultProviders {
		delete(v.owners, p.Name)
	}
	if len(v.owners) > 0 {
		t.Errorf("games owned by %v, not by the demo's providers", v.owners)
	}
	for id, g := range v.games {
		if !strings.HasPrefix(id, "demo-") || g.HomeTeam == "" || g.Venue == "" {
			t.Errorf("game %+v", g)
		}
	}
	// Every write of the demo was taken: games changed by their owners
	// only, odds for games that exist, valid.
	for _, rec := range logRecords(t, logs, "request") {
		if status, _ := rec["status"].(float64); status >= 400 {
			t.Errorf("%v %v answered %v", rec["method"], rec["path"], status)
		}
	}
}

// TestDemoScreenshots writes the README's board, game and reports
// screenshots (docs/) from a demo server with reports (the harness's
// Postgres), through web/e2e/demo.mjs in headless Chromium. It runs only
// with ODDSFEED_DEMO_SCREENSHOTS=1.
func TestDemoScreenshots(t *testing.T) {
	if os.Getenv("ODDSFEED_DEMO_SCREENSHOTS") != "1" {
		t.Skip("set ODDSFEED_DEMO_SCREENSHOTS=1 to write docs/{board,game,reports}.png from a demo server")
	}
	root := harness.ModuleRoot()
	dir := t.TempDir()
	vars := map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": dir, "ODDSFEED_DATABASE_URL": env.Postgres.NewDatabase(t)}
	if err := app.Run(context.Background(), app.Env{Args: []string{"migrate", "up"}, Getenv: func(k string) string { return vars[k] },
		Stdout: io.Discard, Stderr: io.Discard}); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	base, _ := serveDemo(t, vars)
	// The trader's key: the board shows the Suspend / Re-open controls.
	trader, err := app.DevKey(dir, auth.RoleTrader)
	if err != nil {
		t.Fatal(err)
	}
	c := client{t, base, trader}
	v := &demoView{c: c, games: map[string]feed.Game{}, sports: map[string]bool{},
		providers: map[string]bool{}, owners: map[string]bool{}, quoted: map[string]bool{}}
	started := time.Now()
	// A minute of history, so the game page has a line and the reports movers.
	eventually(t, 3*time.Minute, "a live game with every provider's odds, and reports", func() bool {
		if time.Since(v.lastScan) < time.Second {
			return false
		}
		v.lastScan = time.Now()
		v.scan()
		var movers struct{ Movers []any }
		return v.liveWith3 != "" && time.Since(started) > time.Minute &&
			c.do("GET", "/v1/reports/movers?window=1h&limit=10", nil, &movers) == 200 && len(movers.Movers) > 0
	})
	// The game page: the live game every provider quotes that kicked off
	// last but at least 30 s ago (a line from before and after kick-off,
	// and time left to play).
	game := v.liveWith3
	var kickoff time.Time
	for id, g := range v.games {
		var latest struct{ ByProvider []feed.Odds }
		if g.Status == feed.StatusLive && g.GameDate.Before(time.Now().Add(-30*time.Second)) && g.GameDate.After(kickoff) &&
			c.do("GET", "/v1/games/"+id+"/odds/latest", nil, &latest) == 200 && len(latest.ByProvider) == len(simulate.DefaultProviders) {
			game, kickoff = id, g.GameDate
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("e2e", "demo.mjs"))
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(os.Environ(), "ODDSFEED_URL="+base, "E2E_KEY="+trader, "E2E_GAME="+game,
		"E2E_SCREENSHOTS="+filepath.Join(root, "docs"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node e2e/demo.mjs: %v\n%s", err, out)
	}
}

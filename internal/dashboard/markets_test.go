package dashboard_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// TestBrowserMarkets drives the board in headless Chromium
// (web/e2e/markets.mjs) with the stream and the /v1 API mocked in the
// browser and the dashboard's own routes real (its trader routes call
// fakeTrader): a soccer game shows its three-way market and a basketball
// game its moneyline, each beside its spread and total, one row per
// provider with the best prices marked; a suspended market is greyed with
// its reason, a re-opened one is not, a settled one shows its results; a
// provider marked down turns down on the strip (its last-heard time
// ticking) and its quotes are greyed "provider down" until it quotes
// again; a trader suspends and re-opens a market from the board; the game
// page has a card per market with its chart, results and live status, and
// a trader suspends a market there too; an analyst gets no trader buttons.
// ODDSFEED_MARKETS_SCREENSHOT=<file> keeps screenshots of the trader's board
// and game page.
func TestBrowserMarkets(t *testing.T) {
	root := harness.ModuleRoot()
	webDir := filepath.Join(root, "web")
	browserPreflight(t, webDir)

	hash := dashboard.HashPasswordIter(password, dashboard.MinIterations)
	users := map[string]dashboard.UserEntry{}
	for name, role := range map[string]auth.Role{"ana": auth.RoleAnalyst, "tess": auth.RoleTrader} {
		users[name] = dashboard.UserEntry{Principal: auth.Principal{Name: name, Role: role}, PasswordHash: hash}
	}
	trader := &fakeTrader{}
	_, base := newDashServer(t, dashboard.Options{Keys: auth.NewKeyring(), Users: users, Trader: trader})
	runE2E(t, webDir, "markets.mjs", 2*time.Minute,
		"ODDSFEED_URL="+base, "E2E_TRADER=tess", "E2E_ANALYST=ana", "E2E_PASSWORD="+password,
		"E2E_SCREENSHOT="+os.Getenv("ODDSFEED_MARKETS_SCREENSHOT"))
	calls := trader.taken()
	want := []string{"suspend tess trader mk-hoops spread full injury check ", "resume tess trader mk-hoops spread full  ",
		"suspend tess trader mk-soccer three_way full  "}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("trader calls %q, want %q", calls, want)
	}
}

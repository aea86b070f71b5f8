package dashboard_test

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// tradingTimeout is the provider timeout of TestBrowserTrading's server.
const tradingTimeout = 3 * time.Second

// TestBrowserTrading drives two boards in headless Chromium against the
// real server (web/e2e/trading.mjs): a trader's and an analyst's. The
// trader suspends a market from the board (through the dashboard's trader
// route and trading.Desk) and the analyst's board shows it suspended, with
// its reason, within a second; the same for re-opening, and for suspending
// and re-opening the whole game. A provider that quotes once and goes
// silent past the server's provider timeout turns down on the analyst's
// provider strip within a second of the timeout and its quotes are greyed
// "provider down"; when it quotes
// again it is up and its new quotes are not greyed.
func TestBrowserTrading(t *testing.T) {
	root := harness.ModuleRoot()
	webDir := filepath.Join(root, "web")
	browserPreflight(t, webDir)

	s := newStackVars(t, false, map[string]string{"ODDSFEED_PROVIDER_TIMEOUT": tradingTimeout.String()})
	keys := map[string]string{}
	for _, p := range providers {
		keys[p] = s.keys[p]
	}
	keyJSON, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	runE2E(t, webDir, "trading.mjs", 2*time.Minute,
		"ODDSFEED_URL="+s.URL, "E2E_TRADER="+traderUser, "E2E_ANALYST="+analystUser, "E2E_PASSWORD="+password,
		"E2E_ADMIN_KEY="+s.adminKey, "E2E_GAME=trade-e2e", "E2E_PROVIDERS="+strings.Join(providers, ","),
		"E2E_PROVIDER_KEYS="+string(keyJSON), "E2E_TIMEOUT_MS="+strconv.FormatInt(tradingTimeout.Milliseconds(), 10))
}

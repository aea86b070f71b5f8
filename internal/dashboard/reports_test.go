package dashboard_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// TestBrowserReports drives the reports page in headless Chromium
// (web/e2e/reports.mjs) with the /v1 API mocked in the browser and the
// dashboard's pages and sign-in real: time suspended per game, market and
// reason (the top 10, game names, reason, ongoing), provider outages
// (count, longest, total, last down, down now), the settlement summary
// (settled, cancelled, rolled back per market, totals) with the results per
// outcome, and the margin per market type and provider (percentages, the
// lowest marked) each render the mocked numbers; the shared window
// selector asks the four market reports again; without reporting (404)
// every section says so. ODDSFEED_REPORTS_SCREENSHOT=<file> keeps a
// screenshot of the page.
func TestBrowserReports(t *testing.T) {
	root := harness.ModuleRoot()
	webDir := filepath.Join(root, "web")
	browserPreflight(t, webDir)

	hash := dashboard.HashPasswordIter(password, dashboard.MinIterations)
	users := map[string]dashboard.UserEntry{
		"ana": {Principal: auth.Principal{Name: "ana", Role: auth.RoleAnalyst}, PasswordHash: hash},
	}
	_, base := newDashServer(t, dashboard.Options{Keys: auth.NewKeyring(), Users: users})
	runE2E(t, webDir, "reports.mjs", 2*time.Minute,
		"ODDSFEED_URL="+base, "E2E_USER=ana", "E2E_PASSWORD="+password,
		"E2E_SCREENSHOT="+os.Getenv("ODDSFEED_REPORTS_SCREENSHOT"))
}

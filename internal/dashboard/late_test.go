package dashboard_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// TestBrowserLateOdds drives the board and the game page in headless
// Chromium (web/e2e/late.mjs) through late odds and corrections:
//
//   - with the stream mocked in the browser, frames fed one by one: a late
//     tick (and an older one not marked late) never replaces the board's
//     current price, a correction of the current tick does, a late
//     correction does not, and the board conflates per game and provider;
//     the game page puts every tick in its place in time on the chart and in
//     the tick table, and a correction replaces its tick's point and row;
//   - end to end through the real server: odds posted at T2, then at an
//     earlier T1 (streamed marked late), then a correction of T2 (streamed
//     as version 2, marked correction): the board keeps the T2 price, then
//     shows the corrected one; the game page, open all along, has T0 (seeded),
//     T1 and T2 in time order, and T2 once, corrected.
func TestBrowserLateOdds(t *testing.T) {
	root := harness.ModuleRoot()
	webDir := filepath.Join(root, "web")
	browserPreflight(t, webDir)

	s := newStack(t)
	now := time.Now().UTC()
	unit, game := "late-unit", "late-e2e"
	for i, id := range []string{unit, game} {
		g := feed.Game{ID: id, Sport: "soccer", Summary: "Fulham @ Brentford", HomeTeam: "Brentford", AwayTeam: "Fulham",
			Venue: "Gtech", Status: feed.StatusLive, GameDate: now.Add(-time.Duration(20+i) * time.Minute).Truncate(time.Minute)}
		s.mustDo(t, "PUT", "/v1/games/"+id, s.adminKey, g)
	}
	// The end-to-end game's first tick of each provider, T0, in the
	// reporting database before the game page reads its history.
	t0 := now.Add(-10 * time.Minute)
	for i, prov := range providers[:2] {
		o := feed.Odds{GameID: game, Provider: prov, ObservedAt: t0, AwaySpread: -0.5, HomeSpread: 0.5, AwayOdds: -140, HomeOdds: 120 + 5*i}
		s.mustDo(t, "POST", "/v1/odds", s.keys[prov], map[string]any{"odds": []feed.Odds{o}})
	}
	waitMovement(t, s, game, 2)

	keys := map[string]string{}
	for _, prov := range providers[:2] {
		keys[prov] = s.keys[prov]
	}
	keyJSON, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}

	runE2E(t, webDir, "late.mjs", 3*time.Minute,
		"ODDSFEED_URL="+s.URL, "E2E_USER="+analystUser, "E2E_PASSWORD="+password,
		"E2E_UNIT_GAME="+unit, "E2E_GAME="+game, "E2E_T0="+t0.Format(time.RFC3339Nano),
		"E2E_PROVIDERS="+strings.Join(providers[:2], ","), "E2E_PROVIDER_KEYS="+string(keyJSON))
}

// waitMovement waits until the reporting database's line movement of a game
// has points of n providers (the sync is asynchronous).
func waitMovement(t *testing.T, s *stack, gameID string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var m struct {
			Providers []json.RawMessage `json:"providers"`
		}
		code, body := s.do(t, "GET", "/v1/reports/games/"+gameID+"/movement", s.analystKey, nil)
		if code == 200 && json.Unmarshal(body, &m) == nil && len(m.Providers) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reporting database has no line movement of %d providers for %s after 30s: %d %.300s", n, gameID, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

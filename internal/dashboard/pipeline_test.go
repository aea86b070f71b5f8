package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
)

// TestBrowserPipeline drives the pipeline page in headless Chromium
// (web/e2e/pipeline.mjs) on the real server fed by the provider simulator
// (internal/simulate, as `oddsfeed simulate` runs it), with and without
// Postgres: both consumers (broadcast and, with Postgres, reporting) with
// their shards, changes/s and lag, the hub's clients and deliveries/s, the
// rate and lag charts, and with Postgres the dead letters and their replay;
// without it, the page says reporting needs Postgres. With
// ODDSFEED_SCREENSHOTS=1 it writes docs/pipeline.png (the Postgres run).
func TestBrowserPipeline(t *testing.T) {
	root := harness.ModuleRoot()
	webDir := filepath.Join(root, "web")
	browserPreflight(t, webDir)
	for _, postgres := range []bool{false, true} {
		name := map[bool]string{false: "embedded", true: "postgres"}[postgres]
		t.Run(name, func(t *testing.T) {
			s := newStackWith(t, postgres)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			simulated := make(chan error, 1)
			simCtx, stopSim := context.WithCancel(ctx)
			go func() {
				_, err := simulate.Run(simCtx, simulate.Options{BaseURL: s.URL, Key: s.keys[providers[0]], Games: 12, Rate: 150, Batch: 25, Seed: 7})
				simulated <- err
			}()
			defer func() {
				stopSim()
				if err := <-simulated; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("simulator: %v", err)
				}
			}()

			consumers := []string{"broadcast"}
			if postgres {
				consumers = append(consumers, "reporting")
				waitMovement(t, s, "sim-1", 1) // the simulator's games reached Postgres
				parkDeadLetter(t, s, "sim-1")
			}
			checkStatusAPI(t, s, consumers, postgres)

			shot := ""
			if postgres && os.Getenv("ODDSFEED_SCREENSHOTS") == "1" {
				shot = filepath.Join(root, "docs", "pipeline.png")
			}
			pg := "0"
			if postgres {
				pg = "1"
			}
			runE2E(t, webDir, "pipeline.mjs", 3*time.Minute, "ODDSFEED_URL="+s.URL, "E2E_USER="+analystUser, "E2E_PASSWORD="+password,
				"E2E_ADMIN_KEY="+s.adminKey, "E2E_POSTGRES="+pg, "E2E_SCREENSHOT="+shot)
		})
	}
}

// checkStatusAPI reads GET /v1/pipeline as an analyst: the consumers in
// order, the reporting part only with Postgres.
func checkStatusAPI(t *testing.T, s *stack, consumers []string, postgres bool) {
	t.Helper()
	var st app.PipelineStatus
	if err := json.Unmarshal(s.mustDo(t, "GET", "/v1/pipeline", s.analystKey, nil), &st); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range st.Consumers {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != strings.Join(consumers, ",") {
		t.Errorf("GET /v1/pipeline consumers = %v, want %v", names, consumers)
	}
	if (st.Reporting != nil) != postgres {
		t.Errorf("GET /v1/pipeline reporting = %+v with Postgres %v", st.Reporting, postgres)
	}
	if code, _ := s.do(t, "GET", "/v1/pipeline", "", nil); code != 401 {
		t.Errorf("GET /v1/pipeline without credentials = %d, want 401", code)
	}
}

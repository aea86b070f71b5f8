package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
)

// TestLogsCarryRequestIDsNotSecrets: one JSON log line per request with its
// request id (also in the X-Request-Id answer header); keys, the database
// password and dev keys never reach the log.
func TestLogsCarryRequestIDsNotSecrets(t *testing.T) {
	dir := t.TempDir()
	dsn := reportingDB(t)
	cfg, err := app.LoadConfig(func(k string) string {
		return map[string]string{"ODDSFEED_DATA_DIR": dir, "ODDSFEED_DATABASE_URL": dsn}[k] // no keys: dev keys are generated
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	srv, err := app.NewServer(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	key, err := app.DevKey(dir, auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "dev-keys.txt")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dev keys file: %v %v", info, err)
	}
	var ids []string
	for _, h := range []http.Header{{"Authorization": {"Bearer " + key}}, {"X-Api-Key": {key}}, {"Authorization": {"Bearer wrong-" + key}}} {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/games?status=live", nil)
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		if id == "" {
			t.Fatal("no X-Request-Id")
		}
		ids = append(ids, id)
	}
	out := logs.String()
	for _, id := range ids {
		found := false
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %s", line)
			}
			if rec["request_id"] == id {
				found = true
			}
		}
		if !found {
			t.Errorf("no log line for request %s", id)
		}
	}
	devKeys, _ := os.ReadFile(filepath.Join(dir, "dev-keys.txt"))
	for _, line := range strings.Split(string(devKeys), "\n") {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(line, "#") && strings.Contains(out, f[2]) {
			t.Errorf("the log contains the %s key", f[1])
		}
	}
	if strings.Contains(out, dsn) {
		t.Error("the log contains the database URL")
	}
}

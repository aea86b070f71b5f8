package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
)

// TestLogsCarryRequestIDsNotSecrets: one JSON log line per request with its
// request id (also in the X-Request-Id answer header); keys, the database
// URL and its password and dev keys never reach the log. The server runs as
// main runs it, reporting sync and partition upkeep included, and its whole
// log, from start to shutdown, is searched.
func TestLogsCarryRequestIDsNotSecrets(t *testing.T) {
	dir := t.TempDir()
	dsn, password := reportingDBWithPassword(t)
	if u, err := url.Parse(dsn); err != nil || u.User == nil || !strings.HasPrefix(u.User.String(), u.User.Username()+":secret") {
		t.Fatalf("the database URL %v carries no password", u)
	}
	vars := map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": dir, "ODDSFEED_DATABASE_URL": dsn} // no keys: dev keys are generated
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: func(k string) string { return vars[k] }, Stdout: pw, Stderr: &logs})
		pw.Close()
	}()
	base, err := app.ListeningURL(pr)
	if err != nil {
		t.Fatalf("server did not start: %v (%v)\n%s", err, drain(done), logs.String())
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // keep stdout flowing

	key, err := app.DevKey(dir, auth.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "dev-keys.txt")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dev keys file: %v %v", info, err)
	}
	// Postgres in use: the sync applies a game and its odds.
	provider, err := app.DevKey(dir, auth.RoleProvider)
	if err != nil {
		t.Fatal(err)
	}
	prov := client{t, base, provider}
	prov.want(201, "PUT", "/v1/games/g1", map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	if status, err := post(base, provider, []oddsJSON{{GameID: "g1", ObservedAt: time.Now().UTC(), AwaySpread: 0.5, HomeSpread: -0.5, AwayOdds: 100, HomeOdds: -110}}); err != nil || status != 200 {
		t.Fatalf("post odds: %d %v", status, err)
	}
	eventually(t, 30*time.Second, "the odds in Postgres", func() bool { return len(reportTicks(t, dsn)) == 1 })

	var ids []string
	for _, h := range []http.Header{{"Authorization": {"Bearer " + key}}, {"X-Api-Key": {key}}, {"Authorization": {"Bearer wrong-" + key}}} {
		req, _ := http.NewRequest("GET", base+"/v1/games?status=live", nil)
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
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not shut down within 20s")
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
	for _, secret := range []string{dsn, password, "secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q (the database URL or its password):\n%s", secret, out)
		}
	}
}

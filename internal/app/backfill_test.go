package app_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
)

// TestBackfillCommand loads a feed store that has never been synced into
// Postgres with `oddsfeed backfill`; a second run changes nothing.
func TestBackfillCommand(t *testing.T) {
	k := newKeys()
	dir := t.TempDir()
	base, cmd := startChild(t, dir, k.spec)
	games := []string{"b1", "b2"}
	for _, g := range games {
		client{t, base, k.provider}.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "cricket", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	stop := make(chan struct{})
	time.AfterFunc(700*time.Millisecond, func() { close(stop) })
	postStream(base, k.provider, games, 0, stop)
	want := storeTicks(t, client{t, base, k.analyst}, games)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	dsn := reportingDB(t)
	getenv := func(key string) string {
		return map[string]string{"ODDSFEED_DATA_DIR": dir, "ODDSFEED_DATABASE_URL": dsn}[key]
	}
	for run := range 2 {
		var out bytes.Buffer
		args := []string{"backfill", "-segments", "3"}
		if run == 1 {
			args = append(args, "-restart")
		}
		if err := app.Run(context.Background(), app.Env{Args: args, Getenv: getenv, Stdout: &out, Stderr: &out}); err != nil {
			t.Fatalf("backfill: %v\n%s", err, out.String())
		}
		got := reportTicks(t, dsn)
		if len(got) != len(want) || checksum(got) != checksum(want) {
			t.Fatalf("run %d: postgres has %d rows, the store %d", run, len(got), len(want))
		}
		if run == 0 {
			t.Logf("backfilled %d odds; progress output:\n%s", len(got), lastLines(out.String(), 3))
		}
	}
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

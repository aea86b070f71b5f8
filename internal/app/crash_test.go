package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// commitLogEnv names a file to which a child server (startChildEnv)
// appends one byte per commit of its embedded store's odds writer: 'S' for
// a commit synced to disk before the writes it served were answered, 'U'
// for one that was not. A crash test cannot see durability otherwise: the
// page cache outlives a SIGKILL.
const commitLogEnv = "ODDSFEED_TEST_COMMIT_LOG"

func init() {
	path := os.Getenv(commitLogEnv)
	if path == "" || os.Getenv(childServerEnv) == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		panic(err)
	}
	embedded.CommitHook = func(synced bool) {
		b := []byte{'U'}
		if synced {
			b[0] = 'S'
		}
		_, _ = f.Write(b) // in the page cache before the writes are answered
	}
}

// startChild runs `oddsfeed serve` in a child process (this test binary,
// re-executed) on the given data directory and returns its URL and process.
func startChild(t *testing.T, dataDir, keySpec string) (string, *exec.Cmd) {
	t.Helper()
	return startChildEnv(t, map[string]string{"ODDSFEED_DATA_DIR": dataDir, "ODDSFEED_API_KEYS": keySpec})
}

// startChildEnv runs `oddsfeed serve` in a child process with vars as its
// configuration, on a free port.
func startChildEnv(t *testing.T, vars map[string]string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childServerEnv+"=1", "ODDSFEED_LOG_LEVEL=warn")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "ODDSFEED_ADDR=127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url, err := app.ListeningURL(out)
	if err != nil {
		t.Fatalf("child server did not start: %v", err)
	}
	return url, cmd
}

// TestCrashLosesNoAcknowledgedOdds SIGKILLs the server in the middle of a
// stream of posts; after a restart on the same data every odds item that
// was acknowledged with a 2xx is readable.
func TestCrashLosesNoAcknowledgedOdds(t *testing.T) {
	k := newKeys()
	dir := t.TempDir()
	commits := filepath.Join(t.TempDir(), "commits")
	url, cmd := startChildEnv(t, map[string]string{"ODDSFEED_DATA_DIR": dir, "ODDSFEED_API_KEYS": k.spec, commitLogEnv: commits})
	prov := client{t, url, k.provider}
	games := []string{"crash-1", "crash-2", "crash-3"}
	for _, g := range games {
		prov.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "tennis", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}

	base := time.Now().UTC().Add(-time.Hour)
	var mu sync.Mutex
	acked := map[string][]time.Time{} // game -> acknowledged observedAt
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				var items []oddsJSON
				for j := range 50 {
					at := base.Add(time.Duration((w*1_000_000+i*50+j)*1000) * time.Nanosecond)
					items = append(items, oddsJSON{GameID: games[j%len(games)], ObservedAt: at, AwaySpread: 0.5, HomeSpread: -0.5, AwayOdds: -105, HomeOdds: 105})
				}
				status, err := post(url, k.provider, items)
				if err != nil {
					return // the server is gone
				}
				if status == 200 {
					mu.Lock()
					for _, it := range items {
						acked[it.GameID] = append(acked[it.GameID], it.ObservedAt)
					}
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 30*time.Second, "odds to be acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked[games[0]]) >= 500
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cancel()
	wg.Wait()

	total := 0
	for _, ts := range acked {
		total += len(ts)
	}
	if total == 0 {
		t.Fatal("no odds were acknowledged before the kill")
	}
	// The acknowledged odds were synced to disk, not only written to the
	// page cache (which a SIGKILL keeps, so reading them back below
	// cannot tell).
	log, err := os.ReadFile(commits)
	if err != nil {
		t.Fatalf("the server's commit log: %v", err)
	}
	synced, unsynced := bytes.Count(log, []byte("S")), bytes.Count(log, []byte("U"))
	if synced == 0 || unsynced > 0 {
		t.Fatalf("of the server's %d odds commits, %d were synced to disk: want all", synced+unsynced, synced)
	}
	t.Logf("%d odds acknowledged before SIGKILL, in %d commits synced to disk", total, synced)

	url2, _ := startChild(t, dir, k.spec)
	ana := client{t, url2, k.analyst}
	for g, want := range acked {
		got := map[time.Time]bool{}
		path := "/v1/games/" + g + "/odds?limit=1000"
		for {
			var page struct {
				Odds       []oddsJSON `json:"odds"`
				NextCursor string     `json:"nextCursor"`
			}
			ana.want(200, "GET", path, nil, &page)
			for _, o := range page.Odds {
				got[o.ObservedAt.UTC()] = true
			}
			if page.NextCursor == "" {
				break
			}
			path = "/v1/games/" + g + "/odds?limit=1000&cursor=" + page.NextCursor
		}
		missing := 0
		for _, at := range want {
			if !got[at.UTC()] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("game %s: %d of %d acknowledged odds lost after the crash", g, missing, len(want))
		}
	}
}

// post sends a batch without failing the test: after SIGKILL, errors are expected.
func post(base, key string, items []oddsJSON) (int, error) {
	req, err := newJSONRequest("POST", base+"/v1/odds", map[string]any{"odds": items}, key)
	if err != nil {
		return 0, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

package dashboard_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/localpg"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
)

// TestReadme follows README.md's "Two commands" on the embedded default,
// as a user would: the binary built from ./cmd/oddsfeed runs `oddsfeed
// serve -demo` from a fresh, empty working directory (so its data goes to
// ./data there) with nothing configured, starts its own PostgreSQL under
// ./data/postgres and generates ./data/dev-keys.txt; then in headless
// Chromium (web/e2e/readme.mjs) the dev-analyst key from that file signs in
// through the sign-in form, the board moves, the reports show numbers and
// the pipeline page shows both consumers (broadcast and reporting) with
// their shards. Finally SIGTERM stops the server cleanly, and its Postgres
// with it.
func TestReadme(t *testing.T) {
	began := time.Now()
	root := harness.ModuleRoot()
	webDir := filepath.Join(root, "web")
	browserPreflight(t, webDir)
	if _, err := localpg.BinDir(""); err != nil {
		t.Fatalf("the README's reports need PostgreSQL's server binaries (apt-get install -y postgresql): %v", err)
	}

	bin := filepath.Join(t.TempDir(), "oddsfeed")
	build := exec.Command("go", "build", "-o", bin, "./cmd/oddsfeed")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/oddsfeed: %v\n%s", err, out)
	}
	t.Logf("built oddsfeed in %v", time.Since(began).Round(time.Millisecond))

	work := readmeWorkDir(t)
	dataDir := filepath.Join(work, "data")
	srv := startReadmeServer(t, bin, work)
	t.Logf("server ready at %s after %v", srv.url, time.Since(began).Round(time.Millisecond))

	// The README: the first serve generates the dev keys into
	// ./data/dev-keys.txt, mode 0600.
	keysFile := filepath.Join(dataDir, "dev-keys.txt")
	if fi, err := os.Stat(keysFile); err != nil {
		t.Fatalf("serve made no ./data/dev-keys.txt: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("./data/dev-keys.txt has mode %v, want 0600", fi.Mode().Perm())
	}
	analystKey := readmeDevKey(t, keysFile, "dev-analyst")
	if strings.Contains(srv.logs.String(), analystKey) {
		t.Errorf("the server logged the dev-analyst key")
	}
	// Its own Postgres runs under ./data/postgres.
	pgDir := filepath.Join(dataDir, "postgres")
	pgPID := postmasterPID(t, pgDir)

	var names []string
	for _, p := range simulate.DefaultProviders {
		names = append(names, p.Name)
	}
	runE2E(t, webDir, "readme.mjs", 2*time.Minute, "ODDSFEED_URL="+srv.url, "E2E_KEY="+analystKey,
		"E2E_PROVIDERS="+strings.Join(names, ","))

	// SIGTERM: a graceful shutdown that stops the private Postgres too.
	stopped := time.Now()
	if err := srv.stop(45 * time.Second); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	t.Logf("server stopped in %v", time.Since(stopped).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(pgDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Postgres's postmaster.pid is still there after the server stopped (%v)", err)
	}
	if processAlive(pgPID) {
		t.Errorf("Postgres (pid %d) still runs after the server stopped", pgPID)
	}
	t.Logf("TestReadme took %v", time.Since(began).Round(time.Millisecond))
}

// readmeWorkDir makes the fresh working directory serve runs in, under
// os.TempDir() with mode 0755: the tests run as root here, and the private
// Postgres runs as the postgres OS user, which must be able to enter every
// directory on the way to ./data (t.TempDir's directories are 0700). At the
// end any Postgres still running there is stopped and the directory removed.
func readmeWorkDir(t *testing.T) string {
	t.Helper()
	work, err := os.MkdirTemp("", "oddsfeed-readme")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pgDir := filepath.Join(work, "data", "postgres")
		if _, err := os.Stat(filepath.Join(pgDir, "PG_VERSION")); err == nil {
			if pg, err := localpg.New(localpg.Options{Dir: pgDir}); err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if err := pg.Stop(ctx); err != nil {
					t.Errorf("stop the Postgres left in %s: %v", pgDir, err)
				}
				cancel()
			}
		}
		os.RemoveAll(work)
	})
	return work
}

// readmeServer is `oddsfeed serve -demo` running in a child process.
type readmeServer struct {
	url    string
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan struct{} // closed once the process has exited
	err    error         // Wait's result, once exited is closed
}

// startReadmeServer runs the binary the README's way, `serve -demo` in
// work, with the inherited environment minus every ODDSFEED_* variable (the
// README's run command sets none) plus ODDSFEED_ADDR: a free port rather
// than the default 127.0.0.1:8080, which may be taken on this machine. It
// returns once the listening line is printed and /readyz answers 200.
func startReadmeServer(t *testing.T, bin, work string) *readmeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ODDSFEED_") {
			env = append(env, kv)
		}
	}
	s := &readmeServer{logs: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "-demo")
	s.cmd.Dir = work
	s.cmd.Env = append(env, "ODDSFEED_ADDR="+addr)
	s.cmd.Stderr = s.logs
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start oddsfeed serve -demo: %v", err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), app.ListeningPrefix); ok {
				select {
				case listening <- u:
				default:
				}
			}
		}
		close(listening)
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("server log (without its request lines but the last 20):\n%s", s.logs.tail(20))
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	select {
	case u, ok := <-listening:
		if !ok {
			<-s.exited
			t.Fatalf("serve ended before its listening line (%v)", s.err)
		}
		s.url = u
	case <-time.After(time.Until(deadline)):
		t.Fatalf("serve printed no listening line within 60s")
	}
	if want := "http://" + addr; s.url != want {
		t.Errorf("serve listens on %s, want %s (ODDSFEED_ADDR)", s.url, want)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(s.url + "/readyz")
		status := 0
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		if status == http.StatusOK {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz did not answer 200 within 60s of the start: %d %v", status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits up to timeout for a clean exit (status 0).
func (s *readmeServer) stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.exited:
		return s.err
	case <-time.After(timeout):
		return fmt.Errorf("did not exit within %v of SIGTERM", timeout)
	}
}

// readmeDevKey returns the key of principal name from a dev-keys.txt
// (lines "name role key"; # comments).
func readmeDevKey(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == name {
			return f[2]
		}
	}
	t.Fatalf("%s has no %s key", path, name)
	return ""
}

// postmasterPID waits (up to 60 s: serve starts its Postgres beside the
// listener, and initdb takes seconds on a slow machine) for the Postgres of
// pgDir and returns its PID (the first line of its postmaster.pid).
func postmasterPID(t *testing.T, pgDir string) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
			if err == nil && pid > 0 {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve runs no Postgres of its own under ./data/postgres after 60s: %v %q", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processAlive says whether pid runs (a zombie, exited but not yet reaped
// by its new parent, counts as gone).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// lockedBuffer is an io.Writer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// tail returns the log without its "request" lines, except the last n.
func (l *lockedBuffer) tail(n int) string {
	lines := strings.SplitAfter(l.String(), "\n")
	var b strings.Builder
	for i, line := range lines {
		if i >= len(lines)-n || !strings.Contains(line, `"msg":"request"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

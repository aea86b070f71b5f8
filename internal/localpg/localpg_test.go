package localpg_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/localpg"
)

// testDir returns a directory the postgres OS user can reach when the test
// runs as root (t.TempDir's parent is closed to it), removed at the end.
func testDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func newServer(t *testing.T, dir string) *localpg.Server {
	t.Helper()
	s, err := localpg.New(localpg.Options{Dir: filepath.Join(dir, "postgres"), Database: "app", User: "app"})
	if errors.Is(err, localpg.ErrNoBinaries) {
		t.Fatalf("%v: install PostgreSQL's server binaries (apt-get install postgresql; .ci/run does)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func query(t *testing.T, dsn, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLifecycle: created on first start, reachable on its socket only,
// stopped, started again with its data, adopted when left running, and
// recovered after its postmaster was SIGKILLed (a stale postmaster.pid).
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := testDir(t)
	s := newServer(t, dir)
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	if adopted, err := s.Start(ctx); err != nil || adopted {
		t.Fatalf("first start: adopted %v, %v", adopted, err)
	}
	if got := query(t, s.DSN(), "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want none (socket only)", got)
	}
	query(t, s.DSN(), "SELECT 'x' FROM (SELECT 1) t") // the database exists
	conn, _ := pgx.Connect(ctx, s.DSN())
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('one')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid after stop: %v", err)
	}
	if adopted, err := s.Start(ctx); err != nil || adopted {
		t.Fatalf("second start: adopted %v, %v", adopted, err)
	}
	if got := query(t, s.DSN(), "SELECT v FROM kept"); got != "one" {
		t.Fatalf("kept = %q", got)
	}

	// A process that dies leaves the server running: the next one adopts it.
	if adopted, err := newServer(t, dir).Start(ctx); err != nil || !adopted {
		t.Fatalf("start beside a running server: adopted %v, %v", adopted, err)
	}

	// The server itself killed: its stale postmaster.pid does not stop the
	// next start, which recovers the data.
	pidFile, err := os.ReadFile(filepath.Join(s.Dir(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // until the kernel has reaped it
	}
	if adopted, err := newServer(t, dir).Start(ctx); err != nil || adopted {
		t.Fatalf("start after SIGKILL of postgres: adopted %v, %v", adopted, err)
	}
	if got := query(t, s.DSN(), "SELECT v FROM kept"); got != "one" {
		t.Fatalf("kept after recovery = %q", got)
	}
}

func TestBinDirMissing(t *testing.T) {
	if _, err := localpg.BinDir(t.TempDir()); !errors.Is(err, localpg.ErrNoBinaries) {
		t.Fatalf("BinDir(empty dir) = %v, want ErrNoBinaries", err)
	}
}

func TestSocketPathTooLong(t *testing.T) {
	_, err := localpg.New(localpg.Options{Dir: filepath.Join("/tmp", strings.Repeat("d", 120))})
	if err == nil || !(errors.Is(err, localpg.ErrNoBinaries) || strings.Contains(err.Error(), "socket path")) {
		t.Fatalf("New with a long path = %v", err)
	}
}

// TestRootNeedsAReachableDirectory: run as root, the server runs as the
// postgres OS user, which cannot enter t.TempDir()'s parent (mode 0700):
// New says which directory stops it, before anything is created.
func TestRootNeedsAReachableDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only as root")
	}
	if _, err := localpg.BinDir(""); err != nil {
		t.Fatalf("%v: install PostgreSQL's server binaries (apt-get install postgresql; .ci/run does)", err)
	}
	parent := t.TempDir()
	if err := os.Chmod(filepath.Dir(parent), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := localpg.New(localpg.Options{Dir: filepath.Join(parent, "data", "postgres")})
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+filepath.Dir(parent)) {
		t.Fatalf("New = %v, want an error naming %s", err, filepath.Dir(parent))
	}
}

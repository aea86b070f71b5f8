package app_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/localpg"
)

// The other tests' servers in child processes, SIGKILLed by their tests,
// would leave their private Postgres running in a t.TempDir (and racing its
// removal) when the tests run as another user than root (as root, the
// postgres user cannot enter t.TempDir and no Postgres starts): children
// inherit ODDSFEED_LOCAL_POSTGRES=off unless a test asks otherwise. Servers
// run in-process (Getenv from a map) are unaffected, and stop theirs.
func init() {
	if _, set := os.LookupEnv("ODDSFEED_LOCAL_POSTGRES"); !set {
		os.Setenv("ODDSFEED_LOCAL_POSTGRES", "off")
	}
}

// privatePGDir returns a fresh data directory for a server that runs its
// private Postgres (failing the test on a machine without PostgreSQL's
// binaries): under a directory the postgres OS user can reach when the test
// runs as root (t.TempDir's parent is closed to it). At the end any server
// left running there (by a SIGKILLed child) is stopped and the directory
// removed.
func privatePGDir(t *testing.T) (dataDir, dsn string) {
	t.Helper()
	if _, err := localpg.BinDir(""); errors.Is(err, localpg.ErrNoBinaries) {
		t.Fatalf("%v: install PostgreSQL's server binaries (apt-get install postgresql; .ci/run does)", err)
	}
	parent, err := os.MkdirTemp("", "oddsfeed-pg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o711); err != nil {
		t.Fatal(err)
	}
	dataDir = filepath.Join(parent, "data")
	pgDir := filepath.Join(dataDir, "postgres")
	t.Cleanup(func() {
		if srv, err := localpg.New(localpg.Options{Dir: pgDir}); err == nil {
			_ = srv.Stop(context.Background())
		}
		os.RemoveAll(parent)
	})
	u := url.URL{Scheme: "postgres", User: url.User("oddsfeed"), Path: "/oddsfeed",
		RawQuery: url.Values{"host": {pgDir}, "sslmode": {"disable"}}.Encode()}
	return dataDir, u.String()
}

// runServeLogged runs serve through app.Run as main does (the private
// Postgres is wired there, not in NewServer), with vars, and
// returns its URL, its log, and stop, which shuts it down (SIGINT's path)
// and returns Run's error; stop also runs when the test ends.
func runServeLogged(t *testing.T, vars map[string]string) (base string, logs *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	logs = &syncBuffer{}
	go func() {
		done <- app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: func(k string) string { return vars[k] }, Stdout: pw, Stderr: logs})
		pw.Close()
	}()
	var stopped bool
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("server did not shut down within 30s")
			}
		}
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base, err = app.ListeningURL(pr)
	if err != nil {
		t.Fatalf("server did not start: %v (%v)\n%s", err, drain(done), logs.String())
	}
	return base, logs, stop
}

// movementPoints returns the observation times in game's line movement
// report (the reports API, from Postgres), or nil while it fails.
func movementPoints(c client, game string, from time.Time) []time.Time {
	var m struct {
		Providers []struct {
			Points []struct {
				ObservedAt time.Time `json:"observedAt"`
			} `json:"points"`
		} `json:"providers"`
	}
	if c.do("GET", "/v1/reports/games/"+game+"/movement?limit=10000&from="+url.QueryEscape(from.Format(time.RFC3339Nano)), nil, &m) != 200 {
		return nil
	}
	var at []time.Time
	for _, p := range m.Providers {
		for _, pt := range p.Points {
			at = append(at, pt.ObservedAt.UTC())
		}
	}
	return at
}

// TestServeReportsOnTheEmbeddedDefault: `serve` as the README runs it (no
// ODDSFEED_DATABASE_URL, a fresh data directory) creates, starts and
// migrates its own Postgres; posted odds reach the reports API; shutdown
// stops that Postgres.
func TestServeReportsOnTheEmbeddedDefault(t *testing.T) {
	dataDir, _ := privatePGDir(t)
	k := newKeys()
	base, logs, stop := runServeLogged(t, map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": dataDir, "ODDSFEED_API_KEYS": k.spec})
	prov, ana := client{t, base, k.provider}, client{t, base, k.analyst}
	prov.want(201, "PUT", "/v1/games/pg-1", map[string]any{"sport": "tennis", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	from := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var posted []time.Time
	var items []oddsJSON
	for i := range 20 {
		at := from.Add(time.Duration(i) * time.Second)
		posted = append(posted, at)
		items = append(items, oddsJSON{GameID: "pg-1", ObservedAt: at, AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: 100 + i, HomeOdds: -110})
	}
	if status, err := post(base, k.provider, items); err != nil || status != 200 {
		t.Fatalf("post odds: %d %v", status, err)
	}
	eventually(t, 60*time.Second, "the odds in the reports API", func() bool {
		return slices.Equal(movementPoints(ana, "pg-1", from.Add(-time.Minute)), posted)
	})
	if !strings.Contains(logs.String(), "private PostgreSQL ready for reports") {
		t.Errorf("no log line of the private PostgreSQL")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("the private PostgreSQL still runs after shutdown (postmaster.pid: %v)", err)
	}
}

// TestPrivatePostgresSurvivesServerSIGKILL: the server is SIGKILLed while
// odds are synced; its Postgres lives on, the next server adopts it and the
// sync goes on from its checkpoint: Postgres ends up with exactly the
// store's odds, none lost, none twice.
func TestPrivatePostgresSurvivesServerSIGKILL(t *testing.T) {
	dataDir, dsn := privatePGDir(t)
	k := newKeys()
	vars := map[string]string{"ODDSFEED_DATA_DIR": dataDir, "ODDSFEED_API_KEYS": k.spec, "ODDSFEED_LOCAL_POSTGRES": "auto"}
	base, cmd := startChildEnv(t, vars)
	games := []string{"kill-1", "kill-2"}
	for _, g := range games {
		client{t, base, k.provider}.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	stop := make(chan struct{})
	acked := make(chan int, 1)
	go func() { acked <- postStream(base, k.provider, games, 1, stop) }()
	// Kill it once Postgres has some of the odds, while more are synced.
	eventually(t, 60*time.Second, "odds in Postgres", func() bool { return tickCount(dsn) >= 200 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(stop)
	if n := <-acked; n == 0 {
		t.Fatal("no odds acknowledged before the kill")
	}
	if tickCount(dsn) < 0 {
		t.Fatal("the private Postgres did not outlive the server")
	}
	pid := postmasterPID(t, dataDir)

	base2, _ := startChildEnv(t, vars)
	c := client{t, base2, k.analyst}
	want := storeTicks(t, c, games)
	eventually(t, 60*time.Second, "Postgres to hold the store's odds", func() bool { return tickCount(dsn) >= len(want) })
	got := reportTicks(t, dsn)
	if len(got) != len(want) || checksum(got) != checksum(want) {
		t.Fatalf("Postgres has %d odds (checksum %s), the store %d (checksum %s): lost or doubled", len(got), checksum(got), len(want), checksum(want))
	}
	if again := postmasterPID(t, dataDir); again != pid {
		t.Errorf("the next server restarted Postgres (pid %s, then %s) instead of adopting it", pid, again)
	}
	t.Logf("%d odds synced across the SIGKILL", len(got))
}

// postmasterPID is the first line of the private Postgres' postmaster.pid.
func postmasterPID(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(string(b), "\n", 2)[0]
}

// tickCount counts the rows of odds_ticks, -1 while Postgres does not answer.
func tickCount(dsn string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM odds_ticks").Scan(&n); err != nil {
		return -1
	}
	return n
}

// TestServeWithoutPrivatePostgres: with ODDSFEED_LOCAL_POSTGRES=off, or no
// PostgreSQL binaries, the server runs without reports (the reports API
// answers 404) and its log says in one line how to get them.
func TestServeWithoutPrivatePostgres(t *testing.T) {
	for name, c := range map[string]struct{ vars map[string]string }{
		"off":         {map[string]string{"ODDSFEED_LOCAL_POSTGRES": "off"}},
		"no binaries": {map[string]string{"ODDSFEED_POSTGRES_BIN": "EMPTY"}},
	} {
		t.Run(name, func(t *testing.T) {
			k := newKeys()
			dataDir := t.TempDir()
			vars := map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": dataDir, "ODDSFEED_API_KEYS": k.spec}
			for key, v := range c.vars {
				if v == "EMPTY" {
					v = t.TempDir()
				}
				vars[key] = v
			}
			base, logs, stop := runServeLogged(t, vars)
			prov, ana := client{t, base, k.provider}, client{t, base, k.analyst}
			prov.want(201, "PUT", "/v1/games/np-1", map[string]any{"sport": "golf", "gameDate": time.Now().UTC(), "status": "live"}, nil)
			ana.want(200, "GET", "/v1/games/np-1", nil, nil)
			if got := ana.do("GET", "/v1/reports/movers", nil, nil); got != 404 {
				t.Errorf("GET /v1/reports/movers = %d, want 404 (no reports API)", got)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			var hints []string
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "ODDSFEED_DATABASE_URL") {
					hints = append(hints, line)
				}
			}
			want := app.ReportsHint
			if name == "off" {
				want = "ODDSFEED_LOCAL_POSTGRES=off"
			}
			if len(hints) != 1 || !strings.Contains(hints[0], want) {
				t.Errorf("want one log line with %q, got %q", want, hints)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "postgres")); !os.IsNotExist(err) {
				t.Errorf("a postgres directory was made: %v", err)
			}
		})
	}
}

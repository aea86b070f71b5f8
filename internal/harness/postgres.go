package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/localpg"
)

// PostgresServer is a PostgreSQL server for tests: one started by
// [StartPostgres] or, when TEST_DATABASE_URL is set, that external server.
type PostgresServer struct {
	Service
	// DSN connects to the "postgres" database as a superuser. Tests should
	// prefer a database of their own from NewDatabase.
	DSN string

	mu      sync.Mutex       // guards the fields below and Service.proc
	command func() *exec.Cmd // a fresh command of the server, same port and data; nil when external
	probe   func() error     // readiness probe
	paused  bool
	stopped bool
}

// StartPostgres returns a running PostgreSQL server. If TEST_DATABASE_URL is
// set, it checks that the server there answers and uses it (Stop then does
// nothing). Otherwise it runs initdb in a temporary directory and starts
// postgres on a free port of 127.0.0.1, durability off, as the "postgres" OS
// user when the test runs as root. The DSN is then
// "postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable" (trust auth).
func StartPostgres() (*PostgresServer, error) {
	const name = "postgres"
	if dsn := os.Getenv("TEST_DATABASE_URL"); dsn != "" {
		if _, err := dsnWithDatabase(dsn, "postgres"); err != nil {
			return nil, fmt.Errorf("%s: TEST_DATABASE_URL: %w", name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pingPostgres(ctx, dsn); err != nil {
			return nil, fmt.Errorf("%s: TEST_DATABASE_URL is set but its server does not answer: %w", name, err)
		}
		return &PostgresServer{Service: Service{Name: name, URL: dsn}, DSN: dsn}, nil
	}

	bin, err := postgresBinDir()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cred, err := localpg.RunAs() // postgres refuses to run as root
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dir, err := newTempDir(name)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, name+".log")
	dataDir := filepath.Join(dir, "data")
	if cred != nil {
		// The temporary directory must be reachable by the postgres user;
		// the default temp dir (/tmp) is, and MkdirTemp makes it 0700.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	env := append(os.Environ(), "LC_ALL=C", "LANG=C")

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", dataDir, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = dir, env, sysProcAttr(cred)
	p, err := startProc(name, initdb, logPath, syscall.SIGKILL, 0)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	select {
	case <-p.exited:
		err = p.waitErr
	case <-time.After(startTimeout):
		err = fmt.Errorf("initdb did not finish in %v", startTimeout)
		p.kill()
	}
	if err != nil {
		err = startErr(name, logPath, fmt.Errorf("initdb: %w", err))
		os.RemoveAll(dir)
		return nil, err
	}

	var (
		command func() *exec.Cmd
		probe   func() error
	)
	s, err := launch(name, dir, syscall.SIGINT, 10*time.Second, func() (*exec.Cmd, string, func() error, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, "", nil, err
		}
		port := ports[0]
		command = func() *exec.Cmd {
			cmd := exec.Command(filepath.Join(bin, "postgres"),
				"-D", dataDir,
				"-p", strconv.Itoa(port),
				"-k", dir,
				"-c", "listen_addresses=127.0.0.1",
				"-c", "fsync=off",
				"-c", "synchronous_commit=off",
				"-c", "full_page_writes=off",
				"-c", "max_connections=200",
			)
			cmd.Dir, cmd.Env, cmd.SysProcAttr = dir, env, sysProcAttr(cred)
			return cmd
		}
		dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		probe = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return pingPostgres(ctx, dsn)
		}
		return command(), dsn, probe, nil
	})
	if err != nil {
		return nil, err
	}
	ps := &PostgresServer{DSN: s.URL, command: command, probe: probe}
	ps.Name, ps.URL, ps.Dir, ps.Log, ps.proc = s.Name, s.URL, s.Dir, s.Log, s.proc
	return ps, nil
}

// Stop stops the server (nothing for TEST_DATABASE_URL) and removes its
// temporary directory, data included; a paused server is only removed.
func (p *PostgresServer) Stop() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	return p.Service.Stop()
}

// PID returns the process id of the server (also its process group id), or
// 0 for an external server or while paused.
func (p *PostgresServer) PID() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Service.PID()
}

// Pause stops the server with a fast shutdown (open sessions are ended,
// connections fail from then on) but keeps its data directory and port, for
// tests of an outage: [PostgresServer.Resume] starts it again. Pausing a
// paused server does nothing. It fails for the external server of
// TEST_DATABASE_URL and after Stop.
func (p *PostgresServer) Pause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.controllable("pause"); err != nil || p.paused {
		return err
	}
	// SIGINT is postgres's fast shutdown; kill escalates to SIGKILL after
	// the grace period. Either way the data directory stays.
	err := p.proc.kill()
	p.proc, p.paused = nil, true
	if err != nil {
		return fmt.Errorf("%s: pause: %w", p.Name, err)
	}
	return nil
}

// Resume starts a paused server again on the same port and data directory
// and returns once it accepts connections. Resuming a running server does
// nothing. It fails for the external server of TEST_DATABASE_URL, after
// Stop, and when the server does not come up (its port taken meanwhile,
// say); the server then stays paused.
func (p *PostgresServer) Resume() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.controllable("resume"); err != nil || !p.paused {
		return err
	}
	pr, err := startProc(p.Name, p.command(), p.Log, syscall.SIGINT, 10*time.Second)
	if err != nil {
		return fmt.Errorf("%s: resume: %w", p.Name, err)
	}
	if err := pr.waitReady(p.probe); err != nil {
		if kerr := pr.kill(); kerr != nil {
			err = errors.Join(err, kerr)
		}
		return startErr(p.Name, p.Log, fmt.Errorf("resume: %w", err))
	}
	p.proc, p.paused = pr, false
	return nil
}

// controllable reports why the server cannot be paused or resumed, if so.
func (p *PostgresServer) controllable(op string) error {
	switch {
	case p.command == nil:
		return fmt.Errorf("postgres: cannot %s the external server of TEST_DATABASE_URL", op)
	case p.stopped:
		return fmt.Errorf("%s: cannot %s: stopped", p.Name, op)
	}
	return nil
}

// postgresBinDir finds the directory of the server binaries as the server
// does for its private Postgres: PATH, else the newest
// /usr/lib/postgresql/*/bin.
func postgresBinDir() (string, error) {
	dir, err := localpg.BinDir("")
	if err != nil {
		return "", fmt.Errorf("%w; install them: apt-get install -y postgresql (or set TEST_DATABASE_URL to a server of yours)", err)
	}
	return dir, nil
}

func pingPostgres(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// NewDatabase creates an empty database on the server, named after the test,
// and returns its DSN (p.DSN with the database replaced). The database is
// dropped, with any connections still open to it, when tb ends. It calls
// tb.Fatal on failure.
func (p *PostgresServer) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := databaseName(tb.Name())
	dsn, err := dsnWithDatabase(p.DSN, name)
	if err != nil {
		tb.Fatalf("harness: NewDatabase: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("harness: NewDatabase: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("harness: dropping test database %s: %v", name, err)
		}
	})
	return dsn
}

// admin runs one statement on the server's maintenance database.
func (p *PostgresServer) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseName derives a unique database name (at most 63 bytes, lower case
// letters, digits and _) from a test name.
func databaseName(testName string) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 44 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	b.WriteString("_")
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

// dsnWithDatabase returns the postgres:// URL dsn with its database replaced.
func dsnWithDatabase(dsn, database string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", fmt.Errorf("%q is not a postgres://user@host:port/database URL", redact(dsn))
	}
	u.Path = "/" + database
	u.RawPath = ""
	return u.String(), nil
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return dsn
}

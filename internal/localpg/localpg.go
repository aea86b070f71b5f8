// Package localpg runs a private PostgreSQL server in a directory of its
// own (oddsfeed's data directory's postgres/), from the machine's server
// binaries: created with initdb on first start, reachable only through a
// unix socket in that directory (no TCP; trust authentication on the
// socket, whose directory only the server's OS user can enter), started
// with pg_ctl and stopped with a fast shutdown. A server left running by a
// process that was killed is found through its socket and adopted.
//
// Postgres refuses to run as root: when the caller is root the server runs
// as the "postgres" OS user (Debian's package makes it), which then owns
// the directory.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries: the PostgreSQL server binaries were not found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (postgres, initdb, pg_ctl) not found")

// binaries are the programs a server needs, all in one directory.
var binaries = []string{"postgres", "initdb", "pg_ctl"}

// BinDir finds the directory of the server binaries: dir when not empty,
// else that of postgres in PATH (symlinks resolved), else the newest
// Debian /usr/lib/postgresql/<version>/bin. The error wraps ErrNoBinaries.
func BinDir(dir string) (string, error) {
	var dirs []string
	if dir != "" {
		dirs = []string{dir}
	} else {
		if p, err := exec.LookPath("postgres"); err == nil {
			if r, err := filepath.EvalSymlinks(p); err == nil {
				dirs = append(dirs, filepath.Dir(r))
			}
			dirs = append(dirs, filepath.Dir(p))
		}
		versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(versions, func(i, j int) bool { // newest first, numerically
			vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(versions[i])))
			vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(versions[j])))
			return vi > vj
		})
		dirs = append(dirs, versions...)
	}
	for _, d := range dirs {
		ok := true
		for _, b := range binaries {
			ok = ok && isExecutable(filepath.Join(d, b))
		}
		if ok {
			return d, nil
		}
	}
	if dir != "" {
		return "", fmt.Errorf("%w in %s", ErrNoBinaries, dir)
	}
	return "", fmt.Errorf("%w in PATH or /usr/lib/postgresql/*/bin", ErrNoBinaries)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// RunAs returns the credential to run the server's programs with: nil
// (the caller's own) unless the caller is root, then the "postgres" OS
// user's.
func RunAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("postgres refuses to run as root and there is no \"postgres\" OS user to run it as (%v); "+
			"apt-get install postgresql makes one (or useradd --system postgres)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Options configure a Server.
type Options struct {
	// Dir is the cluster's directory (created); its socket is in it too.
	Dir string
	// BinDir is the directory of the server binaries ("" = BinDir's search).
	BinDir string
	// Database is created on start when missing; User is the superuser
	// that initdb makes. Defaults: "postgres" for both.
	Database, User string
	Logger         *slog.Logger
}

// Server is a PostgreSQL server in a directory of its own.
type Server struct {
	o    Options
	bin  string
	cred *syscall.Credential
	log  *slog.Logger
}

// maxSocketPath is the longest unix socket path (sockaddr_un.sun_path
// holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// New checks that a server can run in o.Dir (binaries, OS user, socket
// path length, the directory reachable by that user) without starting it.
func New(o Options) (*Server, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	o.Dir = dir
	if o.Database == "" {
		o.Database = "postgres"
	}
	if o.User == "" {
		o.User = "postgres"
	}
	s := &Server{o: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.bin, err = BinDir(o.BinDir); err != nil {
		return nil, err
	}
	if s.cred, err = RunAs(); err != nil {
		return nil, err
	}
	if sock := s.socketPath(); len(sock) > maxSocketPath {
		return nil, fmt.Errorf("its socket path %s is longer than the %d bytes a unix socket allows: choose a shorter data directory", sock, maxSocketPath)
	}
	if s.cred != nil {
		if err := reachable(filepath.Dir(dir), s.cred); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) socketPath() string { return filepath.Join(s.o.Dir, ".s.PGSQL.5432") }

// Dir is the cluster's directory; LogPath the server's log file in it.
func (s *Server) Dir() string     { return s.o.Dir }
func (s *Server) LogPath() string { return filepath.Join(s.o.Dir, "server.log") }

// DSN is the URL of the database through the unix socket.
func (s *Server) DSN() string { return s.dsn(s.o.Database) }

func (s *Server) dsn(database string) string {
	u := url.URL{Scheme: "postgres", User: url.User(s.o.User), Host: "", Path: "/" + database,
		RawQuery: url.Values{"host": {s.o.Dir}, "sslmode": {"disable"}}.Encode()}
	return u.String()
}

// Start creates the cluster if there is none, starts the server (or adopts
// one already running there: that of a killed process), and creates the
// database. It returns once the database accepts connections; adopted says
// whether the server was running already.
func (s *Server) Start(ctx context.Context) (adopted bool, err error) {
	if err := s.initdb(ctx); err != nil {
		return false, err
	}
	if err := s.writeConf(); err != nil {
		return false, err
	}
	if s.running(ctx) {
		// Left by a process that was killed (pg_ctl starts the server in a
		// session of its own, so it outlives it), or still starting or
		// recovering: adopt it once it answers, else stop it.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.waitReady(wctx)
		cancel()
		if err == nil {
			s.log.Info("adopted the running PostgreSQL server", "dir", s.o.Dir)
			return true, s.ensureDatabase(ctx)
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		s.log.Warn("a PostgreSQL server runs in the directory but does not answer; stopping it", "dir", s.o.Dir, "err", err)
		if err := s.Stop(ctx); err != nil {
			return false, err
		}
	}
	// pg_ctl start copes with a stale postmaster.pid (a dead PID) and the
	// server recovers from its WAL after a crash.
	if out, err := s.run(ctx, "pg_ctl", "start", "-D", s.o.Dir, "-l", s.LogPath(), "-w", "-t", "300", "-s"); err != nil {
		return false, fmt.Errorf("pg_ctl start: %v: %s (see %s)", err, out, s.LogPath())
	}
	return false, s.ensureDatabase(ctx)
}

// Stop stops the server with a fast shutdown (sessions ended, no new
// ones), if it runs, and waits until it has.
func (s *Server) Stop(ctx context.Context) error {
	if !s.running(ctx) {
		return nil
	}
	if out, err := s.run(ctx, "pg_ctl", "stop", "-D", s.o.Dir, "-m", "fast", "-w", "-t", "60", "-s"); err != nil {
		if !s.running(context.WithoutCancel(ctx)) {
			return nil
		}
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// running reports whether pg_ctl sees a live server in the directory.
func (s *Server) running(ctx context.Context) bool {
	if _, err := os.Stat(filepath.Join(s.o.Dir, "PG_VERSION")); err != nil {
		return false
	}
	_, err := s.run(ctx, "pg_ctl", "status", "-D", s.o.Dir)
	return err == nil // 3: no server running
}

// initdb creates the cluster unless it exists: in a directory beside it,
// renamed into place once complete, so that an interrupted initdb leaves
// no half cluster.
func (s *Server) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.o.Dir, "PG_VERSION")); err == nil {
		return nil
	}
	if ents, err := os.ReadDir(s.o.Dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty and holds no PostgreSQL cluster (no PG_VERSION): move it away", s.o.Dir)
	}
	tmp := s.o.Dir + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := s.chown(tmp); err != nil {
		return err
	}
	start := time.Now()
	if out, err := s.run(ctx, "initdb", "-D", tmp, "-U", s.o.User, "--auth-local=trust", "--auth-host=reject",
		"--encoding=UTF8", "--locale=C"); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(tmp, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("\n# Written by oddsfeed at each start: socket only, no TCP.\ninclude_if_exists = 'oddsfeed.conf'\n")
	if err := errors.Join(err, f.Close()); err != nil {
		return err
	}
	_ = os.Remove(s.o.Dir) // empty, if there
	if err := os.Rename(tmp, s.o.Dir); err != nil {
		return err
	}
	s.log.Info("created a PostgreSQL cluster", "dir", s.o.Dir, "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// writeConf writes the settings that depend on where the directory is now.
func (s *Server) writeConf() error {
	quote := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	conf := "listen_addresses = ''\n" +
		"unix_socket_directories = " + quote(s.o.Dir) + "\n" +
		"unix_socket_permissions = 0700\n"
	path := filepath.Join(s.o.Dir, "oddsfeed.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	return s.chown(path)
}

// waitReady polls until the server answers or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		err := s.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (s *Server) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.o.Database).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.o.Database}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", s.o.Database, err)
		}
	}
	return nil
}

// run runs one of the server's programs as the server's OS user, in a
// process group of its own that is killed when ctx ends.
func (s *Server) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = "/" // the caller's directory may be closed to the server's user
	cmd.Env = []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG=") {
			cmd.Env = append(cmd.Env, kv) // not the caller's PGPORT, PGHOST, PGDATA...
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (s *Server) chown(path string) error {
	if s.cred == nil {
		return nil
	}
	return os.Chown(path, int(s.cred.Uid), int(s.cred.Gid))
}

// reachable checks that the user of cred can enter dir (the cluster's
// parent): every directory on the way must be searchable by it. The parent
// itself, when only its owner may enter, is opened to searches by others
// (mode o+x: they still cannot list it); a directory above it is not
// changed: the error names it.
func reachable(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	searchable := func(d string) (os.FileInfo, bool, error) {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, false, err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		return fi, mode&0o001 != 0 ||
			(st != nil && st.Uid == cred.Uid && mode&0o100 != 0) ||
			(st != nil && st.Gid == cred.Gid && mode&0o010 != 0), nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, ok, err := searchable(d)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the postgres OS user cannot enter %s (mode %v), on the way to %s: run oddsfeed as another user than root, or choose a data directory it can reach", d, fi.Mode().Perm(), dir)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	fi, ok, err := searchable(dir)
	if err != nil || ok {
		return err
	}
	return os.Chmod(dir, fi.Mode().Perm()|0o001)
}

package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Need selects services for [Start] and [Run]; combine with |.
type Need uint

const (
	DynamoDB Need = 1 << iota // DynamoDB Local
	Kinesis                   // kinesis-mock
	Postgres                  // PostgreSQL (or TEST_DATABASE_URL)
)

func (n Need) String() string {
	var parts []string
	for _, x := range []struct {
		n    Need
		name string
	}{{DynamoDB, "DynamoDB"}, {Kinesis, "Kinesis"}, {Postgres, "Postgres"}} {
		if n&x.n != 0 {
			parts = append(parts, x.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Env holds the services started by [Start] or [Run]; a field is nil when its
// service was not requested.
type Env struct {
	DynamoDB *Service
	Kinesis  *Service
	Postgres *PostgresServer
}

// Start starts the requested services in parallel. On error the services
// that did start are stopped again, and the error names every failure.
func Start(needs Need) (*Env, error) {
	env := &Env{}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	if needs&DynamoDB != 0 {
		wg.Go(func() {
			s, err := StartDynamoDB()
			if err != nil {
				fail(err)
				return
			}
			env.DynamoDB = s
		})
	}
	if needs&Kinesis != 0 {
		wg.Go(func() {
			s, err := StartKinesis()
			if err != nil {
				fail(err)
				return
			}
			env.Kinesis = s
		})
	}
	if needs&Postgres != 0 {
		wg.Go(func() {
			s, err := StartPostgres()
			if err != nil {
				fail(err)
				return
			}
			env.Postgres = s
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		env.Stop()
		return nil, errors.Join(errs...)
	}
	return env, nil
}

// Stop stops every service of e. It is safe to call more than once.
func (e *Env) Stop() error {
	if e == nil {
		return nil
	}
	var errs []error
	if e.DynamoDB != nil {
		errs = append(errs, e.DynamoDB.Stop())
	}
	if e.Kinesis != nil {
		errs = append(errs, e.Kinesis.Stop())
	}
	if e.Postgres != nil {
		errs = append(errs, e.Postgres.Stop())
	}
	return errors.Join(errs...)
}

// Run is the whole body of a TestMain: it starts the needed services, stores
// them in *env, runs the tests, stops the services and exits with the tests'
// exit code. If a service cannot start, it prints why (and how to install
// what is missing) to stderr and exits 1 without running any test.
func Run(m *testing.M, env **Env, needs Need) {
	os.Exit(run(m, env, needs))
}

func run(m *testing.M, env **Env, needs Need) int {
	e, err := Start(needs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nFAIL: harness: cannot start test services (%v):\n%v\n\n", needs, indent(err.Error()))
		return 1
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "harness: stopping test services: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	*env = nil
	return code
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the working directory (go test runs tests in their package directory). It
// panics if there is none.
func ModuleRoot() string {
	root, err := moduleRoot()
	if err != nil {
		panic("harness: " + err.Error())
	}
	return root
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any parent directory", dir)
		}
		d = parent
	}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment
// ago. Another process may take one before the service binds it; the Start
// functions retry with new ports when a service reports a port clash.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Timing of service start and stop.
const (
	startTimeout = 90 * time.Second // generous: CI runs several packages at once on 2 cores
	pollEvery    = 50 * time.Millisecond
	attempts     = 3 // starts tried when a port turns out to be taken
)

// Service is one running service process.
type Service struct {
	Name string // "dynamodb", "kinesis" or "postgres"
	URL  string // endpoint; for Postgres the DSN
	Dir  string // temporary directory of the service, removed by Stop; "" for an external server
	Log  string // file that receives the process's stdout and stderr

	proc     *proc
	stopOnce sync.Once
	stopErr  error
}

// PID returns the process id of the service (also its process group id), or
// 0 for an external server.
func (s *Service) PID() int {
	if s == nil || s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Stop stops the service's process group (see the package documentation)
// and removes its temporary directory. It is safe to call more than once and
// on nil.
func (s *Service) Stop() error {
	if s == nil {
		return nil
	}
	s.stopOnce.Do(func() {
		var errs []error
		if s.proc != nil {
			errs = append(errs, s.proc.kill())
		}
		if s.Dir != "" {
			errs = append(errs, os.RemoveAll(s.Dir))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// tempPrefix starts the names of the harness's temporary directories; the
// test binary's PID follows, so leftovers of dead runs can be recognised.
const tempPrefix = "oddsfeed-harness-"

var sweepOnce sync.Once

// newTempDir makes a temporary directory for one service, first removing
// those left by test binaries that died without stopping their services.
func newTempDir(name string) (string, error) {
	sweepOnce.Do(sweepStale)
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", tempPrefix, os.Getpid(), name))
	if err != nil {
		return "", fmt.Errorf("%s: creating a temporary directory: %w", name, err)
	}
	return dir, nil
}

func sweepStale() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), tempPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
}

// proc is a started child process in its own process group.
type proc struct {
	name    string
	cmd     *exec.Cmd
	log     string
	logFrom int64          // size of the log when this process started
	stopSig syscall.Signal // first signal on stop (to the process; SIGKILL to the group)
	grace   time.Duration  // wait after stopSig before SIGKILL
	exited  chan struct{}  // closed once the process has been reaped
	waitErr error          // valid after exited is closed
}

// sysProcAttr puts a child in its own process group and has the kernel kill
// it when the test binary dies. cred, if not nil, runs it as another user.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// startProc starts cmd with its output appended to logPath.
func startProc(name string, cmd *exec.Cmd, logPath string, stopSig syscall.Signal, grace time.Duration) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(f, "harness: starting %s\n", strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = sysProcAttr(nil)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", name, cmd.Path, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, logFrom: fi.Size(), stopSig: stopSig, grace: grace, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill stops the process: stopSig to it (SIGKILL goes to the whole group),
// then SIGKILL to the group after the grace period; it waits until the
// process is reaped and no process of its group is left.
func (p *proc) kill() error {
	pgid := p.cmd.Process.Pid
	signal := func(sig syscall.Signal) { _ = syscall.Kill(-pgid, sig) }
	if p.stopSig == syscall.SIGKILL {
		signal(syscall.SIGKILL)
	} else {
		// The main process alone gets the polite signal: it shuts its
		// children down itself (postgres does).
		_ = syscall.Kill(pgid, p.stopSig)
		select {
		case <-p.exited:
		case <-time.After(p.grace):
			signal(syscall.SIGKILL)
		}
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: process %d did not exit after SIGKILL", p.name, pgid)
	}
	// Children of the main process (postgres backends) leave shortly after it.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: processes of group %d still running after stop", p.name, pgid)
		}
		signal(syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// errRetry marks a start failure worth retrying on new ports.
var errRetry = errors.New("port clash")

// waitReady polls probe until it returns nil. It fails when the process
// exits, when its log reports a port clash (errRetry), when probe returns an
// error wrapping errRetry, or after startTimeout.
func (p *proc) waitReady(probe func() error) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for {
		if p.hasExited() {
			if p.portClash() {
				return fmt.Errorf("%w: process exited: %v", errRetry, p.waitErr)
			}
			return fmt.Errorf("process exited during start (%v)", p.waitErr)
		}
		last = probe()
		if last == nil {
			return nil
		}
		if errors.Is(last, errRetry) {
			return last
		}
		if p.portClash() {
			return fmt.Errorf("%w: %v", errRetry, last)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", startTimeout, last)
		}
		time.Sleep(pollEvery)
	}
}

// portClash reports whether the process logged that its port was taken.
func (p *proc) portClash() bool {
	f, err := os.Open(p.log)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, p.logFrom, 1<<30))
	if err != nil {
		return false
	}
	s := string(b)
	return strings.Contains(s, "EADDRINUSE") || strings.Contains(s, "Address already in use") ||
		strings.Contains(s, "BindException")
}

// logTail returns the last n lines of the file at path, for error messages.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startErr formats a start failure with the tail of the service's log.
func startErr(name, logPath string, err error) error {
	return fmt.Errorf("%s: %w\n--- last lines of %s ---\n%s\n---", name, err, logPath, logTail(logPath, 20))
}

// launch starts a service process with up to [attempts] tries: for each,
// build makes the command for fresh ports and returns it with the service's
// URL and a readiness probe. On success the returned Service owns dir.
func launch(name, dir string, stopSig syscall.Signal, grace time.Duration,
	build func() (cmd *exec.Cmd, url string, probe func() error, err error)) (*Service, error) {
	logPath := filepath.Join(dir, name+".log")
	var err error
	for range attempts {
		var (
			cmd   *exec.Cmd
			url   string
			probe func() error
			p     *proc
		)
		cmd, url, probe, err = build()
		if err != nil {
			break
		}
		p, err = startProc(name, cmd, logPath, stopSig, grace)
		if err != nil {
			break
		}
		if err = p.waitReady(probe); err == nil {
			return &Service{Name: name, URL: url, Dir: dir, Log: logPath, proc: p}, nil
		}
		if kerr := p.kill(); kerr != nil {
			err = errors.Join(err, kerr)
		}
		if !errors.Is(err, errRetry) {
			break
		}
		// The log keeps growing across attempts; mark the restart.
		if f, ferr := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0); ferr == nil {
			fmt.Fprintf(f, "harness: %v; retrying on other ports\n", err)
			f.Close()
		}
	}
	err = startErr(name, logPath, err)
	os.RemoveAll(dir)
	return nil, err
}

// lookTool finds an executable in PATH or fails naming the apt package.
func lookTool(name, aptPackages string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH; install it: apt-get install -y %s", name, aptPackages)
	}
	return path, nil
}

// emulatorsDir returns internal/harness/emulators of the module, checking
// that its npm packages are installed.
func emulatorsDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "internal", "harness", "emulators")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		return "", fmt.Errorf("emulators not installed (%s missing): run `npm ci --prefix internal/harness/emulators` (make test does this)",
			filepath.Join(dir, "node_modules"))
	}
	return dir, nil
}

func missingEmulator(path string) error {
	return fmt.Errorf("%s missing: run `npm ci --prefix internal/harness/emulators` (make test does this)", path)
}

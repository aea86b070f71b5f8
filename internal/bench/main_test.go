package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
)

const (
	// childServeEnv, when set, makes the test binary run `oddsfeed serve`
	// instead of the benchmarks (see startServerProcess).
	childServeEnv = "ODDSFEED_BENCH_CHILD_SERVE"
	// serverProfileEnv names a file for the server process's CPU profile.
	serverProfileEnv = "ODDSFEED_BENCH_SERVER_CPUPROFILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(childServeEnv) != "" {
		os.Exit(childServe())
	}
	os.Exit(m.Run())
}

// childServe is main for a server process: serve until SIGTERM.
func childServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv(serverProfileEnv); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	err := app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startServerProcess runs `oddsfeed serve` (this test binary, re-executed,
// as main runs it) in its own process with vars as its configuration, and
// returns its base URL; the server is stopped with SIGTERM when the
// benchmark ends. It inherits the environment (GOGC, GODEBUG) except
// ODDSFEED_* settings; ODDSFEED_BENCH_SERVER_CPUPROFILE=<file> profiles it.
func startServerProcess(b testing.TB, vars map[string]string) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ODDSFEED_") || strings.HasPrefix(kv, serverProfileEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childServeEnv+"=1")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	url, err := app.ListeningURL(out)
	if err != nil {
		b.Fatalf("server process did not start: %v", err)
	}
	return url
}

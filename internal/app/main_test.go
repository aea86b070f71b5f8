package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

var env *harness.Env

// childServerEnv, when set, makes the test binary run `oddsfeed serve`
// instead of the tests: the crash test starts and SIGKILLs such children.
const childServerEnv = "ODDSFEED_TEST_CHILD_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(childServerEnv) != "" {
		err := app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	harness.Run(m, &env, harness.DynamoDB|harness.Kinesis|harness.Postgres)
}

// serve starts the server through app.Run, as main does, on port 0, and
// returns its base URL. It stops when the test ends.
func serve(t *testing.T, vars map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	getenv := func(k string) string { return vars[k] }
	logs := &syncBuffer{}
	go func() {
		done <- app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: getenv, Stdout: pw, Stderr: logs})
		pw.Close()
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("server did not shut down within 20s")
		}
	})
	url, err := app.ListeningURL(pr)
	if err != nil {
		t.Fatalf("server did not start: %v (%v)", err, drain(done))
	}
	return url
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func drain(done chan error) error {
	select {
	case err := <-done:
		return err
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

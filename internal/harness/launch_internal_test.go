package harness

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLaunchRetriesPortClash checks that a start whose log reports a port
// clash is retried, and that other failures report the log's last lines.
func TestLaunchRetriesPortClash(t *testing.T) {
	dir, err := newTempDir("fake")
	if err != nil {
		t.Fatal(err)
	}
	tries := 0
	s, err := launch("fake", dir, syscall.SIGTERM, time.Second, func() (*exec.Cmd, string, func() error, error) {
		tries++
		if tries == 1 {
			return exec.Command("sh", "-c", "echo 'listen EADDRINUSE: address already in use'; exit 1"), "", func() error { return errors.New("not yet") }, nil
		}
		// The log now holds the first attempt's clash: it must not count
		// against this one once the process is ready.
		ready := time.Now().Add(200 * time.Millisecond)
		return exec.Command("sleep", "60"), "fake://ok", func() error {
			if time.Now().Before(ready) {
				return errors.New("not yet")
			}
			return nil
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tries != 2 || s.URL != "fake://ok" {
		t.Errorf("tries = %d, URL = %q", tries, s.URL)
	}
	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		t.Errorf("process %d survived Stop", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir %s survived Stop: %v", dir, err)
	}
}

func TestLaunchFailureShowsLog(t *testing.T) {
	dir, err := newTempDir("fake")
	if err != nil {
		t.Fatal(err)
	}
	_, err = launch("fake", dir, syscall.SIGTERM, time.Second, func() (*exec.Cmd, string, func() error, error) {
		return exec.Command("sh", "-c", "for i in $(seq 1 30); do echo line$i; done; exit 3"), "", func() error { return errors.New("not yet") }, nil
	})
	if err == nil {
		t.Fatal("launch succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "line30") || !strings.Contains(msg, "line11") || strings.Contains(msg, "line10\n") {
		t.Errorf("error does not hold the last 20 log lines:\n%s", msg)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir %s not removed after failed start", dir)
	}
}

func TestDatabaseName(t *testing.T) {
	n := databaseName("TestSomething/with spaces and a very long name that goes on and on and on")
	if len(n) > 63 || !strings.HasPrefix(n, "t_testsomething_with_spaces") {
		t.Errorf("databaseName = %q (%d bytes)", n, len(n))
	}
	if n == databaseName("TestSomething/with spaces and a very long name that goes on and on and on") {
		t.Error("databaseName is not unique")
	}
	got, err := dsnWithDatabase("postgres://u:p@h:5/postgres?sslmode=disable", "x")
	if err != nil || got != "postgres://u:p@h:5/x?sslmode=disable" {
		t.Errorf("dsnWithDatabase = %q, %v", got, err)
	}
	if _, err := dsnWithDatabase("host=h dbname=d", "x"); err == nil {
		t.Error("keyword/value DSN accepted")
	}
}

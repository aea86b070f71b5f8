package harness_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// TestPostgresPauseResume stops a server of its own with its data kept,
// checks that it is unreachable, starts it again and finds the data.
func TestPostgresPauseResume(t *testing.T) {
	t.Setenv("TEST_DATABASE_URL", "") // a server of this test's own
	p, err := harness.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	run := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, p.DSN)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := run("CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	// A session open across the pause is ended by the fast shutdown.
	ctx := context.Background()
	held, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(ctx)

	pid := p.PID()
	if err := p.Pause(); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if !gone(pid) || !gone(-pid) || p.PID() != 0 {
		t.Errorf("server process %d still there after Pause (PID() = %d)", pid, p.PID())
	}
	if err := run("SELECT 1"); err == nil {
		t.Error("a connection succeeded while paused")
	}
	if _, err := held.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a session opened before Pause still works")
	}
	if err := p.Pause(); err != nil {
		t.Errorf("second Pause: %v", err)
	}

	if err := p.Resume(); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if p.PID() <= 0 || gone(p.PID()) {
		t.Errorf("PID %d not running after Resume", p.PID())
	}
	var id int
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatalf("connect after Resume: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT id FROM kept").Scan(&id); err != nil || id != 42 {
		t.Errorf("data after Resume: id %d, %v", id, err)
	}
	if err := p.Resume(); err != nil {
		t.Errorf("Resume of a running server: %v", err)
	}

	// Stop removes a paused server's data; it cannot be resumed after.
	if err := p.Pause(); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop of a paused server: %v", err)
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s not removed (%v)", p.Dir, err)
	}
	if err := p.Resume(); err == nil {
		t.Error("Resume after Stop succeeded")
	}
}

func TestExternalPostgresCannotPause(t *testing.T) {
	t.Setenv("TEST_DATABASE_URL", env.Postgres.DSN)
	p, err := harness.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	for name, op := range map[string]func() error{"Pause": p.Pause, "Resume": p.Resume} {
		if err := op(); err == nil || !strings.Contains(err.Error(), "TEST_DATABASE_URL") {
			t.Errorf("%s of the external server: err = %v", name, err)
		}
	}
	checkPostgres(t, env.Postgres.DSN)
}

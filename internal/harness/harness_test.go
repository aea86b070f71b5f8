package harness_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.DynamoDB|harness.Kinesis|harness.Postgres)
}

// post sends an unsigned AWS JSON request and returns the answer.
func post(t *testing.T, url, target, contentType string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func checkDynamoDB(t *testing.T, s *harness.Service) {
	t.Helper()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("DynamoDB URL = %q", s.URL)
	}
	resp, body := post(t, s.URL, "DynamoDB_20120810.ListTables", "application/x-amz-json-1.0")
	if resp.Header.Get("X-Amzn-Requestid") == "" || !strings.Contains(body, "dynamodb") {
		t.Errorf("DynamoDB answered %s %q", resp.Status, body)
	}
}

func checkKinesis(t *testing.T, s *harness.Service) {
	t.Helper()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("Kinesis URL = %q", s.URL)
	}
	resp, body := post(t, s.URL, "Kinesis_20131202.ListStreams", "application/x-amz-json-1.1")
	if resp.Header.Get("X-Amzn-Requestid") == "" || !strings.Contains(body, "MissingAuthenticationToken") {
		t.Errorf("Kinesis answered %s %q", resp.Status, body)
	}
}

func checkPostgres(t *testing.T, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestRunStartsServices(t *testing.T) {
	checkDynamoDB(t, env.DynamoDB)
	checkKinesis(t, env.Kinesis)
	checkPostgres(t, env.Postgres.DSN)
}

func TestNewDatabase(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) {
		dsn = env.Postgres.NewDatabase(t)
		if !strings.Contains(dsn, "/t_testnewdatabase_inner_") {
			t.Errorf("DSN %q does not name the test's database", dsn)
		}
		checkPostgres(t, dsn)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must not depend on it being closed.
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int)"); err != nil {
			t.Fatal(err)
		}
	})
	// The database is gone once the subtest has ended.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, env.Postgres.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := dsn[strings.LastIndex(dsn, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestStartStop starts a second set of services and checks that Stop leaves
// no process and no temporary directory behind.
func TestStartStop(t *testing.T) {
	e, err := harness.Start(harness.DynamoDB | harness.Kinesis | harness.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	services := []*harness.Service{e.DynamoDB, e.Kinesis, &e.Postgres.Service}
	for _, s := range services {
		if s.PID() <= 0 || gone(s.PID()) {
			t.Fatalf("%s: PID %d not running", s.Name, s.PID())
		}
		if _, err := os.Stat(s.Log); err != nil {
			t.Errorf("%s: log: %v", s.Name, err)
		}
	}
	checkDynamoDB(t, e.DynamoDB)
	checkKinesis(t, e.Kinesis)
	checkPostgres(t, e.Postgres.DSN)

	if err := e.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, s := range services {
		if !gone(s.PID()) {
			t.Errorf("%s: PID %d still exists after Stop", s.Name, s.PID())
		}
		if !gone(-s.PID()) {
			t.Errorf("%s: process group %d still has processes after Stop", s.Name, s.PID())
		}
		if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: temporary directory %s not removed (%v)", s.Name, s.Dir, err)
		}
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestExternalPostgres(t *testing.T) {
	t.Setenv("TEST_DATABASE_URL", env.Postgres.DSN)
	p, err := harness.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	if p.DSN != env.Postgres.DSN || p.PID() != 0 {
		t.Errorf("external server: DSN %q PID %d", p.DSN, p.PID())
	}
	checkPostgres(t, p.NewDatabase(t))
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	checkPostgres(t, env.Postgres.DSN) // Stop left the external server alone

	t.Setenv("TEST_DATABASE_URL", "postgres://nobody@127.0.0.1:1/x?sslmode=disable")
	if _, err := harness.StartPostgres(); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("unreachable TEST_DATABASE_URL: err = %v", err)
	}
}

func TestMissingToolsAreNamed(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := harness.StartDynamoDB(); err == nil || !strings.Contains(err.Error(), "apt-get install -y openjdk-17-jre-headless") {
		t.Errorf("StartDynamoDB without java: err = %v", err)
	}
	if _, err := harness.StartKinesis(); err == nil || !strings.Contains(err.Error(), "apt-get install -y nodejs npm") {
		t.Errorf("StartKinesis without node: err = %v", err)
	}
}

func TestModuleRoot(t *testing.T) {
	if _, err := os.Stat(harness.ModuleRoot() + "/internal/harness/harness.go"); err != nil {
		t.Error(err)
	}
}

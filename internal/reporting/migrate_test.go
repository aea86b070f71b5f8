package reporting_test

import (
	"context"
	"database/sql"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

func TestMigrateUpDownUp(t *testing.T) {
	dsn := env.Postgres.NewDatabase(t)
	ctx := context.Background()
	run := func(cmd string) string {
		t.Helper()
		var out strings.Builder
		if err := reporting.Migrate(ctx, dsn, cmd, &out); err != nil {
			t.Fatalf("migrate %s: %v", cmd, err)
		}
		return out.String()
	}
	steps := []struct{ cmd, want string }{
		{"status", "pending"},
		{"up", "00006_market_status.sql"},
		{"version", "version 6"},
		{"up", "no pending migrations"},
		{"down", "migrated down 00006_market_status.sql"},
		{"version", "version 5"},
		{"down", "migrated down 00005_quotes.sql"},
		{"version", "version 4"},
		{"down", "migrated down 00004_odds_ticks_archive.sql"},
		{"version", "version 3"},
		{"down", "migrated down 00003_odds_versions.sql"},
		{"version", "version 2"},
		{"down", "migrated down 00002_sync_state.sql"},
		{"version", "version 1"},
		{"down", "migrated down 00001_reporting_schema.sql"},
		{"version", "version 0"},
		{"up", "00001_reporting_schema.sql"},
		{"status", "applied"},
	}
	for _, s := range steps {
		if out := run(s.cmd); !strings.Contains(out, s.want) {
			t.Fatalf("migrate %s printed %q, want %q in it", s.cmd, out, s.want)
		}
	}
	if err := reporting.Migrate(ctx, dsn, "sideways", io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// The goose CLI reads the migrations directory itself: the same files must
// run with goose's defaults on the directory (as `goose -dir migrations
// postgres $DSN up|down` does).
func TestMigrationsWithGooseOnTheDirectory(t *testing.T) {
	dsn := env.Postgres.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(harness.ModuleRoot()+"/migrations"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	// And the embedded runner agrees with what the directory did.
	var out strings.Builder
	if err := reporting.MigrateDB(ctx, db, "version", &out); err != nil || !strings.Contains(out.String(), "version 6") {
		t.Fatalf("version after goose on the directory: %q, %v", out.String(), err)
	}
}

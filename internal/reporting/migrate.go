package reporting

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/oddsfeed/oddsfeed/migrations"
)

// Migration commands accepted by Migrate.
const (
	MigrateUp      = "up"      // apply every pending migration
	MigrateDown    = "down"    // roll back the newest applied migration
	MigrateStatus  = "status"  // list migrations and whether each is applied
	MigrateVersion = "version" // print the current schema version
)

// Migrate runs a goose migration command ("up", "down", "status",
// "version") on the database at dsn with the embedded migrations, writing
// what it did to out. Concurrent callers (replicas starting together) are
// serialised by goose's Postgres session lock.
func Migrate(ctx context.Context, dsn, command string, out io.Writer) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("migrate %s: open database: %w", command, err)
	}
	defer db.Close()
	return MigrateDB(ctx, db, command, out)
}

// MigrateDB is Migrate on an open database/sql handle (driver "pgx").
func MigrateDB(ctx context.Context, db *sql.DB, command string, out io.Writer) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", command, err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate %s: %w", command, err)
	}
	switch command {
	case MigrateUp:
		res, err := p.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(out, "migrated up %s (%v)\n", r.Source.Path, r.Duration.Round(1000))
		}
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if len(res) == 0 {
			fmt.Fprintln(out, "no pending migrations")
		}
	case MigrateDown:
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintf(out, "migrated down %s (%v)\n", r.Source.Path, r.Duration.Round(1000))
	case MigrateStatus:
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range st {
			applied := "pending"
			if s.State == goose.StateApplied {
				applied = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(out, "%-40s %s\n", s.Source.Path, applied)
		}
	case MigrateVersion:
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			return fmt.Errorf("migrate version: %w", err)
		}
		fmt.Fprintf(out, "version %d\n", v)
	default:
		return fmt.Errorf("migrate: unknown command %q (want up, down, status or version)", command)
	}
	return nil
}

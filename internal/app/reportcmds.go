package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

func runMigrate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "migrate", "Run the Postgres reporting schema's goose migrations (embedded in the binary):\n  oddsfeed migrate up|down|status|version\nThe same files work with the goose CLI: goose -dir migrations postgres \"$ODDSFEED_DATABASE_URL\" up", true)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "migrate: want one of up, down, status, version")
		return ErrUsage
	}
	cmd := fs.Arg(0)
	switch cmd {
	case reporting.MigrateUp, reporting.MigrateDown, reporting.MigrateStatus, reporting.MigrateVersion:
	default:
		fmt.Fprintf(env.Stderr, "migrate: unknown command %q: want up, down, status or version\n", cmd)
		return ErrUsage
	}
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("migrate: ODDSFEED_DATABASE_URL is not set")
	}
	if err := reporting.Migrate(ctx, cfg.DatabaseURL, cmd, env.Stdout); err != nil {
		return fmt.Errorf("migrate %s: %w", cmd, err)
	}
	return nil
}

func runBackfill(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "backfill", "Load the whole feed store into Postgres: parallel scan segments, a progress bar,\nresumable (re-run to continue), idempotent and safe while servers sync live.", true)
	segments := fs.Int("segments", 4, "parallel scan segments")
	restart := fs.Bool("restart", false, "start over instead of resuming the last run")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if *segments < 1 || *segments > 1000 {
		return errors.New("-segments must be between 1 and 1000")
	}
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	src, ok := st.(reporting.Scanner)
	if !ok {
		return fmt.Errorf("backfill: the %s store cannot be scanned", cfg.Backend)
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	return reporting.Backfill(ctx, src, pool, env.Stderr, reporting.BackfillOptions{Segments: *segments, Restart: *restart})
}

func runReplay(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "replay", "Re-apply the reporting sync's dead letters (records parked after failing), e.g. after\nthe cause was fixed. Records that still fail stay parked with their attempts counted.", true)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, failed, err := reporting.Replay(ctx, pool)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	fmt.Fprintf(env.Stdout, "replayed dead letters: %d applied, %d still failing\n", applied, failed)
	return nil
}

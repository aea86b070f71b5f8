package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// reportingPart is the Postgres side of the server: the sync consumer, the
// partition keeper and the reports API.
type reportingPart struct {
	pool    *pgxpool.Pool
	sync    *reporting.Sync
	parts   *reporting.Partitions
	reports *reporting.Reports
}

// newReporting connects (lazily: Postgres may be down at start; the sync
// then waits and retries) to the reporting database.
func newReporting(ctx context.Context, cfg Config, log *slog.Logger) (*reportingPart, error) {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	parts := reporting.NewPartitions(pool)
	return &reportingPart{
		pool:    pool,
		parts:   parts,
		sync:    reporting.NewSync(pool, reporting.SyncOptions{Logger: log.With("module", "reporting"), Partitions: parts}),
		reports: reporting.NewReports(pool, reporting.ReportsOptions{Logger: log.With("module", "reports")}),
	}, nil
}

func openPool(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	if cfg.DatabaseURL == "" {
		return nil, fmt.Errorf("ODDSFEED_DATABASE_URL is not set")
	}
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("ODDSFEED_DATABASE_URL: cannot parse (check the URL's syntax)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("reporting database: %w", err)
	}
	return pool, nil
}

// maintainJob keeps day partitions created ahead and drops expired ones.
func (rp *reportingPart) maintainJob(retention time.Duration, log *slog.Logger) func(context.Context) {
	return func(ctx context.Context) {
		rp.parts.Maintain(ctx, reporting.MaintainOptions{Retention: retention, Logger: log})
	}
}

// close releases the shard locks and the pool; the tailer has stopped.
func (rp *reportingPart) close(ctx context.Context) {
	_ = rp.sync.Close(ctx)
	rp.pool.Close()
}

package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/localpg"
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
	if ready := cfg.reportingReady; ready != nil {
		// Every connection, the pool's and the sync's lock session (a copy
		// of this ConnConfig), waits for the private Postgres.
		dial := pc.ConnConfig.DialFunc
		pc.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := ready(ctx); err != nil {
				return nil, err
			}
			return dial(ctx, network, addr)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("reporting database: %w", err)
	}
	return pool, nil
}

// maintainJob keeps day partitions created ahead and removes the quotes
// older than retention (whole days, then rows), every
// reporting.MaintainInterval(retention).
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

// ReportsHint is the line that the log (and the dashboard) show when serve
// runs without reports: how to get them.
const ReportsHint = "reports need PostgreSQL: apt-get install postgresql (serve then runs its own under the data directory), or set ODDSFEED_DATABASE_URL"

// privatePostgres is the PostgreSQL server that serve runs for reports
// under the data directory (postgres/) when the embedded back end has no
// ODDSFEED_DATABASE_URL. It starts in the background: the HTTP listener
// does not wait for it; connections to it wait until it is up and
// migrated (Config.reportingReady).
type privatePostgres struct {
	srv    *localpg.Server
	log    *slog.Logger
	ready  chan struct{} // closed when started and migrated, or failed (err)
	err    error
	cancel context.CancelFunc
	done   chan struct{}
}

// newPrivatePostgres decides whether serve runs a private Postgres and, if
// so, points cfg's reporting at it; nil when it does not (another database,
// the aws back end, ODDSFEED_LOCAL_POSTGRES=off, or no binaries: then the
// log says in one line how to get reports).
func newPrivatePostgres(cfg *Config, log *slog.Logger) *privatePostgres {
	if cfg.Backend != BackendEmbedded || cfg.DatabaseURL != "" {
		return nil
	}
	if cfg.LocalPostgres == "off" {
		log.Info("no reports: ODDSFEED_LOCAL_POSTGRES=off; set ODDSFEED_DATABASE_URL for reports")
		return nil
	}
	log = log.With("module", "postgres")
	srv, err := localpg.New(localpg.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), BinDir: cfg.PostgresBin,
		Database: "oddsfeed", User: "oddsfeed", Logger: log})
	if err != nil {
		log.Warn(ReportsHint, "reason", err.Error())
		return nil
	}
	pp := &privatePostgres{srv: srv, log: log, ready: make(chan struct{}), done: make(chan struct{})}
	cfg.DatabaseURL = srv.DSN()
	cfg.reportingReady = pp.wait
	return pp
}

// wait returns once the server is up and migrated, or why it is not.
func (pp *privatePostgres) wait(ctx context.Context) error {
	select {
	case <-pp.ready:
		return pp.err
	case <-ctx.Done():
		return fmt.Errorf("the private PostgreSQL is starting: %w", ctx.Err())
	}
}

// start creates (first start), starts or adopts (left running by a killed
// server) and migrates the server, in the background.
func (pp *privatePostgres) start(ctx context.Context) {
	if pp == nil {
		return
	}
	ctx, pp.cancel = context.WithCancel(ctx)
	go func() {
		defer close(pp.done)
		t0 := time.Now()
		adopted, err := pp.srv.Start(ctx)
		var out bytes.Buffer
		if err == nil {
			err = reporting.Migrate(ctx, pp.srv.DSN(), reporting.MigrateUp, &out)
		}
		if err != nil {
			err = fmt.Errorf("the private PostgreSQL did not start: %w", err)
		}
		pp.err = err
		close(pp.ready)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			pp.log.Error("no reports: the private PostgreSQL did not start", "dir", pp.srv.Dir(), "log", pp.srv.LogPath(), "err", err)
		default:
			pp.log.Info("private PostgreSQL ready for reports", "dir", pp.srv.Dir(), "adopted", adopted,
				"took", time.Since(t0).Round(time.Millisecond).String(), "migrations", strings.TrimSpace(out.String()))
		}
	}()
}

// stop ends a start in progress and stops the server (fast shutdown);
// the server's pool is closed by then.
func (pp *privatePostgres) stop(timeout time.Duration) {
	if pp == nil {
		return
	}
	pp.cancel()
	<-pp.done
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := pp.srv.Stop(ctx); err != nil {
		pp.log.Warn("stop the private PostgreSQL", "err", err)
	} else if pp.err == nil {
		pp.log.Info("private PostgreSQL stopped")
	}
}

package reporting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// partitionPrefix names the day partitions of odds_ticks:
// odds_ticks_pYYYYMMDD, holding [day 00:00 UTC, next day 00:00 UTC).
const (
	partitionPrefix = "odds_ticks_p"
	partitionLayout = "20060102"
	// partitionLockClass is the first key of the transaction-level advisory
	// lock that serialises creators of one day's partition.
	partitionLockClass = 0x0DDF_0001
)

// Partitions keeps the day partitions of odds_ticks. It remembers the days
// it has seen exist, so the sync checks a day once. Ticks observed before
// the archive's bound (see archive.go) need no day partition: the archive
// partition holds them. DDL is built from dates only (no input reaches an
// identifier), which is why it is not in sqlc. Safe for concurrent use.
type Partitions struct {
	pool *pgxpool.Pool

	mu        sync.Mutex
	known     map[string]bool // day (YYYYMMDD) -> partition exists
	bound     time.Time       // the archive's upper bound (zero: no archive)
	boundRead bool            // bound was read from the catalog
}

// NewPartitions returns the partition keeper of the database behind pool.
func NewPartitions(pool *pgxpool.Pool) *Partitions {
	return &Partitions{pool: pool, known: map[string]bool{}}
}

// Day truncates t to its UTC day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// PartitionName returns the name of the partition holding day.
func PartitionName(day time.Time) string { return partitionPrefix + Day(day).Format(partitionLayout) }

// EnsureAhead creates the partitions from `behind` days before now's day to
// `ahead` days after it (e.g. 1 and 3).
func (p *Partitions) EnsureAhead(ctx context.Context, now time.Time, behind, ahead int) error {
	var days []time.Time
	for i := -behind; i <= ahead; i++ {
		days = append(days, Day(now).AddDate(0, 0, i))
	}
	return p.Ensure(ctx, days...)
}

// Ensure makes sure a partition holds each of times: the archive for a
// time before its bound, else the time's day partition, created when
// missing. Concurrent creators of the same day (goroutines, replicas) are
// safe: each creation runs in its own short transaction under an advisory
// lock keyed by the day, with CREATE TABLE IF NOT EXISTS.
func (p *Partitions) Ensure(ctx context.Context, times ...time.Time) error {
	var missing []time.Time
	seen := map[string]bool{}
	p.mu.Lock()
	for _, t := range times {
		d := Day(t)
		k := d.Format(partitionLayout)
		if !p.known[k] && !seen[k] {
			seen[k] = true
			missing = append(missing, d)
		}
	}
	p.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	bound, err := p.archiveBound(ctx)
	if err != nil {
		return err
	}
	for _, d := range missing {
		if d.Before(bound) {
			continue // the archive holds it (bounds are whole days)
		}
		if err := p.create(ctx, d); err != nil {
			return err
		}
		p.mu.Lock()
		p.known[d.Format(partitionLayout)] = true
		p.mu.Unlock()
	}
	return nil
}

func (p *Partitions) create(ctx context.Context, day time.Time) error {
	name := PartitionName(day)
	key := int32(day.Year()*10000 + int(day.Month())*100 + day.Day())
	ddl := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF odds_ticks FOR VALUES FROM ('%s') TO ('%s')",
		name, day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339))
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1::int, $2::int)", int32(partitionLockClass), key); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P07" || pe.Code == "42P17") {
		// duplicate_table, or "would overlap": created meanwhile by a
		// creator that did not take our lock (an admin, an older binary),
		// or the day is the archive's now (another replica moved its
		// bound up since we read it).
		return nil
	}
	if err != nil {
		return fmt.Errorf("create partition %s: %w", name, err)
	}
	return nil
}

// List returns the days of the existing day partitions of odds_ticks,
// oldest first.
func (p *Partitions) List(ctx context.Context) ([]time.Time, error) { return listDays(ctx, p.pool) }

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func listDays(ctx context.Context, q querier) ([]time.Time, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'odds_ticks'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	var days []time.Time
	for _, n := range names {
		s, ok := strings.CutPrefix(n, partitionPrefix)
		if !ok {
			continue // not ours (an admin's); left alone
		}
		d, err := time.Parse(partitionLayout, s)
		if err != nil {
			continue
		}
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Before(days[j]) })
	return days, nil
}

// DropPartitionsBefore drops the day partitions that end at or before
// cutoff (every row in them was observed before cutoff), returning their
// names; then it moves the archive's bound up to cutoff's day and deletes
// the archived ticks observed before cutoff (see moveArchive). Expire does
// this and deletes the rest of what is older than cutoff.
func (p *Partitions) DropPartitionsBefore(ctx context.Context, cutoff time.Time) ([]string, error) {
	dropped, _, err := p.dropPartitionsBefore(ctx, cutoff, DefaultExpireBatch)
	return dropped, err
}

// dropPartitionsBefore is DropPartitionsBefore, deleting batch archived
// ticks at a time; it also returns how many it deleted.
func (p *Partitions) dropPartitionsBefore(ctx context.Context, cutoff time.Time, batch int) ([]string, int64, error) {
	days, err := p.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	var dropped []string
	for _, d := range days {
		if d.AddDate(0, 0, 1).After(cutoff) {
			break
		}
		name := PartitionName(d)
		p.mu.Lock()
		delete(p.known, d.Format(partitionLayout))
		p.mu.Unlock()
		if _, err := p.pool.Exec(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			return dropped, 0, fmt.Errorf("drop partition %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	archived, err := p.moveArchive(ctx, cutoff, batch)
	return dropped, archived, err
}

// forget clears what the keeper knows, after an insert found no partition
// (another replica dropped it).
func (p *Partitions) forget() {
	p.mu.Lock()
	clear(p.known)
	p.boundRead = false
	p.mu.Unlock()
}

// MaintainOptions tune Partitions.Maintain.
type MaintainOptions struct {
	// Retention is how long quotes are kept in odds_ticks and latest_odds
	// (default 30 days): older ones are removed (Expire).
	Retention time.Duration
	// Ahead is how many days of partitions are kept ready after today
	// (default 3); one day before today is kept ready too.
	Ahead int
	// Interval between runs (default MaintainInterval(Retention)).
	Interval time.Duration
	// Batch is the most rows one delete takes (default DefaultExpireBatch).
	Batch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets a line per dropped partition and per failure, and one at
	// debug level per run that deleted rows (default slog.Default()).
	Logger *slog.Logger
}

// Maintain creates partitions ahead and removes expired quotes (Expire),
// at once and then every Interval, until ctx ends. Every replica may run
// it: creators and droppers are safe together.
func (p *Partitions) Maintain(ctx context.Context, o MaintainOptions) {
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Ahead <= 0 {
		o.Ahead = 3
	}
	if o.Interval <= 0 {
		o.Interval = MaintainInterval(o.Retention)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		now := o.Now()
		if err := p.EnsureAhead(ctx, now, 1, o.Ahead); err != nil && ctx.Err() == nil {
			o.Logger.Error("create odds partitions ahead failed", "err", err)
		}
		e, err := p.Expire(ctx, now.Add(-o.Retention), o.Batch)
		for _, name := range e.Dropped {
			o.Logger.Info("dropped expired odds partition", "partition", name, "retention", o.Retention.String())
		}
		if e.Ticks > 0 || e.Latest > 0 {
			o.Logger.Debug("deleted expired quotes", "odds_ticks", e.Ticks, "latest_odds", e.Latest, "retention", o.Retention.String())
		}
		if err != nil && ctx.Err() == nil {
			o.Logger.Error("remove expired quotes failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

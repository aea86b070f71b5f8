package reporting

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// Row-level retention. Dropping day partitions (DropPartitionsBefore)
// removes whole days; a retention shorter than a day, or the part of the
// oldest kept day older than the retention, needs rows deleted. Expire does
// both: it drops the day partitions that ended before the cutoff, moves
// the archive's bound, then deletes the quotes observed before the cutoff
// from the partitions that are left (the cutoff's day and the archive) and
// the latest_odds rows whose newest quote is older. Deletes run in batches
// of at most Batch rows, each its own short statement, so no lock is held
// for long and the sync's inserts go on between them.
//
// Only quotes: market status history, settlements and provider outages
// are not odds, and keep their own lifetime.

// DefaultExpireBatch is the most rows one delete statement takes.
const DefaultExpireBatch = 5000

// Expired says what one Expire run removed.
type Expired struct {
	// Dropped names the day partitions dropped whole.
	Dropped []string
	// Ticks and Latest count the odds_ticks rows deleted (from the archive
	// and the day partitions left) and the latest_odds rows deleted.
	Ticks, Latest int64
}

// Expire removes the quotes observed before cutoff from the reports: day
// partitions whole, then rows, batch rows at a time (<= 0: the default).
// Run it with cutoff = now minus the retention. Every replica may run it
// at once: a partition another dropped meanwhile counts as done.
func (p *Partitions) Expire(ctx context.Context, cutoff time.Time, batch int) (Expired, error) {
	if batch <= 0 {
		batch = DefaultExpireBatch
	}
	var e Expired
	// A failure to drop or to move the archive (a lock timeout, say) does
	// not stop the row deletes; the next run retries.
	var dropErr error
	e.Dropped, e.Ticks, dropErr = p.dropPartitionsBefore(ctx, cutoff, batch)
	days, err := p.List(ctx)
	if err != nil {
		return e, errors.Join(dropErr, err)
	}
	for _, d := range days {
		if !d.Before(cutoff) {
			break // starts at or after the cutoff: nothing in it is expired
		}
		n, err := deleteTicksBefore(ctx, p.pool, PartitionName(d), cutoff, batch)
		e.Ticks += n
		if err != nil {
			return e, errors.Join(dropErr, err)
		}
	}
	q := db.New(p.pool)
	for {
		n, err := q.ExpireLatestOdds(ctx, db.ExpireLatestOddsParams{Cutoff: cutoff, MaxRows: int32(min(batch, math.MaxInt32))})
		e.Latest += n
		if err != nil {
			return e, errors.Join(dropErr, fmt.Errorf("delete expired latest_odds: %w", err))
		}
		if n < int64(batch) {
			return e, dropErr
		}
	}
}

// deleteTicksBefore deletes the rows of one partition of odds_ticks (a day
// partition or the archive) observed before cutoff, batch rows per
// statement, found by ctid (a TID scan). table is built from a date or a
// constant, never from input, which is why this is not in sqlc. A
// partition dropped meanwhile (by another replica) has nothing left.
func deleteTicksBefore(ctx context.Context, pool *pgxpool.Pool, table string, cutoff time.Time, batch int) (int64, error) {
	stmt := fmt.Sprintf(`DELETE FROM %s WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM %s WHERE observed_at < $1 LIMIT $2)) AND observed_at < $1`, table, table)
	var total int64
	for {
		tag, err := pool.Exec(ctx, stmt, cutoff, batch)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("delete expired ticks from %s: %w", table, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}

// MaintainInterval is how often Maintain runs for a retention: a quarter
// of it, at most an hour, at least every 250ms (a test's retention of
// seconds).
func MaintainInterval(retention time.Duration) time.Duration {
	return min(max(retention/4, 250*time.Millisecond), time.Hour)
}

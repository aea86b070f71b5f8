package reporting

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The archive is the partition of odds_ticks for every tick observed before
// the oldest day kept: odds_ticks_archive, [MINVALUE, bound) (migration
// 00004). Odds may be backdated (observations back to 2000 are accepted):
// a tick observed before the bound is stored there, so old days never make
// partitions of their own. The bound is a whole day; it starts at
// 2000-01-01 and each maintenance run moves it up to the retention
// cutoff's day (moveArchive), after dropping the day partitions below, and
// deletes the archived ticks older than the retention: a backdated tick
// lives until the next run, as the day partition made for it did before.
// Only ever moving the bound up, to where no day partition is left, keeps
// the archive and the day partitions apart; there is no DEFAULT partition,
// so creating a day partition never scans anything.
const archiveTable = "odds_ticks_archive"

// readArchiveBound returns the archive's upper bound from the catalog; ok
// is false when odds_ticks has no archive (a schema before 00004).
func readArchiveBound(ctx context.Context, q querier) (bound time.Time, ok bool, err error) {
	// The bound is printed as a timestamptz literal in the session's time
	// zone: cast back in the same session.
	err = q.QueryRow(ctx, `SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'odds_ticks'::regclass AND c.relname = $1`, archiveTable).Scan(&bound)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read the bound of %s: %w", archiveTable, err)
	}
	return bound.UTC(), true, nil
}

// archiveBound returns the archive's bound as last read or moved here
// (zero without an archive). Another replica may have moved it up since:
// then a day partition made below the real bound fails with "would
// overlap", taken for success by create, and the tick goes to the archive.
func (p *Partitions) archiveBound(ctx context.Context) (time.Time, error) {
	p.mu.Lock()
	bound, read := p.bound, p.boundRead
	p.mu.Unlock()
	if read {
		return bound, nil
	}
	bound, _, err := readArchiveBound(ctx, p.pool)
	if err != nil {
		return time.Time{}, err
	}
	p.setBound(bound)
	return bound, nil
}

func (p *Partitions) setBound(bound time.Time) {
	p.mu.Lock()
	p.bound, p.boundRead = bound, true
	p.mu.Unlock()
}

// moveArchive moves the archive's bound up to cutoff's day, then deletes
// the archived ticks observed before cutoff, batch rows at a time,
// returning how many. The move detaches the archive
// and attaches it again with the new bound, in one transaction holding an
// ACCESS EXCLUSIVE lock on odds_ticks (writers and reports wait for a
// moment; the attach checks the archive's rows, all below the old bound).
// Under that lock no day partition can appear: the bound stops at the
// oldest one left (one a late writer made after the drop, say), so the
// archive never overlaps a day partition. Replicas doing it together are
// serialised by the lock; the second finds nothing to move.
func (p *Partitions) moveArchive(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	to := Day(cutoff)
	bound, ok, err := readArchiveBound(ctx, p.pool)
	if err != nil || !ok {
		return 0, err
	}
	if to.After(bound) {
		err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
			// Rather fail this run (the next one retries) than hold every
			// writer up behind a long report.
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "LOCK TABLE odds_ticks IN ACCESS EXCLUSIVE MODE"); err != nil {
				return err
			}
			if bound, ok, err = readArchiveBound(ctx, tx); err != nil || !ok {
				return err
			}
			days, err := listDays(ctx, tx)
			if err != nil {
				return err
			}
			if len(days) > 0 && days[0].Before(to) {
				to = days[0]
			}
			if !to.After(bound) {
				return nil
			}
			if _, err := tx.Exec(ctx, "ALTER TABLE odds_ticks DETACH PARTITION "+archiveTable); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, fmt.Sprintf("ALTER TABLE odds_ticks ATTACH PARTITION %s FOR VALUES FROM (MINVALUE) TO ('%s')",
				archiveTable, to.Format(time.RFC3339)))
			if err == nil {
				bound = to
			}
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("move the bound of %s up to %s: %w", archiveTable, to.Format(time.DateOnly), err)
		}
	}
	p.setBound(bound)
	return deleteTicksBefore(ctx, p.pool, archiveTable, cutoff, batch)
}

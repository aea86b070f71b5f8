package reporting

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// replayPage is how many dead letters Replay reads at a time.
const replayPage = 200

// Replay re-applies every unresolved dead letter (of every consumer)
// through the sync's write path, each in its own transaction, and marks
// the ones applied resolved. A dead letter that fails again keeps its
// place with the new error and one more attempt. It is safe while the
// sync runs: the writes only go forward. err is set when the database
// fails (not when a record does).
func Replay(ctx context.Context, pool *pgxpool.Pool) (applied, failed int, err error) {
	q := db.New(pool)
	parts := NewPartitions(pool)
	var after int64
	for {
		letters, err := q.ListUnresolvedDeadLetters(ctx, db.ListUnresolvedDeadLettersParams{AfterID: after, MaxRows: replayPage})
		if err != nil {
			return applied, failed, fmt.Errorf("replay dead letters: list: %w", err)
		}
		for _, l := range letters {
			after = l.ID
			ok, err := replayOne(ctx, pool, q, parts, l)
			if err != nil {
				return applied, failed, fmt.Errorf("replay dead letter %d: %w", l.ID, err)
			}
			if ok {
				applied++
			} else {
				failed++
			}
		}
		if len(letters) < replayPage {
			return applied, failed, nil
		}
	}
}

// replayOne re-applies one dead letter: ok false when it failed again
// because of its data (recorded), err when the database failed.
func replayOne(ctx context.Context, pool *pgxpool.Pool, q *db.Queries, parts *Partitions, l db.ListUnresolvedDeadLettersRow) (ok bool, err error) {
	c, err := decodeLetter(l)
	if err == nil {
		err = checkChange(c)
	}
	if err == nil {
		rows := buildRows([]feed.Change{c})
		if err := parts.Ensure(ctx, rows.oddsDays()...); err != nil {
			return false, err
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			qt := q.WithTx(tx)
			if err := applyRows(ctx, qt, rows, false); err != nil {
				return err
			}
			return qt.ResolveDeadLetter(ctx, l.ID)
		})
		if err == nil {
			return true, nil
		}
		if !isRecordError(err) {
			if isNoPartition(err) {
				parts.forget()
			}
			return false, err
		}
	}
	if err := q.FailDeadLetter(ctx, db.FailDeadLetterParams{ID: l.ID, Error: err.Error()}); err != nil {
		return false, fmt.Errorf("record failure: %w", err)
	}
	return false, nil
}

// decodeLetter turns a dead letter back into a change: the JSON of a
// feed.Change, or a stream record decoded again (the decoder may have been
// fixed since).
func decodeLetter(l db.ListUnresolvedDeadLettersRow) (feed.Change, error) {
	var c feed.Change
	switch l.Kind {
	case "change":
		if err := json.Unmarshal(l.Raw, &c); err != nil {
			return c, fmt.Errorf("%w: decode parked change: %v", errBadChange, err)
		}
	case "record":
		var err error
		if c, err = cdc.DecodeRecord(l.Raw); err != nil {
			return c, fmt.Errorf("%w: decode record: %v", errBadChange, err)
		}
	default:
		return c, fmt.Errorf("%w: unknown dead letter kind %q", errBadChange, l.Kind)
	}
	c.Source, c.Position = l.Source, l.Position
	return c, nil
}

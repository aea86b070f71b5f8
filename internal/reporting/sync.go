package reporting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// DefaultConsumerName is the name of the reporting sync's checkpoints.
const DefaultConsumerName = "reporting"

// ErrNotOwner is returned by Sync.Apply when another replica owns the
// source (holds its advisory lock). The Tailer backs off and retries; when
// the owner dies its Postgres session ends, the lock frees and this replica
// takes over from the checkpoint.
var ErrNotOwner = errors.New("another replica owns this source")

// SyncOptions configure a Sync.
type SyncOptions struct {
	// Name is the consumer name: the key of its checkpoints, dead letters
	// and shard locks (default "reporting").
	Name string
	// Logger gets the sync's logs (default slog.Default()).
	Logger *slog.Logger
	// Partitions is the partition keeper to share (default: a new one).
	Partitions *Partitions
}

// Sync is the cdc.Consumer that keeps the reporting schema in step with the
// change stream. Each batch is applied in one transaction together with its
// source's checkpoint; a source is applied by one replica at a time.
type Sync struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	name  string
	log   *slog.Logger
	parts *Partitions
	owner *owner
}

var _ cdc.Consumer = (*Sync)(nil)

// NewSync returns a Sync writing through pool. Call Close when done, to
// hand its sources over to other replicas at once.
func NewSync(pool *pgxpool.Pool, o SyncOptions) *Sync {
	if o.Name == "" {
		o.Name = DefaultConsumerName
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Partitions == nil {
		o.Partitions = NewPartitions(pool)
	}
	return &Sync{
		pool: pool, q: db.New(pool), name: o.Name, log: o.Logger.With("consumer", o.Name),
		parts: o.Partitions, owner: newOwner(pool, o.Name),
	}
}

// Name implements cdc.Consumer.
func (s *Sync) Name() string { return s.name }

// Close releases the sources this replica owns (closes the lock session).
func (s *Sync) Close(ctx context.Context) error { return s.owner.close(ctx) }

// Start implements cdc.Consumer: after the source's checkpoint. It also
// tries to take the source's ownership, without failing when another
// replica has it (Apply waits for that).
func (s *Sync) Start(ctx context.Context, source string) (cdc.Start, error) {
	_ = s.owner.own(ctx, source)
	pos, err := s.q.GetCheckpoint(ctx, db.GetCheckpointParams{Consumer: s.name, Source: source})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return cdc.Start{}, fmt.Errorf("read checkpoint of %s/%s: %w", s.name, source, err)
	}
	return cdc.After(pos), nil
}

// Apply implements cdc.Consumer. It applies the changes of b that are past
// the source's checkpoint and moves the checkpoint to b.Position, in one
// transaction: a batch applied twice changes nothing. Records that cannot
// be applied are parked in dead_letters and the rest applied. It returns
// ErrNotOwner when another replica owns the source, and the database's
// error when Postgres fails (nothing is then applied or checkpointed).
func (s *Sync) Apply(ctx context.Context, b cdc.Batch) error {
	if b.Position == "" {
		return nil // an empty batch: nothing to apply or checkpoint
	}
	if !validPosition(b.Position) {
		return fmt.Errorf("apply batch of %s: position %q is not a decimal sequence number", b.Source, b.Position)
	}
	if err := s.owner.own(ctx, b.Source); err != nil {
		return fmt.Errorf("apply batch of %s: %w", b.Source, err)
	}
	err := s.apply(ctx, b)
	if errors.Is(err, errLostLock) {
		// The lock session ended (Postgres restarted, connection dropped):
		// take the lock again if nobody else did meanwhile.
		s.owner.reset()
		if err := s.owner.own(ctx, b.Source); err != nil {
			return fmt.Errorf("apply batch of %s: %w", b.Source, err)
		}
		err = s.apply(ctx, b)
	}
	if err != nil {
		return fmt.Errorf("apply batch of %s up to %s: %w", b.Source, b.Position, err)
	}
	return nil
}

func (s *Sync) apply(ctx context.Context, b cdc.Batch) error {
	if err := s.ensurePartitions(ctx, b.Changes); err != nil {
		return err
	}
	err := s.applyTx(ctx, b, modeFast)
	if isDuplicateTick(err) {
		err = s.applyTx(ctx, b, modeSafe)
	}
	if err == nil || !isRecordError(err) {
		if isNoPartition(err) {
			s.parts.forget() // re-created on the retry
		}
		return err
	}
	s.log.Warn("reporting batch failed; isolating the bad records", "source", b.Source, "position", b.Position, "err", err)
	return s.applyTx(ctx, b, modeIsolate)
}

// applyMode says how applyTx writes.
type applyMode uint8

const (
	// modeFast inserts ticks without ON CONFLICT: right unless a row (key
	// and version) is stored already (a duplicate record, a backfill
	// overlap), which fails; each version of an odds item is a row of its
	// own, so a correction is an insert like any other.
	modeFast applyMode = iota
	// modeSafe inserts ticks with ON CONFLICT DO NOTHING.
	modeSafe
	// modeIsolate is modeSafe, applying halves of the batch in savepoints
	// to isolate the changes that fail and park them.
	modeIsolate
)

// ensurePartitions creates the partitions for the odds of changes.
func (s *Sync) ensurePartitions(ctx context.Context, changes []feed.Change) error {
	return s.parts.Ensure(ctx, oddsTimes(changes)...)
}

// oddsTimes returns the observation times of the odds to insert (not of
// changes that will be parked: a wild time must not create partitions).
func oddsTimes(changes []feed.Change) []time.Time {
	var ts []time.Time
	for _, c := range changes {
		if c.NewOdds != nil && c.Kind != feed.ChangeRemove && checkChange(c) == nil {
			ts = append(ts, c.NewOdds.ObservedAt)
		}
	}
	return ts
}

// deadLetter is a record to park.
type deadLetter struct {
	source, position, kind string
	raw                    []byte
	err                    error
}

// applyTx applies b in one transaction with its checkpoint, pipelined on
// one connection. In modeIsolate, changes that fail are found by splitting
// the set (savepoints) and parked; otherwise any failure fails the
// transaction.
func (s *Sync) applyTx(ctx context.Context, b cdc.Batch, mode applyMode) (err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer c.Release()
	p := newPipe(c.Conn())
	committed := false
	defer func() {
		if !committed {
			// A connection left inside a transaction is not reused: the
			// pool destroys it on Release.
			_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	q := db.New(p)
	pid, key := s.owner.session(b.Source)
	p.Exec(ctx, "BEGIN") //nolint:errcheck // queued
	claim, err := q.ClaimCheckpoint(ctx, db.ClaimCheckpointParams{
		Consumer: s.name, Source: b.Source, LockPid: int32(pid), LockClass: ownerLockClass, LockKey: key,
	})
	if err != nil {
		return fmt.Errorf("claim checkpoint: %w", err)
	}
	// Second guard: the lock must still be ours now that we hold the
	// checkpoint row; a replica that lost it stops here.
	if !claim.Owned {
		return errLostLock
	}
	cp := claim.Position
	if cp != "" && cmpPosition(b.Position, cp) <= 0 {
		return nil // applied before (a replay): nothing to do
	}

	var dead []deadLetter
	for _, r := range b.Bad {
		if !appliedBefore(r.Position, cp) {
			dead = append(dead, deadLetter{source: b.Source, position: r.Position, kind: "record", raw: r.Data, err: r.Err})
		}
	}
	good := make([]feed.Change, 0, len(b.Changes))
	for _, c := range b.Changes {
		if appliedBefore(c.Position, cp) {
			continue
		}
		if err := checkChange(c); err != nil {
			dead = append(dead, changeLetter(b.Source, c, err))
			continue
		}
		good = append(good, c)
	}
	if mode == modeIsolate {
		failed, err := s.bisect(ctx, p, b.Source, good)
		if err != nil {
			return err
		}
		dead = append(dead, failed...)
	} else if err := applyRows(ctx, q, buildRows(good), mode == modeFast); err != nil {
		return err
	}
	for i := range dead {
		d := &dead[i]
		d.position = letterPosition(d.position, b.Position, i)
		if err := q.InsertDeadLetter(ctx, db.InsertDeadLetterParams{
			Consumer: s.name, Source: d.source, Position: d.position, Kind: d.kind, Raw: d.raw, Error: errText(d.err),
		}); err != nil {
			return fmt.Errorf("park dead letter %s/%s: %w", d.source, d.position, err)
		}
	}
	if err := q.SetCheckpoint(ctx, db.SetCheckpointParams{
		Consumer: s.name, Source: b.Source, Position: b.Position,
		MillisBehind: b.MillisBehindLatest, Changes: int64(len(good)),
	}); err != nil {
		return fmt.Errorf("set checkpoint: %w", err)
	}
	p.Exec(ctx, "COMMIT") //nolint:errcheck // queued
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("write %d changes: %w", len(good), err)
	}
	committed = true
	for _, d := range dead {
		s.log.Error("reporting record parked in dead letters", "source", d.source, "position", d.position, "err", d.err)
	}
	return nil
}

// bisect applies changes inside savepoints, halving the set that fails
// until the changes that fail alone are found; it returns those.
func (s *Sync) bisect(ctx context.Context, p *pipe, source string, changes []feed.Change) ([]deadLetter, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	p.Exec(ctx, "SAVEPOINT isolate") //nolint:errcheck // queued
	if err := applyRows(ctx, db.New(p), buildRows(changes), false); err != nil {
		return nil, err
	}
	p.Exec(ctx, "RELEASE SAVEPOINT isolate") //nolint:errcheck // queued
	err := p.Flush(ctx)
	if err == nil {
		return nil, nil
	}
	if !isRecordError(err) {
		return nil, err
	}
	// Simple protocol: in the aborted transaction nothing but these two
	// can run, not even the preparing of statements.
	if _, rbErr := p.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT isolate; RELEASE SAVEPOINT isolate", pgx.QueryExecModeSimpleProtocol); rbErr != nil {
		return nil, fmt.Errorf("rollback to savepoint: %w", rbErr)
	}
	if len(changes) == 1 {
		return []deadLetter{changeLetter(source, changes[0], err)}, nil
	}
	mid := len(changes) / 2
	left, err := s.bisect(ctx, p, source, changes[:mid])
	if err != nil {
		return nil, err
	}
	right, err := s.bisect(ctx, p, source, changes[mid:])
	if err != nil {
		return nil, err
	}
	return append(left, right...), nil
}

// appliedBefore reports whether the record at pos is at or before the
// checkpoint cp. A record without a decimal position (a stream's garbage)
// is not: it belongs to the batch being applied, itself past cp.
func appliedBefore(pos, cp string) bool {
	return cp != "" && validPosition(pos) && cmpPosition(pos, cp) <= 0
}

// letterPosition is where the i-th dead letter (from 0) of the batch up to
// batchPos is parked: at its record's position pos, or, when pos is not a
// decimal, at batchPos plus the fraction .000000001 * (i+1). No stream
// record has a fractional position and the fraction differs per letter
// (fixed width: the numeric column takes 11.1 and 11.10 for one number), so
// such letters collide neither with each other nor with a record parked at
// batchPos; a batch applied again parks them at the same places.
func letterPosition(pos, batchPos string, i int) string {
	if validPosition(pos) {
		return pos
	}
	return fmt.Sprintf("%s.%09d", batchPos, i+1)
}

// changeLetter parks a decoded change as the JSON of the feed.Change.
func changeLetter(source string, c feed.Change, err error) deadLetter {
	raw, mErr := json.Marshal(c)
	if mErr != nil {
		raw = []byte(fmt.Sprintf("%+v", c))
	}
	return deadLetter{source: source, position: c.Position, kind: "change", raw: raw, err: err}
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// applyRows runs the set-based writes of r: first the removals of odds
// (all versions of each removed item), then the inserts of odds rows (one
// per version) and latest odds, then the games, then the market statuses
// and provider outages. fresh inserts ticks without
// ON CONFLICT (faster; a row stored already fails it with a unique
// violation).
func applyRows(ctx context.Context, q *db.Queries, r *rowSet, fresh bool) error {
	if d := r.delOdds; len(d.GameIds) > 0 {
		if err := q.DeleteOddsTicks(ctx, d); err != nil {
			return fmt.Errorf("delete %d odds: %w", len(d.GameIds), err)
		}
		if err := q.DeleteLatestOddsAt(ctx, db.DeleteLatestOddsAtParams(d)); err != nil {
			return fmt.Errorf("delete latest odds: %w", err)
		}
		if err := q.RestoreLatestOdds(ctx, db.RestoreLatestOddsParams{GameIds: d.GameIds, Providers: d.Providers, Markets: d.Markets, Periods: d.Periods}); err != nil {
			return fmt.Errorf("restore latest odds: %w", err)
		}
	}
	if len(r.odds.GameIds) > 0 {
		var err error
		if fresh {
			err = q.InsertNewOddsTicks(ctx, db.InsertNewOddsTicksParams(r.odds))
		} else {
			err = q.InsertOddsTicks(ctx, r.odds)
		}
		if err != nil {
			return fmt.Errorf("insert %d odds: %w", len(r.odds.GameIds), err)
		}
		if err := q.UpsertLatestOdds(ctx, r.latest); err != nil {
			return fmt.Errorf("upsert %d latest odds: %w", len(r.latest.GameIds), err)
		}
	}
	if len(r.games.GameIds) > 0 {
		if err := q.UpsertGames(ctx, r.games); err != nil {
			return fmt.Errorf("upsert %d games: %w", len(r.games.GameIds), err)
		}
	}
	return applyStatusRows(ctx, q, &r.status)
}

// applyStatusRows writes the market statuses (current, history,
// settlements, then the settlements their next versions ended) and the
// provider outages of r.
func applyStatusRows(ctx context.Context, q *db.Queries, r *statusRows) error {
	if n := len(r.markets.GameIds); n > 0 {
		if err := q.UpsertMarkets(ctx, r.markets); err != nil {
			return fmt.Errorf("upsert %d markets: %w", n, err)
		}
	}
	if n := len(r.history.GameIds); n > 0 {
		if err := q.InsertMarketHistory(ctx, r.history); err != nil {
			return fmt.Errorf("insert %d market status versions: %w", n, err)
		}
	}
	if n := len(r.settlements.GameIds); n > 0 {
		if err := q.InsertSettlements(ctx, r.settlements); err != nil {
			return fmt.Errorf("insert %d settlements: %w", n, err)
		}
	}
	if n := len(r.ended.GameIds); n > 0 {
		if err := q.EndSettlements(ctx, r.ended); err != nil {
			return fmt.Errorf("end settlements of %d markets: %w", n, err)
		}
	}
	if n := len(r.downs.Providers); n > 0 {
		if err := q.InsertOutageDowns(ctx, r.downs); err != nil {
			return fmt.Errorf("insert %d provider outages: %w", n, err)
		}
	}
	if n := len(r.ups.Providers); n > 0 {
		if err := q.UpsertOutageUps(ctx, r.ups); err != nil {
			return fmt.Errorf("end %d provider outages: %w", n, err)
		}
	}
	return nil
}

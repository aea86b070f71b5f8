package cdc

import (
	"context"
	"errors"
	"fmt"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"log/slog"
	"maps"
	"sync"
	"time"
)

// Consumer is one user of the change stream: the WebSocket broadcast, the
// Postgres reporting sync. The consumer owns its checkpoints.
type Consumer interface {
	// Name identifies the consumer in logs and stats.
	Name() string
	// Start returns where the consumer resumes in source: its checkpoint
	// (After(position)), or Latest for a consumer that keeps no history.
	Start(ctx context.Context, source string) (Start, error)
	// Apply applies one batch and, for a consumer with checkpoints, records
	// b.Position with it. On error the same batch is applied again after a
	// back-off, until it succeeds or the Tailer stops, so Apply must be
	// idempotent. Bad records are the consumer's to park (dead letters) or
	// ignore; they must not make Apply fail forever.
	Apply(ctx context.Context, b Batch) error
}

// FuncConsumer is a Consumer made of functions. StartFunc nil means Latest.
type FuncConsumer struct {
	ConsumerName string
	StartFunc    StartFunc
	ApplyFunc    func(ctx context.Context, b Batch) error
}

// Name implements Consumer.
func (f FuncConsumer) Name() string { return f.ConsumerName }

// Start implements Consumer.
func (f FuncConsumer) Start(ctx context.Context, source string) (Start, error) {
	if f.StartFunc == nil {
		return Start{Kind: Latest}, nil
	}
	return f.StartFunc(ctx, source)
}

// Apply implements Consumer.
func (f FuncConsumer) Apply(ctx context.Context, b Batch) error { return f.ApplyFunc(ctx, b) }

// ConsumerOptions tune how the Tailer feeds one consumer.
type ConsumerOptions struct {
	// Guard, when set, drops changes it does not admit (duplicates, older
	// versions) before Apply. A batch the Guard left with no changes and no
	// bad records is not applied. Changes are admitted when the batch is first
	// delivered, before Apply succeeds: the Tailer retries that same
	// filtered batch until it is applied.
	Guard *Guard
}

// TailerOptions configure a Tailer.
type TailerOptions struct {
	// Logger gets the Tailer's logs (default slog.Default()).
	Logger *slog.Logger
	// Backoff paces retries of a failed Apply and restarts of a stream that
	// ended with an error.
	Backoff Backoff
}

// Tailer fans a ChangeSource out to consumers. Each consumer has its own
// Stream, at its own position, so a stalled consumer (Postgres down) never
// holds up another (the WebSocket broadcast).
//
// Changes of leases (feed.TypeLease: which replica decides providers'
// liveness, renewed several times a second) are no consumer's business:
// the Tailer takes them out of every batch before the Guard and Apply
// (ConsumerStats.Skipped). A batch left empty by that is still applied
// (with no changes), so a consumer's checkpoint moves past them.
type Tailer struct {
	src     ChangeSource
	log     *slog.Logger
	backoff Backoff

	mu        sync.Mutex
	consumers []*tailed
	running   bool
}

type tailed struct {
	c     Consumer
	guard *Guard

	mu    sync.Mutex
	stats ConsumerStats
}

// ConsumerStats are one consumer's figures since the Tailer started, for
// metrics.
type ConsumerStats struct {
	Name string
	// Batches and Changes applied; Filtered: changes the Guard dropped;
	// Skipped: lease changes taken out; Bad: undecodable records delivered;
	// Failures: Apply errors.
	Batches, Changes, Filtered, Skipped, Bad, Failures int64
	// Failing is true from an Apply error until the next success.
	Failing bool
	// LastError is the latest Apply or stream error, "" when none yet.
	LastError string
	// Sources: per source (shard), the last position applied and the lag.
	Sources map[string]SourceStats
}

// SourceStats are one consumer's figures for one source.
type SourceStats struct {
	// Position is the last position applied ("" before the first batch).
	Position           string
	MillisBehindLatest int64
	// Changes applied from this source.
	Changes int64
	// Updated is when the source last delivered a batch to this consumer.
	Updated time.Time
}

// NewTailer returns a Tailer over src with no consumers.
func NewTailer(src ChangeSource, o TailerOptions) *Tailer {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Tailer{src: src, log: o.Logger, backoff: o.Backoff}
}

// Add registers a consumer. It must be called before Run.
func (t *Tailer) Add(c Consumer, o ConsumerOptions) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running {
		panic("cdc: Tailer.Add after Run")
	}
	t.consumers = append(t.consumers, &tailed{c: c, guard: o.Guard, stats: ConsumerStats{Name: c.Name(), Sources: map[string]SourceStats{}}})
}

// Run streams to every consumer until ctx ends, then returns nil once all
// streams have ended (each after its batch in progress). A stream that ends
// with an error is restarted after a back-off, from the last position the
// consumer applied (or its Start when it applied none).
func (t *Tailer) Run(ctx context.Context) error {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return errors.New("cdc: Tailer.Run called twice")
	}
	t.running = true
	consumers := t.consumers
	t.mu.Unlock()

	var wg sync.WaitGroup
	for _, tc := range consumers {
		wg.Go(func() { t.run(ctx, tc) })
	}
	wg.Wait()
	return nil
}

// run keeps one consumer's stream going until ctx ends.
func (t *Tailer) run(ctx context.Context, tc *tailed) {
	log := t.log.With("consumer", tc.stats.Name)
	log.Info("cdc stream starting")
	for attempt := 0; ; attempt++ {
		err := t.src.Stream(ctx, t.startFor(tc), t.deliverTo(tc, log))
		if ctx.Err() != nil {
			log.Info("cdc stream stopped")
			return
		}
		if err == nil {
			err = errors.New("stream ended")
		}
		tc.setError(err)
		log.Error("cdc stream failed; restarting", "err", err, "attempt", attempt+1)
		if t.backoff.Wait(ctx, attempt) != nil {
			log.Info("cdc stream stopped")
			return
		}
	}
}

// startFor resumes after the last applied position of a restarted stream,
// else asks the consumer.
func (t *Tailer) startFor(tc *tailed) StartFunc {
	return func(ctx context.Context, source string) (Start, error) {
		tc.mu.Lock()
		pos := tc.stats.Sources[source].Position
		tc.mu.Unlock()
		if pos != "" {
			return Start{Kind: AfterPosition, Position: pos}, nil
		}
		st, err := tc.c.Start(ctx, source)
		if err != nil {
			return Start{}, fmt.Errorf("start of consumer %s in %s: %w", tc.stats.Name, source, err)
		}
		return st, nil
	}
}

// deliverTo applies a batch to one consumer, retrying until it is applied
// or ctx ends.
func (t *Tailer) deliverTo(tc *tailed, log *slog.Logger) DeliverFunc {
	return func(ctx context.Context, b Batch) error {
		var skipped int64
		b.Changes, skipped = withoutLeases(b.Changes)
		filtered := int64(0)
		if tc.guard != nil && len(b.Changes) > 0 {
			// Copy only from the first change the guard drops: usually it
			// admits them all, and a batch is delivered as it came.
			var kept []feed.Change
			for i, c := range b.Changes {
				switch {
				case !tc.guard.Admit(c):
					if kept == nil {
						kept = append(make([]feed.Change, 0, len(b.Changes)-1), b.Changes[:i]...)
					}
				case kept != nil:
					kept = append(kept, c)
				}
			}
			if kept != nil {
				filtered = int64(len(b.Changes) - len(kept))
				b.Changes = kept
			}
		}
		if len(b.Changes) == 0 && len(b.Bad) == 0 && skipped == 0 {
			tc.applied(b, filtered, 0)
			return nil
		}
		for attempt := 0; ; attempt++ {
			err := tc.c.Apply(ctx, b)
			if err == nil {
				if attempt > 0 {
					log.Info("cdc apply recovered", "source", b.Source, "position", b.Position, "attempts", attempt+1)
				}
				tc.applied(b, filtered, skipped)
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			tc.failed(err)
			log.Warn("cdc apply failed; retrying", "source", b.Source, "position", b.Position,
				"changes", len(b.Changes), "attempt", attempt+1, "err", err)
			if err := t.backoff.Wait(ctx, attempt); err != nil {
				return err
			}
		}
	}
}

// withoutLeases returns changes without the lease changes, and how many
// there were; changes itself (not a copy) when there were none.
func withoutLeases(changes []feed.Change) ([]feed.Change, int64) {
	n := 0
	for i := range changes {
		if changes[i].ItemType == feed.TypeLease {
			n++
		}
	}
	if n == 0 {
		return changes, 0
	}
	kept := make([]feed.Change, 0, len(changes)-n)
	for _, c := range changes {
		if c.ItemType != feed.TypeLease {
			kept = append(kept, c)
		}
	}
	return kept, int64(n)
}

func (tc *tailed) applied(b Batch, filtered, skipped int64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	s := &tc.stats
	if len(b.Changes) > 0 || len(b.Bad) > 0 {
		s.Batches++
	}
	s.Changes += int64(len(b.Changes))
	s.Bad += int64(len(b.Bad))
	s.Filtered += filtered
	s.Skipped += skipped
	s.Failing = false
	src := s.Sources[b.Source]
	if b.Position != "" {
		src.Position = b.Position
	}
	src.MillisBehindLatest = b.MillisBehindLatest
	src.Changes += int64(len(b.Changes))
	src.Updated = time.Now()
	s.Sources[b.Source] = src
}

func (tc *tailed) failed(err error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.stats.Failures++
	tc.stats.Failing = true
	tc.stats.LastError = err.Error()
}

func (tc *tailed) setError(err error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.stats.LastError = err.Error()
}

// ErrNotReading says a consumer has not read the change stream yet.
var ErrNotReading = errors.New("not reading the change stream yet")

// Reading returns nil once the consumer name has had a batch delivered
// (an empty one counts: a Kinesis reader delivers one when its first read
// finds nothing), else ErrNotReading.
func (t *Tailer) Reading(name string) error {
	for _, st := range t.Stats() {
		if st.Name != name {
			continue
		}
		for _, src := range st.Sources {
			if !src.Updated.IsZero() {
				return nil
			}
		}
		return fmt.Errorf("cdc consumer %s: %w", name, ErrNotReading)
	}
	return fmt.Errorf("no cdc consumer %s", name)
}

// Stats returns a copy of every consumer's figures, in the order added.
func (t *Tailer) Stats() []ConsumerStats {
	t.mu.Lock()
	consumers := t.consumers
	t.mu.Unlock()
	out := make([]ConsumerStats, len(consumers))
	for i, tc := range consumers {
		tc.mu.Lock()
		out[i] = tc.stats
		out[i].Sources = maps.Clone(tc.stats.Sources)
		tc.mu.Unlock()
	}
	return out
}

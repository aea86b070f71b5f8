package cdc

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// LogReader is the embedded store's change log, as the LogSource reads it.
// *embedded.Store implements it.
type LogReader interface {
	// ChangesAfter returns up to max changes with a sequence number above
	// after, in order; each has Source "log" and Position its decimal seq.
	ChangesAfter(after uint64, max int) ([]feed.Change, error)
	// LastSeq returns the sequence number of the newest change (0: none).
	LastSeq() (uint64, error)
	// Changed returns a channel closed at the next commit that appends
	// changes.
	Changed() <-chan struct{}
}

// LogOptions tune a LogSource.
type LogOptions struct {
	// BatchSize is the most changes per batch (default 500).
	BatchSize int
	// Backoff paces redeliveries after a deliver error and retries of a
	// failed log read.
	Backoff Backoff
	// Logger gets the source's logs (default slog.Default()).
	Logger *slog.Logger
}

// LogSource is the ChangeSource of the embedded back end: the store's
// change log, one source named "log", positions are decimal sequence
// numbers. It wakes on the store's commits (Changed), it does not poll.
type LogSource struct {
	log LogReader
	o   LogOptions
}

var _ ChangeSource = (*LogSource)(nil)

// NewLogSource returns a LogSource over log.
func NewLogSource(log LogReader, o LogOptions) *LogSource {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &LogSource{log: log, o: o}
}

// Stream implements ChangeSource. The start kinds map to the log as:
// TrimHorizon from the oldest entry kept, Latest after LastSeq at the start,
// AfterPosition after that sequence number, AtTimestamp from the first
// change whose At is not before Start.At (found by reading from the oldest
// entry). A failed log read is retried after a back-off; Stream returns an
// error only for a failed start lookup or a bad start position.
func (s *LogSource) Stream(ctx context.Context, start func(ctx context.Context, source string) (Start, error), deliver func(ctx context.Context, b Batch) error) error {
	st, err := start(ctx, LogSourceName)
	if err != nil {
		return fmt.Errorf("stream change log: %w", err)
	}
	pos, err := s.resolve(st)
	if err != nil {
		return fmt.Errorf("stream change log: %w", err)
	}
	skipBefore := time.Time{}
	if st.Kind == AtTimestamp {
		skipBefore = st.At
	}
	for readFails := 0; ; {
		if ctx.Err() != nil {
			return nil
		}
		wake := s.log.Changed() // before reading, so no commit is missed
		changes, err := s.log.ChangesAfter(pos, s.o.BatchSize)
		if err != nil {
			s.o.Logger.Warn("read change log failed; retrying", "after", pos, "err", err, "attempt", readFails+1)
			if s.o.Backoff.Wait(ctx, readFails) != nil {
				return nil
			}
			readFails++
			continue
		}
		readFails = 0
		if len(changes) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-wake:
			}
			continue
		}
		last, err := strconv.ParseUint(changes[len(changes)-1].Position, 10, 64)
		if err != nil || last <= pos {
			return fmt.Errorf("stream change log: bad position %q after %d", changes[len(changes)-1].Position, pos)
		}
		full := len(changes) == s.o.BatchSize
		if !skipBefore.IsZero() {
			changes = dropBefore(changes, skipBefore)
			if len(changes) > 0 {
				skipBefore = time.Time{}
			}
		}
		if len(changes) > 0 {
			b := Batch{Source: LogSourceName, Changes: changes, Position: changes[len(changes)-1].Position}
			if full {
				b.MillisBehindLatest = max(time.Since(b.Changes[len(b.Changes)-1].At).Milliseconds(), 0)
			}
			if !s.deliver(ctx, deliver, b) {
				return nil
			}
		}
		pos = last
	}
}

// deliver calls deliver until it accepts b; false when ctx ended first.
func (s *LogSource) deliver(ctx context.Context, deliver DeliverFunc, b Batch) bool {
	for attempt := 0; ; attempt++ {
		err := deliver(ctx, b)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.o.Logger.Warn("deliver change log batch failed; redelivering", "position", b.Position, "err", err, "attempt", attempt+1)
		if s.o.Backoff.Wait(ctx, attempt) != nil {
			return false
		}
	}
}

// resolve turns a Start into the sequence number to read after.
func (s *LogSource) resolve(st Start) (uint64, error) {
	switch st.Kind {
	case TrimHorizon, AtTimestamp:
		return 0, nil
	case Latest:
		last, err := s.log.LastSeq()
		if err != nil {
			return 0, fmt.Errorf("last seq: %w", err)
		}
		return last, nil
	case AfterPosition:
		seq, err := strconv.ParseUint(st.Position, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad log position %q: %w", st.Position, err)
		}
		return seq, nil
	}
	return 0, fmt.Errorf("unknown start kind %v", st.Kind)
}

func dropBefore(changes []feed.Change, at time.Time) []feed.Change {
	for i, c := range changes {
		if !c.At.Before(at) {
			return changes[i:]
		}
	}
	return nil
}

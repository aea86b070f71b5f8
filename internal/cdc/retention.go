package cdc

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"
)

// LogTrimmer deletes old change-log entries. *embedded.Store implements it:
// it deletes entries older than its retention period, none with a sequence
// above keepAfter.
type LogTrimmer interface {
	TrimLog(keepAfter uint64) (int, error)
}

// trimPacer is an optional method of a LogTrimmer: how often it wants to
// be trimmed (*embedded.Store: a fraction of its retention period).
type trimPacer interface {
	TrimEvery() time.Duration
}

// LowestLogCheckpoint returns the lowest log position any of consumers
// still needs: the minimum of their AfterPosition checkpoints. A consumer
// starting at TrimHorizon or AtTimestamp needs the whole log (0); one
// starting at Latest needs nothing kept. With no constraint it returns
// math.MaxUint64.
func LowestLogCheckpoint(ctx context.Context, consumers []Consumer) (uint64, error) {
	low := uint64(math.MaxUint64)
	for _, c := range consumers {
		st, err := c.Start(ctx, LogSourceName)
		if err != nil {
			return 0, fmt.Errorf("checkpoint of %s: %w", c.Name(), err)
		}
		switch st.Kind {
		case Latest:
		case AfterPosition:
			seq, err := strconv.ParseUint(st.Position, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("checkpoint of %s: bad log position %q", c.Name(), st.Position)
			}
			low = min(low, seq)
		default:
			low = 0
		}
	}
	return low, nil
}

// RunLogRetention trims the embedded change log every interval until ctx
// ends: entries past the store's retention period and at or below every
// consumer's checkpoint (LowestLogCheckpoint) are deleted. Errors are
// logged and retried at the next tick. A trimmer with a TrimEvery method
// shorter than every is trimmed that often instead, so that a short
// retention period keeps the log short.
func RunLogRetention(ctx context.Context, log LogTrimmer, consumers []Consumer, every time.Duration, logger *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	if p, ok := log.(trimPacer); ok && p.TrimEvery() > 0 {
		every = min(every, p.TrimEvery())
	}
	if logger == nil {
		logger = slog.Default()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		keep, err := LowestLogCheckpoint(ctx, consumers)
		if err != nil {
			logger.Warn("change log retention: no checkpoint", "err", err)
			continue
		}
		if keep == 0 {
			continue
		}
		n, err := log.TrimLog(keep)
		if err != nil {
			logger.Warn("change log retention failed", "err", err)
			continue
		}
		if n > 0 {
			logger.Info("change log trimmed", "deleted", n, "keep_after", keep)
		}
	}
}

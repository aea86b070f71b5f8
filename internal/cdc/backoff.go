package cdc

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential back-off with jitter, for retrying a failed
// Apply, a redelivery or a throttled read. The zero value uses the defaults.
type Backoff struct {
	// Min is the first delay (default 100ms); Max caps it (default 10s).
	Min, Max time.Duration
}

// Delay returns the delay before retry number attempt (0 for the first
// retry): Min·2^attempt capped at Max, minus up to 20% jitter so that many
// retriers do not move in step.
func (b Backoff) Delay(attempt int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 10 * time.Second
	}
	if hi < lo {
		hi = lo
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Wait sleeps for Delay(attempt) or until ctx ends, returning ctx's error in
// that case.
func (b Backoff) Wait(ctx context.Context, attempt int) error {
	return Sleep(ctx, b.Delay(attempt))
}

// Sleep sleeps for d or until ctx ends, returning ctx's error in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

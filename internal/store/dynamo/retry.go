package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/oddsfeed/oddsfeed/internal/store"
)

// ErrThrottled is wrapped by the error of a batch call whose items were
// still unprocessed or throttled after the store's MaxAttempts: DynamoDB is
// overloaded or unavailable, and the caller may retry the items not stored.
var ErrThrottled = fmt.Errorf("dynamodb throttled: retries exhausted: %w", store.ErrUnavailable)

// retryable reports whether err is worth retrying after a back-off:
// throttling and server-side (5xx) failures.
func retryable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 500
}

// backoff sleeps before retry number attempt (0 for the first retry):
// exponential back-off with full jitter, capped at the store's MaxBackoff.
// It returns early with ctx's error when ctx ends.
func (s *Store) backoff(ctx context.Context, attempt int) error {
	d := s.opts.BaseBackoff
	for range attempt {
		if d >= s.opts.MaxBackoff {
			break
		}
		d *= 2
	}
	d = min(d, s.opts.MaxBackoff)
	t := time.NewTimer(rand.N(d) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parallelism bounds the batch requests one call has in flight.
const parallelism = 8

// parallel runs fn(0..n-1) with at most parallelism at a time and returns
// their errors joined.
func parallel(n int, fn func(i int) error) error { return parallelN(n, parallelism, fn) }

// parallelN runs fn(0..n-1) with at most limit at a time and returns their
// errors joined.
func parallelN(n, limit int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// chunks splits 0..n-1 into ranges of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

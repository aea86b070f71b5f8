// Package kinesis is the Kinesis Data Streams adapter of the change data
// capture port (cdc.ChangeSource): a shard reader on aws-sdk-go-v2 that
// polls GetRecords on every shard of a stream, decodes the "Kinesis Data
// Streams for DynamoDB" records with cdc.DecodeBatch, follows resharding
// (children only after their parents are finished) and reports each shard's
// MillisBehindLatest.
package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
)

// Options configure a Source.
type Options struct {
	// Stream is the Kinesis stream's name.
	Stream string
	// PollMin is the delay between GetRecords calls on a shard while records
	// flow (default 5ms); each empty read doubles it up to PollMax (default
	// 1s). A read that returns Limit records is followed at once. On AWS a
	// shard serves 5 reads a second: faster polling is throttled and backed
	// off (Backoff).
	PollMin, PollMax time.Duration
	// Limit is the GetRecords limit (default 1000, at most 10000).
	Limit int32
	// DiscoverEvery is the ListShards period that finds new shards after a
	// reshard (default 10s). A shard that finishes triggers a listing too.
	DiscoverEvery time.Duration
	// Backoff paces retries of throttled (ProvisionedThroughputExceeded,
	// LimitExceeded) and transient errors, and redeliveries after a deliver
	// error.
	Backoff cdc.Backoff
	// Logger gets the source's logs (default slog.Default()).
	Logger *slog.Logger
}

// lagReportEvery bounds how often an idle shard delivers an empty batch to
// report its lag.
const lagReportEvery = time.Second

// Source reads a Kinesis stream. It is safe for concurrent use: each Stream
// call reads the stream on its own, at its own positions.
type Source struct {
	client *awskinesis.Client
	o      Options
	log    *slog.Logger

	mu      sync.Mutex
	nextRun int
	lags    map[int]map[string]int64 // Stream call -> shard -> millis behind
}

var _ cdc.ChangeSource = (*Source)(nil)

// New returns a Source reading o.Stream through client.
func New(client *awskinesis.Client, o Options) *Source {
	if o.PollMin <= 0 {
		o.PollMin = 5 * time.Millisecond
	}
	if o.PollMax <= 0 {
		o.PollMax = time.Second
	}
	o.PollMax = max(o.PollMax, o.PollMin)
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	o.Limit = min(o.Limit, 10000)
	if o.DiscoverEvery <= 0 {
		o.DiscoverEvery = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Source{
		client: client,
		o:      o,
		log:    o.Logger.With("stream", o.Stream),
		lags:   map[int]map[string]int64{},
	}
}

// Lag returns MillisBehindLatest per shard being read, for metrics: the
// largest over the Stream calls running (the slowest consumer). Finished
// shards are left out.
func (s *Source) Lag() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, shards := range s.lags {
		for id, ms := range shards {
			if cur, ok := out[id]; !ok || ms > cur {
				out[id] = ms
			}
		}
	}
	return out
}

func (s *Source) register() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextRun++
	s.lags[s.nextRun] = map[string]int64{}
	return s.nextRun
}

func (s *Source) unregister(run int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lags, run)
}

func (s *Source) setLag(run int, shard string, ms int64, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lags[run]; m != nil {
		if done {
			delete(m, shard)
		} else {
			m[shard] = ms
		}
	}
}

// Stream implements cdc.ChangeSource. It lists the shards at start and
// every DiscoverEvery, and reads each shard in its own goroutine once its
// parents (ParentShardId, AdjacentParentShardId) are finished in this call
// or no longer listed (trimmed). The start kinds map to shard iterators:
// AfterPosition to AFTER_SEQUENCE_NUMBER, TrimHorizon to TRIM_HORIZON,
// AtTimestamp to AT_TIMESTAMP, and Latest to LATEST for the shards open at
// the first listing only: a closed shard is then finished at once, and
// shards appearing later (children of a reshard) start from TRIM_HORIZON so
// nothing written to them is skipped.
//
// Throttling and transient errors are retried after a back-off, an expired
// iterator is renewed after the last delivered record. Stream returns nil
// when ctx ends, or an error for a failed start lookup, a failed first
// listing, or an error that retrying cannot mend (stream deleted, access
// denied, bad checkpoint).
func (s *Source) Stream(ctx context.Context, start func(ctx context.Context, source string) (cdc.Start, error), deliver func(ctx context.Context, b cdc.Batch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{
		src:      s,
		id:       s.register(),
		start:    start,
		deliver:  deliver,
		started:  map[string]bool{},
		finished: map[string]bool{},
		wake:     make(chan struct{}, 1),
		fatal:    make(chan error, 1),
	}
	defer s.unregister(r.id)
	var wg sync.WaitGroup
	err := r.discoverLoop(ctx, &wg)
	cancel()
	wg.Wait()
	return err
}

// run is the state of one Stream call.
type run struct {
	src     *Source
	id      int
	start   cdc.StartFunc
	deliver cdc.DeliverFunc
	initial map[string]bool // shards listed at the first discovery

	mu       sync.Mutex
	started  map[string]bool
	finished map[string]bool

	wake  chan struct{}
	fatal chan error
}

func (r *run) discoverLoop(ctx context.Context, wg *sync.WaitGroup) error {
	tick := time.NewTicker(r.src.o.DiscoverEvery)
	defer tick.Stop()
	for {
		shards, err := r.src.listShards(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && r.initial == nil:
			return fmt.Errorf("stream kinesis %s: %w", r.src.o.Stream, err)
		case err != nil:
			r.src.log.Warn("kinesis list shards failed; retrying at the next discovery", "err", err)
		default:
			r.launch(ctx, wg, shards)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-r.fatal:
			return fmt.Errorf("stream kinesis %s: %w", r.src.o.Stream, err)
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// launch starts a reader for every listed shard not started yet whose
// parents are done.
func (r *run) launch(ctx context.Context, wg *sync.WaitGroup, shards []types.Shard) {
	listed := make(map[string]bool, len(shards))
	for _, sh := range shards {
		listed[aws.ToString(sh.ShardId)] = true
	}
	if r.initial == nil {
		r.initial = listed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		if r.started[id] {
			continue
		}
		ready := true
		for _, p := range []string{aws.ToString(sh.ParentShardId), aws.ToString(sh.AdjacentParentShardId)} {
			if p != "" && listed[p] && !r.finished[p] {
				ready = false
			}
		}
		if !ready {
			continue
		}
		r.started[id] = true
		closed := sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil
		initial := r.initial[id]
		wg.Go(func() {
			if err := r.readShard(ctx, id, initial, closed); err != nil && ctx.Err() == nil {
				select {
				case r.fatal <- err:
				default:
				}
			}
		})
	}
}

// readShard resolves where shard starts and reads it to its end.
func (r *run) readShard(ctx context.Context, shard string, initial, closed bool) error {
	st, err := r.start(ctx, shard)
	if err != nil {
		return fmt.Errorf("start of shard %s: %w", shard, err)
	}
	if st.Kind == cdc.Latest && !initial {
		st = cdc.Start{Kind: cdc.TrimHorizon}
	}
	log := r.src.log.With("shard", shard)
	if st.Kind == cdc.Latest && closed {
		log.Info("kinesis shard closed, nothing after LATEST; finished")
		r.finish(shard)
		return nil
	}
	log.Info("kinesis shard reading", "start", st.Kind.String(), "position", st.Position)
	sr := &shardReader{src: r.src, shard: shard, start: st, log: log}
	done, err := sr.run(ctx, r.deliver, func(ms int64) { r.src.setLag(r.id, shard, ms, false) })
	if err != nil || !done {
		return err
	}
	log.Info("kinesis shard finished", "last", sr.last)
	r.finish(shard)
	return nil
}

// finish marks shard finished and wakes the discovery loop to start its
// children.
func (r *run) finish(shard string) {
	r.src.setLag(r.id, shard, 0, true)
	r.mu.Lock()
	r.finished[shard] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// listShards lists every shard of the stream, following NextToken.
func (s *Source) listShards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	in := &awskinesis.ListShardsInput{StreamName: aws.String(s.o.Stream)}
	for {
		out, err := s.client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards: %w", err)
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &awskinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// errorClass says how a failed call is handled.
type errorClass int

const (
	classFatal errorClass = iota
	classRetry
	classExpired
)

func classify(err error) errorClass {
	var (
		expired    *types.ExpiredIteratorException
		throughput *types.ProvisionedThroughputExceededException
		limit      *types.LimitExceededException
		kmsThrot   *types.KMSThrottlingException
		internal   *types.InternalFailureException
	)
	switch {
	case errors.As(err, &expired):
		return classExpired
	case errors.As(err, &throughput), errors.As(err, &limit), errors.As(err, &kmsThrot), errors.As(err, &internal):
		return classRetry
	}
	var rnf *types.ResourceNotFoundException
	var inv *types.InvalidArgumentException
	var denied *types.AccessDeniedException
	if errors.As(err, &rnf) || errors.As(err, &inv) || errors.As(err, &denied) {
		return classFatal
	}
	if code := apiErrorCode(err); code != "" {
		// Other service errors: retry throttling and server faults only.
		return retryableCode(code, err)
	}
	// No service answer: network trouble, timeouts. Retry.
	return classRetry
}

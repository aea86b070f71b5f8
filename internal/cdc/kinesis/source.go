// Package kinesis is the Kinesis Data Streams adapter of the change data
// capture port (cdc.ChangeSource): a shard reader on aws-sdk-go-v2 that
// reads every shard of a stream, by polling GetRecords (the default) or
// through enhanced fan-out (SubscribeToShard with a registered stream
// consumer, Options.Consumer), decodes the "Kinesis Data Streams for
// DynamoDB" records with cdc.DecodeBatch, follows resharding (children only
// after their parents are finished) and reports each shard's
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
	// Consumer, when set, reads with enhanced fan-out instead of polling:
	// the name of a stream consumer, registered by Stream when it does not
	// exist yet, whose SubscribeToShard subscriptions push records as they
	// arrive (PollMin, PollMax and Limit then do not apply). A consumer
	// allows one subscription per shard at a time, so each Stream call
	// running at once uses its own: the first Consumer, the next ones
	// Consumer-2, Consumer-3... Servers reading one stream need distinct
	// names. Consumers are never deregistered here (AWS bills them per
	// shard hour): deregister them when going back to polling.
	Consumer string
	// Emulator says the endpoint is kinesis-mock, whose fan-out differs
	// from AWS's in two ways worked around with it: its SubscribeToShard
	// event stream lacks the "initial-response" event the SDK waits for,
	// and its events never tell that a closed shard is finished (no
	// ChildShards, always a continuation), so a reader that has caught up
	// asks GetRecords. Never set it against AWS.
	Emulator bool
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
	slots   []bool                   // fan-out consumer slots taken by Stream calls

	// resubscribeAfter, when > 0, ends each fan-out subscription after
	// that long, as AWS does after 5 minutes (tests).
	resubscribeAfter time.Duration
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
// With Options.Consumer each shard is read through a SubscribeToShard
// subscription from the same starting positions, renewed when it ends after
// the last event handled (its ContinuationSequenceNumber); the consumer is
// registered first if needed and Stream waits until it is ACTIVE.
//
// Throttling and transient errors are retried after a back-off, an expired
// iterator is renewed after the last delivered record. Stream returns nil
// when ctx ends, or an error for a failed start lookup, a failed first
// listing or consumer registration, or an error that retrying cannot mend
// (stream deleted, access denied, bad checkpoint).
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
	if s.o.Consumer != "" {
		slot := s.takeSlot()
		defer s.releaseSlot(slot)
		arn, err := s.consumer(ctx, consumerName(s.o.Consumer, slot))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("stream kinesis %s: %w", s.o.Stream, err)
		}
		r.consumerARN = arn
	}
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
	// consumerARN is the fan-out consumer's ARN, "" when polling.
	consumerARN string

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
	var sr shardStream = &shardReader{src: r.src, shard: shard, start: st, log: log}
	if r.consumerARN != "" {
		sr = &subscriber{src: r.src, consumerARN: r.consumerARN, shard: shard, start: st, log: log}
	}
	log.Info("kinesis shard reading", "start", st.Kind.String(), "position", st.Position, "fanout", r.consumerARN != "")
	done, err := sr.run(ctx, r.deliver, func(ms int64) { r.src.setLag(r.id, shard, ms, false) })
	if err != nil || !done {
		return err
	}
	log.Info("kinesis shard finished", "last", sr.lastPosition())
	r.finish(shard)
	return nil
}

// shardStream reads one shard for one Stream call: by polling GetRecords
// (shardReader) or through a fan-out subscription (subscriber). The shard
// listing and parent-before-child scheduling around it are the same.
type shardStream interface {
	// run reads the shard until it is finished (done true: the closed
	// shard's last record is delivered), ctx ends (nil) or a fatal error,
	// delivering batches in order and reporting each read's lag.
	run(ctx context.Context, deliver cdc.DeliverFunc, lag func(int64)) (done bool, err error)
	// lastPosition is the position of the last delivered record ("" before
	// one).
	lastPosition() string
}

var (
	_ shardStream = (*shardReader)(nil)
	_ shardStream = (*subscriber)(nil)
)

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

package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
)

// consumerPoll paces DescribeStreamConsumer while a consumer is being
// registered (AWS takes seconds, kinesis-mock 500ms) and retries of failed
// registration calls.
var consumerPoll = cdc.Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}

// consumerName is the fan-out consumer of a Stream call's slot: base for
// the first, base-2, base-3... for the next ones.
func consumerName(base string, slot int) string {
	if slot == 0 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, slot+1)
}

// takeSlot takes the lowest fan-out consumer slot no running Stream call
// holds.
func (s *Source) takeSlot() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, taken := range s.slots {
		if !taken {
			s.slots[i] = true
			return i
		}
	}
	s.slots = append(s.slots, true)
	return len(s.slots) - 1
}

func (s *Source) releaseSlot(slot int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots[slot] = false
}

// consumer returns the ARN of the stream consumer name, registering it if
// it does not exist, once it is ACTIVE.
func (s *Source) consumer(ctx context.Context, name string) (string, error) {
	var streamARN *string
	registered := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := consumerPoll.Wait(ctx, attempt-1); err != nil {
				return "", err
			}
		}
		if streamARN == nil {
			out, err := s.client.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(s.o.Stream)})
			if err != nil {
				if classify(err) == classRetry && ctx.Err() == nil {
					s.log.Warn("kinesis describe stream failed; retrying", "attempt", attempt+1, "err", err)
					continue
				}
				return "", fmt.Errorf("describe stream: %w", err)
			}
			streamARN = out.StreamDescriptionSummary.StreamARN
		}
		out, err := s.client.DescribeStreamConsumer(ctx, &awskinesis.DescribeStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String(name)})
		var notFound *types.ResourceNotFoundException
		switch {
		case err == nil && out.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive:
			arn := aws.ToString(out.ConsumerDescription.ConsumerARN)
			s.log.Info("kinesis fan-out consumer active", "consumer", name, "arn", arn)
			return arn, nil
		case err == nil:
			// CREATING, or DELETING: once gone it is registered again.
			s.log.Debug("kinesis fan-out consumer not active yet", "consumer", name, "status", out.ConsumerDescription.ConsumerStatus)
		case errors.As(err, &notFound) && !registered:
			s.log.Info("kinesis fan-out consumer registering", "consumer", name)
			_, err := s.client.RegisterStreamConsumer(ctx, &awskinesis.RegisterStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String(name)})
			var inUse *types.ResourceInUseException
			switch {
			case err == nil, errors.As(err, &inUse): // registered, here or by another server
				registered = true
			case classify(err) != classRetry || ctx.Err() != nil:
				return "", fmt.Errorf("register stream consumer %s: %w", name, err)
			default:
				s.log.Warn("kinesis register stream consumer failed; retrying", "attempt", attempt+1, "err", err)
			}
		case errors.As(err, &notFound):
			// Registered but not visible yet, or deleted meanwhile.
			registered = false
		case classify(err) != classRetry || ctx.Err() != nil:
			return "", fmt.Errorf("describe stream consumer %s: %w", name, err)
		default:
			s.log.Warn("kinesis describe stream consumer failed; retrying", "attempt", attempt+1, "err", err)
		}
	}
}

// ownProtocol gives one SubscribeToShard call a protocol of its own, the
// one the SDK's client sets up (JSON 1.1). The client's protocol holds one
// event stream codec whose scratch state every stream of the client uses,
// so subscriptions to several shards at once race on it (smithy-go issue
// 714, open in v1.28.8; go test -race reports it).
func ownProtocol(o *awskinesis.Options) { o.Protocol = awsjson.New11(schemas.Kinesis_20131202) }

// noInitialEvent is a Kinesis client protocol claiming that event streams
// have no initial event. The SDK reads the first message of a
// SubscribeToShard stream as the "initial-response" when the protocol has
// one (awsjson: always), and fails with "expected initial-response, got
// SubscribeToShardEvent" against kinesis-mock, which never sends it. With
// this, the first message is read as an event like the others (an
// initial-response that does come is then an unknown event, skipped by
// subscriber.read). Used only with Options.Emulator.
type noInitialEvent struct{ smithyhttp.ClientProtocol }

func (noInitialEvent) HasInitialEventMessage() bool { return false }

func withoutInitialResponse(o *awskinesis.Options) { o.Protocol = noInitialEvent{o.Protocol} }

// subscriber reads one shard for one Stream call through enhanced fan-out:
// a SubscribeToShard subscription of the run's consumer, renewed after the
// last event handled whenever it ends (AWS ends them after 5 minutes).
type subscriber struct {
	src         *Source
	consumerARN string
	shard       string
	start       cdc.Start
	log         *slog.Logger

	// last is the position of the last delivered record ("" before one).
	last string
	// cont is the ContinuationSequenceNumber of the last event handled: a
	// new subscription starts after it.
	cont string
	// latestAt is when a LATEST subscription was made: a renewal before
	// any event was handled resumes AT_TIMESTAMP there.
	latestAt time.Time
	// subscriptions counts the subscriptions made.
	subscriptions int
}

func (r *subscriber) lastPosition() string { return r.last }

// run subscribes to the shard until it is finished (done true: an event
// said the shard is closed and all of it was delivered), ctx ends (nil) or
// a fatal error.
func (r *subscriber) run(ctx context.Context, deliver cdc.DeliverFunc, lag func(int64)) (done bool, err error) {
	var lastEmpty time.Time
	for attempt := 0; ; {
		pos, err := r.position()
		if err != nil {
			return false, err
		}
		var events int
		out, err := r.subscribe(ctx, pos)
		if err == nil {
			r.subscriptions++
			events, done, err = r.read(ctx, out.GetStream(), deliver, lag, &lastEmpty)
			if done {
				return true, nil
			}
		}
		if ctx.Err() != nil {
			return false, nil
		}
		if events > 0 {
			attempt = 0
		}
		switch {
		case err == nil && events > 0:
			r.log.Debug("kinesis subscription ended; renewing", "after", r.cont)
			continue
		case err == nil:
			r.log.Warn("kinesis subscription ended without events; renewing", "attempt", attempt+1)
		case subscribeClass(err) == classRetry:
			r.log.Warn("kinesis subscribe to shard failed; retrying", "attempt", attempt+1, "err", err)
		default:
			return false, fmt.Errorf("subscribe to shard %s from %s: %w", r.shard, pos.Type, err)
		}
		if err := r.src.o.Backoff.Wait(ctx, attempt); err != nil {
			return false, nil
		}
		attempt++
	}
}

// position is where the next subscription starts: after the last event
// handled, else at the start.
func (r *subscriber) position() (*types.StartingPosition, error) {
	switch {
	case r.cont != "":
		return &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(r.cont)}, nil
	case r.last != "":
		return &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(r.last)}, nil
	case r.start.Kind == cdc.AfterPosition:
		return &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(r.start.Position)}, nil
	case r.start.Kind == cdc.TrimHorizon:
		return &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}, nil
	case r.start.Kind == cdc.AtTimestamp:
		return &types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(r.start.At)}, nil
	case r.start.Kind == cdc.Latest && !r.latestAt.IsZero():
		return &types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(r.latestAt)}, nil
	case r.start.Kind == cdc.Latest:
		r.latestAt = time.Now()
		return &types.StartingPosition{Type: types.ShardIteratorTypeLatest}, nil
	}
	return nil, fmt.Errorf("shard %s: unknown start kind %v", r.shard, r.start.Kind)
}

func (r *subscriber) subscribe(ctx context.Context, pos *types.StartingPosition) (*awskinesis.SubscribeToShardOutput, error) {
	optFns := []func(*awskinesis.Options){ownProtocol}
	if r.src.o.Emulator {
		optFns = append(optFns, withoutInitialResponse)
	}
	return r.src.client.SubscribeToShard(ctx, &awskinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(r.consumerARN), ShardId: aws.String(r.shard), StartingPosition: pos,
	}, optFns...)
}

// read handles the events of one subscription until it ends (err is then
// its error, nil when it just ended), the shard is finished (done), ctx
// ends or resubscribeAfter passes. events counts the events handled.
func (r *subscriber) read(ctx context.Context, es *awskinesis.SubscribeToShardEventStream, deliver cdc.DeliverFunc, lag func(int64), lastEmpty *time.Time) (events int, done bool, err error) {
	defer es.Close()
	var renew <-chan time.Time
	if d := r.src.resubscribeAfter; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		renew = t.C
	}
	for {
		var (
			ev types.SubscribeToShardEventStream
			ok bool
		)
		select {
		case <-ctx.Done():
			return events, false, nil
		case <-renew:
			return events, false, nil
		case ev, ok = <-es.Events():
		}
		if !ok {
			return events, false, es.Err()
		}
		e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !isEvent {
			r.log.Debug("kinesis subscription: unknown event skipped", "type", fmt.Sprintf("%T", ev))
			continue
		}
		events++
		done, err := r.handle(ctx, e.Value, deliver, lag, lastEmpty)
		if err != nil && ctx.Err() != nil {
			return events, false, nil
		}
		if done || err != nil {
			return events, done, err
		}
	}
}

// handle delivers the records of one event; done says the shard is
// finished: the event lists its children or has no continuation (or, with
// Options.Emulator, GetRecords finds the caught-up shard closed).
func (r *subscriber) handle(ctx context.Context, e types.SubscribeToShardEvent, deliver cdc.DeliverFunc, lag func(int64), lastEmpty *time.Time) (done bool, err error) {
	ms := aws.ToInt64(e.MillisBehindLatest)
	lag(ms)
	done = e.ContinuationSequenceNumber == nil || len(e.ChildShards) > 0
	if !done && len(e.Records) == 0 && r.src.o.Emulator {
		if done, err = r.closedAndRead(ctx); err != nil {
			return false, err
		}
	}
	switch {
	case len(e.Records) > 0:
		b := decodeRecords(r.shard, e.Records, ms)
		if err := r.src.deliverBatch(ctx, r.log, deliver, b); err != nil {
			return false, err
		}
		r.last = b.Position
	case !done && time.Since(*lastEmpty) >= lagReportEvery:
		if err := r.src.deliverBatch(ctx, r.log, deliver, cdc.Batch{Source: r.shard, MillisBehindLatest: ms}); err != nil {
			return false, err
		}
		*lastEmpty = time.Now()
	}
	if !done {
		r.cont = aws.ToString(e.ContinuationSequenceNumber)
	}
	return done, nil
}

// closedAndRead tells whether the shard is closed and nothing is left to
// read after the last delivered record, by one GetRecords there (a polling
// shardReader at the same position). kinesis-mock's subscriptions never
// say so; AWS's do, with ChildShards.
func (r *subscriber) closedAndRead(ctx context.Context) (bool, error) {
	p := &shardReader{src: r.src, shard: r.shard, start: r.start, log: r.log, last: r.last, latestAt: r.latestAt}
	if err := p.renew(ctx); err != nil {
		return false, err
	}
	out, err := p.fetch(ctx)
	if err != nil {
		return false, err
	}
	return len(out.Records) == 0 && out.NextShardIterator == nil, nil
}

// subscribeClass says how a failed subscription is handled: on top of
// classify, ResourceInUseException (a subscription of the same consumer to
// the shard is still active, or the consumer is not ACTIVE) is retried.
func subscribeClass(err error) errorClass {
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return classRetry
	}
	if classify(err) == classFatal {
		return classFatal
	}
	return classRetry
}

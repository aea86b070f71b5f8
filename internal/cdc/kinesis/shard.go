package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
)

// shardReader reads one shard for one Stream call by polling GetRecords.
type shardReader struct {
	src   *Source
	shard string
	start cdc.Start
	log   *slog.Logger

	// iter is the current shard iterator.
	iter *string
	// last is the position of the last delivered record ("" before one).
	last string
	// latestAt is when a LATEST iterator was taken: a renewal before any
	// record was delivered resumes AT_TIMESTAMP there.
	latestAt time.Time
	// renewals counts iterators renewed after expiry.
	renewals int
}

// run reads the shard until it is finished (done true: the closed shard's
// last record is delivered), ctx ends (nil) or a fatal error.
func (r *shardReader) run(ctx context.Context, deliver cdc.DeliverFunc, lag func(int64)) (done bool, err error) {
	if err := r.renew(ctx); err != nil {
		return false, ignoreCanceled(ctx, err)
	}
	o := r.src.o
	delay := o.PollMin
	var lastEmpty time.Time
	for {
		out, err := r.fetch(ctx)
		if err != nil {
			return false, ignoreCanceled(ctx, err)
		}
		ms := aws.ToInt64(out.MillisBehindLatest)
		lag(ms)
		switch {
		case len(out.Records) > 0:
			b := decodeRecords(r.shard, out.Records, ms)
			if err := r.src.deliverBatch(ctx, r.log, deliver, b); err != nil {
				return false, nil // ctx ended
			}
			r.last = b.Position
			delay = o.PollMin
		case out.NextShardIterator != nil && time.Since(lastEmpty) >= lagReportEvery:
			if err := r.src.deliverBatch(ctx, r.log, deliver, cdc.Batch{Source: r.shard, MillisBehindLatest: ms}); err != nil {
				return false, nil
			}
			lastEmpty = time.Now()
			fallthrough
		default:
			delay = min(delay*2, o.PollMax)
		}
		if out.NextShardIterator == nil {
			return true, nil
		}
		r.iter = out.NextShardIterator
		if int32(len(out.Records)) >= o.Limit {
			continue
		}
		if err := cdc.Sleep(ctx, delay); err != nil {
			return false, nil
		}
	}
}

func (r *shardReader) lastPosition() string { return r.last }

// deliverBatch delivers b until deliver accepts it; it fails only when ctx
// ends.
func (s *Source) deliverBatch(ctx context.Context, log *slog.Logger, deliver cdc.DeliverFunc, b cdc.Batch) error {
	for attempt := 0; ; attempt++ {
		err := deliver(ctx, b)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("kinesis deliver failed; redelivering the same batch", "position", b.Position,
			"changes", len(b.Changes), "attempt", attempt+1, "err", err)
		if err := s.o.Backoff.Wait(ctx, attempt); err != nil {
			return err
		}
	}
}

// fetch calls GetRecords on the current iterator, renewing it when it has
// expired and retrying throttled and transient failures.
func (r *shardReader) fetch(ctx context.Context) (*awskinesis.GetRecordsOutput, error) {
	for attempt := 0; ; attempt++ {
		out, err := r.src.client.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: r.iter, Limit: aws.Int32(r.src.o.Limit)})
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch classify(err) {
		case classExpired:
			r.renewals++
			r.log.Info("kinesis shard iterator expired; renewing", "after", r.last)
			if attempt > 0 { // expired again at once: do not spin
				if err := r.src.o.Backoff.Wait(ctx, attempt-1); err != nil {
					return nil, err
				}
			}
			if err := r.renew(ctx); err != nil {
				return nil, err
			}
		case classRetry:
			r.log.Warn("kinesis get records failed; retrying", "attempt", attempt+1, "err", err)
			if err := r.src.o.Backoff.Wait(ctx, attempt); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("get records of shard %s: %w", r.shard, err)
		}
	}
}

// renew takes a new iterator: after the last delivered record, else at the
// start.
func (r *shardReader) renew(ctx context.Context) error {
	in := &awskinesis.GetShardIteratorInput{StreamName: aws.String(r.src.o.Stream), ShardId: aws.String(r.shard)}
	switch {
	case r.last != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(r.last)
	case r.start.Kind == cdc.AfterPosition:
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(r.start.Position)
	case r.start.Kind == cdc.TrimHorizon:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	case r.start.Kind == cdc.AtTimestamp:
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(r.start.At)
	case r.start.Kind == cdc.Latest && !r.latestAt.IsZero():
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(r.latestAt)
	case r.start.Kind == cdc.Latest:
		r.latestAt = time.Now()
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	default:
		return fmt.Errorf("shard %s: unknown start kind %v", r.shard, r.start.Kind)
	}
	for attempt := 0; ; attempt++ {
		out, err := r.src.client.GetShardIterator(ctx, in)
		if err == nil {
			r.iter = out.ShardIterator
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if classify(err) != classRetry {
			return fmt.Errorf("get %s iterator of shard %s: %w", in.ShardIteratorType, r.shard, err)
		}
		r.log.Warn("kinesis get shard iterator failed; retrying", "attempt", attempt+1, "err", err)
		if err := r.src.o.Backoff.Wait(ctx, attempt); err != nil {
			return err
		}
	}
}

// apiErrorCode is the service error code of err, "" when the service did
// not answer.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// retryableCode classifies a service error not known by type: throttling
// and server faults (HTTP 5xx) are retried.
func retryableCode(code string, err error) errorClass {
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	switch {
	case strings.Contains(code, "Throttl"),
		errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultServer,
		errors.As(err, &re) && re.HTTPStatusCode() >= 500:
		return classRetry
	}
	return classFatal
}

func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// decodeRecords decodes the records a read of shard returned (GetRecords
// or a fan-out event) into a batch.
func decodeRecords(shard string, recs []types.Record, millisBehind int64) cdc.Batch {
	raw := make([]cdc.RawRecord, len(recs))
	for i, rec := range recs {
		raw[i] = cdc.RawRecord{Position: aws.ToString(rec.SequenceNumber), Data: rec.Data}
	}
	return cdc.DecodeBatch(shard, raw, millisBehind)
}

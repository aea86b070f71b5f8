package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// DynamoDB's batch limits.
const (
	maxBatchGet   = 100
	maxBatchWrite = 25
)

// batchWriter is the one call the batch writer makes; *dynamodb.Client
// satisfies it. Tests wrap the real client to have DynamoDB Local's answers
// report items as unprocessed, which it never does by itself.
type batchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// batchGet reads the items with the given keys (strongly consistent), in
// parallel chunks of 100, retrying unprocessed keys and throttling. With
// keysOnly it reads only the key attributes. Absent items are absent from
// the result.
func (s *Store) batchGet(ctx context.Context, keys []feed.Key, keysOnly bool) (map[feed.Key]feed.Item, error) {
	parts := chunks(len(keys), maxBatchGet)
	results := make([][]map[string]types.AttributeValue, len(parts))
	err := parallel(len(parts), func(c int) error {
		lo, hi := parts[c][0], parts[c][1]
		ka := types.KeysAndAttributes{ConsistentRead: aws.Bool(true)}
		for _, k := range keys[lo:hi] {
			ka.Keys = append(ka.Keys, keyAV(k))
		}
		if keysOnly {
			ka.ProjectionExpression = aws.String("#pk, #sk")
			ka.ExpressionAttributeNames = map[string]string{"#pk": feed.AttrPK, "#sk": feed.AttrSK}
		}
		items, err := s.getChunk(ctx, ka)
		results[c] = items
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[feed.Key]feed.Item, len(keys))
	for _, items := range results {
		for _, m := range items {
			it := fromAV(m)
			out[it.Key()] = it
		}
	}
	return out, nil
}

// getChunk runs one BatchGetItem until every key is processed or the
// attempts are used up.
func (s *Store) getChunk(ctx context.Context, ka types.KeysAndAttributes) ([]map[string]types.AttributeValue, error) {
	var (
		items   []map[string]types.AttributeValue
		lastErr error
	)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.backoff(ctx, attempt-1); err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{s.opts.Table: ka},
		})
		switch {
		case err != nil && !retryable(err):
			return nil, fmt.Errorf("batch get: %w", err)
		case err != nil:
			lastErr = err
		default:
			lastErr = nil
			items = append(items, out.Responses[s.opts.Table]...)
			left, ok := out.UnprocessedKeys[s.opts.Table]
			if !ok || len(left.Keys) == 0 {
				return items, nil
			}
			ka.Keys = left.Keys
		}
		if attempt+1 >= s.opts.MaxAttempts {
			return nil, exhausted("batch get", attempt+1, len(ka.Keys), lastErr)
		}
	}
}

// exhausted is the error of a batch call out of attempts.
func exhausted(op string, attempts, left int, last error) error {
	if last != nil {
		return fmt.Errorf("%s: %w after %d attempts, %d items left: %w", op, ErrThrottled, attempts, left, last)
	}
	return fmt.Errorf("%s: %w after %d attempts, %d items left unprocessed", op, ErrThrottled, attempts, left)
}

// batchPut writes items (all keys distinct) in parallel chunks of 25,
// retrying unprocessed items and throttling, and calls stored(i) for every
// item i DynamoDB acknowledged. stored is called from several goroutines,
// never twice for one i.
func (s *Store) batchPut(ctx context.Context, items []map[string]types.AttributeValue, stored func(i int)) error {
	parts := chunks(len(items), maxBatchWrite)
	return parallel(len(parts), func(c int) error {
		lo, hi := parts[c][0], parts[c][1]
		pending := make([]int, 0, hi-lo)
		for i := lo; i < hi; i++ {
			pending = append(pending, i)
		}
		return s.putChunk(ctx, items, pending, stored)
	})
}

// putChunk runs one BatchWriteItem of the items pending until all are
// acknowledged or the attempts are used up.
func (s *Store) putChunk(ctx context.Context, items []map[string]types.AttributeValue, pending []int, stored func(i int)) error {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.backoff(ctx, attempt-1); err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
		}
		reqs := make([]types.WriteRequest, len(pending))
		for j, i := range pending {
			reqs[j] = types.WriteRequest{PutRequest: &types.PutRequest{Item: items[i]}}
		}
		out, err := s.bw.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.opts.Table: reqs},
		})
		switch {
		case err != nil && !retryable(err):
			return fmt.Errorf("batch write: %w", err)
		case err != nil:
			lastErr = err
		default:
			lastErr = nil
			left := make(map[feed.Key]bool)
			for _, r := range out.UnprocessedItems[s.opts.Table] {
				if r.PutRequest != nil {
					left[keyOf(r.PutRequest.Item)] = true
				}
			}
			still := pending[:0]
			for _, i := range pending {
				if left[keyOf(items[i])] {
					still = append(still, i)
				} else {
					stored(i)
				}
			}
			pending = still
			if len(pending) == 0 {
				return nil
			}
		}
		if attempt+1 >= s.opts.MaxAttempts {
			return exhausted("batch write", attempt+1, len(pending), lastErr)
		}
	}
}

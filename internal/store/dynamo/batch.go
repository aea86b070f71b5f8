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
	maxBatchGet = 100
)

// itemPutter is the call PutOdds writes with; *dynamodb.Client satisfies
// it. Tests wrap the real client to throttle, or to write first as a
// concurrent writer would, which DynamoDB Local never does by itself.
type itemPutter interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
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

package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// ScanSegment reads every item of one segment of the table with DynamoDB's
// parallel Scan (Segment, TotalSegments; strongly consistent), for a full
// export such as the reporting backfill. The segments of one total hold
// every item exactly once. page is called for each non-empty page, in
// order, with the cursor to resume after it (the encoded LastEvaluatedKey)
// or "" after the segment's last page; an empty segment has no pages. To
// know that a page is the last, it is handed over once the next non-empty
// Scan page (or the end) has been read. A scan starts after cursor (""
// from the segment's start); a cursor of another segment or total fails
// with store.ErrBadCursor. An error from page stops the scan and is
// returned.
func (s *Store) ScanSegment(ctx context.Context, segment, total int, cursor string, page func(items []feed.Item, next string) error) error {
	if total < 1 || segment < 0 || segment >= total {
		return fmt.Errorf("scan segment %d of %d: segment out of range", segment, total)
	}
	start, err := decodeScanCursor(cursor, segment, total)
	if err != nil {
		return fmt.Errorf("scan segment %d of %d: %w", segment, total, err)
	}
	in := &dynamodb.ScanInput{
		TableName:      aws.String(s.opts.Table),
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(int32(s.opts.ScanPageSize)),
	}
	if total > 1 {
		in.Segment, in.TotalSegments = aws.Int32(int32(segment)), aws.Int32(int32(total))
	}
	var (
		pending    []feed.Item // read, not yet handed over
		pendingKey map[string]types.AttributeValue
	)
	for {
		in.ExclusiveStartKey = start
		out, err := s.db.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("scan segment %d of %d: %w", segment, total, err)
		}
		if len(out.Items) > 0 {
			if pending != nil {
				if err := page(pending, encodeScanCursor(pendingKey, segment, total)); err != nil {
					return err
				}
			}
			pending = make([]feed.Item, len(out.Items))
			for i, m := range out.Items {
				pending[i] = fromAV(m)
			}
			pendingKey = out.LastEvaluatedKey
		}
		if len(out.LastEvaluatedKey) == 0 {
			if pending != nil {
				return page(pending, "")
			}
			return nil
		}
		start = out.LastEvaluatedKey
	}
}

// scanCursor is the JSON of a ScanSegment cursor: the segment it belongs
// to and the ExclusiveStartKey's string attributes (the table's key).
type scanCursor struct {
	Segment int               `json:"seg"`
	Total   int               `json:"of"`
	Key     map[string]string `json:"key"`
}

// encodeScanCursor makes the cursor that resumes segment after key.
func encodeScanCursor(key map[string]types.AttributeValue, segment, total int) string {
	c := scanCursor{Segment: segment, Total: total, Key: make(map[string]string, len(key))}
	for k, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			c.Key[k] = s.Value
		}
	}
	b, _ := json.Marshal(c) // ints and a map of strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeScanCursor returns the start key of a cursor of segment; "" is nil
// (the segment's start).
func decodeScanCursor(cursor string, segment, total int) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", store.ErrBadCursor)
	}
	var c scanCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: not a scan cursor", store.ErrBadCursor)
	}
	if c.Segment != segment || c.Total != total {
		return nil, fmt.Errorf("%w: made for segment %d of %d", store.ErrBadCursor, c.Segment, c.Total)
	}
	if len(c.Key) != 2 || c.Key[feed.AttrPK] == "" || c.Key[feed.AttrSK] == "" {
		return nil, fmt.Errorf("%w: not a key of the table", store.ErrBadCursor)
	}
	return map[string]types.AttributeValue{feed.AttrPK: sAV(c.Key[feed.AttrPK]), feed.AttrSK: sAV(c.Key[feed.AttrSK])}, nil
}

// ApproxItemCount returns the table's item count as DescribeTable reports
// it: DynamoDB updates it about every six hours (DynamoDB Local may lag
// too), so it is for progress display only.
func (s *Store) ApproxItemCount(ctx context.Context) (int64, error) {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.opts.Table)})
	if err != nil {
		return 0, fmt.Errorf("count items of %s: %w", s.opts.Table, err)
	}
	if out.Table == nil || out.Table.ItemCount == nil {
		return 0, nil
	}
	return *out.Table.ItemCount, nil
}

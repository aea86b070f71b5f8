package devbridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	dstypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// rediscoverEvery is how often the table stream's shards are listed.
const rediscoverEvery = time.Second

// streamLimit is the GetRecords limit on the table's stream.
const streamLimit = 1000

// shard is one shard of the table's stream being read.
type shard struct {
	id   string
	iter *string
	last string // sequence number of the last record read
	// kind is where the shard started, for a renewal before any record.
	kind dstypes.ShardIteratorType
}

// Run relays until ctx ends (then it returns nil) or the table's stream
// cannot be found. Read and write failures are logged and retried.
func (b *Bridge) Run(ctx context.Context) error {
	b.log.Warn("devbridge starting: DEVELOPMENT AND TEST TOOLING ONLY, relaying the table's DynamoDB stream to Kinesis; never use against real AWS",
		"latest", b.o.Latest, "partitionBy", b.o.PartitionBy, "duplicateEvery", b.o.DuplicateEvery,
		"reorderWindow", b.o.ReorderWindow, "malformedEvery", b.o.MalformedEvery)
	t, err := b.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(b.o.Table)})
	if err != nil {
		return fmt.Errorf("devbridge: describe table %s: %w", b.o.Table, err)
	}
	arn := aws.ToString(t.Table.LatestStreamArn)
	if arn == "" {
		return fmt.Errorf("devbridge: table %s has no stream", b.o.Table)
	}
	var (
		active   []*shard
		started  = map[string]bool{}
		finished = map[string]bool{}
		first    = true
		listedAt time.Time
	)
	for ctx.Err() == nil {
		if time.Since(listedAt) >= rediscoverEvery {
			shards, err := b.listShards(ctx, arn)
			switch {
			case err != nil && first:
				return fmt.Errorf("devbridge: %w", err)
			case err != nil:
				b.log.Warn("devbridge list shards failed", "err", err)
			default:
				listedAt = time.Now()
				active = append(active, b.startShards(ctx, arn, shards, started, finished, first)...)
				first = false
			}
		}
		var recs []record
		full := false
		for _, sh := range active {
			got, n := b.readShard(ctx, arn, sh)
			recs = append(recs, got...)
			full = full || n >= streamLimit
			if sh.iter == nil {
				finished[sh.id] = true
				listedAt = time.Time{} // start its children
				b.log.Info("devbridge table stream shard finished", "shard", sh.id)
			}
		}
		active = slices.DeleteFunc(active, func(sh *shard) bool { return sh.iter == nil })
		if len(recs) > 0 {
			if err := b.relay(ctx, recs); err != nil {
				break // ctx ended
			}
		}
		if !full {
			_ = cdc.Sleep(ctx, b.o.Poll)
		}
	}
	b.log.Info("devbridge stopped", "stats", b.Stats())
	return nil
}

// listShards lists the shards of the table's stream.
func (b *Bridge) listShards(ctx context.Context, arn string) ([]dstypes.Shard, error) {
	var shards []dstypes.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)}
	for {
		out, err := b.streams.DescribeStream(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe stream %s: %w", arn, err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return shards, nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// startShards takes iterators for the shards not started whose parent is
// finished or gone. Shards listed first start at TRIM_HORIZON or LATEST
// (Options.Latest), later ones at TRIM_HORIZON.
func (b *Bridge) startShards(ctx context.Context, arn string, shards []dstypes.Shard, started, finished map[string]bool, first bool) []*shard {
	listed := map[string]bool{}
	for _, s := range shards {
		listed[aws.ToString(s.ShardId)] = true
	}
	var out []*shard
	for _, s := range shards {
		id, parent := aws.ToString(s.ShardId), aws.ToString(s.ParentShardId)
		if started[id] || (parent != "" && listed[parent] && !finished[parent]) {
			continue
		}
		kind := dstypes.ShardIteratorTypeTrimHorizon
		if first && b.o.Latest {
			kind = dstypes.ShardIteratorTypeLatest
		}
		sh := &shard{id: id, kind: kind}
		if err := b.renew(ctx, arn, sh); err != nil {
			b.log.Warn("devbridge shard iterator failed; retrying at the next listing", "shard", id, "err", err)
			continue
		}
		started[id] = true
		out = append(out, sh)
		b.log.Info("devbridge reading table stream shard", "shard", id, "from", kind)
	}
	return out
}

// renew takes an iterator after the last record read, else at the start.
func (b *Bridge) renew(ctx context.Context, arn string, sh *shard) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: aws.String(sh.id), ShardIteratorType: sh.kind}
	if sh.last != "" {
		in.ShardIteratorType, in.SequenceNumber = dstypes.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.last)
	}
	out, err := b.streams.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("get shard iterator %s: %w", sh.id, err)
	}
	sh.iter = out.ShardIterator
	if sh.iter == nil { // a closed shard with nothing left
		sh.iter = aws.String("")
	}
	return nil
}

// readShard reads one page of a shard and converts it. On an error the
// shard is kept and read again at the next round (with a new iterator when
// the old one expired). It returns the records and how many were read.
func (b *Bridge) readShard(ctx context.Context, arn string, sh *shard) ([]record, int) {
	if aws.ToString(sh.iter) == "" {
		sh.iter = nil
		return nil, 0
	}
	out, err := b.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iter, Limit: aws.Int32(streamLimit)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0
		}
		var expired *dstypes.ExpiredIteratorException
		var trimmed *dstypes.TrimmedDataAccessException
		if errors.As(err, &expired) || errors.As(err, &trimmed) {
			if err := b.renew(ctx, arn, sh); err != nil {
				b.log.Warn("devbridge renew iterator failed", "shard", sh.id, "err", err)
			}
			return nil, 0
		}
		b.log.Warn("devbridge read table stream failed; retrying", "shard", sh.id, "err", err)
		return nil, 0
	}
	recs := make([]record, 0, len(out.Records))
	for _, r := range out.Records {
		if r.Dynamodb != nil {
			sh.last = aws.ToString(r.Dynamodb.SequenceNumber)
		}
		rec, err := b.convert(r)
		if err != nil {
			b.mu.Lock()
			b.stats.Skipped++
			b.mu.Unlock()
			b.log.Error("devbridge cannot relay a stream record; skipped", "shard", sh.id, "eventID", aws.ToString(r.EventID), "err", err)
			continue
		}
		recs = append(recs, rec)
	}
	sh.iter = out.NextShardIterator
	return recs, len(out.Records)
}

// convert turns a DynamoDB Stream record into a "Kinesis Data Streams for
// DynamoDB" record. DynamoDB Local's TTL delete (an unknown eventName, no
// userIdentity, only an old image) becomes a REMOVE by the TTL service.
func (b *Bridge) convert(r dstypes.Record) (record, error) {
	if r.Dynamodb == nil {
		return record{}, errors.New("record without a dynamodb section")
	}
	in := cdc.RecordInput{
		EventName: feed.ChangeKind(r.EventName),
		EventID:   aws.ToString(r.EventID),
		Region:    b.region,
		TableName: b.o.Table,
		Keys:      item(r.Dynamodb.Keys).Key(),
		NewImage:  item(r.Dynamodb.NewImage),
		OldImage:  item(r.Dynamodb.OldImage),
		At:        b.stamp(),
	}
	service := r.UserIdentity != nil && aws.ToString(r.UserIdentity.Type) == "Service"
	switch r.EventName {
	case dstypes.OperationTypeInsert, dstypes.OperationTypeModify:
	case dstypes.OperationTypeRemove:
		in.TTL = service
	default:
		if r.UserIdentity != nil || in.OldImage == nil || in.NewImage != nil {
			return record{}, fmt.Errorf("unknown eventName %q", r.EventName)
		}
		in.EventName, in.TTL = feed.ChangeRemove, true
		b.mu.Lock()
		b.stats.TTLTranslated++
		b.mu.Unlock()
	}
	data, err := cdc.EncodeRecord(in)
	if err != nil {
		return record{}, err
	}
	return record{pk: b.partitionKey(in.Keys), data: data}, nil
}

// item converts a stream image to a feed item (S and N attributes; the
// feed scheme has no others). nil stays nil.
func item(m map[string]dstypes.AttributeValue) feed.Item {
	if m == nil {
		return nil
	}
	it := make(feed.Item, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case *dstypes.AttributeValueMemberS:
			it[k] = feed.S(v.Value)
		case *dstypes.AttributeValueMemberN:
			it[k] = feed.N(v.Value)
		}
	}
	return it
}

// reorder shuffles recs within windows of n: each window becomes a random
// interleaving of its per-partition-key runs, so records of one partition
// key keep their order.
func reorder(recs []record, n int) []record {
	out := make([]record, 0, len(recs))
	for w := range slices.Chunk(recs, n) {
		var keys []string
		queues := map[string][]record{}
		for _, r := range w {
			if _, ok := queues[r.pk]; !ok {
				keys = append(keys, r.pk)
			}
			queues[r.pk] = append(queues[r.pk], r)
		}
		for left := len(w); left > 0; left-- {
			// Pick a record at random among those left: its key's head goes next.
			i := rand.IntN(left)
			for _, k := range keys {
				if q := queues[k]; i < len(q) {
					out = append(out, q[0])
					queues[k] = q[1:]
					break
				} else {
					i -= len(q)
				}
			}
		}
	}
	return out
}

// Package devbridge is DEVELOPMENT AND TEST TOOLING ONLY: it is never used
// against real AWS.
//
// On AWS, DynamoDB forwards a table's changes to a Kinesis stream itself
// ("Kinesis Data Streams for DynamoDB"). No emulator does, so for tests and
// local runs the Bridge tails the table's DynamoDB Stream on DynamoDB Local
// and writes each change to the Kinesis stream (kinesis-mock) in the exact
// record shape AWS uses (cdc.EncodeRecord), partition key = the item's PK
// (Options.PartitionBy "pk", the default) or, as AWS does, the item's whole
// primary key (PartitionBy "item": a game's odds then spread over every
// shard).
//
// It also does what AWS does and the emulators do not, so the consumer's
// handling of each can be tested: it stamps ApproximateCreationDateTime with
// microsecond precision (DynamoDB Local rounds to the minute), turns
// DynamoDB Local's TTL deletes into REMOVEs with the TTL service's identity,
// and on request writes duplicates, reorders records across partition keys,
// writes malformed records, reshards the stream mid-flight and injects TTL
// REMOVEs.
package devbridge

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Options configure a Bridge.
type Options struct {
	// Table is the DynamoDB table (its stream must be on, NEW_AND_OLD_IMAGES);
	// Stream the Kinesis stream written to.
	Table, Stream string
	// Poll is the pause between reads of the table's stream (default 10ms).
	Poll time.Duration
	// Latest starts the shards open at start at LATEST (only changes made
	// from now on); the default is TRIM_HORIZON (every change still kept).
	Latest bool
	// PartitionBy chooses the Kinesis partition key of a record:
	// PartitionByPK ("" or "pk", the default) uses the item's PK, so a
	// game and all its odds share one shard, in write order;
	// PartitionByItem ("item") uses the item's whole primary key (PK and
	// SK), as "Kinesis Data Streams for DynamoDB" does: each odds item
	// lands on any shard, and only the changes of one item keep their order.
	PartitionBy string

	// Fault injection, for tests.

	// DuplicateEvery writes every Nth record twice, the copy right after
	// the original among its key's records (0: never).
	DuplicateEvery int
	// ReorderWindow shuffles records across partition keys within windows
	// of N records of one relay; two records of the same partition key are
	// never swapped, as AWS keeps per-key order (0 or 1: off). With
	// PartitionBy "item" the odds of one game are reordered among
	// themselves; two changes of one item never are.
	ReorderWindow int
	// MalformedEvery writes a record no consumer can decode (not JSON,
	// truncated JSON, JSON of the wrong shape, in turn) after every Nth
	// record, under a partition key of its own (0: never).
	MalformedEvery int

	// Logger gets the bridge's logs (default slog.Default()).
	Logger *slog.Logger
}

// Stats are the bridge's figures since New.
type Stats struct {
	// Relayed counts changes written to Kinesis (copies not counted).
	Relayed int64
	// Duplicates counts the extra copies written (DuplicateEvery).
	Duplicates int64
	// TTLTranslated counts DynamoDB Local TTL deletes relayed as REMOVEs
	// with the TTL service's identity.
	TTLTranslated int64
	// Injected counts InjectTTLRemove records.
	Injected int64
	// Skipped counts stream records that could not be relayed.
	Skipped int64
	// Malformed counts the undecodable records written (MalformedEvery).
	Malformed int64
}

// The values of Options.PartitionBy.
const (
	PartitionByPK   = "pk"
	PartitionByItem = "item"
)

// Bridge relays a table's DynamoDB Stream to a Kinesis stream. Run it once;
// Reshard, InjectTTLRemove and Stats may be called while it runs.
type Bridge struct {
	streams *dynamodbstreams.Client
	ddb     *dynamodb.Client
	kin     *kinesis.Client
	o       Options
	log     *slog.Logger
	region  string
	backoff cdc.Backoff

	mu      sync.Mutex
	stats   Stats
	counted int64     // records seen, for DuplicateEvery
	seen    int64     // records seen, for MalformedEvery
	lastAt  time.Time // last creation time stamped
}

// New returns a Bridge from o.Table's stream (read with ddbStreams, found
// with ddb) to o.Stream (written with kin).
func New(ddbStreams *dynamodbstreams.Client, ddb *dynamodb.Client, kin *kinesis.Client, o Options) *Bridge {
	if o.Poll <= 0 {
		o.Poll = 10 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PartitionBy == "" {
		o.PartitionBy = PartitionByPK
	}
	if o.PartitionBy != PartitionByPK && o.PartitionBy != PartitionByItem {
		panic(fmt.Sprintf("devbridge: PartitionBy %q is neither %q nor %q", o.PartitionBy, PartitionByPK, PartitionByItem))
	}
	return &Bridge{
		streams: ddbStreams, ddb: ddb, kin: kin, o: o,
		log:     o.Logger.With("component", "devbridge", "table", o.Table, "stream", o.Stream),
		region:  cmp.Or(ddb.Options().Region, "us-east-1"),
		backoff: cdc.Backoff{Min: 20 * time.Millisecond, Max: 2 * time.Second},
	}
}

// Stats returns the bridge's figures.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// stamp returns the creation time of a record read now: the read time at
// microsecond precision, strictly increasing so that the order the bridge
// read is kept.
func (b *Bridge) stamp() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := time.Now().UTC().Truncate(time.Microsecond)
	if !at.After(b.lastAt) {
		at = b.lastAt.Add(time.Microsecond)
	}
	b.lastAt = at
	return at
}

// Reshard sets the stream's shard count to target (UpdateShardCount,
// UNIFORM_SCALING) and waits until it is ACTIVE again.
func (b *Bridge) Reshard(ctx context.Context, target int32) error {
	_, err := b.kin.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{
		StreamName: aws.String(b.o.Stream), TargetShardCount: aws.Int32(target), ScalingType: ktypes.ScalingTypeUniformScaling,
	})
	if err != nil {
		return fmt.Errorf("reshard %s to %d: %w", b.o.Stream, target, err)
	}
	b.log.Info("devbridge reshard started", "target", target)
	for attempt := 0; ; attempt++ {
		out, err := b.kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(b.o.Stream)})
		if err != nil {
			return fmt.Errorf("reshard %s: describe: %w", b.o.Stream, err)
		}
		if out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive {
			b.log.Info("devbridge reshard done", "shards", aws.ToInt32(out.StreamDescriptionSummary.OpenShardCount))
			return nil
		}
		if err := cdc.Sleep(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("reshard %s: %w", b.o.Stream, err)
		}
	}
}

// InjectTTLRemove writes a REMOVE of item as the TTL service does it on
// AWS (userIdentity {type: Service, principalId: dynamodb.amazonaws.com},
// OldImage = item), without touching the table.
func (b *Bridge) InjectTTLRemove(ctx context.Context, item feed.Item) error {
	data, err := cdc.EncodeRecord(cdc.RecordInput{
		EventName: feed.ChangeRemove, Region: b.region, TableName: b.o.Table,
		OldImage: item, At: b.stamp(), TTL: true,
	})
	if err != nil {
		return fmt.Errorf("inject ttl remove: %w", err)
	}
	if item.Key().PK == "" {
		return errors.New("inject ttl remove: item has no PK")
	}
	if err := b.put(ctx, []record{{pk: b.partitionKey(item.Key()), data: data}}); err != nil {
		return fmt.Errorf("inject ttl remove: %w", err)
	}
	b.mu.Lock()
	b.stats.Injected++
	b.mu.Unlock()
	return nil
}

// record is one Kinesis record to write.
type record struct {
	pk   string // the partition key
	data []byte
}

// maxPartitionKey is the longest partition key Kinesis accepts.
const maxPartitionKey = 256

// partitionKey is the Kinesis partition key of a change of the item k
// (Options.PartitionBy).
func (b *Bridge) partitionKey(k feed.Key) string {
	if b.o.PartitionBy != PartitionByItem {
		return k.PK
	}
	pk := k.PK + "|" + k.SK
	if len(pk) > maxPartitionKey {
		sum := md5.Sum([]byte(k.PK + "\x00" + k.SK))
		pk = hex.EncodeToString(sum[:])
	}
	return pk
}

// maxPutRecords is the most records of one PutRecords call.
const maxPutRecords = 500

// relay writes one read's records, with the faults asked for.
func (b *Bridge) relay(ctx context.Context, recs []record) error {
	n := len(recs)
	if b.o.DuplicateEvery > 0 {
		recs = b.duplicate(recs)
	}
	malformed := 0
	if b.o.MalformedEvery > 0 {
		recs, malformed = b.malform(recs)
	}
	if b.o.ReorderWindow > 1 {
		recs = reorder(recs, b.o.ReorderWindow)
	}
	if err := b.put(ctx, recs); err != nil {
		return err
	}
	b.mu.Lock()
	b.stats.Relayed += int64(n)
	b.stats.Duplicates += int64(len(recs) - n - malformed)
	b.stats.Malformed += int64(malformed)
	b.mu.Unlock()
	return nil
}

// malform writes an undecodable record after every MalformedEvery-th
// record (copies included) and returns how many it added.
func (b *Bridge) malform(recs []record) ([]record, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]record, 0, len(recs)+len(recs)/b.o.MalformedEvery+1)
	added := 0
	for _, r := range recs {
		out = append(out, r)
		b.seen++
		if b.seen%int64(b.o.MalformedEvery) == 0 {
			n := b.stats.Malformed + int64(added)
			out = append(out, record{pk: fmt.Sprintf("malformed-%d", n), data: garbage(n)})
			added++
		}
	}
	return out, added
}

// garbage is the nth undecodable record: in turn bytes that are not JSON,
// truncated JSON, a JSON array, and a record of the right envelope whose
// dynamodb section has no sort key.
func garbage(n int64) []byte {
	switch n % 4 {
	case 0:
		return []byte("\x00\xffnot json: malformed record " + strconv.FormatInt(n, 10))
	case 1:
		return []byte(`{"eventID":"malformed-` + strconv.FormatInt(n, 10) + `","eventName":"INSERT","dynamodb":{"Keys":`)
	case 2:
		return []byte(`["malformed",` + strconv.FormatInt(n, 10) + `]`)
	default:
		return []byte(`{"awsRegion":"us-east-1","eventID":"malformed-` + strconv.FormatInt(n, 10) +
			`","eventName":"INSERT","eventSource":"aws:dynamodb","recordFormat":"application/json","tableName":"malformed",` +
			`"dynamodb":{"ApproximateCreationDateTime":` + strconv.FormatInt(time.Now().UnixMilli(), 10) +
			`,"Keys":{"PK":{"S":"GAME#malformed"}},"NewImage":{"PK":{"S":"GAME#malformed"}},"SizeBytes":10}}`)
	}
}

// duplicate writes every DuplicateEvery-th record twice in a row.
func (b *Bridge) duplicate(recs []record) []record {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]record, 0, len(recs)+len(recs)/b.o.DuplicateEvery+1)
	for _, r := range recs {
		out = append(out, r)
		b.counted++
		if b.counted%int64(b.o.DuplicateEvery) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// put writes recs in order with PutRecords. After a partial failure it
// writes again from the first failed record, so per-key order holds (at the
// price of a few duplicates, as a retrying producer on AWS).
func (b *Bridge) put(ctx context.Context, recs []record) error {
	for attempt := 0; len(recs) > 0; {
		chunk := recs[:min(len(recs), maxPutRecords)]
		in := &kinesis.PutRecordsInput{StreamName: aws.String(b.o.Stream), Records: make([]ktypes.PutRecordsRequestEntry, len(chunk))}
		for i, r := range chunk {
			in.Records[i] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(r.pk), Data: r.data}
		}
		out, err := b.kin.PutRecords(ctx, in)
		written := len(chunk)
		if err == nil {
			for i, e := range out.Records {
				if e.ErrorCode != nil {
					written = i
					err = fmt.Errorf("%s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
					break
				}
			}
		}
		recs = recs[written:]
		if err == nil {
			attempt = 0
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.log.Warn("devbridge put records failed; retrying", "left", len(recs), "attempt", attempt+1, "err", err)
		if err := b.backoff.Wait(ctx, attempt); err != nil {
			return err
		}
		attempt++
	}
	return nil
}

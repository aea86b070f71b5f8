package kinesis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// env holds kinesis-mock, started once for the package.
var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.Kinesis)
}

// newClient returns a Kinesis client of the package's kinesis-mock.
func newClient(t *testing.T) *awskinesis.Client {
	t.Helper()
	o := awsclient.Options{
		Region:          harness.Region,
		KinesisEndpoint: env.Kinesis.URL,
		AccessKeyID:     harness.AccessKey,
		SecretAccessKey: harness.SecretKey,
	}
	cfg, err := awsclient.Load(t.Context(), o)
	if err != nil {
		t.Fatalf("load aws config: %v", err)
	}
	return awsclient.Kinesis(cfg, o)
}

var streamSeq atomic.Int64

// newStream creates a fresh stream of n shards, waits until it is ACTIVE,
// and deletes it after t.
func newStream(t *testing.T, kin *awskinesis.Client, shards int32) string {
	t.Helper()
	name := fmt.Sprintf("cdc-%d-%d", time.Now().UnixNano()%1e6, streamSeq.Add(1))
	if _, err := kin.CreateStream(t.Context(), &awskinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, err := kin.DeleteStream(context.Background(), &awskinesis.DeleteStreamInput{StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true)})
		if err != nil {
			t.Logf("delete stream %s: %v", name, err)
		}
	})
	waitActive(t, kin, name)
	return name
}

// waitActive waits until the stream is ACTIVE.
func waitActive(t *testing.T, kin *awskinesis.Client, name string) {
	t.Helper()
	eventually(t, 30*time.Second, "stream "+name+" ACTIVE", func() bool {
		out, err := kin.DescribeStreamSummary(t.Context(), &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive
	})
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// oddsRecord is an INSERT of odds number i of game g, in the AWS shape.
func oddsRecord(t *testing.T, g string, i int) []byte {
	t.Helper()
	o := feed.Odds{GameID: g, Provider: "p", ObservedAt: t0.Add(time.Duration(i) * time.Second),
		AwaySpread: -1.5, HomeSpread: 1.5, AwayOdds: -110, HomeOdds: 100 + i, ReceivedAt: t0, Version: 1}
	data, err := cdc.EncodeRecord(cdc.RecordInput{EventName: feed.ChangeInsert, NewImage: feed.OddsItem(o, time.Time{})})
	if err != nil {
		t.Fatalf("encode record: %v", err)
	}
	return data
}

// put is one record written: its partition key, data and where it went.
type put struct {
	pk, shard, seq string
	data           []byte
}

// putRecords writes records (partition key "GAME#<g>") with PutRecords and
// returns where each went, in order.
func putRecords(t *testing.T, kin *awskinesis.Client, stream string, recs []put) []put {
	t.Helper()
	in := &awskinesis.PutRecordsInput{StreamName: aws.String(stream)}
	for _, r := range recs {
		in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(r.pk), Data: r.data})
	}
	out, err := kin.PutRecords(t.Context(), in)
	if err != nil {
		t.Fatalf("put records: %v", err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
		t.Fatalf("put records: %d failed", n)
	}
	res := make([]put, len(recs))
	for i, e := range out.Records {
		res[i] = recs[i]
		res[i].shard, res[i].seq = aws.ToString(e.ShardId), aws.ToString(e.SequenceNumber)
	}
	return res
}

// odds makes n odds records for games g0..g<games-1>, round robin, from
// number first.
func odds(t *testing.T, games, first, n int) []put {
	t.Helper()
	recs := make([]put, n)
	for i := range recs {
		g := fmt.Sprintf("g%d", (first+i)%games)
		recs[i] = put{pk: feed.GamePK(g), data: oddsRecord(t, g, first+i)}
	}
	return recs
}

// collector gathers delivered batches.
type collector struct {
	mu      sync.Mutex
	batches []cdc.Batch
	// fail, when set, is asked before each delivery whether it fails.
	fail func(b cdc.Batch) bool
}

func (c *collector) deliver(_ context.Context, b cdc.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil && c.fail(b) {
		return errors.New("consumer failed")
	}
	c.batches = append(c.batches, b)
	return nil
}

// changes returns the changes delivered, in delivery order.
func (c *collector) changes() []feed.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []feed.Change
	for _, b := range c.batches {
		out = append(out, b.Changes...)
	}
	return out
}

// waitChanges waits until at least n changes were delivered.
func (c *collector) waitChanges(t *testing.T, n int) []feed.Change {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%d changes", n), func() bool { return len(c.changes()) >= n })
	return c.changes()
}

// stream runs src.Stream in the background until t ends and returns a
// channel with its result.
func stream(t *testing.T, src *Source, start cdc.StartFunc, c *collector) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, start, c.deliver) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Stream: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Stream did not return after cancel")
		}
	})
	return done
}

// from returns a StartFunc giving every shard st.
func from(st cdc.Start) cdc.StartFunc {
	return func(context.Context, string) (cdc.Start, error) { return st, nil }
}

// quick are Options for tests: fast polling and discovery.
func quick(stream string) Options {
	return Options{Stream: stream, PollMin: 5 * time.Millisecond, PollMax: 50 * time.Millisecond,
		DiscoverEvery: 100 * time.Millisecond, Backoff: cdc.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}}
}

// positions returns the positions of changes by shard.
func positions(cs []feed.Change) map[string][]string {
	out := map[string][]string{}
	for _, c := range cs {
		out[c.Source] = append(out[c.Source], c.Position)
	}
	return out
}

// wantPositions returns the positions of puts by shard.
func wantPositions(ps []put) map[string][]string {
	out := map[string][]string{}
	for _, p := range ps {
		out[p.shard] = append(out[p.shard], p.seq)
	}
	return out
}

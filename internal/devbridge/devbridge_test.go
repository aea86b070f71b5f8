package devbridge

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
	cdckinesis "github.com/oddsfeed/oddsfeed/internal/cdc/kinesis"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

// env holds DynamoDB Local and kinesis-mock, started once for the package.
var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.DynamoDB|harness.Kinesis)
}

// fixture is a fresh table and stream with a bridge between them.
type fixture struct {
	ddb    *dynamodb.Client
	kin    *kinesis.Client
	store  *dynamo.Store
	bridge *Bridge
	table  string
	stream string
}

var seq atomic.Int64

// newFixture makes a fresh table (dynamo.CreateTable), a fresh stream of
// shards shards, a store on the table (with storeOpts) and a bridge (not
// running yet) with o.
func newFixture(t *testing.T, shards int32, o Options, storeOpts dynamo.Options) *fixture {
	t.Helper()
	return newFixtureTable(t, shards, o, storeOpts, dynamo.CreateTable)
}

// newFixtureTable is newFixture with the table made by create.
func newFixtureTable(t *testing.T, shards int32, o Options, storeOpts dynamo.Options,
	create func(ctx context.Context, ddb *dynamodb.Client, table string) error) *fixture {
	t.Helper()
	ctx := t.Context()
	co := awsclient.Options{Region: harness.Region, DynamoDBEndpoint: env.DynamoDB.URL, KinesisEndpoint: env.Kinesis.URL,
		AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(ctx, co)
	if err != nil {
		t.Fatalf("load aws config: %v", err)
	}
	f := &fixture{ddb: awsclient.DynamoDB(cfg, co), kin: awsclient.Kinesis(cfg, co)}
	streams := dynamodbstreams.NewFromConfig(cfg, func(so *dynamodbstreams.Options) {
		so.BaseEndpoint = aws.String(env.DynamoDB.URL)
	})
	n := seq.Add(1)
	f.table = fmt.Sprintf("bridge-%d-%d", time.Now().UnixNano()%1e6, n)
	f.stream = f.table
	if err := create(ctx, f.ddb, f.table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		if _, err := f.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(f.table)}); err != nil {
			t.Logf("delete table %s: %v", f.table, err)
		}
	})
	if _, err := f.kin.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(f.stream), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	t.Cleanup(func() {
		_, _ = f.kin.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(f.stream)})
	})
	eventually(t, 30*time.Second, "stream ACTIVE", func() bool {
		out, err := f.kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(f.stream)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive
	})
	storeOpts.Table = f.table
	f.store = dynamo.New(f.ddb, storeOpts)
	o.Table, o.Stream = f.table, f.stream
	o.Poll = 10 * time.Millisecond
	f.bridge = New(streams, f.ddb, f.kin, o)
	return f
}

// run runs the bridge until t ends.
func (f *fixture) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.bridge.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bridge Run: %v", err)
		}
	})
}

// consume reads the stream with the kinesis Source from TRIM_HORIZON until
// t ends.
func (f *fixture) consume(t *testing.T) *collector {
	t.Helper()
	src := cdckinesis.New(f.kin, cdckinesis.Options{Stream: f.stream, PollMin: 5 * time.Millisecond, PollMax: 50 * time.Millisecond,
		DiscoverEvery: 100 * time.Millisecond, Backoff: cdc.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}})
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Stream(ctx, func(context.Context, string) (cdc.Start, error) { return cdc.Start{Kind: cdc.TrimHorizon}, nil }, c.deliver)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kinesis Stream: %v", err)
		}
	})
	return c
}

// collector gathers delivered changes.
type collector struct {
	mu      sync.Mutex
	changes []feed.Change
	bad     []cdc.BadRecord
}

func (c *collector) deliver(_ context.Context, b cdc.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, b.Changes...)
	c.bad = append(c.bad, b.Bad...)
	return nil
}

// wait waits until n changes arrived and returns them.
func (c *collector) wait(t *testing.T, n int) []feed.Change {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%d changes", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.changes) >= n
	})
	time.Sleep(100 * time.Millisecond) // anything extra would show now
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 {
		t.Errorf("undecodable records: %+v", c.bad)
	}
	return append([]feed.Change(nil), c.changes...)
}

// raw is one record as it lies in the stream.
type raw struct {
	shard, pk string
	change    feed.Change
	eventID   string
}

// rawRecords reads every record of every shard of the stream directly.
func (f *fixture) rawRecords(t *testing.T) []raw {
	t.Helper()
	ctx := t.Context()
	shards, err := f.kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(f.stream)})
	if err != nil {
		t.Fatalf("list shards: %v", err)
	}
	var out []raw
	for _, sh := range shards.Shards {
		it, err := f.kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(f.stream),
			ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("get shard iterator: %v", err)
		}
		for iter := it.ShardIterator; iter != nil; {
			res, err := f.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("get records: %v", err)
			}
			for _, r := range res.Records {
				c, err := cdc.DecodeRecord(r.Data)
				if err != nil {
					t.Fatalf("decode raw record: %v", err)
				}
				out = append(out, raw{shard: aws.ToString(sh.ShardId), pk: aws.ToString(r.PartitionKey), change: c, eventID: eventID(t, r.Data)})
			}
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}

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

var day = time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)

func game(id string, status feed.GameStatus) feed.Game {
	return feed.Game{ID: id, Sport: "soccer", Summary: "Home v Away " + id, GameDate: day, Status: status, HomeTeam: "Home", AwayTeam: "Away"}
}

// oddsOf makes n odds of game g from provider p.
func oddsOf(g, p string, n int) []feed.Odds {
	out := make([]feed.Odds, n)
	for i := range out {
		out[i] = feed.Odds{GameID: g, Provider: p, ObservedAt: day.Add(-time.Hour + time.Duration(i)*time.Second),
			AwaySpread: -1.5, HomeSpread: 1.5, AwayOdds: -110, HomeOdds: 100 + i, ReceivedAt: time.Now().UTC()}
	}
	return out
}

// stored is what a store keeps of o (version 1, stored time precision).
func stored(t *testing.T, o feed.Odds) feed.Odds {
	t.Helper()
	o.Version = 1
	s, err := feed.DecodeOdds(feed.OddsItem(o, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

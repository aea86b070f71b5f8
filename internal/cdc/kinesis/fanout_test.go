package kinesis

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
)

// kinesis-mock pushes a SubscribeToShardEvent about once a second, so the
// fan-out tests run in parallel with each other.

// fanout are quick Options reading through the enhanced fan-out consumer
// "efo" of kinesis-mock.
func fanout(stream string) Options {
	o := quick(stream)
	o.Consumer, o.Emulator = "efo", true
	return o
}

// consumers returns the stream's consumers by name.
func consumers(t *testing.T, kin *awskinesis.Client, stream string) map[string]types.Consumer {
	t.Helper()
	sum, err := kin.DescribeStreamSummary(t.Context(), &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("describe stream: %v", err)
	}
	out, err := kin.ListStreamConsumers(t.Context(), &awskinesis.ListStreamConsumersInput{StreamARN: sum.StreamDescriptionSummary.StreamARN})
	if err != nil {
		t.Fatalf("list stream consumers: %v", err)
	}
	m := map[string]types.Consumer{}
	for _, c := range out.Consumers {
		m[aws.ToString(c.ConsumerName)] = c
	}
	return m
}

// TestFanOutResubscribes reads one shard from a checkpoint with a
// subscriber whose subscriptions end every 1.5 s: each new one continues
// after the last event, so records written across subscriptions arrive
// exactly once. (kinesis-mock frees a subscription about a second after
// the client closed it: the renewals meet ResourceInUseException first.)
func TestFanOutResubscribes(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	name := newStream(t, kin, 1)
	puts := putRecords(t, kin, name, odds(t, 1, 0, 3))
	src := New(kin, fanout(name))
	src.resubscribeAfter = 1500 * time.Millisecond
	arn, err := src.consumer(t.Context(), "efo")
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	r := &subscriber{src: src, consumerARN: arn, shard: puts[0].shard, start: cdc.After(puts[0].seq), log: slog.Default()}
	ctx, cancel := context.WithCancel(t.Context())
	var c collector
	done := make(chan error, 1)
	go func() {
		_, err := r.run(ctx, c.deliver, func(int64) {})
		done <- err
	}()
	want := puts[1:]
	for i := range 2 {
		c.waitChanges(t, len(want))
		time.Sleep(1600 * time.Millisecond) // the subscription is renewed meanwhile
		want = append(want, putRecords(t, kin, name, odds(t, 1, 3+2*i, 2))...)
	}
	c.waitChanges(t, len(want))
	time.Sleep(1100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := positions(c.changes()); !reflect.DeepEqual(got, wantPositions(want)) {
		t.Fatalf("positions:\n got %v\nwant %v", got, wantPositions(want))
	}
	if r.subscriptions < 3 {
		t.Errorf("%d subscriptions, want at least 3", r.subscriptions)
	}
}

// TestFanOutReshard reshards 1 -> 2 while the parent is read slowly
// through fan-out: every record arrives exactly once and the parent's
// before any child's.
func TestFanOutReshard(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	name := newStream(t, kin, 1)
	before := putRecords(t, kin, name, odds(t, 8, 0, 20))
	var c collector
	var delivered atomic.Int32
	slow := func(ctx context.Context, b cdc.Batch) error {
		if len(b.Changes) > 0 {
			time.Sleep(300 * time.Millisecond) // read the parent slowly
		}
		delivered.Add(int32(len(b.Changes)))
		return c.deliver(ctx, b)
	}
	src := New(kin, fanout(name))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, from(cdc.Start{Kind: cdc.TrimHorizon}), slow) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Stream: %v", err)
		}
	}()
	eventually(t, 10*time.Second, "some records read", func() bool { return delivered.Load() > 0 })
	parent := before[0].shard
	mid, after := reshardMidStream(t, kin, name, parent)
	all := slices.Concat(before, mid, after)
	c.waitChanges(t, len(all))
	time.Sleep(1100 * time.Millisecond)
	got := c.changes()
	checkParentFirst(t, got, all, parent, len(before)+len(mid))
	if lag := src.Lag(); len(lag) != 2 || lag[parent] != 0 {
		t.Errorf("Lag() = %v, want the two children only", lag)
	}
}

// TestFanOutConsumerPerStreamCall: Stream calls running at once on one
// Source each subscribe through their own consumer (one subscription per
// shard and consumer), and each gets every record; a consumer already
// registered is reused.
func TestFanOutConsumerPerStreamCall(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	name := newStream(t, kin, 1)
	puts := putRecords(t, kin, name, odds(t, 1, 0, 4))
	src := New(kin, fanout(name))
	var a, b collector
	stream(t, src, from(cdc.Start{Kind: cdc.TrimHorizon}), &a)
	stream(t, src, from(cdc.After(puts[1].seq)), &b)
	a.waitChanges(t, 4)
	b.waitChanges(t, 2)
	cs := consumers(t, kin, name)
	if len(cs) != 2 || cs["efo"].ConsumerStatus != types.ConsumerStatusActive || cs["efo-2"].ConsumerStatus != types.ConsumerStatusActive {
		t.Fatalf("stream consumers %v, want efo and efo-2 ACTIVE", cs)
	}
	arn, err := New(kin, fanout(name)).consumer(t.Context(), "efo")
	if err != nil || arn != aws.ToString(cs["efo"].ConsumerARN) {
		t.Fatalf("consumer efo again: %q, %v; want the registered %s", arn, err, aws.ToString(cs["efo"].ConsumerARN))
	}
	time.Sleep(1100 * time.Millisecond)
	if !reflect.DeepEqual(positions(a.changes()), wantPositions(puts)) || !reflect.DeepEqual(positions(b.changes()), wantPositions(puts[2:])) {
		t.Fatalf("positions %v and %v, want %v and %v", positions(a.changes()), positions(b.changes()), wantPositions(puts), wantPositions(puts[2:]))
	}
}

// TestFanOutInitialResponseQuirk pins why Options.Emulator changes the
// client protocol: without it the SDK rejects kinesis-mock's subscriptions.
func TestFanOutInitialResponseQuirk(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	name := newStream(t, kin, 1)
	o := fanout(name)
	o.Emulator = false
	src := New(kin, o)
	arn, err := src.consumer(t.Context(), "efo")
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	r := &subscriber{src: src, consumerARN: arn, shard: "shardId-000000000000", log: slog.Default()}
	_, err = r.subscribe(t.Context(), &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	if err == nil || !strings.Contains(err.Error(), "expected initial-response") {
		t.Fatalf("subscribe without Emulator: %v, want the SDK's initial-response error", err)
	}
}

package kinesis

import (
	"context"
	"errors"
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
	"github.com/oddsfeed/oddsfeed/internal/feed"
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

// TestFanOutDeliversInOrderPerShard reads a 2-shard stream through
// fan-out: records written before and while reading arrive exactly once,
// in order per shard, and the consumer is registered and ACTIVE.
func TestFanOutDeliversInOrderPerShard(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	name := newStream(t, kin, 2)
	puts := putRecords(t, kin, name, odds(t, 4, 0, 24))
	var c collector
	stream(t, New(kin, fanout(name)), from(cdc.Start{Kind: cdc.TrimHorizon}), &c)
	c.waitChanges(t, len(puts))
	puts = append(puts, putRecords(t, kin, name, odds(t, 4, 24, 8))...)
	c.waitChanges(t, len(puts))
	time.Sleep(1100 * time.Millisecond) // an extra event would show now
	got := c.changes()
	if want := wantPositions(puts); !reflect.DeepEqual(positions(got), want) {
		t.Fatalf("positions by shard:\n got %v\nwant %v", positions(got), want)
	}
	if len(wantPositions(puts)) != 2 {
		t.Errorf("records went to %d shards, want 2 (pick other game ids)", len(wantPositions(puts)))
	}
	bySeq := map[string]put{}
	for _, p := range puts {
		bySeq[p.seq] = p
	}
	for _, ch := range got {
		if p := bySeq[ch.Position]; ch.Kind != feed.ChangeInsert || ch.Key.PK != p.pk || ch.NewOdds == nil {
			t.Errorf("change at %s: %+v, want INSERT odds of %s", ch.Position, ch, p.pk)
		}
	}
	if cs := consumers(t, kin, name); len(cs) != 1 || cs["efo"].ConsumerStatus != types.ConsumerStatusActive {
		t.Errorf("stream consumers %v, want efo ACTIVE", cs)
	}
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

// TestFanOutStartKinds starts subscriptions of every kind at once (on a
// stream each), then checks each got exactly what follows its start.
func TestFanOutStartKinds(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	type run struct {
		name string
		// start is where to start, given the first three records written.
		start func(old []put, between time.Time) cdc.Start
		st    cdc.Start
		want  []put
		c     collector
	}
	runs := []*run{
		{name: "after checkpoint", start: func(old []put, _ time.Time) cdc.Start { return cdc.After(old[1].seq) }},
		{name: "latest", start: func([]put, time.Time) cdc.Start { return cdc.Start{Kind: cdc.Latest} }},
		{name: "at timestamp", start: func(_ []put, at time.Time) cdc.Start { return cdc.Start{Kind: cdc.AtTimestamp, At: at} }},
		{name: "trim horizon", start: func([]put, time.Time) cdc.Start { return cdc.Start{Kind: cdc.TrimHorizon} }},
	}
	// kinesis-mock pushes an event a second: set all up, then wait for all.
	streams := map[*run]string{}
	for _, r := range runs {
		name := newStream(t, kin, 1)
		streams[r] = name
		old := putRecords(t, kin, name, odds(t, 2, 0, 3))
		time.Sleep(50 * time.Millisecond)
		between := time.Now()
		time.Sleep(50 * time.Millisecond)
		r.st = r.start(old, between)
		switch r.st.Kind {
		case cdc.AfterPosition:
			r.want = old[2:]
		case cdc.TrimHorizon:
			r.want = old
		}
		stream(t, New(kin, fanout(name)), from(r.st), &r.c)
	}
	for _, r := range runs {
		// The subscription is up once it has delivered (an empty batch).
		eventually(t, 10*time.Second, r.name+" first delivery", func() bool {
			r.c.mu.Lock()
			defer r.c.mu.Unlock()
			return len(r.c.batches) > 0
		})
		r.want = append(r.want, putRecords(t, kin, streams[r], odds(t, 2, 3, 3))...)
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			// Records before the start would come in the first event,
			// before the fresh ones.
			if got := r.c.waitChanges(t, len(r.want)); !reflect.DeepEqual(positions(got), wantPositions(r.want)) {
				t.Fatalf("start %v: got positions %v, want %v", r.st.Kind, positions(got), wantPositions(r.want))
			}
		})
	}
}

func TestFanOutMalformedRecordInBad(t *testing.T) {
	t.Parallel()
	kin := newClient(t)
	name := newStream(t, kin, 1)
	recs := odds(t, 1, 0, 3)
	recs[1].data = []byte(`{"eventName":"INSERT", not json`)
	puts := putRecords(t, kin, name, recs)
	var c collector
	stream(t, New(kin, fanout(name)), from(cdc.Start{Kind: cdc.TrimHorizon}), &c)
	c.waitChanges(t, 2)
	more := putRecords(t, kin, name, odds(t, 1, 3, 1))
	got := c.waitChanges(t, 3)
	if want := []string{puts[0].seq, puts[2].seq, more[0].seq}; !slices.Equal(positions(got)[puts[0].shard], want) {
		t.Fatalf("good positions %v, want %v", positions(got)[puts[0].shard], want)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var bad []cdc.BadRecord
	for _, b := range c.batches {
		bad = append(bad, b.Bad...)
	}
	if len(bad) != 1 || bad[0].Position != puts[1].seq || string(bad[0].Data) != string(recs[1].data) ||
		!errors.Is(bad[0].Err, cdc.ErrMalformedRecord) || bad[0].Source != puts[1].shard {
		t.Fatalf("bad records %+v, want the malformed one at %s", bad, puts[1].seq)
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
	mid := putRecords(t, kin, name, odds(t, 8, 20, 5))
	if _, err := kin.UpdateShardCount(t.Context(), &awskinesis.UpdateShardCountInput{StreamName: aws.String(name),
		TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatalf("update shard count: %v", err)
	}
	waitActive(t, kin, name)
	after := putRecords(t, kin, name, odds(t, 8, 25, 20))
	parent := before[0].shard
	for _, p := range after {
		if p.shard == parent {
			t.Fatalf("record written after the reshard went to the parent %s", parent)
		}
	}
	all := slices.Concat(before, mid, after)
	c.waitChanges(t, len(all))
	time.Sleep(1100 * time.Millisecond)
	got := c.changes()
	if !reflect.DeepEqual(positions(got), wantPositions(all)) {
		t.Fatalf("positions by shard:\n got %v\nwant %v", positions(got), wantPositions(all))
	}
	if first := slices.IndexFunc(got, func(c feed.Change) bool { return c.Source != parent }); first != len(before)+len(mid) {
		t.Fatalf("first child record delivered at %d, want after the parent's %d", first, len(before)+len(mid))
	}
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

package kinesis

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// TestDeliversInOrderPerShard reads a 2-shard stream: records written
// before and while reading arrive exactly once, in order per shard, in
// batches whose position is their last record's.
func TestDeliversInOrderPerShard(t *testing.T) { onEachReader(t, testDeliversInOrderPerShard) }

func testDeliversInOrderPerShard(t *testing.T, opts func(stream string) Options) {
	kin := newClient(t)
	name := newStream(t, kin, 2)
	puts := putRecords(t, kin, name, odds(t, 4, 0, 24))
	var c collector
	stream(t, New(kin, opts(name)), from(cdc.Start{Kind: cdc.TrimHorizon}), &c)
	c.waitChanges(t, len(puts))
	puts = append(puts, putRecords(t, kin, name, odds(t, 4, 24, 8))...)
	c.waitChanges(t, len(puts))
	time.Sleep(1100 * time.Millisecond) // an extra delivery would show now (fan-out: an event a second)
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
		p := bySeq[ch.Position]
		if ch.Kind != feed.ChangeInsert || ch.Key.PK != p.pk || ch.NewOdds == nil || ch.ItemType != feed.TypeOdds || ch.Version != 1 {
			t.Errorf("change at %s: %+v, want INSERT odds of %s", ch.Position, ch, p.pk)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.batches {
		if len(b.Changes) > 0 && b.Position != b.Changes[len(b.Changes)-1].Position {
			t.Errorf("batch position %s, want its last record's %s", b.Position, b.Changes[len(b.Changes)-1].Position)
		}
	}
}

// onEachReader runs test, in parallel, with Options reading by polling
// and through enhanced fan-out: the two ways a Source reads its shards.
func onEachReader(t *testing.T, test func(t *testing.T, opts func(stream string) Options)) {
	for _, rd := range []struct {
		name string
		opts func(stream string) Options
	}{{"polling", quick}, {"fanout", fanout}} {
		t.Run(rd.name, func(t *testing.T) {
			t.Parallel()
			test(t, rd.opts)
		})
	}
}

// TestStartKinds starts reading with every kind of start at once (on a
// stream each), then checks each got exactly what follows its start.
func TestStartKinds(t *testing.T) { onEachReader(t, testStartKinds) }

func testStartKinds(t *testing.T, opts func(stream string) Options) {
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
	// kinesis-mock pushes a fan-out event a second: set all up, then wait
	// for all.
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
		stream(t, New(kin, opts(name)), from(r.st), &r.c)
	}
	for _, r := range runs {
		// Reading has started once it has delivered (an empty batch).
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

func TestMalformedRecordInBad(t *testing.T) { onEachReader(t, testMalformedRecordInBad) }

func testMalformedRecordInBad(t *testing.T, opts func(stream string) Options) {
	kin := newClient(t)
	name := newStream(t, kin, 1)
	recs := odds(t, 1, 0, 3)
	recs[1].data = []byte(`{"eventName":"INSERT", not json`)
	puts := putRecords(t, kin, name, recs)
	var c collector
	stream(t, New(kin, opts(name)), from(cdc.Start{Kind: cdc.TrimHorizon}), &c)
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

func TestDeliverErrorRedeliversSameBatch(t *testing.T) {
	kin := newClient(t)
	name := newStream(t, kin, 1)
	puts := putRecords(t, kin, name, odds(t, 1, 0, 5))
	var failures atomic.Int32
	var failed []cdc.Batch
	c := collector{fail: func(b cdc.Batch) bool {
		if len(b.Changes) > 0 && failures.Load() < 3 {
			failures.Add(1)
			failed = append(failed, b)
			return true
		}
		return false
	}}
	stream(t, New(kin, quick(name)), from(cdc.Start{Kind: cdc.TrimHorizon}), &c)
	got := c.waitChanges(t, len(puts))
	time.Sleep(50 * time.Millisecond)
	if got = c.changes(); !reflect.DeepEqual(positions(got), wantPositions(puts)) {
		t.Fatalf("positions %v, want each once: %v", positions(got), wantPositions(puts))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(failed) != 3 {
		t.Fatalf("%d failed deliveries, want 3", len(failed))
	}
	var accepted cdc.Batch
	for _, b := range c.batches {
		if len(b.Changes) > 0 {
			accepted = b
			break
		}
	}
	for _, f := range failed {
		if !reflect.DeepEqual(f, accepted) {
			t.Errorf("redelivered batch differs:\n%+v\nfirst accepted:\n%+v", f, accepted)
		}
	}
}

// TestReshard writes, reshards 1 -> 2 in the middle of reading, writes
// more: every record arrives exactly once and the parent's before any
// child's. A second consumer starting at LATEST before the reshard gets
// everything written after it started, from the children too.
func TestReshard(t *testing.T) {
	kin := newClient(t)
	name := newStream(t, kin, 1)
	before := putRecords(t, kin, name, odds(t, 8, 0, 20))
	var slow, latest collector
	o := quick(name)
	o.Limit = 5
	src := New(kin, o)
	var delivered atomic.Int32
	throttle := func(ctx context.Context, b cdc.Batch) error {
		if len(b.Changes) > 0 {
			time.Sleep(20 * time.Millisecond) // read the parent slowly
		}
		delivered.Add(int32(len(b.Changes)))
		return slow.deliver(ctx, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, from(cdc.Start{Kind: cdc.TrimHorizon}), throttle) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Stream: %v", err)
		}
	}()
	stream(t, src, from(cdc.Start{Kind: cdc.Latest}), &latest)
	eventually(t, 10*time.Second, "some records read", func() bool { return delivered.Load() >= 5 })
	eventually(t, 10*time.Second, "latest consumer reading", func() bool {
		latest.mu.Lock()
		defer latest.mu.Unlock()
		return len(latest.batches) > 0
	})
	parent := before[0].shard
	mid, after := reshardMidStream(t, kin, name, parent)
	all := slices.Concat(before, mid, after)
	got := slow.waitChanges(t, len(all))
	gotLatest := latest.waitChanges(t, len(mid)+len(after))
	time.Sleep(200 * time.Millisecond)
	got, gotLatest = slow.changes(), latest.changes()
	checkParentFirst(t, got, all, parent, len(before)+len(mid))
	if want := wantPositions(slices.Concat(mid, after)); !reflect.DeepEqual(positions(gotLatest), want) {
		t.Fatalf("latest consumer positions:\n got %v\nwant %v", positions(gotLatest), want)
	}
	if lag := src.Lag(); len(lag) != 2 || lag[parent] != 0 {
		t.Errorf("Lag() = %v, want the two children only", lag)
	}
}

// reshardMidStream writes 5 records to a 1-shard stream, reshards it to 2
// shards, waits until it is ACTIVE and writes 20 more, which must all go
// to the children of parent.
func reshardMidStream(t *testing.T, kin *awskinesis.Client, name, parent string) (mid, after []put) {
	t.Helper()
	mid = putRecords(t, kin, name, odds(t, 8, 20, 5))
	if _, err := kin.UpdateShardCount(t.Context(), &awskinesis.UpdateShardCountInput{StreamName: aws.String(name),
		TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatalf("update shard count: %v", err)
	}
	waitActive(t, kin, name)
	after = putRecords(t, kin, name, odds(t, 8, 25, 20))
	for _, p := range after {
		if p.shard == parent {
			t.Fatalf("record written after the reshard went to the parent %s", parent)
		}
	}
	return mid, after
}

// checkParentFirst checks that got holds every record of all exactly once,
// in order per shard, and the parent's nParent records before any child's.
func checkParentFirst(t *testing.T, got []feed.Change, all []put, parent string, nParent int) {
	t.Helper()
	if !reflect.DeepEqual(positions(got), wantPositions(all)) {
		t.Fatalf("positions by shard:\n got %v\nwant %v", positions(got), wantPositions(all))
	}
	if first := slices.IndexFunc(got, func(c feed.Change) bool { return c.Source != parent }); first != nParent {
		t.Fatalf("first child record delivered at %d, want after the parent's %d", first, nParent)
	}
}

func TestLag(t *testing.T) {
	kin := newClient(t)
	name := newStream(t, kin, 1)
	// kinesis-mock's MillisBehindLatest is the arrival time of the newest
	// record minus that of the last one returned.
	putRecords(t, kin, name, odds(t, 1, 0, 1))
	time.Sleep(300 * time.Millisecond)
	putRecords(t, kin, name, odds(t, 1, 1, 3))
	o := quick(name)
	o.Limit = 1
	src := New(kin, o)
	hold := make(chan struct{})
	var first atomic.Pointer[cdc.Batch]
	var c collector
	deliver := func(ctx context.Context, b cdc.Batch) error {
		if first.CompareAndSwap(nil, &b) {
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		return c.deliver(ctx, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, from(cdc.Start{Kind: cdc.TrimHorizon}), deliver) }()
	defer func() {
		cancel()
		<-done
	}()
	eventually(t, 10*time.Second, "first batch", func() bool { return first.Load() != nil })
	b := first.Load()
	lag := src.Lag()
	if b.MillisBehindLatest < 250 || lag[b.Source] != b.MillisBehindLatest {
		t.Errorf("first batch MillisBehindLatest %d, Lag() %v; want >= 250 and the same", b.MillisBehindLatest, lag)
	}
	close(hold)
	c.waitChanges(t, 4)
	eventually(t, 10*time.Second, "lag back to 0", func() bool { return src.Lag()[b.Source] == 0 })
}

func TestStreamFailsForMissingStream(t *testing.T) {
	kin := newClient(t)
	src := New(kin, quick("no-such-stream"))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var c collector
	if err := src.Stream(ctx, from(cdc.Start{Kind: cdc.TrimHorizon}), c.deliver); err == nil {
		t.Fatal("Stream of a missing stream returned nil, want an error")
	}
}

// TestMergedShards reads a stream whose two shards were merged before the
// consumer started: the child (two parents) is read only after both
// parents. A consumer at LATEST finishes the closed parents at once and
// reads only what is written to the child afterwards.
func TestMergedShards(t *testing.T) {
	kin := newClient(t)
	name := newStream(t, kin, 2)
	before := putRecords(t, kin, name, odds(t, 8, 0, 16))
	shards, err := kin.ListShards(t.Context(), &awskinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil || len(shards.Shards) != 2 {
		t.Fatalf("list shards: %v %v", shards, err)
	}
	if _, err := kin.MergeShards(t.Context(), &awskinesis.MergeShardsInput{StreamName: aws.String(name),
		ShardToMerge: shards.Shards[0].ShardId, AdjacentShardToMerge: shards.Shards[1].ShardId}); err != nil {
		t.Fatalf("merge shards: %v", err)
	}
	waitActive(t, kin, name)
	mid := putRecords(t, kin, name, odds(t, 8, 16, 6))

	var all, latest collector
	src := New(kin, quick(name))
	slowParents := func(ctx context.Context, b cdc.Batch) error {
		if b.Source != mid[0].shard && len(b.Changes) > 0 {
			time.Sleep(30 * time.Millisecond)
		}
		return all.deliver(ctx, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, from(cdc.Start{Kind: cdc.TrimHorizon}), slowParents) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Stream: %v", err)
		}
	}()
	stream(t, src, from(cdc.Start{Kind: cdc.Latest}), &latest)
	eventually(t, 10*time.Second, "latest consumer reading the child", func() bool {
		latest.mu.Lock()
		defer latest.mu.Unlock()
		return slices.ContainsFunc(latest.batches, func(b cdc.Batch) bool { return b.Source == mid[0].shard })
	})
	after := putRecords(t, kin, name, odds(t, 8, 22, 6))
	want := slices.Concat(before, mid, after)
	got := all.waitChanges(t, len(want))
	gotLatest := latest.waitChanges(t, len(after))
	time.Sleep(100 * time.Millisecond)
	got, gotLatest = all.changes(), latest.changes()
	if !reflect.DeepEqual(positions(got), wantPositions(want)) {
		t.Fatalf("positions by shard:\n got %v\nwant %v", positions(got), wantPositions(want))
	}
	if first := slices.IndexFunc(got, func(c feed.Change) bool { return c.Source == mid[0].shard }); first != len(before) {
		t.Fatalf("first child record delivered at %d, want after both parents' %d", first, len(before))
	}
	if !reflect.DeepEqual(positions(gotLatest), wantPositions(after)) {
		t.Fatalf("latest consumer positions:\n got %v\nwant %v", positions(gotLatest), wantPositions(after))
	}
}

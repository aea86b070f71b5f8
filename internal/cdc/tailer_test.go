package cdc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// runTailer runs tl until the test ends, failing if Run does not return
// promptly after its context is cancelled.
func runTailer(t *testing.T, tl *Tailer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestTailerIsolatesFailingConsumer(t *testing.T) {
	s := openStore(t)
	putGames(t, s, "early", 20) // seqs 1..20

	var down atomic.Bool // Postgres is down
	down.Store(true)
	broadcast := &collector{name: "broadcast", start: Start{Kind: TrimHorizon}}
	reporting := &collector{name: "reporting", start: Start{Kind: TrimHorizon}, fail: func() error {
		if down.Load() {
			return errors.New("connect: connection refused")
		}
		return nil
	}}
	startFails := atomic.Int32{}
	startFails.Store(2)
	flakyInner := &collector{name: "flaky-start", start: Start{Kind: TrimHorizon}}
	flaky := FuncConsumer{ConsumerName: "flaky-start", ApplyFunc: flakyInner.Apply,
		StartFunc: func(ctx context.Context, source string) (Start, error) {
			if startFails.Add(-1) >= 0 {
				return Start{}, errors.New("checkpoint table unavailable")
			}
			return flakyInner.Start(ctx, source)
		}}

	tl := NewTailer(NewLogSource(s, LogOptions{BatchSize: 4, Logger: quietLogger(), Backoff: fastBackoff}),
		TailerOptions{Logger: quietLogger(), Backoff: fastBackoff})
	tl.Add(broadcast, ConsumerOptions{Guard: NewGuard(GuardOptions{})})
	tl.Add(reporting, ConsumerOptions{})
	tl.Add(flaky, ConsumerOptions{})
	stop := runTailer(t, tl)

	waitFor(t, "broadcast to get the early changes", func() bool { return len(broadcast.changes()) == 20 })
	putGames(t, s, "late", 10) // seqs 21..30, woken by the commits
	waitFor(t, "broadcast to get the late changes", func() bool { return len(broadcast.changes()) == 30 })
	if n := len(reporting.changes()); n != 0 {
		t.Fatalf("reporting applied %d changes while down", n)
	}
	st := tl.Stats()[1]
	if !st.Failing || st.Failures == 0 || st.LastError == "" || st.Sources[LogSourceName].Position != "" {
		t.Fatalf("reporting stats while down = %+v", st)
	}

	down.Store(false)
	waitFor(t, "reporting to catch up", func() bool { return len(reporting.changes()) >= 30 })
	waitFor(t, "flaky-start to catch up", func() bool { return len(flakyInner.changes()) >= 30 })
	stop()

	for _, c := range []*collector{broadcast, reporting, flakyInner} {
		checkSeqs(t, c.name, c.changes(), 1, 30)
	}
	stats := tl.Stats()
	for i, name := range []string{"broadcast", "reporting", "flaky-start"} {
		st := stats[i]
		if st.Name != name || st.Changes != 30 || st.Failing || st.Sources[LogSourceName].Position != "30" || st.Sources[LogSourceName].Changes != 30 {
			t.Errorf("stats of %s = %+v", name, st)
		}
	}
	if stats[1].Batches != 8 { // 30 changes in batches of 4: each applied once
		t.Errorf("reporting applied %d batches, want 8", stats[1].Batches)
	}
	if stats[2].LastError == "" {
		t.Error("flaky-start's start errors not reported")
	}
}

// batchSource delivers fixed batches, as a shard reader would after
// DecodeBatch, then waits for the end.
type batchSource []Batch

func (bs batchSource) Stream(ctx context.Context, start func(context.Context, string) (Start, error), deliver func(context.Context, Batch) error) error {
	if _, err := start(ctx, "shardId-000000000000"); err != nil {
		return err
	}
	for _, b := range bs {
		for deliver(ctx, b) != nil {
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	<-ctx.Done()
	return nil
}

func TestTailerDeliversBatchWithBadRecords(t *testing.T) {
	const shard = "shardId-000000000000"
	var records []RawRecord
	for i, f := range []string{"insert_odds.json", "malformed.json", "modify_game.json", "insert_odds.json", "unknown_type.json", "remove_ttl_micros.json"} {
		records = append(records, RawRecord{Position: fmt.Sprintf("4959%04d", i+1), Data: fixture(t, f)})
	}
	b := DecodeBatch(shard, records, 1500)
	if len(b.Changes) != 4 || len(b.Bad) != 2 || b.Position != "49590006" || b.MillisBehindLatest != 1500 {
		t.Fatalf("DecodeBatch = %d changes, %d bad, position %s", len(b.Changes), len(b.Bad), b.Position)
	}
	for i, want := range []string{"49590002", "49590005"} {
		if bad := b.Bad[i]; bad.Position != want || bad.Source != shard || bad.Err == nil || len(bad.Data) == 0 {
			t.Fatalf("bad record %d = %+v", i, bad)
		}
	}
	if !errors.Is(b.Bad[0].Err, ErrMalformedRecord) || !errors.Is(b.Bad[1].Err, ErrUnknownItemType) {
		t.Fatalf("bad record errors: %v; %v", b.Bad[0].Err, b.Bad[1].Err)
	}

	got := &collector{name: "board", start: Start{Kind: Latest}}
	tl := NewTailer(batchSource{b}, TailerOptions{Logger: quietLogger(), Backoff: fastBackoff})
	tl.Add(got, ConsumerOptions{Guard: NewGuard(GuardOptions{})})
	stop := runTailer(t, tl)
	waitFor(t, "the batch", func() bool { return tl.Stats()[0].Batches == 1 })
	stop()

	changes := got.changes()
	var kinds []feed.ChangeKind
	for _, c := range changes {
		if c.Source != shard {
			t.Errorf("change source %q", c.Source)
		}
		kinds = append(kinds, c.Kind)
	}
	// The second insert of the odds is a duplicate: the Guard drops it.
	if fmt.Sprint(kinds) != "[INSERT MODIFY REMOVE]" || !changes[2].Expired {
		t.Fatalf("applied %v", changes)
	}
	if len(got.bad) != 2 {
		t.Fatalf("consumer got %d bad records, want 2", len(got.bad))
	}
	st := tl.Stats()[0]
	if st.Changes != 3 || st.Filtered != 1 || st.Bad != 2 || st.Sources[shard].Position != "49590006" || st.Sources[shard].MillisBehindLatest != 1500 ||
		st.Sources[shard].Changes != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestTailerReading: a consumer is Reading once a batch was delivered to
// it, not before.
func TestTailerReading(t *testing.T) {
	s := openStore(t)
	c := &collector{name: "broadcast", start: Start{Kind: Latest}}
	r := &tipReader{LogReader: s}
	tl := NewTailer(NewLogSource(r, LogOptions{Logger: quietLogger(), Backoff: fastBackoff}), TailerOptions{Logger: quietLogger(), Backoff: fastBackoff})
	tl.Add(c, ConsumerOptions{})
	if err := tl.Reading("broadcast"); err == nil {
		t.Fatal("Reading before Run = nil")
	}
	if err := tl.Reading("nobody"); err == nil {
		t.Fatal("Reading of an unknown consumer = nil")
	}
	runTailer(t, tl)
	// The consumer's stream has read the (empty) log and waits for a
	// commit: it is running, and has been given nothing.
	waitFor(t, "the stream to read the log", func() bool { return r.readPast(0) })
	if err := tl.Reading("broadcast"); !errors.Is(err, ErrNotReading) {
		t.Fatalf("Reading before any delivery = %v, want ErrNotReading", err)
	}
	putGames(t, s, "g", 1)
	waitFor(t, "the change", func() bool { return len(c.changes()) == 1 })
	if err := tl.Reading("broadcast"); err != nil {
		t.Fatalf("Reading after a delivery: %v", err)
	}
}

// TestTailerSkipsLeases: lease changes reach no consumer (with or without
// a Guard) and are no dead letters; market statuses and providers'
// liveness are delivered; a batch of leases only is still applied, empty,
// so a consumer's checkpoint moves past it.
func TestTailerSkipsLeases(t *testing.T) {
	const shard = "shardId-000000000000"
	var records []RawRecord
	for i, f := range []string{"insert_quote.json", "modify_lease.json", "modify_market.json", "modify_provider.json", "modify_lease.json"} {
		records = append(records, RawRecord{Position: fmt.Sprintf("4959%04d", i+1), Data: fixture(t, f)})
	}
	mixed := DecodeBatch(shard, records, 0)
	leases := DecodeBatch(shard, []RawRecord{{Position: "49590006", Data: fixture(t, "modify_lease.json")}}, 0)
	if len(mixed.Changes) != 5 || len(mixed.Bad) != 0 || len(leases.Changes) != 1 {
		t.Fatalf("DecodeBatch: %d changes, %d bad; %d", len(mixed.Changes), len(mixed.Bad), len(leases.Changes))
	}
	type applied struct {
		position string
		types    []string
	}
	consumer := func(name string, mu *sync.Mutex, got *[]applied) FuncConsumer {
		return FuncConsumer{ConsumerName: name, ApplyFunc: func(_ context.Context, b Batch) error {
			a := applied{position: b.Position}
			for _, c := range b.Changes {
				a.types = append(a.types, c.ItemType)
			}
			if len(b.Bad) > 0 {
				t.Errorf("%s got bad records %v", name, b.Bad)
			}
			mu.Lock()
			*got = append(*got, a)
			mu.Unlock()
			return nil
		}}
	}
	var mu sync.Mutex
	var guarded, plain []applied
	tl := NewTailer(batchSource{mixed, leases}, TailerOptions{Logger: quietLogger(), Backoff: fastBackoff})
	tl.Add(consumer("board", &mu, &guarded), ConsumerOptions{Guard: NewGuard(GuardOptions{})})
	tl.Add(consumer("reports", &mu, &plain), ConsumerOptions{})
	stop := runTailer(t, tl)
	waitFor(t, "both batches", func() bool {
		st := tl.Stats()
		return st[0].Sources[shard].Position == "49590006" && st[1].Sources[shard].Position == "49590006"
	})
	stop()
	want := fmt.Sprint([]applied{{"49590005", []string{feed.TypeOdds, feed.TypeMarket, feed.TypeProvider}}, {"49590006", nil}})
	mu.Lock()
	defer mu.Unlock()
	for name, got := range map[string][]applied{"board": guarded, "reports": plain} {
		if fmt.Sprint(got) != want {
			t.Errorf("%s applied %v, want %s", name, got, want)
		}
	}
	for _, st := range tl.Stats() {
		if st.Changes != 3 || st.Skipped != 3 || st.Filtered != 0 || st.Bad != 0 || st.Batches != 1 {
			t.Errorf("%s stats %+v", st.Name, st)
		}
	}
}

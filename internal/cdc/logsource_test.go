package cdc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

var _ LogReader = (*embedded.Store)(nil)
var _ LogTrimmer = (*embedded.Store)(nil)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var fastBackoff = Backoff{Min: 2 * time.Millisecond, Max: 20 * time.Millisecond}

func openStore(t *testing.T) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// putGames writes n new games (one change each) to s.
func putGames(t *testing.T, s *embedded.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		g := feed.Game{ID: fmt.Sprintf("%s-%d", prefix, i), Sport: "nba", Summary: "A at B",
			GameDate: time.Date(2030, 1, 1, 20, 0, 0, 0, time.UTC), Status: feed.StatusScheduled}
		if _, _, err := s.PutGame(context.Background(), g, store.System); err != nil {
			t.Fatal(err)
		}
	}
}

// collector is a consumer that records what it was given.
type collector struct {
	name  string
	start Start
	mu    sync.Mutex
	got   []feed.Change
	bad   []BadRecord
	fail  func() error // nil: never fail
}

func (c *collector) Name() string { return c.name }
func (c *collector) Start(context.Context, string) (Start, error) {
	return c.start, nil
}
func (c *collector) Apply(_ context.Context, b Batch) error {
	if c.fail != nil {
		if err := c.fail(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, b.Changes...)
	c.bad = append(c.bad, b.Bad...)
	return nil
}
func (c *collector) changes() []feed.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]feed.Change(nil), c.got...)
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tipReader is a LogReader that records how far its reader has read the
// log and found nothing more: the position after which a ChangesAfter last
// returned no change, plus one (0: never yet). A LogSource that has read to
// that position is waiting on Changed and will be woken by the next commit.
type tipReader struct {
	LogReader
	tip atomic.Uint64
}

func (r *tipReader) ChangesAfter(after uint64, max int) ([]feed.Change, error) {
	changes, err := r.LogReader.ChangesAfter(after, max)
	if err == nil && len(changes) == 0 {
		r.tip.Store(after + 1)
	}
	return changes, err
}

// readPast reports whether r's reader has read the log past seq and found
// nothing after it.
func (r *tipReader) readPast(seq uint64) bool { return r.tip.Load() > seq }

// checkSeqs fails unless changes are exactly the log positions from..to.
func checkSeqs(t *testing.T, name string, changes []feed.Change, from, to uint64) {
	t.Helper()
	if want := int(to - from + 1); len(changes) != want {
		t.Fatalf("%s: got %d changes, want %d", name, len(changes), want)
	}
	for i, c := range changes {
		if want := strconv.FormatUint(from+uint64(i), 10); c.Position != want || c.Source != LogSourceName {
			t.Fatalf("%s: change %d at %s/%s, want log/%s", name, i, c.Source, c.Position, want)
		}
	}
}

func TestLogSourceStarts(t *testing.T) {
	s := openStore(t)
	putGames(t, s, "before", 5) // seqs 1..5
	time.Sleep(2 * time.Millisecond)
	mid := time.Now()
	tests := []struct {
		name     string
		start    Start
		from, to uint64
	}{
		{"trim horizon", Start{Kind: TrimHorizon}, 1, 8},
		{"latest", Start{Kind: Latest}, 6, 8},
		{"after position", After("3"), 4, 8},
		{"at timestamp", Start{Kind: AtTimestamp, At: mid}, 6, 8},
		{"at future timestamp", Start{Kind: AtTimestamp, At: time.Now().Add(time.Hour)}, 0, 0},
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cols := make([]*collector, len(tests))
	readers := make([]*tipReader, len(tests))
	for i, tt := range tests {
		cols[i] = &collector{name: tt.name, start: tt.start}
		readers[i] = &tipReader{LogReader: s}
		src := NewLogSource(readers[i], LogOptions{BatchSize: 2, Logger: quietLogger(), Backoff: fastBackoff})
		wg.Go(func() {
			if err := src.Stream(ctx, cols[i].Start, cols[i].Apply); err != nil {
				t.Errorf("%s: Stream: %v", tt.name, err)
			}
		})
	}
	// Let every stream reach the tip (Latest reads LastSeq at its start),
	// then write: they must be woken by the commits.
	for i, tt := range tests {
		waitFor(t, tt.name+" to read to the tip", func() bool { return readers[i].readPast(5) })
	}
	putGames(t, s, "after", 3) // seqs 6..8
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.to == 0 {
				// Nothing to wait for but the stream having read the new
				// changes and passed them over.
				waitFor(t, "the stream to read past the new changes", func() bool { return readers[i].readPast(8) })
				if got := cols[i].changes(); len(got) != 0 {
					t.Fatalf("got %d changes from the future", len(got))
				}
				return
			}
			waitFor(t, "changes", func() bool { return len(cols[i].changes()) >= int(tt.to-tt.from+1) })
			checkSeqs(t, tt.name, cols[i].changes(), tt.from, tt.to)
		})
	}
	cancel()
	wg.Wait()
}

func TestLogSourceRedeliversAndRejectsBadStart(t *testing.T) {
	s := openStore(t)
	putGames(t, s, "g", 4)
	// The lag is whole milliseconds since the batch's last change: let one
	// pass, or a quick first read reports 0.
	time.Sleep(5 * time.Millisecond)
	src := NewLogSource(s, LogOptions{BatchSize: 3, Logger: quietLogger(), Backoff: fastBackoff})

	t.Run("redelivery", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fails := 3
		var batches []Batch
		done := make(chan error, 1)
		go func() {
			done <- src.Stream(ctx, func(context.Context, string) (Start, error) { return Start{Kind: TrimHorizon}, nil },
				func(_ context.Context, b Batch) error {
					batches = append(batches, b)
					if fails > 0 {
						fails--
						return fmt.Errorf("not now")
					}
					if b.Position == "4" {
						cancel()
					}
					return nil
				})
		}()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(batches) != 5 {
			t.Fatalf("got %d deliveries, want 5 (3 failed, 2 ok)", len(batches))
		}
		for i := range 4 {
			if batches[i].Position != "3" || len(batches[i].Changes) != 3 {
				t.Fatalf("delivery %d: position %s, %d changes; want the first batch again", i, batches[i].Position, len(batches[i].Changes))
			}
		}
		if b := batches[4]; b.Position != "4" || len(b.Changes) != 1 || b.Source != LogSourceName {
			t.Fatalf("last batch = %+v", b)
		}
		if batches[0].MillisBehindLatest <= 0 {
			t.Errorf("a full batch behind the tip reports MillisBehindLatest %d", batches[0].MillisBehindLatest)
		}
	})
	t.Run("bad position", func(t *testing.T) {
		err := src.Stream(context.Background(), func(context.Context, string) (Start, error) { return After("x"), nil },
			func(context.Context, Batch) error { return nil })
		if err == nil {
			t.Fatal("no error for a bad start position")
		}
	})
}

func TestLowestLogCheckpoint(t *testing.T) {
	c := func(st Start) Consumer { return &collector{name: st.Kind.String(), start: st} }
	tests := []struct {
		name      string
		consumers []Consumer
		want      uint64
	}{
		{"none", nil, 1<<64 - 1},
		{"latest only", []Consumer{c(Start{Kind: Latest})}, 1<<64 - 1},
		{"min of checkpoints", []Consumer{c(After("9")), c(Start{Kind: Latest}), c(After("4"))}, 4},
		{"trim horizon keeps all", []Consumer{c(After("9")), c(Start{Kind: TrimHorizon})}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LowestLogCheckpoint(context.Background(), tt.consumers)
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestRunLogRetention(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	s, err := embedded.Open(t.TempDir(), embedded.Options{Now: clk.Now, LogRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	putGames(t, s, "g", 5)
	clk.Add(2 * time.Hour) // every entry is past retention
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		consumers := []Consumer{&collector{name: "reporting", start: After("3")}, &collector{name: "ws", start: Start{Kind: Latest}}}
		RunLogRetention(ctx, s, consumers, 5*time.Millisecond, quietLogger())
	}()
	waitFor(t, "the log trimmed to the checkpoint", func() bool {
		cs, err := s.ChangesAfter(0, 10)
		return err == nil && len(cs) == 2 && cs[0].Position == "4"
	})
	cancel()
	<-done
}

// TestLogSourceMarketsProvidersLeases: through the embedded store's change
// log and the Tailer, a quote of another market arrives as odds, a market
// status change and a provider's liveness with their images, and the
// leases (renewed by the liveness decider) reach no consumer, guarded or
// not, and are no bad records. (The embedded store does not even log
// leases; the DynamoDB stream carries them: TestTailerSkipsLeases.)
func TestLogSourceMarketsProvidersLeases(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	putGames(t, s, "m", 1)
	q := feed.Odds{GameID: "m-0", Provider: "acme", ObservedAt: at.Add(-time.Second), ReceivedAt: at,
		Market: feed.MarketTotal, Period: feed.PeriodFirstHalf, Line: 23.5, OverOdds: -110, UnderOdds: -110}
	if _, err := s.PutOdds(ctx, []feed.Odds{q}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutMarketChange(ctx, feed.MarketChange{GameID: "m-0", Market: feed.MarketTotal, Period: feed.PeriodFirstHalf,
		Action: feed.ActionSuspend, Reason: feed.ReasonBetStop, At: at, By: "acme"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the decider renews its lease
		if _, _, err := s.AcquireLease(ctx, "liveness", "replica-a", at.Add(time.Duration(i)*time.Second), 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Heard(ctx, "acme", at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MarkProviderDown(ctx, "acme", at, at.Add(time.Minute), "replica-a"); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastSeq()
	if err != nil {
		t.Fatal(err)
	}

	guarded := &collector{name: "board", start: Start{Kind: TrimHorizon}}
	plain := &collector{name: "reports", start: Start{Kind: TrimHorizon}}
	tl := NewTailer(NewLogSource(s, LogOptions{Logger: quietLogger(), Backoff: fastBackoff}), TailerOptions{Logger: quietLogger(), Backoff: fastBackoff})
	tl.Add(guarded, ConsumerOptions{Guard: NewGuard(GuardOptions{})})
	tl.Add(plain, ConsumerOptions{})
	stop := runTailer(t, tl)
	pos := strconv.FormatUint(last, 10)
	waitFor(t, "the whole log", func() bool {
		st := tl.Stats()
		return st[0].Sources[LogSourceName].Position == pos && st[1].Sources[LogSourceName].Position == pos
	})
	stop()
	for _, c := range []*collector{guarded, plain} {
		var types []string
		for _, ch := range c.changes() {
			types = append(types, ch.ItemType)
			switch ch.ItemType {
			case feed.TypeOdds:
				if ch.NewOdds == nil || ch.NewOdds.Market != feed.MarketTotal || ch.NewOdds.Period != feed.PeriodFirstHalf || ch.Key != q.Key() {
					t.Errorf("%s: quote change %+v", c.name, ch)
				}
			case feed.TypeMarket:
				if m := ch.NewMarket; m == nil || m.State != feed.MarketSuspended || m.Reason != feed.ReasonBetStop || ch.Key != m.Key() || ch.Version != m.Version {
					t.Errorf("%s: market change %+v", c.name, ch)
				}
			case feed.TypeProvider:
				if p := ch.NewProvider; p == nil || p.Provider != "acme" || ch.Key != p.Key() || ch.Version != p.Version {
					t.Errorf("%s: provider change %+v", c.name, ch)
				}
			}
		}
		want := fmt.Sprint([]string{feed.TypeGame, feed.TypeOdds, feed.TypeMarket, feed.TypeProvider, feed.TypeProvider})
		if fmt.Sprint(types) != want || len(c.bad) != 0 {
			t.Errorf("%s: got %v and %d bad records, want %s", c.name, types, len(c.bad), want)
		}
		if p := c.changes()[4].NewProvider; p.State != feed.ProviderDown || p.DecidedBy != "replica-a" {
			t.Errorf("%s: last provider change %+v, want acme down", c.name, p)
		}
	}
	for _, st := range tl.Stats() {
		if st.Changes != 5 || st.Filtered != 0 || st.Bad != 0 {
			t.Errorf("%s stats %+v, want 5 changes", st.Name, st)
		}
	}
}

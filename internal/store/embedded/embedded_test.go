package embedded

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/storetest"
)

// openStore opens a store in dir and closes it at the end of the test.
func openStore(tb testing.TB, dir string, opts Options) *Store {
	tb.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"nothing pending", Options{PendingMax: -1}},
		{"few pending", Options{PendingMax: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunConformance(t, func(t *testing.T) store.FeedStore {
				return openStore(t, t.TempDir(), tc.opts)
			})
		})
	}
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 987654321, time.UTC)

func testGame(id string) feed.Game {
	return feed.Game{ID: id, Sport: "nba", Summary: "A @ B", GameDate: t0.Add(time.Hour), Status: feed.StatusScheduled}
}

func testOdds(gameID, provider string, i int) feed.Odds {
	at := t0.Add(time.Duration(i) * time.Millisecond)
	return feed.Odds{
		GameID: gameID, Provider: provider, ObservedAt: at, ReceivedAt: at.Add(time.Second),
		AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: 120 + i%1000, HomeOdds: -140,
	}
}

func oddsBatch(gameID, provider string, from, n int) []feed.Odds {
	odds := make([]feed.Odds, n)
	for i := range odds {
		odds[i] = testOdds(gameID, provider, from+i)
	}
	return odds
}

func mustPutOdds(tb testing.TB, s *Store, odds []feed.Odds) []store.Outcome {
	tb.Helper()
	out, err := s.PutOdds(tb.Context(), odds)
	if err != nil {
		tb.Fatalf("PutOdds: %v", err)
	}
	return out
}

func mustPutGame(tb testing.TB, s *Store, g feed.Game) feed.Game {
	tb.Helper()
	stored, _, err := s.PutGame(tb.Context(), g, store.System)
	if err != nil {
		tb.Fatalf("PutGame: %v", err)
	}
	return stored
}

func changesAfter(tb testing.TB, s *Store, after uint64, max int) []feed.Change {
	tb.Helper()
	changes, err := s.ChangesAfter(after, max)
	if err != nil {
		tb.Fatalf("ChangesAfter(%d, %d): %v", after, max, err)
	}
	return changes
}

func lastSeq(tb testing.TB, s *Store) uint64 {
	tb.Helper()
	seq, err := s.LastSeq()
	if err != nil {
		tb.Fatalf("LastSeq: %v", err)
	}
	return seq
}

func TestItemEncodingRoundTrip(t *testing.T) {
	for name, it := range map[string]feed.Item{
		"game":         feed.GameItem(feed.Game{ID: "g1", Sport: "nfl", GameDate: t0, Status: feed.StatusLive, Version: 3, UpdatedAt: t0}),
		"odds":         feed.OddsItem(testOdds("g1", "p1", 1), t0.Add(time.Hour)),
		"unknown attr": {feed.AttrPK: feed.S("x"), "EXTRA": feed.N("42"), "EMPTY": feed.S("")},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := decodeItem(appendItem(nil, it))
			if err != nil {
				t.Fatalf("decodeItem: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(it) {
				t.Fatalf("round trip:\n got %v\nwant %v", got, it)
			}
		})
	}
	for _, bad := range [][]byte{nil, {9}, {itemFormat, 1, 200}, {itemFormat, 99, 0}} {
		if _, err := decodeItem(bad); err == nil {
			t.Errorf("decodeItem(%v): no error", bad)
		}
	}
}

func TestOddsTTLSetsExpire(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want string // EXPIRE, "" for none
	}{
		{"no ttl", 0, ""},
		{"one hour", time.Hour, fmt.Sprint(testOdds("g1", "p1", 0).ReceivedAt.Add(time.Hour).Unix())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{OddsTTL: tc.ttl})
			o := testOdds("g1", "p1", 0)
			mustPutOdds(t, s, []feed.Odds{o})
			c := changesAfter(t, s, 0, 1)
			if len(c) != 1 || c[0].NewOdds == nil || c[0].NewOdds.Version != 1 {
				t.Fatalf("change: %+v", c)
			}
			var it feed.Item
			err := s.view(t.Context(), func(tx *bolt.Tx) error {
				var err error
				it, err = decodeItem(tx.Bucket(itemsBucket).Get(key(o.Key().PK, o.Key().SK)))
				return err
			})
			if err != nil {
				t.Fatalf("read item: %v", err)
			}
			if a, ok := it[feed.AttrExpire]; ok != (tc.want != "") || a.N != tc.want || (ok && !a.IsN) {
				t.Fatalf("EXPIRE = %+v (present %v), want %q", a, ok, tc.want)
			}
		})
	}
}

func TestPutOddsConcurrentGroupCommit(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	const writers, batches, size = 8, 10, 50
	var wg sync.WaitGroup
	outcomes := make([][]store.Outcome, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				// Writers 0 and 1 send the same odds: one of each pair is a duplicate.
				game := fmt.Sprintf("g%d", max(w, 1))
				out, err := s.PutOdds(t.Context(), oddsBatch(game, "p", b*size, size))
				if err != nil {
					t.Errorf("PutOdds: %v", err)
					return
				}
				outcomes[w] = append(outcomes[w], out...)
			}
		})
	}
	wg.Wait()
	stored := 0
	for w, outs := range outcomes {
		for i, o := range outs {
			switch {
			case o == store.Stored:
				stored++
			case o == store.Duplicate && w <= 1 && outcomes[1-w][i] == store.Stored:
			default:
				t.Fatalf("writer %d item %d: %v", w, i, o)
			}
		}
	}
	want := (writers - 1) * batches * size
	if stored != want {
		t.Fatalf("stored %d, want %d", stored, want)
	}
	var changes []feed.Change
	for page := changesAfter(t, s, 0, 0); len(page) > 0; page = changesAfter(t, s, uint64(len(changes)), 0) {
		changes = append(changes, page...)
	}
	seen := map[feed.Key]bool{}
	for i, c := range changes {
		if c.Position != fmt.Sprint(i+1) || c.Kind != feed.ChangeInsert || seen[c.Key] {
			t.Fatalf("change %d: %+v (seen before: %v)", i, c, seen[c.Key])
		}
		seen[c.Key] = true
	}
	if len(changes) != want || lastSeq(t, s) != uint64(want) {
		t.Fatalf("%d changes, last seq %d; want %d", len(changes), lastSeq(t, s), want)
	}
}

func TestPutOddsCanceledContext(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out, err := s.PutOdds(ctx, oddsBatch("g1", "p", 0, 3))
	if err == nil || len(out) != 3 || out[0] != store.NotStored {
		t.Fatalf("PutOdds(canceled) = %v, %v", out, err)
	}
	if n := lastSeq(t, s); n != 0 {
		t.Fatalf("last seq %d after a canceled write", n)
	}
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.PutOdds(t.Context(), oddsBatch("g1", "p", 0, 1)); err == nil {
		t.Fatal("PutOdds on a closed store: no error")
	}
}

func TestOddsEncodingMatchesFeed(t *testing.T) {
	long := strings.Repeat("x", feed.MaxIDLen)
	zone := time.FixedZone("Z", -7*3600)
	for _, tc := range []struct {
		name   string
		o      feed.Odds
		expire time.Time
	}{
		{"plain", testOdds("g1", "p1", 1), time.Time{}},
		{"expire", testOdds("g1", "p1", 2), t0.Add(48 * time.Hour)},
		{"long ids", testOdds(long, long, 3), t0},
		{"zones and odd numbers", feed.Odds{
			GameID: "g-1.x_y", Provider: "P.9", ObservedAt: t0.In(zone), ReceivedAt: t0.Add(time.Nanosecond).In(zone),
			AwaySpread: -0.5, HomeSpread: 999.5, AwayOdds: -100000, HomeOdds: 100000, Version: 1,
		}, time.Time{}},
		{"zero spreads", feed.Odds{GameID: "g", Provider: "p", ObservedAt: t0, ReceivedAt: t0, AwayOdds: 100, HomeOdds: -100, Version: 1}, time.Time{}},
		{"moneyline", testQuote("g1", "p1", feed.MarketMoneyline, "", 4), t0},
		{"three-way first half", testQuote("g1", "p1", feed.MarketThreeWay, feed.PeriodFirstHalf, 5), time.Time{}},
		{"total", testQuote(long, long, feed.MarketTotal, feed.PeriodFull, 6), t0},
		{"spread second half", testQuote("g1", "p1", feed.MarketSpread, feed.PeriodSecondHalf, 7), t0},
		{"spread full, named", testQuote("g1", "p1", feed.MarketSpread, feed.PeriodFull, 8), t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := newOddsEncoder(&tc.o)
			got, err := decodeItem(enc.appendItem(nil, tc.expire, ""))
			if err != nil {
				t.Fatalf("decodeItem: %v", err)
			}
			if want := feed.OddsItem(tc.o, tc.expire); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("item:\n got %v\nwant %v", got, want)
			}
			k := tc.o.Key()
			if got, want := string(enc.appendKey(nil)), string(key(k.PK, k.SK)); got != want {
				t.Fatalf("key %q, want %q", got, want)
			}
			if enc.pkLen() != len(k.PK) {
				t.Fatalf("pkLen %d, want %d", enc.pkLen(), len(k.PK))
			}
		})
	}
}

func TestGroupCommitIsolatesAFailingRequest(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	bad, good := testOdds("g1", "p", 1), testOdds("g1", "p", 2)
	// A corrupt stored item under bad's key makes its idempotency check fail.
	err := s.db.Update(func(tx *bolt.Tx) error {
		k := bad.Key()
		return tx.Bucket(itemsBucket).Put(key(k.PK, k.SK), []byte{0xff})
	})
	if err != nil {
		t.Fatalf("plant corrupt item: %v", err)
	}
	req := func(o feed.Odds) *oddsReq {
		return &oddsReq{ctx: t.Context(), w: oddsWrite{odds: []feed.Odds{o}, out: make([]store.Outcome, 1)}, done: make(chan struct{})}
	}
	ra, rb := req(bad), req(good)
	s.commit([]*oddsReq{ra, rb})
	<-ra.done
	<-rb.done
	if ra.err == nil || ra.w.out[0] != store.NotStored {
		t.Fatalf("failing request: %v, %v", ra.w.out, ra.err)
	}
	if rb.err != nil || rb.w.out[0] != store.Stored {
		t.Fatalf("good request: %v, %v", rb.w.out, rb.err)
	}
	if c := changesAfter(t, s, 0, 0); len(c) != 1 || c[0].Key != good.Key() {
		t.Fatalf("log: %+v, want one change of the good odds", c)
	}
}

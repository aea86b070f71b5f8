package embedded

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// appliedSeq reads the applied sequence the meta bucket records.
func appliedSeq(t *testing.T, s *Store) uint64 {
	t.Helper()
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(metaBucket).Get(appliedKey)
		if len(v) != 8 {
			return fmt.Errorf("applied sequence %x", v)
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// itemCount counts the items bucket.
func itemCount(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(itemsBucket).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPendingIsBounded: commits leave at most PendingMax odds pending,
// applying whole games oldest first, and the applied sequence follows.
func TestPendingIsBounded(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{PendingMax: 10})
	mustPutGame(t, s, testGame("g1")) // seq 1, applied at once
	for b := range 6 {
		var odds []feed.Odds
		for g := range 3 {
			odds = append(odds, oddsBatch(fmt.Sprint("g", g), "p", b*2, 2)...)
		}
		mustPutOdds(t, s, odds)
		if n := s.pend.count.Load(); n > 10 {
			t.Fatalf("batch %d: %d pending", b, n)
		}
		if got, want := itemCount(t, s), 1+6*(b+1)-int(s.pend.count.Load()); got != want {
			t.Fatalf("batch %d: %d items, want %d", b, got, want)
		}
		want := lastSeq(t, s)
		if len(s.pend.queue) > 0 {
			want = s.pend.queue[0].first - 1
		}
		if got := appliedSeq(t, s); got != want {
			t.Fatalf("batch %d: applied %d, want %d", b, got, want)
		}
	}
	if s.pend.count.Load() == 0 {
		t.Fatal("nothing pending")
	}
	page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1", Page: store.Page{Limit: 1000}})
	if err != nil || len(page.Odds) != 12 {
		t.Fatalf("ListOdds = %d odds, %v; want 12", len(page.Odds), err)
	}
	if n := s.pend.count.Load(); n != 0 || appliedSeq(t, s) != lastSeq(t, s) {
		t.Fatalf("after a read: %d pending, applied %d of %d", n, appliedSeq(t, s), lastSeq(t, s))
	}
}

// TestOpenAppliesPending: odds a crash left pending (a copy of the file
// taken between commits) are in the items after Open.
func TestOpenAppliesPending(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	mustPutGame(t, s, testGame("g1"))
	odds := append(oddsBatch("g1", "a", 0, 20), oddsBatch("g2", "b", 0, 20)...)
	for i := 10; i < 20; i += 3 { // quotes of other markets among them
		odds[i] = testQuote("g1", "a", feed.MarketTotal, feed.PeriodFirstHalf, i)
	}
	odds[18] = testQuote("g1", "a", feed.MarketMoneyline, "", 18)
	mustPutOdds(t, s, odds[:30])
	mustPutGame(t, s, testGame("g2"))
	mustPutOdds(t, s, odds[30:])
	if s.pend.count.Load() != 40 {
		t.Fatalf("%d pending, want 40", s.pend.count.Load())
	}
	crashed := t.TempDir()
	if err := s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(filepath.Join(crashed, DBFile), 0o600) }); err != nil {
		t.Fatalf("copy: %v", err)
	}

	c := openStore(t, crashed, Options{})
	if n := itemCount(t, c); n != 42 {
		t.Fatalf("%d items after Open, want 42", n)
	}
	if got, want := appliedSeq(t, c), lastSeq(t, c); got != want || want != 42 {
		t.Fatalf("applied %d, last %d; want 42", got, want)
	}
	for _, tc := range []struct {
		game, provider string
		want           feed.Odds
	}{{"g1", "a", odds[17]}, {"g2", "b", odds[39]}} {
		got, err := c.LatestOdds(t.Context(), tc.game, tc.provider)
		if err != nil || !got.SameContent(tc.want) {
			t.Fatalf("LatestOdds(%s, %s) = %+v, %v; want %+v", tc.game, tc.provider, got, err, tc.want)
		}
	}
	quotes, err := c.LatestQuotes(t.Context(), "g1")
	if want := []feed.Odds{odds[18], odds[17], odds[19]}; err != nil || len(quotes) != 3 ||
		!quotes[0].SameContent(want[0]) || !quotes[1].SameContent(want[1]) || !quotes[2].SameContent(want[2]) {
		t.Fatalf("LatestQuotes(g1) = %+v, %v; want moneyline, spread, total/1h", quotes, err)
	}
	if out := mustPutOdds(t, c, odds); out[0] != store.Duplicate || out[39] != store.Duplicate {
		t.Fatalf("re-put after Open: %v", out)
	}
	if a, b := mustJSON(t, changesAfter(t, c, 0, 0)), mustJSON(t, changesAfter(t, s, 0, 0)); a != b {
		t.Fatal("log differs after Open")
	}
}

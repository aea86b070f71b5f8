package embedded

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// TestTailMatchesLog holds the changes served from memory to what the log
// on disk gives for the same reads, with a tail large enough for all of
// them and with one that wraps many times.
func TestTailMatchesLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"default", 0}, {"wrapping", 7}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: t0}
			s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, TailSize: tc.size})
			g := testGame("g1")
			mustPutGame(t, s, g)
			zone := time.FixedZone("Z", 3600)
			odds := oddsBatch("g1", "p1", 0, 20)
			for i := range odds {
				odds[i].ObservedAt = odds[i].ObservedAt.In(zone)
			}
			odds[3].ReceivedAt = time.Time{}
			mustPutOdds(t, s, odds)
			mustPutOdds(t, s, odds[:5]) // duplicates: no changes
			clk.Set(t0.Add(time.Minute))
			g.Status = feed.StatusLive
			mustPutGame(t, s, g)
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for b := range 5 {
						mustPutOdds(t, s, oddsBatch(fmt.Sprint("g", w), "p2", b*10, 10))
					}
				})
			}
			wg.Wait()
			mustPutOdds(t, s, []feed.Odds{{GameID: "g1", Provider: "p3", ObservedAt: time.Now(), ReceivedAt: time.Now(),
				AwaySpread: -0.5, HomeSpread: 0.5, AwayOdds: 100, HomeOdds: -100}})

			last := lastSeq(t, s)
			if last != 1+20+1+200+1 {
				t.Fatalf("last seq %d", last)
			}
			fromMemory := 0
			for after := uint64(0); after <= last+1; after++ {
				for _, max := range []int{1, 3, 1000} {
					want, err := s.readLog(after, max)
					if err != nil {
						t.Fatalf("readLog(%d, %d): %v", after, max, err)
					}
					if _, ok := s.tail.read(after, max); ok {
						fromMemory++
					}
					got := changesAfter(t, s, after, max)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("ChangesAfter(%d, %d):\n got %+v\nwant %+v", after, max, got, want)
					}
				}
			}
			if fromMemory == 0 {
				t.Fatal("no read served from memory")
			}
		})
	}
}

// TestTailIsACopy: changing a change handed out leaves later reads alone.
func TestTailIsACopy(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	mustPutGame(t, s, testGame("g1"))
	mustPutOdds(t, s, oddsBatch("g1", "p", 0, 2))
	first := changesAfter(t, s, 0, 0)
	want := fmt.Sprintf("%+v %+v %+v", *first[0].NewGame, *first[1].NewOdds, *first[2].NewOdds)
	first[0].NewGame.Summary = "changed"
	first[1].NewOdds.AwayOdds = 12345
	first[2].NewOdds.AwayOdds = 12345
	again := changesAfter(t, s, 0, 0)
	if got := fmt.Sprintf("%+v %+v %+v", *again[0].NewGame, *again[1].NewOdds, *again[2].NewOdds); got != want {
		t.Fatalf("second read %s, want %s", got, want)
	}
}

// TestLatestKeepsNewest: older odds put later do not replace the newest.
func TestLatestKeepsNewest(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	newer, older := testOdds("g1", "p", 10), testOdds("g1", "p", 5)
	for _, batch := range [][]feed.Odds{{newer}, {older}, {older, newer}} {
		mustPutOdds(t, s, batch)
		got, err := s.LatestOdds(t.Context(), "g1", "p")
		if err != nil || !got.SameContent(newer) {
			t.Fatalf("LatestOdds = %+v, %v; want %+v", got, err, newer)
		}
	}
}

// TestOpenUpgradesIndex: a store written with the LSI bucket of earlier
// versions gets its latest bucket on Open.
func TestOpenUpgradesIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	mustPutGame(t, s, testGame("g1"))
	odds := append(oddsBatch("g1", "b", 0, 5), oddsBatch("g1", "a", 2, 5)...)
	odds = append(odds, oddsBatch("g2", "a", 0, 3)...)
	mustPutOdds(t, s, odds)
	if err := s.flush(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{latestBucket, metaBucket} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucket(lsiBucket)
		return err
	})
	if err != nil {
		t.Fatalf("downgrade: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, dir, Options{})
	got, err := s.LatestOddsByProvider(t.Context(), "g1")
	if err != nil {
		t.Fatalf("LatestOddsByProvider: %v", err)
	}
	want := []feed.Odds{odds[9], odds[4]} // a, b
	if len(got) != len(want) || !slices.EqualFunc(got, want, feed.Odds.SameContent) {
		t.Fatalf("LatestOddsByProvider = %+v, want %+v", got, want)
	}
	if o, err := s.LatestOdds(t.Context(), "g2", "a"); err != nil || !o.SameContent(odds[12]) {
		t.Fatalf("LatestOdds(g2, a) = %+v, %v", o, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(lsiBucket) != nil {
			return fmt.Errorf("bucket %s left", lsiBucket)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package embedded

import (
	"errors"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// received returns odds i of testOdds received at t0+at.
func received(gameID, provider string, i int, at time.Duration) feed.Odds {
	o := testOdds(gameID, provider, i)
	o.ReceivedAt = t0.Add(at)
	return o
}

func mustExpire(t *testing.T, s *Store, want int) {
	t.Helper()
	n, err := s.ExpireOdds(t.Context())
	if err != nil || n != want {
		t.Fatalf("ExpireOdds = %d, %v; want %d", n, err, want)
	}
}

func listKeys(t *testing.T, s *Store, gameID string) []int {
	t.Helper()
	page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: gameID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	var ms []int
	for _, o := range page.Odds {
		ms = append(ms, int(o.ObservedAt.Sub(t0)/time.Millisecond))
	}
	return ms
}

// TestExpireOdds: expired odds leave the items, the reads and the latest
// bucket (the newest remaining odds of the provider takes its place), and
// are logged as TTL removes with their old image, the same from memory and
// from disk.
func TestExpireOdds(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1})
	mustPutGame(t, s, testGame("g1"))
	// p1's newest observation (3) was received first: it expires first.
	mustPutOdds(t, s, []feed.Odds{
		received("g1", "p1", 1, 0), received("g1", "p1", 2, 30*time.Minute), received("g1", "p1", 3, 0),
		received("g1", "p2", 4, 0),
	})
	last, _ := s.LastSeq()
	clk.Set(t0.Add(time.Hour))
	mustExpire(t, s, 0) // EXPIRE is not before now yet
	clk.Set(t0.Add(time.Hour + 2*time.Second))
	mustExpire(t, s, 3)
	mustExpire(t, s, 0)

	if got := listKeys(t, s, "g1"); !reflect.DeepEqual(got, []int{2}) {
		t.Fatalf("ListOdds after expiry = %v, want [2]", got)
	}
	o, err := s.LatestOdds(t.Context(), "g1", "p1")
	if err != nil || o.ObservedAt != t0.Add(2*time.Millisecond) {
		t.Fatalf("LatestOdds p1 = %v, %v; want odds 2", o.ObservedAt, err)
	}
	if o, err := s.LatestOdds(t.Context(), "g1", ""); err != nil || o.Provider != "p1" {
		t.Fatalf("LatestOdds overall = %+v, %v", o, err)
	}
	if _, err := s.LatestOdds(t.Context(), "g1", "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestOdds p2 = %v, want not found", err)
	}
	if by, err := s.LatestOddsByProvider(t.Context(), "g1"); err != nil || len(by) != 1 || by[0].Provider != "p1" {
		t.Fatalf("LatestOddsByProvider = %+v, %v", by, err)
	}
	if g, err := s.GetGame(t.Context(), "g1"); err != nil || g.ID != "g1" {
		t.Fatalf("the game must stay: %v", err)
	}

	mem := changesAfter(t, s, last, 0)
	disk, err := s.readLog(last, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mem, disk) {
		t.Fatalf("tail %+v\nlog %+v", mem, disk)
	}
	if len(mem) != 3 {
		t.Fatalf("%d changes, want 3 removes", len(mem))
	}
	for _, c := range mem {
		if c.Kind != feed.ChangeRemove || !c.Expired || c.ItemType != feed.TypeOdds || c.OldOdds == nil ||
			c.NewOdds != nil || c.Version != 1 || c.Key != c.OldOdds.Key() || !c.At.Equal(clk.Now()) {
			t.Fatalf("expiry change %+v", c)
		}
	}
	// A new odds of p2 is its latest again.
	mustPutOdds(t, s, []feed.Odds{received("g1", "p2", 0, time.Hour)})
	if o, err := s.LatestOdds(t.Context(), "g1", "p2"); err != nil || o.ObservedAt != t0 {
		t.Fatalf("LatestOdds p2 after a new odds = %v, %v", o.ObservedAt, err)
	}
}

// TestExpireSkipsPending: an item whose newer version is pending is not
// deleted; once applied, its own EXPIRE decides, and the index entry of
// the version it replaced is dropped alone.
func TestExpireSkipsPending(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1})
	mustPutGame(t, s, testGame("g1"))
	mustPutOdds(t, s, []feed.Odds{received("g1", "p1", 1, 0)})
	listKeys(t, s, "g1") // applies it
	fix := received("g1", "p1", 1, 50*time.Minute)
	fix.AwayOdds = 999
	if out := mustPutOdds(t, s, []feed.Odds{fix}); out[0] != store.Corrected {
		t.Fatalf("correction: %v", out[0])
	}
	if s.pend.count.Load() != 1 {
		t.Fatalf("the correction should be pending")
	}
	clk.Set(t0.Add(time.Hour + 10*time.Minute))
	if n, _, err := s.expireBatch(); n != 0 || err != nil { // ExpireOdds would apply it first
		t.Fatalf("expireBatch = %d, %v; want 0", n, err)
	}
	o, err := s.LatestOdds(t.Context(), "g1", "p1") // applies the correction
	if err != nil || o.Version != 2 {
		t.Fatalf("LatestOdds = %+v, %v; want version 2", o, err)
	}
	mustExpire(t, s, 0) // only the index entry of version 1 goes
	if n := indexLen(t, s); n != 1 {
		t.Fatalf("expiry index lists %d odds, want 1", n)
	}
	clk.Set(t0.Add(2 * time.Hour))
	mustExpire(t, s, 1)
	if n := indexLen(t, s); n != 0 {
		t.Fatalf("expiry index lists %d odds, want 0", n)
	}
}

// indexLen counts the odds the expiry index lists.
func indexLen(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(expireBucket).ForEach(func(k, v []byte) error {
			_, _, sks, err := indexEntry(k, v)
			n += len(sks)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExpireBatches: a pass deletes every expired odds in transactions of
// at most ExpireBatch (whole index entries), and the background expiry runs
// by itself.
func TestExpireBatches(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1, ExpireBatch: 10})
	mustPutGame(t, s, testGame("g1"))
	var odds []feed.Odds // 7 seconds of 5 odds: 7 index entries
	for i := range 35 {
		odds = append(odds, received("g1", "p1", i, time.Duration(i/5)*time.Second))
	}
	mustPutOdds(t, s, odds)
	mustPutOdds(t, s, []feed.Odds{received("g1", "p1", 100, time.Hour)})
	listKeys(t, s, "g1")
	clk.Set(t0.Add(time.Hour + time.Minute))
	for range 3 {
		if n, more, err := s.expireBatch(); n != 10 || !more || err != nil {
			t.Fatalf("expireBatch = %d, %v, %v; want 10 and more", n, more, err)
		}
	}
	mustExpire(t, s, 5)
	if got := listKeys(t, s, "g1"); !reflect.DeepEqual(got, []int{100}) {
		t.Fatalf("ListOdds = %v", got)
	}

	bg := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: 5 * time.Millisecond})
	mustPutGame(t, bg, testGame("g1"))
	mustPutOdds(t, bg, oddsBatch("g1", "p1", 0, 5))
	clk.Set(t0.Add(3 * time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for len(listKeys(t, bg, "g1")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background expiry did not delete the expired odds")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestExpireIndexUpgrade: a store written before the expiry index gets it
// filled at Open, and the index survives a reopen.
func TestExpireIndexUpgrade(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: t0}
	opts := Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustPutGame(t, s, testGame("g1"))
	mustPutOdds(t, s, oddsBatch("g1", "p1", 0, 3))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(dir+"/"+DBFile, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(expireBucket) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, opts)
	if n := indexLen(t, s); n != 3 {
		t.Fatalf("index after upgrade lists %d odds, want 3", n)
	}
	clk.Set(t0.Add(2 * time.Hour))
	mustExpire(t, s, 3)
	if got := listKeys(t, s, "g1"); len(got) != 0 {
		t.Fatalf("ListOdds = %v", got)
	}
}

// TestExpireCorrectedOnce: an odds corrected within the same second has two
// index entries; it is deleted, and logged, once.
func TestExpireCorrectedOnce(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1})
	mustPutGame(t, s, testGame("g1"))
	mustPutOdds(t, s, []feed.Odds{received("g1", "p1", 1, 0)})
	listKeys(t, s, "g1")
	fix := received("g1", "p1", 1, 0)
	fix.AwayOdds = 999
	mustPutOdds(t, s, []feed.Odds{fix})
	listKeys(t, s, "g1")
	if n := indexLen(t, s); n != 2 {
		t.Fatalf("expiry index lists %d odds, want 2", n)
	}
	clk.Set(t0.Add(2 * time.Hour))
	mustExpire(t, s, 1)
	if n := indexLen(t, s); n != 0 {
		t.Fatalf("expiry index lists %d odds, want 0", n)
	}
}

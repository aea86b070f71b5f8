package embedded

import (
	"reflect"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// TestCompact: after a large expiry the file does not shrink, Compact
// shrinks it, refuses while the store is open, and keeps every item.
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: t0}
	opts := Options{Now: clk.Now, OddsTTL: time.Hour, ExpireEvery: -1, LogRetention: time.Hour}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustPutGame(t, s, testGame("g1"))
	for i := range 40 {
		mustPutOdds(t, s, oddsBatch("g1", "p1", i*500, 500))
	}
	mustPutOdds(t, s, []feed.Odds{received("g1", "p2", 1, 2*time.Hour)})
	clk.Set(t0.Add(2 * time.Hour))
	mustExpire(t, s, 20000)
	clk.Set(t0.Add(4 * time.Hour)) // the log's retention is past the expiries too
	if _, err := s.TrimLog(^uint64(0)); err != nil {
		t.Fatal(err)
	}
	want := listKeys(t, s, "g1")
	if _, _, err := Compact(dir); err == nil {
		t.Fatal("Compact of an open store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, after, err := Compact(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted %d -> %d bytes", before, after)
	if after*4 > before {
		t.Fatalf("compacted %d -> %d bytes, want a quarter at most", before, after)
	}
	s = openStore(t, dir, opts)
	if got := listKeys(t, s, "g1"); !reflect.DeepEqual(got, want) || len(got) != 1 {
		t.Fatalf("odds after compaction = %v, want %v", got, want)
	}
	if o, err := s.LatestOdds(t.Context(), "g1", "p2"); err != nil || o.Provider != "p2" {
		t.Fatalf("LatestOdds after compaction = %+v, %v", o, err)
	}
}

package embedded

import (
	"sync/atomic"
	"testing"
)

// TestPutOddsReturnsAfterSyncedCommit pins the store's durability, which a
// crash test cannot see (SIGKILL keeps the page cache): the database is
// not in NoSync mode, every commit was synced to disk, and PutOdds returns
// only after the commit of its odds, synced, has returned.
func TestPutOddsReturnsAfterSyncedCommit(t *testing.T) {
	var synced, unsynced atomic.Int64
	CommitHook = func(ok bool) {
		if ok {
			synced.Add(1)
		} else {
			unsynced.Add(1)
		}
	}
	s := openStore(t, t.TempDir(), Options{})
	CommitHook = nil
	if s.db.NoSync {
		t.Fatal("bbolt is in NoSync mode: a commit is not on disk when PutOdds returns")
	}
	mustPutGame(t, s, testGame("g1"))
	for i := range 20 {
		before := synced.Load()
		mustPutOdds(t, s, oddsBatch("g1", "p", i*10, 10))
		if synced.Load() == before {
			t.Fatalf("PutOdds %d returned before the synced commit of its odds", i)
		}
	}
	if n := unsynced.Load(); n > 0 {
		t.Fatalf("%d of %d commits were not synced to disk", n, n+synced.Load())
	}
}

package cdc

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// fakeClock is a settable clock for the Guard's window.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func change(kind feed.ChangeKind, key string, version int64, at time.Time) feed.Change {
	return feed.Change{Kind: kind, Key: feed.GameKey(key), Version: version, At: at}
}

func TestGuardAdmit(t *testing.T) {
	t0 := time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		c    feed.Change
		want bool
	}
	ins := func(v int64, s int) feed.Change { return change(feed.ChangeInsert, "g", v, at(s)) }
	mod := func(v int64, s int) feed.Change { return change(feed.ChangeModify, "g", v, at(s)) }
	rem := func(v int64, s int) feed.Change { return change(feed.ChangeRemove, "g", v, at(s)) }
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{ins(1, 1), true}, {mod(2, 2), true}, {mod(3, 3), true}}},
		{"duplicates", []step{{ins(1, 1), true}, {ins(1, 1), false}, {mod(2, 2), true}, {mod(2, 2), false}, {ins(1, 1), false}}},
		{"reordered", []step{{mod(3, 3), true}, {mod(2, 2), false}, {ins(1, 1), false}, {mod(4, 4), true}}},
		{"gap is fine", []step{{ins(1, 1), true}, {mod(5, 5), true}}},
		{"remove after write", []step{{ins(1, 1), true}, {rem(1, 9), true}, {rem(1, 9), false}, {ins(1, 1), false}}},
		{"remove first", []step{{rem(2, 9), true}, {mod(2, 2), false}, {mod(1, 1), false}}},
		{"stale remove", []step{{mod(3, 3), true}, {rem(2, 2), false}}},
		{"re-created after remove", []step{{ins(1, 1), true}, {rem(1, 5), true}, {ins(1, 10), true}, {ins(1, 10), false}}},
		{"other keys independent", []step{{ins(2, 1), true}, {change(feed.ChangeInsert, "h", 1, at(1)), true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGuard(GuardOptions{})
			for i, s := range tt.steps {
				if got := g.Admit(s.c); got != s.want {
					t.Fatalf("step %d %s v%d: Admit = %v, want %v", i, s.c.Kind, s.c.Version, got, s.want)
				}
			}
		})
	}
}

func TestGuardEviction(t *testing.T) {
	t.Run("window", func(t *testing.T) {
		clk := &fakeClock{t: time.Unix(1e9, 0)}
		g := NewGuard(GuardOptions{Window: time.Minute, Now: clk.Now})
		old := change(feed.ChangeInsert, "old", 1, clk.Now())
		kept := change(feed.ChangeInsert, "kept", 1, clk.Now())
		g.Admit(old)
		g.Admit(kept)
		clk.Add(61 * time.Second)
		if g.Admit(kept) { // touched within two windows: remembered, and kept young
			t.Fatal("duplicate admitted within the window")
		}
		clk.Add(61 * time.Second)
		if g.Admit(kept) {
			t.Fatal("recently touched key forgotten")
		}
		if !g.Admit(old) {
			t.Fatal("key untouched for two windows still remembered")
		}
		clk.Add(10 * time.Minute) // idle: everything goes
		if n := g.Len(); n != 2 {
			t.Fatalf("Len before idle rotation = %d, want 2", n)
		}
		g.Admit(change(feed.ChangeInsert, "new", 1, clk.Now()))
		if n := g.Len(); n != 1 {
			t.Fatalf("Len after idle = %d, want 1", n)
		}
	})
	t.Run("max entries", func(t *testing.T) {
		g := NewGuard(GuardOptions{MaxEntries: 100})
		for i := range 1000 {
			g.Admit(change(feed.ChangeInsert, fmt.Sprint(i), 1, time.Time{}))
			if n := g.Len(); n > 100 {
				t.Fatalf("Len = %d after %d keys, want <= 100", n, i+1)
			}
		}
		if g.Admit(change(feed.ChangeInsert, "999", 1, time.Time{})) {
			t.Fatal("newest key forgotten")
		}
		if !g.Admit(change(feed.ChangeInsert, "0", 1, time.Time{})) {
			t.Fatal("oldest key still remembered past MaxEntries")
		}
	})
}

func TestGuardConcurrent(t *testing.T) {
	g := NewGuard(GuardOptions{MaxEntries: 64})
	var wg sync.WaitGroup
	admitted := make([]int, 8)
	for w := range 8 {
		wg.Go(func() {
			for v := int64(1); v <= 500; v++ {
				if g.Admit(change(feed.ChangeModify, "shared", v, time.Time{})) {
					admitted[w]++
				}
				g.Admit(change(feed.ChangeModify, fmt.Sprint(w, v%100), v, time.Time{}))
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range admitted {
		total += n
	}
	if total < 1 || total > 500 { // each version of "shared" at most once
		t.Fatalf("shared key admitted %d times, want 1..500", total)
	}
}

func BenchmarkGuardAdmit(b *testing.B) {
	for _, keys := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			changes := make([]feed.Change, keys)
			for i := range changes {
				changes[i] = change(feed.ChangeModify, fmt.Sprint("game-", i), 0, time.Time{})
			}
			g := NewGuard(GuardOptions{})
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c := changes[i%keys]
				c.Version = int64(i/keys + 1)
				g.Admit(c)
			}
		})
	}
}

// TestGuardMarketsAndProviders: market statuses and providers' liveness
// are admitted per item key and version like games and odds (a duplicate
// or an older version is dropped, other keys are independent); a lease is
// never admitted, nor remembered.
func TestGuardMarketsAndProviders(t *testing.T) {
	at := time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC)
	mk := func(gameID string, m feed.Market, p feed.Period, v int64) feed.Change {
		return feed.Change{Kind: feed.ChangeModify, Key: feed.MarketKey(gameID, m, p), ItemType: feed.TypeMarket, Version: v, At: at}
	}
	pr := func(name string, v int64) feed.Change {
		return feed.Change{Kind: feed.ChangeModify, Key: feed.ProviderKey(name), ItemType: feed.TypeProvider, Version: v, At: at}
	}
	lease := feed.Change{Kind: feed.ChangeModify, Key: feed.LeaseKey("liveness"), ItemType: feed.TypeLease, Version: 1, At: at}
	g := NewGuard(GuardOptions{})
	for i, s := range []struct {
		c    feed.Change
		want bool
	}{
		{mk("g1", feed.MarketTotal, feed.PeriodFull, 1), true},
		{mk("g1", feed.MarketTotal, feed.PeriodFull, 2), true},
		{mk("g1", feed.MarketTotal, feed.PeriodFull, 2), false},
		{mk("g1", feed.MarketTotal, feed.PeriodFull, 1), false},
		{mk("g1", feed.MarketTotal, feed.PeriodFirstHalf, 1), true},
		{mk("g1", feed.MarketMoneyline, feed.PeriodFull, 1), true},
		{mk("g2", feed.MarketTotal, feed.PeriodFull, 1), true},
		{pr("acme", 7), true},
		{pr("acme", 7), false},
		{pr("acme", 6), false},
		{pr("acme", 8), true},
		{pr("bolt", 1), true},
		{lease, false},
		{lease, false},
	} {
		if got := g.Admit(s.c); got != s.want {
			t.Fatalf("step %d %s %v v%d: Admit = %v, want %v", i, s.c.ItemType, s.c.Key, s.c.Version, got, s.want)
		}
	}
	if n := g.Len(); n != 6 {
		t.Fatalf("Len = %d, want the 6 market and provider keys (no lease)", n)
	}
}

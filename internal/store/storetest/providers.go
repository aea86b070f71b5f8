package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// heard records provider heard at and checks written.
func heard(t *testing.T, s store.FeedStore, provider string, at time.Time, wantWritten bool) feed.ProviderStatus {
	t.Helper()
	st, written, err := s.Heard(t.Context(), provider, at)
	if err != nil {
		t.Fatalf("Heard(%s, %v): %v", provider, at, err)
	}
	if written != wantWritten {
		t.Fatalf("Heard(%s, %v): written %v, want %v (%+v)", provider, at, written, wantWritten, st)
	}
	return st
}

// markDown marks provider down and checks written.
func markDown(t *testing.T, s store.FeedStore, provider string, lastHeard, at time.Time, wantWritten bool) feed.ProviderStatus {
	t.Helper()
	st, written, err := s.MarkProviderDown(t.Context(), provider, lastHeard, at, "replica-1")
	if err != nil {
		t.Fatalf("MarkProviderDown(%s): %v", provider, err)
	}
	if written != wantWritten {
		t.Fatalf("MarkProviderDown(%s, lastHeard %v): written %v, want %v (%+v)", provider, lastHeard, written, wantWritten, st)
	}
	return st
}

// checkProviders fails the test unless Providers is exactly want.
func checkProviders(t *testing.T, s store.FeedStore, want ...feed.ProviderStatus) {
	t.Helper()
	got, err := s.Providers(t.Context())
	if err != nil {
		t.Fatalf("Providers: %v", err)
	}
	if got == nil || len(got) != len(want) {
		t.Fatalf("Providers = %+v, want %d (never nil)", got, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("Providers[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// providerCases covers Heard, MarkProviderDown and Providers.
func providerCases() []testCase {
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	return []testCase{
		{"heard, marked down, heard again", func(t *testing.T, s store.FeedStore) {
			checkProviders(t, s)
			up := heard(t, s, "p1", sec(0), true)
			if up.State != feed.ProviderUp || up.Version != 1 || !up.LastHeard.Equal(sec(0)) || up.Provider != "p1" {
				t.Fatalf("first heard: %+v", up)
			}
			if st := heard(t, s, "p1", sec(0).Add(time.Millisecond), false); !reflect.DeepEqual(st, up) {
				t.Fatalf("heard within the granularity: %+v, want %+v", st, up)
			}
			up = heard(t, s, "p1", sec(2), true)
			if up.Version != 2 || !up.LastHeard.Equal(sec(2)) {
				t.Fatalf("heard again: %+v", up)
			}
			markDown(t, s, "p1", sec(0), sec(40), false) // judged on a LastHeard that moved on
			markDown(t, s, "nobody", sec(0), sec(40), false)
			down := markDown(t, s, "p1", sec(2), sec(40), true)
			if down.State != feed.ProviderDown || !down.DownAt.Equal(sec(40)) || down.DecidedBy != "replica-1" || down.Version != 3 {
				t.Fatalf("marked down: %+v", down)
			}
			markDown(t, s, "p1", sec(2), sec(41), false) // down already
			checkProviders(t, s, down)
			heard(t, s, "p1", sec(39), false) // heard before it was marked down: it stays down
			back := heard(t, s, "p1", sec(42), true)
			if back.State != feed.ProviderUp || !back.LastHeard.Equal(sec(42)) || !back.DownAt.Equal(sec(40)) || back.Version != 4 {
				t.Fatalf("heard after down: %+v (DownAt is kept)", back)
			}
			checkProviders(t, s, back)
		}},
		{"a provider heard after the decision's lastHeard stays up", func(t *testing.T, s store.FeedStore) {
			seen := heard(t, s, "p1", sec(0), true)
			// A replica judges p1 silent on seen.LastHeard; p1 posts meanwhile.
			now := heard(t, s, "p1", sec(5), true)
			st := markDown(t, s, "p1", seen.LastHeard, sec(31), false)
			if !reflect.DeepEqual(st, now) {
				t.Fatalf("MarkProviderDown returned %+v, want the status standing %+v", st, now)
			}
			checkProviders(t, s, now)
		}},
		{"providers, ordered", func(t *testing.T, s store.FeedStore) {
			names := []string{"pinnacle", "bet", "draftkings", "bet365", "b"}
			var want []feed.ProviderStatus
			for i, p := range names {
				want = append(want, heard(t, s, p, sec(i), true))
			}
			slices.SortFunc(want, func(a, b feed.ProviderStatus) int { return strings.Compare(a.Provider, b.Provider) })
			checkProviders(t, s, want...)
		}},
		{"concurrent heard and marked down", func(t *testing.T, s store.FeedStore) {
			first := heard(t, s, "p1", sec(0), true)
			var wg sync.WaitGroup
			downs := make([]bool, 8)
			for i := range 8 {
				wg.Go(func() {
					_, written, err := s.MarkProviderDown(t.Context(), "p1", first.LastHeard, sec(30), fmt.Sprint("r", i))
					if err != nil {
						t.Errorf("MarkProviderDown: %v", err)
					}
					downs[i] = written
				})
			}
			wg.Wait()
			if n := countTrue(downs); n != 1 {
				t.Fatalf("%d replicas marked p1 down, want 1", n)
			}
			ps, err := s.Providers(t.Context())
			if err != nil || len(ps) != 1 || ps[0].Version != 2 || ps[0].State != feed.ProviderDown {
				t.Fatalf("Providers = %+v, %v", ps, err)
			}
		}},
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// acquire takes the lease "liveness" for holder at now for ttl and checks
// held.
func acquire(t *testing.T, s store.FeedStore, holder string, now time.Time, ttl time.Duration, wantHeld bool) feed.Lease {
	t.Helper()
	l, held, err := s.AcquireLease(t.Context(), "liveness", holder, now, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%s at %v): %v", holder, now, err)
	}
	if held != wantHeld {
		t.Fatalf("AcquireLease(%s at %v): held %v, want %v (lease %+v)", holder, now, held, wantHeld, l)
	}
	return l
}

// leaseCases covers AcquireLease.
func leaseCases() []testCase {
	const ttl = 10 * time.Second
	return []testCase{
		{"held, renewed, taken over after expiry", func(t *testing.T, s store.FeedStore) {
			l := acquire(t, s, "r1", t0, ttl, true)
			if l.Name != "liveness" || l.Holder != "r1" || !l.Expires.Equal(t0.Add(ttl)) {
				t.Fatalf("lease %+v", l)
			}
			if l := acquire(t, s, "r2", t0.Add(5*time.Second), ttl, false); l.Holder != "r1" || !l.Expires.Equal(t0.Add(ttl)) {
				t.Fatalf("lease seen by r2: %+v, want r1's", l)
			}
			renewed := acquire(t, s, "r1", t0.Add(5*time.Second), ttl, true)
			if !renewed.Expires.Equal(t0.Add(15 * time.Second)) {
				t.Fatalf("renewed lease %+v", renewed)
			}
			acquire(t, s, "r2", t0.Add(12*time.Second), ttl, false) // past the first expiry, not the renewed one
			taken := acquire(t, s, "r2", t0.Add(15*time.Second), ttl, true)
			if taken.Holder != "r2" || !taken.Expires.Equal(t0.Add(25*time.Second)) {
				t.Fatalf("taken over: %+v", taken)
			}
			acquire(t, s, "r1", t0.Add(16*time.Second), ttl, false)
			// Another lease is another item.
			if _, held, err := s.AcquireLease(t.Context(), "other", "r1", t0.Add(16*time.Second), ttl); err != nil || !held {
				t.Fatalf("AcquireLease(other) = %v, %v", held, err)
			}
		}},
		{"concurrent holders: exactly one wins", func(t *testing.T, s store.FeedStore) {
			for round := range 5 {
				now := t0.Add(time.Duration(round) * ttl) // each round after the last expired
				var wg sync.WaitGroup
				held := make([]bool, 8)
				leases := make([]feed.Lease, 8)
				for i := range 8 {
					wg.Go(func() {
						l, h, err := s.AcquireLease(t.Context(), "liveness", fmt.Sprintf("r%d-%d", round, i), now, ttl)
						if err != nil {
							t.Errorf("AcquireLease: %v", err)
						}
						held[i], leases[i] = h, l
					})
				}
				wg.Wait()
				if n := countTrue(held); n != 1 {
					t.Fatalf("round %d: %d holders, want 1", round, n)
				}
				winner := fmt.Sprintf("r%d-%d", round, slices.Index(held, true))
				for i, l := range leases {
					if l.Holder != winner || !l.Expires.Equal(now.Add(ttl)) {
						t.Fatalf("round %d: holder %d sees %+v, want %s's", round, i, l, winner)
					}
				}
			}
		}},
	}
}

package liveness_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/liveness"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

func openStore(t *testing.T) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func provider(t *testing.T, s *embedded.Store, name string) feed.ProviderStatus {
	t.Helper()
	ps, err := s.Providers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Provider == name {
			return p
		}
	}
	t.Fatalf("no provider %s in %+v", name, ps)
	return feed.ProviderStatus{}
}

func heard(t *testing.T, s *embedded.Store, name string, at time.Time) {
	t.Helper()
	if _, _, err := s.Heard(context.Background(), name, at); err != nil {
		t.Fatal(err)
	}
}

// TestSilentProviderMarkedDown: a provider silent for the timeout is still
// up; one tick later it is down, decided by this replica and logged; a
// provider heard meanwhile stays up.
func TestSilentProviderMarkedDown(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	clk := harness.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	logs := &logBuffer{}
	m := liveness.New(s, liveness.Options{Timeout: 10 * time.Second, Replica: "r1", Clock: clk.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if m.Tick() != 250*time.Millisecond || m.LeaseTTL() != 1750*time.Millisecond {
		t.Fatalf("tick %v, lease %v", m.Tick(), m.LeaseTTL())
	}
	t0 := clk.Now()
	heard(t, s, "acme", t0)
	heard(t, s, "beta", t0)
	clk.Add(5 * time.Second)
	heard(t, s, "beta", clk.Now())

	clk.Add(5 * time.Second) // acme silent for exactly the timeout
	if held, marked := m.Step(ctx); !held || len(marked) != 0 {
		t.Fatalf("at the timeout: held %v, marked %+v", held, marked)
	}
	clk.Add(m.Tick())
	held, marked := m.Step(ctx)
	if !held || len(marked) != 1 || marked[0].Provider != "acme" {
		t.Fatalf("one tick after the timeout: held %v, marked %+v", held, marked)
	}
	p := provider(t, s, "acme")
	if p.State != feed.ProviderDown || !p.DownAt.Equal(clk.Now()) || p.DecidedBy != "r1" || !p.LastHeard.Equal(t0) || p.Version != 2 {
		t.Fatalf("acme %+v", p)
	}
	if b := provider(t, s, "beta"); b.State != feed.ProviderUp {
		t.Fatalf("beta %+v", b)
	}
	if l := logs.String(); !strings.Contains(l, "liveness: provider down") || !strings.Contains(l, "provider=acme") || !strings.Contains(l, "replica=r1") {
		t.Fatalf("decision not logged:\n%s", l)
	}
	// Down stays down (no second decision) until heard again.
	clk.Add(time.Minute)
	if _, marked := m.Step(ctx); len(marked) != 1 || marked[0].Provider != "beta" {
		t.Fatalf("a minute later: %+v", marked)
	}
	if p := provider(t, s, "acme"); p.Version != 2 {
		t.Fatalf("acme decided again: %+v", p)
	}
}

// TestOneReplicaDecides: of two monitors on one store, only the lease's
// holder decides; when it stops renewing, the other takes over after the
// lease's TTL.
func TestOneReplicaDecides(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	clk := harness.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	opts := func(replica string) liveness.Options {
		return liveness.Options{Timeout: 2 * time.Second, Replica: replica, Clock: clk.Now}
	}
	m1, m2 := liveness.New(s, opts("r1")), liveness.New(s, opts("r2"))
	heard(t, s, "acme", clk.Now())
	heard(t, s, "beta", clk.Now())
	for range 10 {
		h1, _ := m1.Step(ctx)
		h2, _ := m2.Step(ctx)
		if !h1 || h2 {
			t.Fatalf("r1 held %v, r2 held %v", h1, h2)
		}
		clk.Add(m1.Tick())
	}
	clk.Add(time.Second) // both providers silent past the timeout
	if held, marked := m2.Step(ctx); held || len(marked) != 0 {
		t.Fatalf("r2 decided while r1 holds the lease: %v %+v", held, marked)
	}
	if held, marked := m1.Step(ctx); !held || len(marked) != 2 {
		t.Fatalf("r1: %v %+v", held, marked)
	}
	// r1 stops. Within the lease's TTL r2 still waits; past it, r2 decides.
	heard(t, s, "acme", clk.Now())
	clk.Add(m1.LeaseTTL() - time.Millisecond)
	if held, _ := m2.Step(ctx); held {
		t.Fatal("r2 took the lease before it expired")
	}
	clk.Add(time.Second)
	held, marked := m2.Step(ctx)
	if !held || len(marked) != 1 || marked[0].Provider != "acme" || marked[0].DecidedBy != "r2" {
		t.Fatalf("r2 after r1 stopped: %v %+v", held, marked)
	}
	if held, _ := m1.Step(ctx); held {
		t.Fatal("r1 took the lease back from r2")
	}
}

// TestTwoMonitorsRun: two replicas running at once on one store mark a
// silent provider down once (one version), within a tick or so of the
// timeout; heard again and silent again, once more.
func TestTwoMonitorsRun(t *testing.T) {
	s := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	const timeout = 400 * time.Millisecond
	var wg sync.WaitGroup
	for _, r := range []string{"r1", "r2"} {
		m := liveness.New(s, liveness.Options{Timeout: timeout, Replica: r})
		wg.Add(1)
		go func() { defer wg.Done(); m.Run(ctx) }()
	}
	defer func() { cancel(); wg.Wait() }()
	waitDown := func(version int64) feed.ProviderStatus {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if p := provider(t, s, "acme"); p.State == feed.ProviderDown {
				if p.Version != version {
					t.Fatalf("acme %+v, want version %d", p, version)
				}
				return p
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("acme not marked down within 10s: %+v", provider(t, s, "acme"))
		return feed.ProviderStatus{}
	}
	for round, version := range []int64{2, 4} {
		heard(t, s, "acme", time.Now())
		p := waitDown(version)
		// A tick is timeout/10; allow a loaded machine a second more.
		if late := p.DownAt.Sub(p.LastHeard) - timeout; late <= 0 || late > time.Second {
			t.Fatalf("round %d: marked down %v after the timeout", round, late)
		}
		time.Sleep(3 * timeout) // both monitors keep ticking: no second decision
		if p2 := provider(t, s, "acme"); p2.Version != version {
			t.Fatalf("round %d: decided again: %+v", round, p2)
		}
	}
}

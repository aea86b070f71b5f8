// Package liveness decides when a provider is down: one replica at a time
// (the holder of the lease "liveness" in the feed store) marks down every
// provider that is up and has not been heard for longer than the timeout.
// The decision is a write to the store, so it travels the change stream to
// every replica and to Postgres like any other change.
package liveness

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// LeaseName is the lease the deciding replica holds.
const LeaseName = "liveness"

// Store is what the monitor needs of the feed store (a subset of
// store.FeedStore).
type Store interface {
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (feed.Lease, bool, error)
	Providers(ctx context.Context) ([]feed.ProviderStatus, error)
	MarkProviderDown(ctx context.Context, provider string, lastHeard, at time.Time, by string) (feed.ProviderStatus, bool, error)
}

var _ Store = store.FeedStore(nil)

// Defaults of Options.
const (
	DefaultTimeout = 30 * time.Second
	// maxTick bounds the tick: a provider is marked down at most this long
	// after its timeout (plus a store round trip).
	maxTick = 250 * time.Millisecond
)

// Options tune a Monitor.
type Options struct {
	// Timeout is how long a provider may be silent before it is marked
	// down (default 30s).
	Timeout time.Duration
	// Replica names this replica: the lease's holder, the DecidedBy of
	// its decisions (default DefaultReplica()).
	Replica string
	// Clock is the time (default time.Now); the tick's pace is real time.
	Clock func() time.Time
	// Logger gets each decision, lease changes, and store failures (once
	// per failure streak).
	Logger *slog.Logger
}

// Monitor decides providers' liveness.
type Monitor struct {
	s    Store
	o    Options
	tick time.Duration
	ttl  time.Duration
	log  *slog.Logger

	held    bool      // held the lease at the last tick
	until   time.Time // when the lease held ends
	lastErr string    // the error of the last tick ("" none), to log changes only
}

// New returns a Monitor over s.
func New(s Store, o Options) *Monitor {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Replica == "" {
		o.Replica = DefaultReplica()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := min(o.Timeout/10, maxTick)
	if tick <= 0 {
		tick = time.Millisecond
	}
	return &Monitor{s: s, o: o, tick: tick, ttl: 3*tick + time.Second, log: log.With("replica", o.Replica)}
}

// DefaultReplica names this process: its host name and process id.
func DefaultReplica() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Tick is how often the monitor runs: a tenth of the timeout, at most
// 250ms.
func (m *Monitor) Tick() time.Duration { return m.tick }

// LeaseTTL is how long a lease taken at one tick lasts: three ticks and a
// second, so a holder that misses a tick or two keeps it, and one that
// stops is replaced soon after.
func (m *Monitor) LeaseTTL() time.Duration { return m.ttl }

// Run runs the monitor every tick until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.tick)
	defer t.Stop()
	for {
		m.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step is one tick: take or renew the lease; while held, mark down every
// provider up and silent for longer than the timeout. held says whether
// this replica holds the lease; marked lists the providers it marked down.
func (m *Monitor) Step(ctx context.Context) (held bool, marked []feed.ProviderStatus) {
	held, marked, err := m.step(ctx)
	m.noteErr(ctx, err)
	return held, marked
}

func (m *Monitor) step(ctx context.Context) (bool, []feed.ProviderStatus, error) {
	now := m.o.Clock().UTC()
	if m.held && now.Before(m.until.Add(-m.ttl/2)) {
		// Renewed at half its life: a write per tick would put several
		// lease records a second on the change stream.
		return m.decide(ctx, now)
	}
	lease, held, err := m.s.AcquireLease(ctx, LeaseName, m.o.Replica, now, m.ttl)
	switch {
	case err != nil:
		if m.held {
			m.log.WarnContext(ctx, "liveness: this replica no longer decides providers' liveness: the store failed", "err", err)
		}
		m.held = false
		return false, nil, err
	case held && !m.held:
		m.log.InfoContext(ctx, "liveness: this replica decides providers' liveness", "until", lease.Expires)
	case !held && m.held:
		m.log.InfoContext(ctx, "liveness: another replica decides providers' liveness", "holder", lease.Holder)
	}
	m.held, m.until = held, lease.Expires
	if !held {
		return false, nil, nil
	}
	return m.decide(ctx, now)
}

// decide marks down, while this replica holds the lease, every provider up
// and silent for longer than the timeout.
func (m *Monitor) decide(ctx context.Context, now time.Time) (bool, []feed.ProviderStatus, error) {
	providers, err := m.s.Providers(ctx)
	if err != nil {
		return true, nil, err
	}
	var marked []feed.ProviderStatus
	for _, p := range providers {
		silent := now.Sub(p.LastHeard)
		if p.State != feed.ProviderUp || silent <= m.o.Timeout {
			continue
		}
		st, written, err := m.s.MarkProviderDown(ctx, p.Provider, p.LastHeard, now, m.o.Replica)
		if err != nil {
			return true, marked, err
		}
		if !written {
			continue // heard since it was read, or marked by the last holder
		}
		m.log.InfoContext(ctx, "liveness: provider down", "provider", p.Provider, "lastHeard", p.LastHeard,
			"silentFor", silent.String(), "timeout", m.o.Timeout.String(), "version", st.Version)
		marked = append(marked, st)
	}
	return true, marked, nil
}

// noteErr logs a tick's error when it differs from the last one, and once
// when the store answers again: never once per tick.
func (m *Monitor) noteErr(ctx context.Context, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	switch {
	case msg == m.lastErr:
	case msg == "":
		m.log.InfoContext(ctx, "liveness: the store answers again")
	case ctx.Err() == nil:
		m.log.WarnContext(ctx, "liveness: store failed; retrying every tick", "err", err)
	}
	m.lastErr = msg
}

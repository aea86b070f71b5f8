package dashboard

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sign-in throttling: failed sign-ins are counted per username and per
// client address over a window; past the limit, sign-in answers 429 with
// Retry-After before it looks at the credentials (no password is hashed).
const (
	// userFailures failed sign-ins of one username in throttleWindow block
	// that username (from every address).
	userFailures = 5
	// addrFailures failed sign-ins from one client address (an IPv6 /64)
	// in throttleWindow block that address (for every username and key).
	addrFailures = 20
	// throttleWindow starts at a key's first failure.
	throttleWindow = 15 * time.Minute
	// maxThrottled bounds each table (usernames, addresses): when one is
	// full, its oldest entry goes.
	maxThrottled = 10_000
	// maxUserKeyLen bounds the username kept as a key; longer ones are
	// kept as their hash.
	maxUserKeyLen = 64
)

// throttle counts failed sign-ins per username and per client address.
// An attempt reserves a failure in both counts before the credentials are
// checked (so concurrent attempts cannot slip past the limit together); a
// success resets the username's count and returns the address's, an
// attempt that never checked the credentials returns both.
type throttle struct {
	mu    sync.Mutex
	now   func() time.Time
	users failTable
	addrs failTable
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now,
		users: newFailTable(userFailures, throttleWindow, maxThrottled),
		addrs: newFailTable(addrFailures, throttleWindow, maxThrottled)}
}

// attempt is the reservation of one sign-in attempt (see throttle).
type attempt struct {
	user, addr *failEntry
}

// begin reserves an attempt by user (empty for API-key sign-ins) from
// addr, or returns how long the caller must wait when either is blocked. A
// failed attempt needs nothing more: its reservation is the failure.
func (t *throttle) begin(addr, user string) (*attempt, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	wait := t.addrs.blockedFor(addr, now)
	if user != "" {
		wait = max(wait, t.users.blockedFor(user, now))
	}
	if wait > 0 {
		return nil, wait
	}
	a := &attempt{addr: t.addrs.add(addr, now)}
	if user != "" {
		a.user = t.users.add(user, now)
	}
	return a, 0
}

// succeeded resets the username's count and returns the address's.
func (t *throttle) succeeded(a *attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addrs.undo(a.addr)
	if a.user != nil {
		t.users.remove(a.user)
	}
}

// abandoned returns the attempt's reservations: the credentials were not
// checked.
func (t *throttle) abandoned(a *attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addrs.undo(a.addr)
	if a.user != nil {
		t.users.undo(a.user)
	}
}

// failTable is one table of failure counts. Entries are in order of their
// window's start (one window length for all), so expired ones are dropped
// from the front: O(1) amortized per operation.
type failTable struct {
	limit  int
	window time.Duration
	max    int
	m      map[string]*failEntry
	order  *list.List // of *failEntry, oldest window first
}

type failEntry struct {
	key   string
	start time.Time
	n     int
	el    *list.Element
}

func newFailTable(limit int, window time.Duration, max int) failTable {
	return failTable{limit: limit, window: window, max: max, m: make(map[string]*failEntry), order: list.New()}
}

func (f *failTable) sweep(now time.Time) {
	for e := f.order.Front(); e != nil; e = f.order.Front() {
		fe := e.Value.(*failEntry)
		if now.Before(fe.start.Add(f.window)) {
			return
		}
		f.remove(fe)
	}
}

func (f *failTable) blockedFor(key string, now time.Time) time.Duration {
	f.sweep(now)
	if fe := f.m[key]; fe != nil && fe.n >= f.limit {
		return fe.start.Add(f.window).Sub(now)
	}
	return 0
}

// add counts a failure of key, starting its window when it has none.
func (f *failTable) add(key string, now time.Time) *failEntry {
	f.sweep(now)
	fe := f.m[key]
	if fe == nil {
		if len(f.m) >= f.max {
			f.remove(f.order.Front().Value.(*failEntry))
		}
		fe = &failEntry{key: key, start: now}
		fe.el = f.order.PushBack(fe)
		f.m[key] = fe
	}
	fe.n++
	return fe
}

// undo takes back one failure counted by add (nothing when the entry has
// expired or was reset meanwhile).
func (f *failTable) undo(fe *failEntry) {
	if f.m[fe.key] != fe {
		return
	}
	if fe.n--; fe.n <= 0 {
		f.remove(fe)
	}
}

func (f *failTable) remove(fe *failEntry) {
	if f.m[fe.key] == fe {
		delete(f.m, fe.key)
		f.order.Remove(fe.el)
	}
}

// clientAddr is the throttling key of a request's client: r.RemoteAddr's
// host, an IPv6 address by its /64 (one host's usual allocation).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// userKey is the throttling key of a username as typed.
func userKey(name string) string {
	if len(name) <= maxUserKeyLen {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "#" + hex.EncodeToString(sum[:16])
}

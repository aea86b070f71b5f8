package broadcast

import (
	"fmt"
	"time"
)

// Limits bound what one client, or one principal, may make the hub do.
// Zero values take the defaults.
type Limits struct {
	// MaxConnsPerPrincipal bounds the open streams of one principal
	// (auth.Principal.Name): past it the upgrade is refused with 429.
	// Default 50.
	MaxConnsPerPrincipal int
	// MaxTopicsPerPrincipal bounds the topics subscribed over all the
	// streams of one principal. Default 5000. One connection has at most
	// 1000 (maxTopics).
	MaxTopicsPerPrincipal int
	// RequestRate and RequestBurst are a connection's token bucket: past
	// it a request is refused with an error frame; a connection refused
	// RequestBurst times in a row is closed with StatusPolicyViolation and
	// ReasonTooManyRequests. Defaults 20/s and 40.
	RequestRate  float64
	RequestBurst int
	// MaxRequestReads bounds the store reads one subscribe makes (one per
	// game snapshot read, one per page of missed odds). The games past it
	// get a snapshot with "truncated":true and no store read. Default 100.
	MaxRequestReads int
	// MaxRequestBytes bounds the replays and missed odds one subscribe
	// queues: past it, a game gets a snapshot of its current odds with
	// "truncated":true in place of its replay or missed odds. Default 4 MiB.
	MaxRequestBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxConnsPerPrincipal <= 0 {
		l.MaxConnsPerPrincipal = 50
	}
	if l.MaxTopicsPerPrincipal <= 0 {
		l.MaxTopicsPerPrincipal = 5000
	}
	if l.RequestRate <= 0 {
		l.RequestRate = 20
	}
	if l.RequestBurst <= 0 {
		l.RequestBurst = 40
	}
	if l.MaxRequestReads <= 0 {
		l.MaxRequestReads = 100
	}
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = 4 << 20
	}
	return l
}

// Limits on what one request may be.
const (
	maxRequestBytes = 64 << 10
	maxTopics       = 1000
)

// owner is what one principal holds: its connections and their topics.
// Guarded by Hub.mu.
type owner struct {
	name          string
	conns, topics int
}

// reserve counts a connection of principal name; nil, true without a
// principal (authentication is the caller's), false past
// MaxConnsPerPrincipal. A reserved owner is given back with release.
func (h *Hub) reserve(name string) (*owner, bool) {
	if name == "" {
		return nil, true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.owners[name]
	if o == nil {
		o = &owner{name: name}
		h.owners[name] = o
	}
	if o.conns >= h.o.Limits.MaxConnsPerPrincipal {
		return nil, false
	}
	o.conns++
	return o, true
}

func (h *Hub) release(o *owner) {
	if o == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if o.conns--; o.conns == 0 && o.topics == 0 {
		delete(h.owners, o.name)
	}
}

// checkTopicsLocked returns why c may not add topics, or "".
func (h *Hub) checkTopicsLocked(c *client, added []topic) string {
	if len(c.topics)+len(added) > maxTopics {
		return fmt.Sprintf("at most %d topics per connection", maxTopics)
	}
	if c.own != nil && c.own.topics+len(added) > h.o.Limits.MaxTopicsPerPrincipal {
		return fmt.Sprintf("at most %d topics over all the streams of one principal", h.o.Limits.MaxTopicsPerPrincipal)
	}
	return ""
}

// addedLocked returns the topics c does not have yet.
func (c *client) addedLocked(topics []topic) []topic {
	var added []topic
	for _, t := range topics {
		if _, ok := c.topics[t]; !ok {
			added = append(added, t)
		}
	}
	return added
}

// bucket is a connection's request token bucket. Only its read loop uses it.
type bucket struct {
	tokens  float64
	last    int64 // monoNow of the last take
	refused int   // requests refused in a row
}

// take reports whether a request may be served now.
func (b *bucket) take(l *Limits, now int64) bool {
	if b.last == 0 {
		b.tokens = float64(l.RequestBurst)
	} else {
		b.tokens = min(float64(l.RequestBurst), b.tokens+time.Duration(now-b.last).Seconds()*l.RequestRate)
	}
	b.last = now
	if b.tokens < 1 {
		b.refused++
		return false
	}
	b.tokens--
	b.refused = 0
	return true
}

// budget is what one subscribe request may still cost: store reads, and
// bytes of replays and missed odds.
type budget struct {
	reads, bytes int
}

// read takes one store read from the budget; false when none is left.
func (b *budget) read() bool {
	if b.reads <= 0 {
		return false
	}
	b.reads--
	return true
}

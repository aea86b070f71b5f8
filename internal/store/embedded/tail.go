package embedded

import (
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// DefaultTailSize is the number of newest changes kept in memory for
// ChangesAfter when Options.TailSize is 0.
const DefaultTailSize = 16384

// tail keeps the newest committed changes of the log in memory, so that
// ChangesAfter serves a consumer close behind the head (the usual case: the
// change stream tails the store) without reading and decoding the log.
//
// It holds the contiguous sequences [first, next) in a ring. While valid,
// next-1 is the log's last sequence, so a read after it is known to be empty
// without a look at the disk. Changes are published only after their commit
// succeeded, by the one writer at a time that holds Store.wmu, in sequence
// order; readers take mu.RLock.
type tail struct {
	mu          sync.RWMutex
	valid       bool
	ring        []tailEntry // nil: no tail, every read goes to the log
	first, next uint64
}

// tailEntry is one change: an odds INSERT (change nil: the fields of the
// change follow from odds and at) or any other change, built.
type tailEntry struct {
	at     time.Time
	odds   feed.Odds
	change *feed.Change
}

func newTail(size int) *tail {
	if size <= 0 {
		return &tail{}
	}
	return &tail{ring: make([]tailEntry, size)}
}

// reset makes the tail valid and empty after the log's last sequence.
func (t *tail) reset(last uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.valid = t.ring != nil
	t.first, t.next = last+1, last+1
}

// invalidate sends every read to the log until the next publish: for when
// the log may have changed in a way the tail did not see (a failed commit).
func (t *tail) invalidate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.valid = false
}

// publish adds the changes of one commit, whose first sequence is first:
// fill calls add for each, in sequence order. A tail that does not end right
// before first (or is invalid) starts over at first.
func (t *tail) publish(first uint64, fill func(add func(tailEntry))) {
	if t.ring == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.valid || t.next != first {
		t.valid = true
		t.first, t.next = first, first
	}
	size := uint64(len(t.ring))
	fill(func(e tailEntry) {
		t.ring[t.next%size] = e
		t.next++
		if t.next-t.first > size {
			t.first = t.next - size
		}
	})
}

// trimmed drops the entries up to seq through, deleted from the log.
func (t *tail) trimmed(through uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first <= through {
		t.first = min(through+1, t.next)
	}
}

// read returns up to max changes after the sequence after, as the log would;
// ok is false when the tail does not hold them.
func (t *tail) read(after uint64, max int) (changes []feed.Change, ok bool) {
	t.mu.RLock()
	if !t.valid || after+1 < t.first {
		t.mu.RUnlock()
		return nil, false
	}
	if after+1 >= t.next {
		t.mu.RUnlock()
		return nil, true
	}
	n := int(min(uint64(max), t.next-(after+1)))
	changes = make([]feed.Change, n)
	odds := make([]feed.Odds, 0, n)
	size := uint64(len(t.ring))
	for i := range changes {
		e := &t.ring[(after+1+uint64(i))%size]
		if e.change != nil {
			changes[i] = copyChange(e.change)
			continue
		}
		odds = append(odds, e.odds)
		changes[i] = feed.Change{
			Kind: feed.ChangeInsert, ItemType: feed.TypeOdds, Version: e.odds.Version,
			NewOdds: &odds[len(odds)-1], At: e.at, Source: logSource,
		}
	}
	t.mu.RUnlock()
	setTailKeys(changes, after+1)
	return changes, true
}

// setTailKeys sets the Position of changes (sequences from first on) and the
// Key of their odds INSERTs, all in one string.
func setTailKeys(changes []feed.Change, first uint64) {
	buf := make([]byte, 0, len(changes)*128)
	type span struct{ pk, sk, pos [2]int }
	spans := make([]span, len(changes))
	mark := func(start int) [2]int { return [2]int{start, len(buf)} }
	for i := range changes {
		c := &changes[i]
		if o := c.NewOdds; c.Kind == feed.ChangeInsert && o != nil && c.Key.PK == "" {
			start := len(buf)
			buf = append(append(buf, feed.GamePrefix...), o.GameID...)
			spans[i].pk = mark(start)
			start = len(buf)
			buf = appendOddsSK(buf, o)
			spans[i].sk = mark(start)
		}
		start := len(buf)
		buf = strconv.AppendUint(buf, first+uint64(i), 10)
		spans[i].pos = mark(start)
	}
	s := string(buf)
	for i := range changes {
		c, sp := &changes[i], spans[i]
		if sp.pk[1] > sp.pk[0] {
			c.Key = feed.Key{PK: s[sp.pk[0]:sp.pk[1]], SK: s[sp.sk[0]:sp.sk[1]]}
		}
		c.Position = s[sp.pos[0]:sp.pos[1]]
	}
}

// copyChange copies a change and its images, so callers cannot reach the
// tail's copy.
func copyChange(c *feed.Change) feed.Change {
	out := *c
	if c.NewGame != nil {
		g := *c.NewGame
		out.NewGame = &g
	}
	if c.OldGame != nil {
		g := *c.OldGame
		out.OldGame = &g
	}
	if c.NewOdds != nil {
		o := *c.NewOdds
		out.NewOdds = &o
	}
	if c.OldOdds != nil {
		o := *c.OldOdds
		out.OldOdds = &o
	}
	out.NewMarket, out.OldMarket = copyMarket(c.NewMarket), copyMarket(c.OldMarket)
	if c.NewProvider != nil {
		p := *c.NewProvider
		out.NewProvider = &p
	}
	if c.OldProvider != nil {
		p := *c.OldProvider
		out.OldProvider = &p
	}
	return out
}

// copyMarket copies a market status image and its results (nil: nil).
func copyMarket(m *feed.MarketStatus) *feed.MarketStatus {
	if m == nil {
		return nil
	}
	c := *m
	c.Results = maps.Clone(m.Results)
	return &c
}

// appendOddsSK appends o.Key().SK: feed.OddsSK(ObservedAt, Provider) for a
// full-game spread, with #<market>#<period> after it for another quote.
func appendOddsSK(dst []byte, o *feed.Odds) []byte {
	dst = append(dst, feed.OddsPrefix...)
	dst = o.ObservedAt.UTC().AppendFormat(dst, keyTimeLayout)
	dst = append(append(dst, '#'), o.Provider...)
	if !o.IsFullGameSpread() {
		dst = append(append(dst, '#'), o.Market.Or()...)
		dst = append(append(dst, '#'), o.Period.Or()...)
	}
	return dst
}

// storedOdds is o as the log decodes it after PutOdds stored it: version 1,
// times in UTC without a monotonic reading, market and period normalized.
func storedOdds(o feed.Odds) feed.Odds {
	o.Normalize()
	o.Version = 1
	o.ObservedAt = o.ObservedAt.UTC().Round(0)
	o.ReceivedAt = o.ReceivedAt.UTC().Round(0)
	return o
}

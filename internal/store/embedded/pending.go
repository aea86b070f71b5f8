package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Deferred odds items. PutOdds commits a new odds item to the change log
// only, which makes it durable; the items and latest buckets get it later,
// game by game, in the transaction of a later commit. Writing many odds of
// a game at once dirties its few pages once, where writing each batch would
// dirty the pages of every game (a leaf and its branches each) at every
// commit. Until then the item is pending, in memory; Open re-applies what a
// crash left pending from the log, after the sequence the meta bucket
// records as applied. Every read of the items bucket that may concern odds
// flushes the pending items first (a commit that applies them all).

// DefaultPendingMax is the number of odds items left pending at most after
// a commit when Options.PendingMax is 0.
const DefaultPendingMax = 10000

// appliedKey (meta bucket) holds the big-endian sequence up to which every
// log entry is applied to the items.
var appliedKey = []byte("applied")

// pendingOdds is an odds item written to the log, not yet to the items.
type pendingOdds struct {
	keyStr     string // key, for the maps
	key, value []byte // item key (PK \x00 SK) and encoded item
	pkLen      int
	seq        uint64 // of its log entry
	expire     int64  // its EXPIRE (epoch seconds), 0: none
}

// pendingGame is the pending odds of one game, in log order.
type pendingGame struct {
	pk    string
	first uint64 // sequence of the first
	odds  []pendingOdds
}

// pendingSet is the pending odds. Only commit (under wmu) uses it, but for
// count.
type pendingSet struct {
	count   atomic.Int64
	byKey   map[string][]byte // item key -> encoded item
	games   map[string]*pendingGame
	queue   []*pendingGame // the games in games, by first
	applied uint64         // as stored in the meta bucket
}

func newPendingSet(applied uint64) *pendingSet {
	return &pendingSet{byKey: map[string][]byte{}, games: map[string]*pendingGame{}, applied: applied}
}

// get returns the encoded pending item under key, or nil.
func (p *pendingSet) get(key []byte) []byte { return p.byKey[string(key)] }

// txWrites is the odds a commit writes to the log, pending once it
// succeeded.
type txWrites struct {
	index map[string]int // item key -> recs index
	recs  []pendingOdds
	first uint64 // sequence of recs[0]
}

// get returns the encoded item under key written in this commit, or nil.
func (w *txWrites) get(key []byte) []byte {
	if i, ok := w.index[string(key)]; ok {
		return w.recs[i].value
	}
	return nil
}

// add notes an item written at log sequence seq, above the ones before,
// that expires at expire (0: never).
func (w *txWrites) add(key, value []byte, pkLen int, seq uint64, expire int64) {
	if w.index == nil {
		w.index = make(map[string]int)
		w.first = seq
	}
	r := pendingOdds{keyStr: string(key), key: key, value: value, pkLen: pkLen, seq: seq, expire: expire}
	w.index[r.keyStr] = len(w.recs)
	w.recs = append(w.recs, r)
}

// plan returns how many games, from the head of the queue, a commit that
// writes w applies to leave at most max pending; all: every game and w's
// odds too (on flush, or when max < 0).
func (p *pendingSet) plan(w *txWrites, max int, flush bool) (n int, all bool) {
	if flush || max < 0 {
		return len(p.queue), true
	}
	excess := int(p.count.Load()) + len(w.recs) - max
	for ; n < len(p.queue) && excess > 0; n++ {
		excess -= len(p.queue[n].odds)
	}
	return n, false
}

// apply writes the pending odds of the first n games of the queue (and w's
// odds when all) to the items and latest buckets, and the applied sequence
// that follows once w is committed too. It returns that sequence.
func (p *pendingSet) apply(tx *bolt.Tx, n int, all bool, w *txWrites) (uint64, error) {
	for _, g := range p.queue[:n] {
		if err := writeOdds(tx, g.odds); err != nil {
			return 0, err
		}
	}
	applied := tx.Bucket(logBucket).Sequence()
	switch {
	case all:
		if err := writeOdds(tx, w.recs); err != nil {
			return 0, err
		}
	case n < len(p.queue):
		applied = p.queue[n].first - 1
	case len(w.recs) > 0:
		applied = w.first - 1
	}
	if applied != p.applied {
		if err := putApplied(tx, applied); err != nil {
			return 0, err
		}
	}
	return applied, nil
}

// putApplied records the sequence up to which the log is applied.
func putApplied(tx *bolt.Tx, applied uint64) error {
	if err := tx.Bucket(metaBucket).Put(appliedKey, binary.BigEndian.AppendUint64(nil, applied)); err != nil {
		return fmt.Errorf("put applied sequence: %w", err)
	}
	return nil
}

// writeOdds writes odds items to the items bucket, their keys to the
// latest bucket where they are newer and to the expiry index when they
// expire.
func writeOdds(tx *bolt.Tx, odds []pendingOdds) error {
	items, latest := tx.Bucket(itemsBucket), tx.Bucket(latestBucket)
	items.FillPercent = 1         // the odds of a game come in time order: appended
	newest := map[string][]byte{} // latest key -> SK
	if err := indexExpiry(tx, odds); err != nil {
		return err
	}
	for _, o := range odds {
		if err := items.Put(o.key, o.value); err != nil {
			return fmt.Errorf("apply odds %q: %w", o.key, err)
		}
		sk := o.key[o.pkLen+1:]
		lk := string(o.key[:o.pkLen+1]) + string(oddsSKTail(sk))
		if old, ok := newest[lk]; !ok || bytes.Compare(sk, old) > 0 {
			newest[lk] = sk
		}
	}
	for lk, sk := range newest {
		if old := latest.Get([]byte(lk)); old != nil && bytes.Compare(sk, old) <= 0 {
			continue
		}
		if err := latest.Put([]byte(lk), sk); err != nil {
			return fmt.Errorf("apply latest odds %q: %w", lk, err)
		}
	}
	return nil
}

// oddsSKHead is the length of the head of an odds SK: ODDS#<time>#.
const oddsSKHead = len(feed.OddsPrefix) + len(keyTimeLayout) + 1

// oddsSKTail returns what follows the time in an odds SK, which names the
// entry of its series in the latest bucket (under PK \x00): the provider
// of a full-game spread, <provider>#<market>#<period> of another quote.
// Provider ids hold no '#', so a spread's tail never has one.
func oddsSKTail(sk []byte) []byte {
	if len(sk) < oddsSKHead {
		return sk // not an odds SK: no series shares it
	}
	return sk[oddsSKHead:]
}

// committed updates the set after the commit of w that applied the first n
// games (and w's odds when all) and recorded applied.
func (p *pendingSet) committed(n int, all bool, w *txWrites, applied uint64) {
	removed := 0
	for _, g := range p.queue[:n] {
		for _, o := range g.odds {
			delete(p.byKey, o.keyStr)
		}
		delete(p.games, g.pk)
		removed += len(g.odds)
	}
	clear(p.queue[:n])
	p.queue = p.queue[n:]
	added := 0
	if !all {
		for _, r := range w.recs {
			pk := r.key[:r.pkLen]
			g := p.games[string(pk)]
			if g == nil {
				g = &pendingGame{pk: string(pk), first: r.seq}
				p.games[g.pk] = g
				p.queue = append(p.queue, g)
			}
			g.odds = append(g.odds, r)
			p.byKey[r.keyStr] = r.value
		}
		added = len(w.recs)
	}
	p.count.Add(int64(added - removed))
	p.applied = applied
}

// replay applies the odds INSERTs of the log after the applied sequence that
// the items lack (a crash left them pending) and returns the new applied
// sequence: the last. A store of an earlier version has every entry
// applied.
func replay(tx *bolt.Tx) (uint64, error) {
	meta, log := tx.Bucket(metaBucket), tx.Bucket(logBucket)
	last := log.Sequence()
	applied := last
	if v := meta.Get(appliedKey); len(v) == 8 {
		applied = binary.BigEndian.Uint64(v)
	}
	if applied == last && meta.Get(appliedKey) != nil {
		return last, nil
	}
	w := &txWrites{}
	c := log.Cursor()
	for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, applied+1)); k != nil; k, v = c.Next() {
		e, err := decodeEntry(v)
		if err != nil {
			return 0, fmt.Errorf("replay log entry %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if e.kind == kindRemove || !strings.HasPrefix(e.sk, feed.OddsPrefix) {
			continue
		}
		ik := key(e.pk, e.sk)
		cur := w.get(ik)
		if cur == nil {
			cur = tx.Bucket(itemsBucket).Get(ik)
		}
		if cur != nil {
			// Applied already, unless this entry is a later version (a
			// correction written after the version the items hold).
			newer, err := laterVersion(e.new, cur)
			if err != nil {
				return 0, fmt.Errorf("replay log entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if !newer {
				continue
			}
		}
		exp, err := itemExpire(e.new)
		if err != nil {
			return 0, fmt.Errorf("replay log entry %d: %w", binary.BigEndian.Uint64(k), err)
		}
		w.add(ik, bytes.Clone(e.new), len(e.pk), binary.BigEndian.Uint64(k), exp)
	}
	if err := writeOdds(tx, w.recs); err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	if err := putApplied(tx, last); err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	return last, nil
}

// flush applies every pending item, so that the items bucket holds every
// odds stored before the call.
func (s *Store) flush(ctx context.Context) error {
	if s.pend.count.Load() == 0 {
		return nil
	}
	r := &oddsReq{ctx: ctx, flush: true, done: make(chan struct{})}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-r.done
	return r.err
}

// laterVersion reports whether the encoded odds item a has a greater
// version than the encoded item b.
func laterVersion(a, b []byte) (bool, error) {
	ia, err := decodeItem(a)
	if err != nil {
		return false, err
	}
	ib, err := decodeItem(b)
	if err != nil {
		return false, err
	}
	return ia.Version() > ib.Version(), nil
}

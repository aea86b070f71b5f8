package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Retention: odds whose EXPIRE has passed are deleted in the background, as
// DynamoDB's TTL deletes them. The expiry index bucket is keyed by EXPIRE
// (big-endian epoch seconds) first; an entry lists the odds of one game
// expiring in that second (up to maxIndexGroup), written in the
// transaction that writes them to the items bucket (writeOdds): one index
// write per game and second, not per odds, as the pending odds of a game
// are applied together. So a pass reads only the expired entries, from the
// start of the index: it never scans the items. Being keyed by time, the
// index is appended at its end: a write touches its last pages only.
//
// Each pass deletes at most Options.ExpireBatch items per transaction (or
// one entry's), with a pause between transactions so that ingest is not
// starved, and appends one REMOVE per deleted item to the change log,
// marked expired, with the item as old image (a TTL deletion in a DynamoDB
// stream): consumers tell it from a user's deletion. The latest bucket then
// names the newest odds of the provider that remain (or none). An entry
// with an odds whose newer version is still pending is left for a later
// pass: the version the items get decides. An odds that is gone or expires
// later (a correction that moved its EXPIRE: it has an entry of its own) is
// only dropped from the index.

// expireBucket is the expiry index: EXPIRE (8 bytes big-endian) + PK + 0 +
// the log sequence of the first odds (8 bytes) -> the SKs of odds of that
// game expiring then, each a uvarint length and the bytes.
var expireBucket = []byte("expire")

const (
	// DefaultExpireBatch is the most odds one expiry transaction deletes
	// when Options.ExpireBatch is 0.
	DefaultExpireBatch = 1000
	// expirePause separates the transactions of one expiry pass.
	expirePause = 10 * time.Millisecond
	// maxIndexGroup bounds the odds of one expiry index entry: a
	// transaction of ExpireOdds deletes at most max(ExpireBatch, it).
	maxIndexGroup = 256
)

// expireEvery is the interval of the background expiry: o.ExpireEvery, or a
// quarter of the TTL within [100ms, 1m]; 0 when it is off.
func expireEvery(o Options) time.Duration {
	if o.ExpireEvery != 0 {
		return max(o.ExpireEvery, 0)
	}
	if o.OddsTTL <= 0 {
		return time.Minute // odds stored under an earlier TTL may expire
	}
	return min(max(o.OddsTTL/4, 100*time.Millisecond), time.Minute)
}

// indexExpiry writes the expiry index entries of odds: one per game,
// EXPIRE and at most maxIndexGroup odds, keyed by the log sequence of its
// first odds.
func indexExpiry(tx *bolt.Tx, odds []pendingOdds) error {
	type group struct {
		key, sks []byte
		n        int
	}
	var (
		groups map[string]*group // EXPIRE + PK -> the open group
		done   []*group
		id     []byte
	)
	for _, o := range odds {
		if o.expire <= 0 {
			continue
		}
		if groups == nil {
			groups = map[string]*group{}
		}
		id = append(binary.BigEndian.AppendUint64(id[:0], uint64(o.expire)), o.key[:o.pkLen]...)
		g := groups[string(id)]
		if g == nil || g.n == maxIndexGroup {
			g = &group{key: binary.BigEndian.AppendUint64(append(bytes.Clone(id), 0), o.seq)}
			groups[string(id)] = g
			done = append(done, g)
		}
		sk := o.key[o.pkLen+1:]
		g.sks = append(binary.AppendUvarint(g.sks, uint64(len(sk))), sk...)
		g.n++
	}
	if len(done) == 0 {
		return nil
	}
	b := tx.Bucket(expireBucket)
	b.FillPercent = 0.9 // keyed by time: mostly appended
	for _, g := range done {
		if err := b.Put(g.key, g.sks); err != nil {
			return fmt.Errorf("expiry index: %w", err)
		}
	}
	return nil
}

// indexEntry decodes an expiry index entry: its EXPIRE, PK and SKs.
func indexEntry(k, v []byte) (expire int64, pk []byte, sks [][]byte, err error) {
	if len(k) < 8+1+8 || k[len(k)-9] != 0 {
		return 0, nil, nil, fmt.Errorf("expiry index key %q: %w", k, errCorrupt)
	}
	r := reader{b: v}
	for len(r.b) > 0 && r.err == nil {
		sks = append(sks, r.bytes())
	}
	if r.err != nil {
		return 0, nil, nil, fmt.Errorf("expiry index entry %q: %w", k, r.err)
	}
	return int64(binary.BigEndian.Uint64(k)), k[8 : len(k)-9], sks, nil
}

// itemExpire returns the EXPIRE of an encoded item, 0 when it has none.
func itemExpire(v []byte) (int64, error) {
	it, err := decodeItem(v)
	if err != nil {
		return 0, err
	}
	a, ok := it[feed.AttrExpire]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(a.N, 10, 64)
	if err != nil || !a.IsN {
		return 0, fmt.Errorf("%w: EXPIRE %q", errCorrupt, a.N)
	}
	return n, nil
}

// upgradeExpire creates the expiry index when missing, filled from the
// stored odds.
func upgradeExpire(tx *bolt.Tx) error {
	if tx.Bucket(expireBucket) != nil {
		return nil
	}
	if _, err := tx.CreateBucket(expireBucket); err != nil {
		return fmt.Errorf("create bucket %s: %w", expireBucket, err)
	}
	var odds []pendingOdds
	c := tx.Bucket(itemsBucket).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		exp, err := itemExpire(v)
		if err != nil {
			return fmt.Errorf("item %q: %w", k, err)
		}
		if pk, _, _ := bytes.Cut(k, []byte{0}); exp > 0 {
			// Keyed apart from log sequences (they never reach 1<<63).
			odds = append(odds, pendingOdds{key: bytes.Clone(k), pkLen: len(pk), expire: exp, seq: 1<<63 + uint64(len(odds))})
		}
	}
	return indexExpiry(tx, odds)
}

// expirer runs ExpireOdds every interval until Close.
func (s *Store) expirer(every time.Duration) {
	defer close(s.expStopped)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.quit
		cancel()
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if _, err := s.ExpireOdds(ctx); err != nil && ctx.Err() == nil {
			slog.Default().Warn("embedded store: expire odds", "err", err)
		}
	}
}

// ExpireOdds deletes every odds item whose EXPIRE is before the store's
// clock (in epoch seconds), in transactions of at most Options.ExpireBatch
// items, and returns how many it deleted. With a TTL, it applies the
// pending odds first (one commit), so that they are indexed (without, they
// have no EXPIRE). The background expiry calls it; so may tests and tools.
func (s *Store) ExpireOdds(ctx context.Context) (int, error) {
	if s.opts.OddsTTL > 0 {
		if err := s.flush(ctx); err != nil {
			return 0, fmt.Errorf("expire odds: apply pending odds: %w", err)
		}
	}
	total := 0
	for {
		n, more, err := s.expireBatch()
		total += n
		if err != nil || !more {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-s.quit:
			return total, ErrClosed
		case <-time.After(expirePause):
		}
	}
}

// expireBatch is one transaction of ExpireOdds: it returns how many items
// it deleted and whether expired entries may remain past the batch.
func (s *Store) expireBatch() (deleted int, more bool, err error) {
	batch := s.opts.ExpireBatch
	if batch <= 0 {
		batch = DefaultExpireBatch
	}
	var (
		entries [][]byte // the change-log entries written
		first   uint64
	)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-s.quit:
		return 0, false, ErrClosed
	default:
	}
	at := s.now()
	now := at.Unix()
	err = s.db.Update(func(tx *bolt.Tx) error {
		entries, more = nil, false
		items, idx := tx.Bucket(itemsBucket), tx.Bucket(expireBucket)
		var drop, gone, old [][]byte // index entries; item keys and values to delete
		n := 0                       // odds of the entries in drop
		seen := map[string]bool{}    // an odds corrected within a second has two entries
		c := idx.Cursor()
	scan:
		for k, v := c.First(); k != nil; k, v = c.Next() {
			exp, pk, sks, err := indexEntry(k, v)
			if err != nil {
				return err
			}
			if exp >= now {
				break
			}
			if n > 0 && n+len(sks) > batch {
				more = true
				break
			}
			for _, sk := range sks {
				if s.pend.get(key(string(pk), string(sk))) != nil {
					continue scan // a pending version decides: kept for a later pass
				}
			}
			drop, n = append(drop, bytes.Clone(k)), n+len(sks)
			for _, sk := range sks {
				ik := key(string(pk), string(sk))
				v := items.Get(ik)
				if v == nil || seen[string(ik)] {
					continue
				}
				exp, err := itemExpire(v)
				if err != nil {
					return fmt.Errorf("item %q: %w", ik, err)
				}
				if exp > 0 && exp < now {
					gone, old = append(gone, ik), append(old, bytes.Clone(v))
					seen[string(ik)] = true
				}
			}
		}
		for _, k := range drop {
			if err := idx.Delete(k); err != nil {
				return fmt.Errorf("expiry index: %w", err)
			}
		}
		if len(gone) == 0 {
			return nil
		}
		log := tx.Bucket(logBucket)
		log.FillPercent = 0.95
		for i, ik := range gone {
			if err := items.Delete(ik); err != nil {
				return fmt.Errorf("expire %q: %w", ik, err)
			}
			pk, sk, _ := bytes.Cut(ik, []byte{0})
			entry := appendEntryHead(nil, kindRemove, at, pk, sk, old[i])
			entry[2] |= flagExpired
			seq, err := appendLog(tx.Bucket(logBucket), entry)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				first = seq
			}
			entries = append(entries, entry)
		}
		return relatest(tx, gone)
	})
	if err != nil {
		s.tail.invalidate()
		return 0, false, fmt.Errorf("expire odds: %w", err)
	}
	for j, entry := range entries {
		s.publishEntry(first+uint64(j), entry)
	}
	if len(entries) > 0 {
		s.notify()
	}
	return len(entries), more, nil
}

// relatest points the latest entries that named deleted odds items at the
// newest odds of the same game and series (provider, market and period)
// that remain, or deletes them.
func relatest(tx *bolt.Tx, gone [][]byte) error {
	items, latest := tx.Bucket(itemsBucket), tx.Bucket(latestBucket)
	for _, ik := range gone {
		pk, sk, _ := bytes.Cut(ik, []byte{0})
		series := oddsSKTail(sk)
		lk := key(string(pk), string(series))
		if cur := latest.Get(lk); !bytes.Equal(cur, sk) {
			continue
		}
		prefix := key(string(pk), feed.OddsPrefix)
		var next []byte
		c := items.Cursor()
		for k, _ := seekBefore(c, ik); bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			if ksk := k[len(pk)+1:]; bytes.Equal(oddsSKTail(ksk), series) {
				next = bytes.Clone(ksk)
				break
			}
		}
		var err error
		if next == nil {
			err = latest.Delete(lk)
		} else {
			err = latest.Put(lk, next)
		}
		if err != nil {
			return fmt.Errorf("latest odds %q: %w", lk, err)
		}
	}
	return nil
}

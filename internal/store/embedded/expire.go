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
// DynamoDB's TTL deletes them. The expiry index bucket holds one empty entry
// per odds item that expires, keyed by its EXPIRE (big-endian epoch seconds)
// then its item key, written in the transaction that writes the item to the
// items bucket (writeOdds). So a pass reads only the expired entries, from
// the start of the index: it never scans the items. Being keyed by time, the
// index is appended at its end: a write touches its last pages only.
//
// Each pass deletes at most Options.ExpireBatch items per transaction, with
// a pause between transactions so that ingest is not starved, and appends
// one REMOVE per deleted item to the change log, marked expired, with the
// item as old image (a TTL deletion in a DynamoDB stream): consumers tell
// it from a user's deletion. The latest bucket then names the newest odds
// of the provider that remain (or none). An item with a newer version still
// pending is not deleted: the version the items will get decides. An index
// entry whose item is gone or expires later (a correction that moved its
// EXPIRE) is dropped alone.

// expireBucket is the expiry index: EXPIRE (8 bytes big-endian) + item key
// -> empty.
var expireBucket = []byte("expire")

const (
	// DefaultExpireBatch is the most odds one expiry transaction deletes
	// when Options.ExpireBatch is 0.
	DefaultExpireBatch = 1000
	// expirePause separates the transactions of one expiry pass.
	expirePause = 10 * time.Millisecond
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

// expiryIndexer writes the index entries of one writeOdds call, their keys
// in one arena (bbolt keeps the slices until the commit).
type expiryIndexer struct {
	b   *bolt.Bucket
	buf []byte
}

func newExpiryIndexer(tx *bolt.Tx, odds []pendingOdds) expiryIndexer {
	n := 0
	for _, o := range odds {
		if o.expire > 0 {
			n += 8 + len(o.key)
		}
	}
	b := tx.Bucket(expireBucket)
	b.FillPercent = 0.9 // keyed by time: mostly appended
	return expiryIndexer{b: b, buf: make([]byte, 0, n)}
}

// put indexes the item under key when it expires (expire > 0).
func (x *expiryIndexer) put(expire int64, key []byte) error {
	if expire <= 0 {
		return nil
	}
	start := len(x.buf)
	x.buf = append(binary.BigEndian.AppendUint64(x.buf, uint64(expire)), key...)
	if err := x.b.Put(x.buf[start:len(x.buf):len(x.buf)], nil); err != nil {
		return fmt.Errorf("expiry index %q: %w", key, err)
	}
	return nil
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
		if exp > 0 {
			odds = append(odds, pendingOdds{key: bytes.Clone(k), expire: exp})
		}
	}
	idx := newExpiryIndexer(tx, odds)
	for _, o := range odds {
		if err := idx.put(o.expire, o.key); err != nil {
			return err
		}
	}
	return nil
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
// items, and returns how many it deleted. It applies the pending odds
// first (one commit), so that they are indexed. The background expiry
// calls it; so may tests and tools.
func (s *Store) ExpireOdds(ctx context.Context) (int, error) {
	if err := s.flush(ctx); err != nil {
		return 0, fmt.Errorf("expire odds: apply pending odds: %w", err)
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
		c := idx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) >= now {
				break
			}
			if len(drop) >= batch {
				more = true
				break
			}
			ik := k[8:]
			if s.pend.get(ik) != nil {
				continue // its pending version decides: kept for a later pass
			}
			drop = append(drop, bytes.Clone(k))
			v := items.Get(ik)
			if v == nil {
				continue
			}
			exp, err := itemExpire(v)
			if err != nil {
				return fmt.Errorf("item %q: %w", ik, err)
			}
			if exp > 0 && exp < now {
				gone, old = append(gone, bytes.Clone(ik)), append(old, bytes.Clone(v))
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
			seq, err := log.NextSequence()
			if err != nil {
				return fmt.Errorf("next log sequence: %w", err)
			}
			if len(entries) == 0 {
				first = seq
			}
			if err := log.Put(binary.BigEndian.AppendUint64(nil, seq), entry); err != nil {
				return fmt.Errorf("log: %w", err)
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
// newest odds of the same game and provider that remain, or deletes them.
func relatest(tx *bolt.Tx, gone [][]byte) error {
	items, latest := tx.Bucket(itemsBucket), tx.Bucket(latestBucket)
	for _, ik := range gone {
		pk, sk, _ := bytes.Cut(ik, []byte{0})
		provider := sk[bytes.LastIndexByte(sk, '#')+1:]
		lk := key(string(pk), string(provider))
		if cur := latest.Get(lk); !bytes.Equal(cur, sk) {
			continue
		}
		prefix := key(string(pk), feed.OddsPrefix)
		var next []byte
		c := items.Cursor()
		for k, _ := seekBefore(c, ik); bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			if ksk := k[len(pk)+1:]; bytes.Equal(ksk[bytes.LastIndexByte(ksk, '#')+1:], provider) {
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

package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// oddsWrite is the work and the result of one PutOdds call.
type oddsWrite struct {
	odds   []feed.Odds
	out    []store.Outcome
	stored int
	// arena holds every key and value handed to bbolt in the transaction:
	// bbolt keeps references to them until the commit, so nothing in it is
	// overwritten once put.
	arena []byte
}

// reset clears the results, for a (re-)run of the transaction.
func (w *oddsWrite) reset() {
	clear(w.out)
	w.stored = 0
	w.arena = w.arena[:0]
}

// PutOdds stores odds in one transaction (all or nothing, durable when it
// returns nil), appending one INSERT to the change log per stored item.
// Concurrent calls are group-committed.
func (s *Store) PutOdds(ctx context.Context, odds []feed.Odds) ([]store.Outcome, error) {
	out := make([]store.Outcome, len(odds))
	if len(odds) == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("put odds: %w", err)
	}
	r := &oddsReq{ctx: ctx, w: oddsWrite{odds: odds, out: out}, done: make(chan struct{})}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return out, fmt.Errorf("put odds: %w", ErrClosed)
	case <-ctx.Done():
		return out, fmt.Errorf("put odds: %w", ctx.Err())
	}
	<-r.done
	return r.w.out, r.err
}

// putOddsTx writes w's odds in tx, setting their outcomes. An existing key
// is a Duplicate (same content) or a Conflict; neither writes anything.
func (s *Store) putOddsTx(tx *bolt.Tx, w *oddsWrite) error {
	w.reset()
	items, lsi, log := tx.Bucket(itemsBucket), tx.Bucket(lsiBucket), tx.Bucket(logBucket)
	log.FillPercent = 0.95 // append only
	at := s.now()
	if cap(w.arena) == 0 {
		w.arena = make([]byte, 0, len(w.odds)*700)
	}
	a := w.arena
	for i := range w.odds {
		o := w.odds[i]
		o.Version = 1
		var expire time.Time
		if s.opts.OddsTTL > 0 {
			base := o.ReceivedAt
			if base.IsZero() {
				base = at
			}
			expire = base.Add(s.opts.OddsTTL)
		}
		enc := newOddsEncoder(&o)

		start := len(a)
		a = enc.appendKey(a)
		key := a[start:len(a):len(a)]
		pk, sk := key[:enc.pkLen()], key[enc.pkLen()+1:]
		if v := items.Get(key); v != nil {
			a = a[:start] // only read: free to reuse
			old, err := decodeOdds(v)
			if err != nil {
				return fmt.Errorf("put odds %s %s: %w", pk, sk, err)
			}
			if old.SameContent(o) {
				w.out[i] = store.Duplicate
			} else {
				w.out[i] = store.Conflict
			}
			continue
		}
		entryStart := len(a)
		a = appendEntryHead(a, kindInsert, at, pk, sk, nil)
		itemStart := len(a)
		a = enc.appendItem(a, expire)
		entry, value := a[entryStart:len(a):len(a)], a[itemStart:len(a):len(a)]
		lsiStart := len(a)
		a = enc.appendLSIKey(a)
		lsiKey := a[lsiStart:len(a):len(a)]
		seq, err := log.NextSequence()
		if err != nil {
			return fmt.Errorf("put odds: next log sequence: %w", err)
		}
		seqStart := len(a)
		a = binary.BigEndian.AppendUint64(a, seq)
		seqKey := a[seqStart:len(a):len(a)]

		if err := items.Put(key, value); err != nil {
			return fmt.Errorf("put odds %s %s: %w", pk, sk, err)
		}
		if err := lsi.Put(lsiKey, sk); err != nil {
			return fmt.Errorf("put odds index %s %s: %w", pk, sk, err)
		}
		if err := log.Put(seqKey, entry); err != nil {
			return fmt.Errorf("put odds log %d: %w", seq, err)
		}
		w.out[i] = store.Stored
		w.stored++
	}
	w.arena = a
	return nil
}

// appendKey appends the bbolt key of an item (or index entry): pk \x00 sk.
func appendKey(dst []byte, pk, sk string) []byte {
	dst = append(dst, pk...)
	dst = append(dst, 0)
	return append(dst, sk...)
}

// key returns the bbolt key of an item.
func key(pk, sk string) []byte { return appendKey(make([]byte, 0, len(pk)+1+len(sk)), pk, sk) }

// decodeOdds decodes a stored odds item.
func decodeOdds(v []byte) (feed.Odds, error) {
	it, err := decodeItem(v)
	if err != nil {
		return feed.Odds{}, err
	}
	return feed.DecodeOdds(it)
}

// seekBefore positions c on the last key before k.
func seekBefore(c *bolt.Cursor, k []byte) ([]byte, []byte) {
	if got, _ := c.Seek(k); got == nil {
		return c.Last()
	}
	return c.Prev()
}

// LatestOdds returns the newest odds of a game overall (provider "") or of
// one provider, or store.ErrNotFound.
func (s *Store) LatestOdds(_ context.Context, gameID, provider string) (feed.Odds, error) {
	pk := feed.GamePK(gameID)
	var o feed.Odds
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(itemsBucket)
		var v []byte
		if provider == "" {
			prefix := key(pk, feed.OddsPrefix)
			if k, val := seekBefore(items.Cursor(), key(pk, "ODDS$")); bytes.HasPrefix(k, prefix) {
				v = val
			}
		} else {
			prefix := key(pk, feed.OddsPrefix+provider+"#")
			if k, sk := seekBefore(tx.Bucket(lsiBucket).Cursor(), key(pk, feed.OddsPrefix+provider+"$")); bytes.HasPrefix(k, prefix) {
				v = items.Get(key(pk, string(sk)))
			}
		}
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		o, err = decodeOdds(v)
		return err
	})
	if err != nil {
		return feed.Odds{}, fmt.Errorf("latest odds of game %s provider %q: %w", gameID, provider, err)
	}
	return o, nil
}

// LatestOddsByProvider returns the newest odds of each provider of a game,
// ordered by provider. It skips from provider to provider through LSI1 (a
// loose index scan): the last key of the game is the newest odds of the
// last provider; the key before that provider's first is the newest of the
// one before it, and so on.
func (s *Store) LatestOddsByProvider(_ context.Context, gameID string) ([]feed.Odds, error) {
	pk := feed.GamePK(gameID)
	prefix := key(pk, feed.OddsPrefix)
	var out []feed.Odds
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(itemsBucket)
		c := tx.Bucket(lsiBucket).Cursor()
		for k, sk := seekBefore(c, key(pk, "ODDS$")); bytes.HasPrefix(k, prefix); {
			provider, _, ok := bytes.Cut(k[len(prefix):], []byte("#"))
			v := items.Get(key(pk, string(sk)))
			if !ok || v == nil {
				return fmt.Errorf("index entry %q: %w", k, errCorrupt)
			}
			o, err := decodeOdds(v)
			if err != nil {
				return err
			}
			out = append(out, o)
			k, sk = seekBefore(c, key(pk, feed.OddsPrefix+string(provider)+"#"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("latest odds by provider of game %s: %w", gameID, err)
	}
	slices.Reverse(out)
	return out, nil
}

// ListOdds returns odds of a game observed within r's bounds, newest first.
func (s *Store) ListOdds(_ context.Context, r store.OddsRange) (store.OddsPage, error) {
	pk := feed.GamePK(r.GameID)
	prefix := key(pk, feed.OddsPrefix)
	lower := prefix
	if !r.From.IsZero() {
		lower = key(pk, feed.OddsPrefix+feed.KeyTime(r.From))
	}
	upper := key(pk, "ODDS$")
	if !r.To.IsZero() {
		upper = key(pk, feed.OddsPrefix+feed.KeyTime(r.To)+"$")
	}
	if r.Cursor != "" {
		last, err := decodeCursor(r.Cursor, oddsCursorTag, r.GameID)
		if err == nil && !strings.HasPrefix(last, feed.OddsPrefix) {
			err = store.ErrBadCursor
		}
		if err != nil {
			return store.OddsPage{}, fmt.Errorf("list odds of game %s: %w", r.GameID, err)
		}
		if c := key(pk, last); bytes.Compare(c, upper) < 0 {
			upper = c
		}
	}
	limit := r.EffectiveLimit()
	var page store.OddsPage
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(itemsBucket).Cursor()
		for k, v := seekBefore(c, upper); k != nil && bytes.Compare(k, lower) >= 0 && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if len(page.Odds) == limit {
				last := page.Odds[limit-1]
				page.NextCursor = encodeCursor(oddsCursorTag, r.GameID, feed.OddsSK(last.ObservedAt, last.Provider))
				break
			}
			o, err := decodeOdds(v)
			if err != nil {
				return err
			}
			page.Odds = append(page.Odds, o)
		}
		return nil
	})
	if err != nil {
		return store.OddsPage{}, fmt.Errorf("list odds of game %s: %w", r.GameID, err)
	}
	return page, nil
}

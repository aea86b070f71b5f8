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
	at     time.Time // the time of the change-log entries
	// corrections are the MODIFY changes of the Corrected items, by index.
	corrections map[int]*feed.Change
}

// reset clears the results, for a (re-)run of the transaction.
func (w *oddsWrite) reset() {
	clear(w.out)
	clear(w.corrections)
	w.stored = 0
}

// PutOdds stores odds in one transaction (all or nothing, durable when it
// returns nil), appending one INSERT to the change log per stored item and
// one MODIFY per correction.
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

// putOddsTx writes w's odds to the log in tx, setting their outcomes, and
// notes them in tw (they are pending once tx is committed). At an existing
// key (in the items, pending, or written before in tx) the item is a
// Duplicate or Refused, which write nothing, or Corrected: the next version
// is written with a MODIFY entry (store.ClassifyOdds).
func (s *Store) putOddsTx(tx *bolt.Tx, w *oddsWrite, tw *txWrites) error {
	w.reset()
	items, log := tx.Bucket(itemsBucket), tx.Bucket(logBucket)
	log.FillPercent = 0.95 // append only
	at := s.now()
	w.at = at
	// a holds the keys and entries handed to bbolt and to the pending set:
	// never overwritten once used (a fresh one per run of the transaction).
	a := make([]byte, 0, len(w.odds)*448)
	for i := range w.odds {
		o := w.odds[i]
		o.Normalize()
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
		v := tw.get(key)
		if v == nil {
			v = s.pend.get(key)
		}
		if v == nil {
			v = items.Get(key)
		}
		kind, oldImage, prior := byte(kindInsert), []byte(nil), ""
		if v != nil {
			oldIt, err := decodeItem(v)
			if err != nil {
				return fmt.Errorf("put odds %s %s: %w", pk, sk, err)
			}
			old, err := feed.DecodeOdds(oldIt)
			if err != nil {
				return fmt.Errorf("put odds %s %s: %w", pk, sk, err)
			}
			var next feed.Odds
			w.out[i], next, prior = store.ClassifyOdds(o, old, oldIt[feed.AttrPrior].S)
			if w.out[i] != store.Corrected {
				a = a[:start] // only read: free to reuse
				continue
			}
			o = next // enc reads o: the next version
			kind, oldImage = kindModify, v
			w.correction(i, at, old, o)
		}
		entryStart := len(a)
		a = appendEntryHead(a, kind, at, pk, sk, oldImage)
		itemStart := len(a)
		a = enc.appendItem(a, expire, prior)
		entry, value := a[entryStart:len(a):len(a)], a[itemStart:len(a):len(a)]
		seq, err := log.NextSequence()
		if err != nil {
			return fmt.Errorf("put odds: next log sequence: %w", err)
		}
		seqStart := len(a)
		a = binary.BigEndian.AppendUint64(a, seq)
		seqKey := a[seqStart:len(a):len(a)]
		if err := log.Put(seqKey, entry); err != nil {
			return fmt.Errorf("put odds log %d: %w", seq, err)
		}
		var exp int64
		if !expire.IsZero() {
			exp = expire.Unix()
		}
		tw.add(key, value, len(pk), seq, exp)
		if kind == kindInsert {
			w.out[i] = store.Stored
		}
		w.stored++
	}
	return nil
}

// correction records the MODIFY change of item i, for the tail.
func (w *oddsWrite) correction(i int, at time.Time, old, next feed.Odds) {
	if w.corrections == nil {
		w.corrections = map[int]*feed.Change{}
	}
	n := storedOdds(next)
	n.Version = next.Version
	w.corrections[i] = &feed.Change{Kind: feed.ChangeModify, Key: next.Key(), ItemType: feed.TypeOdds, Version: n.Version,
		NewOdds: &n, OldOdds: &old, At: at, Source: logSource}
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

// view runs fn in a read transaction that sees every odds item stored
// before the call: pending ones are applied first.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := s.flush(ctx); err != nil {
		return fmt.Errorf("apply pending odds: %w", err)
	}
	return s.db.View(fn)
}

// seekBefore positions c on the last key before k.
func seekBefore(c *bolt.Cursor, k []byte) ([]byte, []byte) {
	if got, _ := c.Seek(k); got == nil {
		return c.Last()
	}
	return c.Prev()
}

// LatestOdds returns the newest full-game spread of a game overall
// (provider "") or of one provider, or store.ErrNotFound: the odds the
// latest bucket names, of the provider or the greatest of the game's
// spread entries (by SK: the newest, the greatest provider of a tie).
func (s *Store) LatestOdds(ctx context.Context, gameID, provider string) (feed.Odds, error) {
	pk := feed.GamePK(gameID)
	var o feed.Odds
	err := s.view(ctx, func(tx *bolt.Tx) error {
		latest := tx.Bucket(latestBucket)
		var sk []byte
		if provider == "" {
			prefix := key(pk, "")
			c := latest.Cursor()
			for k, v := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if isSpreadSeries(k[len(prefix):]) && bytes.Compare(v, sk) > 0 {
					sk = v
				}
			}
		} else {
			sk = latest.Get(key(pk, provider))
		}
		if sk == nil {
			return store.ErrNotFound
		}
		v := tx.Bucket(itemsBucket).Get(key(pk, string(sk)))
		if v == nil {
			return fmt.Errorf("latest entry %q: %w", sk, errCorrupt)
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

// isSpreadSeries reports whether a latest-bucket series (oddsSKTail) is a
// provider's full-game spread: a provider id, without '#'.
func isSpreadSeries(series []byte) bool { return bytes.IndexByte(series, '#') < 0 }

// LatestOddsByProvider returns the newest full-game spread of each provider
// of a game, ordered by provider: the odds the game's spread entries of the
// latest bucket name, in key order.
func (s *Store) LatestOddsByProvider(ctx context.Context, gameID string) ([]feed.Odds, error) {
	out, err := s.latest(ctx, gameID, isSpreadSeries)
	if err != nil {
		return nil, fmt.Errorf("latest odds by provider of game %s: %w", gameID, err)
	}
	return out, nil
}

// LatestQuotes returns the newest quote of each provider, market and period
// of a game, in store.CompareQuotes order: the odds every entry of the game
// in the latest bucket names.
func (s *Store) LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error) {
	out, err := s.latest(ctx, gameID, func([]byte) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("latest quotes of game %s: %w", gameID, err)
	}
	if out == nil {
		out = []feed.Odds{}
	}
	slices.SortFunc(out, store.CompareQuotes)
	return out, nil
}

// latest returns the odds named by the game's entries of the latest bucket
// whose series (oddsSKTail) keep accepts, in key order.
func (s *Store) latest(ctx context.Context, gameID string, keep func(series []byte) bool) ([]feed.Odds, error) {
	pk := feed.GamePK(gameID)
	prefix := key(pk, "")
	var out []feed.Odds
	err := s.view(ctx, func(tx *bolt.Tx) error {
		items := tx.Bucket(itemsBucket)
		c := tx.Bucket(latestBucket).Cursor()
		for k, sk := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, sk = c.Next() {
			if !keep(k[len(prefix):]) {
				continue
			}
			v := items.Get(key(pk, string(sk)))
			if v == nil {
				return fmt.Errorf("latest entry %q: %w", k, errCorrupt)
			}
			o, err := decodeOdds(v)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// oddsFilter returns whether the odds item of SK sk is in r's markets: any
// (AllMarkets), the full-game spread (the zero Market and Period), or one
// market and period.
func oddsFilter(r store.OddsRange) func(sk []byte) bool {
	switch {
	case r.AllMarkets:
		return func([]byte) bool { return true }
	case (feed.Odds{Market: r.Market, Period: r.Period}).IsFullGameSpread():
		return func(sk []byte) bool { return isSpreadSeries(oddsSKTail(sk)) }
	}
	suffix := []byte("#" + string(r.Market.Or()) + "#" + string(r.Period.Or()))
	return func(sk []byte) bool {
		series := oddsSKTail(sk)
		return bytes.HasSuffix(series, suffix) && bytes.IndexByte(series, '#') == len(series)-len(suffix)
	}
}

// ListOdds returns odds of a game observed within r's bounds, of r's
// markets, newest first.
func (s *Store) ListOdds(ctx context.Context, r store.OddsRange) (store.OddsPage, error) {
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
	match := oddsFilter(r)
	var page store.OddsPage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(itemsBucket).Cursor()
		for k, v := seekBefore(c, upper); k != nil && bytes.Compare(k, lower) >= 0 && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if !match(k[len(pk)+1:]) {
				continue
			}
			if len(page.Odds) == limit {
				page.NextCursor = encodeCursor(oddsCursorTag, r.GameID, page.Odds[limit-1].Key().SK)
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

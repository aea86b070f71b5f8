package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Market statuses, provider liveness and leases are items of their own
// (feed.MarketKey, ProviderKey, LeaseKey), written straight to the items
// bucket (never pending, never expiring) by one read-rule-write
// transaction each, with its INSERT or MODIFY (with the old image) in the
// change log, as games are (a lease: no entry). The plans are package
// store's, shared with the DynamoDB adapter.

// writeItem reads the item at k (nil: none), lets plan decide the item to
// write in its place at time at, and writes it with its change-log entry,
// all in one transaction: bbolt runs one writer at a time, so the item
// read is the item replaced. plan returns store.ErrNoWrite to write nothing (a
// read transaction that finds nothing to write writes nothing at all) or
// its own error, which writeItem returns.
func (s *Store) writeItem(ctx context.Context, k feed.Key, plan func(cur feed.Item, at time.Time) (feed.Item, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ik := key(k.PK, k.SK)
	err := s.db.View(func(tx *bolt.Tx) error {
		cur, err := readItem(tx, ik)
		if err != nil {
			return err
		}
		_, err = plan(cur, s.now())
		return err
	})
	if err != nil {
		return ignoreNoWrite(err)
	}
	var (
		entry []byte
		seq   uint64
	)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err = s.db.Update(func(tx *bolt.Tx) error {
		entry = nil
		old := tx.Bucket(itemsBucket).Get(ik)
		if old != nil {
			old = bytes.Clone(old)
		}
		cur, err := readItem(tx, ik)
		if err != nil {
			return err
		}
		at := s.now()
		next, err := plan(cur, at)
		if err != nil {
			return err
		}
		kind := byte(kindInsert)
		if old != nil {
			kind = kindModify
		}
		entry = appendEntryHead(nil, kind, at, k.PK, k.SK, old)
		itemStart := len(entry)
		entry = appendItem(entry, next)
		if err := tx.Bucket(itemsBucket).Put(ik, entry[itemStart:]); err != nil {
			return err
		}
		if next.Type() == feed.TypeLease {
			// A lease coordinates replicas, and one process alone opens an
			// embedded store: its renewals (several a second) would only
			// fill the change log that every consumer skips them in.
			entry = nil
			return nil
		}
		seq, err = appendLog(tx.Bucket(logBucket), entry)
		return err
	})
	if err != nil {
		if !errors.Is(err, store.ErrNoWrite) {
			s.tail.invalidate()
		}
		return ignoreNoWrite(err)
	}
	if s.onCommit != nil {
		s.onCommit(!s.db.NoSync)
	}
	if entry != nil {
		s.publishEntry(seq, entry)
		s.notify()
	}
	return nil
}

func ignoreNoWrite(err error) error {
	if errors.Is(err, store.ErrNoWrite) {
		return nil
	}
	return err
}

// readItem decodes the item at ik in tx; nil when there is none.
func readItem(tx *bolt.Tx, ik []byte) (feed.Item, error) {
	v := tx.Bucket(itemsBucket).Get(ik)
	if v == nil {
		return nil, nil
	}
	return decodeItem(v)
}

// PutMarketChange applies c to its market by feed.ApplyMarketChange in one
// transaction (the status read is the status replaced).
func (s *Store) PutMarketChange(ctx context.Context, c feed.MarketChange) (feed.MarketStatus, feed.ChangeEffect, error) {
	w := &store.MarketWrite{Change: c}
	if err := s.writeItem(ctx, feed.MarketKey(c.GameID, c.Market, c.Period), w.Plan); err != nil {
		return feed.MarketStatus{}, 0, fmt.Errorf("put market change %s %s: %w", c.GameID, feed.MarketID(c.Market, c.Period), err)
	}
	return w.Stored, w.Effect, nil
}

// Markets returns the statuses of a game's markets, by market then period
// (their keys' order).
func (s *Store) Markets(_ context.Context, gameID string) ([]feed.MarketStatus, error) {
	out := []feed.MarketStatus{}
	err := s.listItems(feed.GamePK(gameID), feed.MarketPrefix, func(it feed.Item) error {
		m, err := feed.DecodeMarket(it)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("markets of game %s: %w", gameID, err)
	}
	return out, nil
}

// listItems calls fn with each item of partition pk whose SK starts with
// prefix, in key order, in one read transaction.
func (s *Store) listItems(pk, prefix string, fn func(feed.Item) error) error {
	p := key(pk, prefix)
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(itemsBucket).Cursor()
		for k, v := c.Seek(p); bytes.HasPrefix(k, p); k, v = c.Next() {
			it, err := decodeItem(v)
			if err != nil {
				return fmt.Errorf("item %q: %w", k, err)
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// Heard records that provider was heard at, by feed.Heard.
func (s *Store) Heard(ctx context.Context, provider string, at time.Time) (feed.ProviderStatus, bool, error) {
	w := store.HeardWrite(provider, at)
	if err := s.writeItem(ctx, feed.ProviderKey(provider), w.Plan); err != nil {
		return feed.ProviderStatus{}, false, fmt.Errorf("heard provider %s: %w", provider, err)
	}
	return w.Stored, w.Written, nil
}

// MarkProviderDown marks provider down by feed.MarkDown.
func (s *Store) MarkProviderDown(ctx context.Context, provider string, lastHeard, at time.Time, by string) (feed.ProviderStatus, bool, error) {
	w := store.MarkDownWrite(lastHeard, at, by)
	if err := s.writeItem(ctx, feed.ProviderKey(provider), w.Plan); err != nil {
		return feed.ProviderStatus{}, false, fmt.Errorf("mark provider %s down: %w", provider, err)
	}
	return w.Stored, w.Written, nil
}

// Providers returns every provider's liveness, by provider (key order).
func (s *Store) Providers(_ context.Context) ([]feed.ProviderStatus, error) {
	out := []feed.ProviderStatus{}
	err := s.listItems(feed.ProvidersPK, feed.ProviderPrefix, func(it feed.Item) error {
		p, err := feed.DecodeProvider(it)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	return out, nil
}

// AcquireLease takes or renews the lease name for holder until now+ttl
// when feed.LeaseFree allows.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (feed.Lease, bool, error) {
	w := &store.LeaseWrite{Name: name, Holder: holder, Now: now, TTL: ttl}
	if err := s.writeItem(ctx, feed.LeaseKey(name), w.Plan); err != nil {
		return feed.Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return w.Lease, w.Held, nil
}

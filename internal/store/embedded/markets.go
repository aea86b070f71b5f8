package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Market statuses, provider liveness and leases are items of their own
// (feed.MarketKey, ProviderKey, LeaseKey), written straight to the items
// bucket (never pending, never expiring) by one read-rule-write
// transaction each, with its INSERT or MODIFY (with the old image) in the
// change log, as games are.

// errNoWrite is returned by a plan that writes nothing; writeItem returns
// nil then.
var errNoWrite = errors.New("nothing to write")

// writeItem reads the item at k (nil: none), lets plan decide the item to
// write in its place at time at, and writes it with its change-log entry,
// all in one transaction: bbolt runs one writer at a time, so the item
// read is the item replaced. plan returns errNoWrite to write nothing (a
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
		if !errors.Is(err, errNoWrite) {
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
	if errors.Is(err, errNoWrite) {
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
	var (
		stored feed.MarketStatus
		effect feed.ChangeEffect
	)
	err := s.writeItem(ctx, feed.MarketKey(c.GameID, c.Market, c.Period), func(cur feed.Item, at time.Time) (feed.Item, error) {
		var old feed.MarketStatus
		if cur != nil {
			var err error
			if old, err = feed.DecodeMarket(cur); err != nil {
				return nil, err
			}
		}
		next, eff, err := feed.ApplyMarketChange(old, cur != nil, c)
		if err != nil {
			return nil, err
		}
		stored, effect = next, eff
		if eff != feed.Applied {
			return nil, errNoWrite
		}
		next.UpdatedAt = at
		it := feed.MarketItem(next)
		stored, err = feed.DecodeMarket(it) // as a read returns it
		return it, err
	})
	if err != nil {
		return feed.MarketStatus{}, 0, fmt.Errorf("put market change %s %s: %w", c.GameID, feed.MarketID(c.Market, c.Period), err)
	}
	return stored, effect, nil
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

// providerWrite writes a provider's liveness item as rule decides.
func (s *Store) providerWrite(ctx context.Context, provider string, rule func(cur feed.ProviderStatus, found bool) (feed.ProviderStatus, bool)) (feed.ProviderStatus, bool, error) {
	var (
		stored  feed.ProviderStatus
		written bool
	)
	err := s.writeItem(ctx, feed.ProviderKey(provider), func(cur feed.Item, _ time.Time) (feed.Item, error) {
		var old feed.ProviderStatus
		if cur != nil {
			var err error
			if old, err = feed.DecodeProvider(cur); err != nil {
				return nil, err
			}
		}
		next, write := rule(old, cur != nil)
		stored, written = next, write
		if !write {
			return nil, errNoWrite
		}
		it := feed.ProviderItem(next)
		var err error
		stored, err = feed.DecodeProvider(it)
		return it, err
	})
	if err != nil {
		return feed.ProviderStatus{}, false, err
	}
	return stored, written, nil
}

// Heard records that provider was heard at, by feed.Heard.
func (s *Store) Heard(ctx context.Context, provider string, at time.Time) (feed.ProviderStatus, bool, error) {
	st, written, err := s.providerWrite(ctx, provider, func(cur feed.ProviderStatus, found bool) (feed.ProviderStatus, bool) {
		return feed.Heard(cur, found, provider, at)
	})
	if err != nil {
		return feed.ProviderStatus{}, false, fmt.Errorf("heard provider %s: %w", provider, err)
	}
	return st, written, nil
}

// MarkProviderDown marks provider down by feed.MarkDown.
func (s *Store) MarkProviderDown(ctx context.Context, provider string, lastHeard, at time.Time, by string) (feed.ProviderStatus, bool, error) {
	st, written, err := s.providerWrite(ctx, provider, func(cur feed.ProviderStatus, found bool) (feed.ProviderStatus, bool) {
		return feed.MarkDown(cur, found, lastHeard, at, by)
	})
	if err != nil {
		return feed.ProviderStatus{}, false, fmt.Errorf("mark provider %s down: %w", provider, err)
	}
	return st, written, nil
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
	var (
		lease feed.Lease
		held  bool
	)
	err := s.writeItem(ctx, feed.LeaseKey(name), func(cur feed.Item, _ time.Time) (feed.Item, error) {
		var old feed.Lease
		if cur != nil {
			var err error
			if old, err = feed.DecodeLease(cur); err != nil {
				return nil, err
			}
		}
		if !feed.LeaseFree(old, cur != nil, holder, now) {
			lease, held = old, false
			return nil, errNoWrite
		}
		it := feed.LeaseItem(feed.Lease{Name: name, Holder: holder, Expires: now.Add(ttl)})
		var err error
		lease, err = feed.DecodeLease(it)
		held = err == nil
		return it, err
	})
	if err != nil {
		return feed.Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return lease, held, nil
}

package store

import (
	"errors"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// The plans below are how both adapters write market statuses, provider
// liveness and leases: each adapter reads the item standing, lets the
// plan decide the item to write (or ErrNoWrite), and writes it only if the
// item read still stands (a conditional PutItem; a bbolt transaction),
// running the plan again when another writer won. The rules themselves are
// feed's; a plan decodes the item standing, applies its rule and encodes
// the result, so the adapters only move items.

// ErrNoWrite is what a plan returns when its rule writes nothing; the
// adapter then writes nothing and returns no error.
var ErrNoWrite = errors.New("nothing to write")

// MarketWrite plans PutMarketChange: Change applied by
// feed.ApplyMarketChange. After the write, Stored and Effect are the
// call's results.
type MarketWrite struct {
	Change feed.MarketChange
	Stored feed.MarketStatus
	Effect feed.ChangeEffect
}

// Plan decides the item to write over cur (nil: none) at now.
func (w *MarketWrite) Plan(cur feed.Item, now time.Time) (feed.Item, error) {
	var old feed.MarketStatus
	if cur != nil {
		var err error
		if old, err = feed.DecodeMarket(cur); err != nil {
			return nil, err
		}
	}
	next, eff, err := feed.ApplyMarketChange(old, cur != nil, w.Change)
	if err != nil {
		return nil, err
	}
	w.Stored, w.Effect = next, eff
	if eff != feed.Applied {
		return nil, ErrNoWrite
	}
	next.UpdatedAt = now
	it := feed.MarketItem(next)
	w.Stored, err = feed.DecodeMarket(it) // as a read returns it
	return it, err
}

// ProviderWrite plans a write of a provider's liveness by a rule of feed
// (HeardWrite, MarkDownWrite). After the write, Stored and Written are the
// call's results.
type ProviderWrite struct {
	Rule    func(cur feed.ProviderStatus, found bool) (next feed.ProviderStatus, write bool)
	Stored  feed.ProviderStatus
	Written bool
}

// HeardWrite plans Heard: feed.Heard.
func HeardWrite(provider string, at time.Time) *ProviderWrite {
	return &ProviderWrite{Rule: func(cur feed.ProviderStatus, found bool) (feed.ProviderStatus, bool) {
		return feed.Heard(cur, found, provider, at)
	}}
}

// MarkDownWrite plans MarkProviderDown: feed.MarkDown.
func MarkDownWrite(lastHeard, at time.Time, by string) *ProviderWrite {
	return &ProviderWrite{Rule: func(cur feed.ProviderStatus, found bool) (feed.ProviderStatus, bool) {
		return feed.MarkDown(cur, found, lastHeard, at, by)
	}}
}

// Plan decides the item to write over cur (nil: none).
func (w *ProviderWrite) Plan(cur feed.Item, _ time.Time) (feed.Item, error) {
	var old feed.ProviderStatus
	if cur != nil {
		var err error
		if old, err = feed.DecodeProvider(cur); err != nil {
			return nil, err
		}
	}
	next, write := w.Rule(old, cur != nil)
	w.Stored, w.Written = next, write
	if !write {
		return nil, ErrNoWrite
	}
	it := feed.ProviderItem(next)
	var err error
	w.Stored, err = feed.DecodeProvider(it)
	return it, err
}

// LeaseWrite plans AcquireLease: Holder takes or renews lease Name until
// Now+TTL when feed.LeaseFree allows. After the write, Lease and Held are
// the call's results.
type LeaseWrite struct {
	Name, Holder string
	Now          time.Time
	TTL          time.Duration
	Lease        feed.Lease
	Held         bool
}

// Plan decides the item to write over cur (nil: none).
func (w *LeaseWrite) Plan(cur feed.Item, _ time.Time) (feed.Item, error) {
	var old feed.Lease
	if cur != nil {
		var err error
		if old, err = feed.DecodeLease(cur); err != nil {
			return nil, err
		}
	}
	if !feed.LeaseFree(old, cur != nil, w.Holder, w.Now) {
		w.Lease, w.Held = old, false
		return nil, ErrNoWrite
	}
	it := feed.LeaseItem(feed.Lease{Name: w.Name, Holder: w.Holder, Expires: w.Now.Add(w.TTL)})
	var err error
	w.Lease, err = feed.DecodeLease(it)
	w.Held = err == nil
	return it, err
}

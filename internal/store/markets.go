package store

import (
	"cmp"
	"context"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// MarketStore is the part of the FeedStore port that keeps the book's
// market statuses: one item per game, market and period (feed.MarketKey).
type MarketStore interface {
	// PutMarketChange applies c to its market by feed.ApplyMarketChange,
	// atomically: read, rule, and a write conditional on the version read
	// (retried when another write won). stored is the status standing
	// after; effect says whether c was Applied, Repeated or Superseded. A
	// change the rule refuses returns its error (feed.ErrTransition,
	// feed.ErrTraderSuspension) and writes nothing. The caller has
	// validated c and checked its game exists.
	PutMarketChange(ctx context.Context, c feed.MarketChange) (stored feed.MarketStatus, effect feed.ChangeEffect, err error)
	// Markets returns the statuses of a game's markets, ordered by market
	// then period (none: an empty slice).
	Markets(ctx context.Context, gameID string) ([]feed.MarketStatus, error)
}

// ProviderStore is the part of the FeedStore port that keeps providers'
// liveness (feed.ProviderKey) and the leases replicas coordinate by.
type ProviderStore interface {
	// Heard records that provider was heard at (odds or a heartbeat) by
	// feed.Heard, atomically; written says whether the item changed.
	Heard(ctx context.Context, provider string, at time.Time) (stored feed.ProviderStatus, written bool, err error)
	// MarkProviderDown marks provider down by feed.MarkDown, atomically:
	// only if it is up and its LastHeard is still lastHeard. by names the
	// deciding replica.
	MarkProviderDown(ctx context.Context, provider string, lastHeard, at time.Time, by string) (stored feed.ProviderStatus, written bool, err error)
	// Providers returns every provider's liveness, ordered by provider.
	Providers(ctx context.Context) ([]feed.ProviderStatus, error)
	// AcquireLease takes or renews the lease name for holder until now+ttl
	// when feed.LeaseFree allows, atomically (a conditional write). held
	// says whether holder holds it now; lease is the lease standing.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (lease feed.Lease, held bool, err error)
}

// CompareQuotes orders quotes as LatestQuotes returns them: by provider,
// then market, then period, each by name (Market.Or, Period.Or: a
// full-game spread sorts as spread/full).
func CompareQuotes(a, b feed.Odds) int {
	return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Market.Or(), b.Market.Or()),
		cmp.Compare(a.Period.Or(), b.Period.Or()))
}

package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// TODO(issue 12): the store helper replaces these stubs.
var errTODO = errors.New("not implemented yet")

// PutMarketChange implements store.MarketStore.
func (s *Store) PutMarketChange(ctx context.Context, c feed.MarketChange) (feed.MarketStatus, feed.ChangeEffect, error) {
	return feed.MarketStatus{}, 0, errTODO
}

// Markets implements store.MarketStore.
func (s *Store) Markets(ctx context.Context, gameID string) ([]feed.MarketStatus, error) {
	return nil, errTODO
}

// LatestQuotes implements store.FeedStore.
func (s *Store) LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error) {
	return nil, errTODO
}

// Heard implements store.ProviderStore.
func (s *Store) Heard(ctx context.Context, provider string, at time.Time) (feed.ProviderStatus, bool, error) {
	return feed.ProviderStatus{}, false, errTODO
}

// MarkProviderDown implements store.ProviderStore.
func (s *Store) MarkProviderDown(ctx context.Context, provider string, lastHeard, at time.Time, by string) (feed.ProviderStatus, bool, error) {
	return feed.ProviderStatus{}, false, errTODO
}

// Providers implements store.ProviderStore.
func (s *Store) Providers(ctx context.Context) ([]feed.ProviderStatus, error) {
	return nil, errTODO
}

// AcquireLease implements store.ProviderStore.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (feed.Lease, bool, error) {
	return feed.Lease{}, false, errTODO
}

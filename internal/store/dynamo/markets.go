package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Market statuses, provider liveness and leases are items of their own
// (feed.MarketKey, ProviderKey, LeaseKey), each written by a read, its rule
// in package feed, and a PutItem conditional on the item read still
// standing (writeItem). They carry no EXPIRE: they never expire.

// writeAttempts bounds the conditional writes of one writeItem: each lost
// condition means another writer changed the item in between.
const writeAttempts = 64

// writeItem reads the item at k (strongly consistent; nil: none), lets plan
// decide the item to write in its place, and writes it only if the item
// read still stands: absent, or with the same values of the attributes
// guard (VERSION, or what a lease item changes). When another writer won,
// plan runs again on the item standing then (returned with the failure).
// plan (one of package store's plans, given the time of the write) returns
// store.ErrNoWrite to write nothing, or its own error, which writeItem
// returns.
func (s *Store) writeItem(ctx context.Context, k feed.Key, guard []string, plan func(cur feed.Item, now time.Time) (feed.Item, error)) error {
	cur, err := s.standing(ctx, k, nil)
	if err != nil {
		return err
	}
	retries := 0
	for lost := 0; lost < writeAttempts; {
		next, err := plan(cur, s.opts.Now())
		if err != nil {
			if errors.Is(err, store.ErrNoWrite) {
				return nil
			}
			return err
		}
		_, err = s.put.PutItem(ctx, conditionalPut(next, cur, guard, s.opts.Table))
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ccf):
			lost++
			if cur, err = s.standing(ctx, k, ccf.Item); err != nil {
				return err
			}
			continue
		case !retryable(err):
			return fmt.Errorf("put item: %w", err)
		}
		if retries++; retries >= s.opts.MaxAttempts {
			return exhausted("put item", retries, 1, err)
		}
		if err := s.backoff(ctx, retries-1); err != nil {
			return fmt.Errorf("put item: %w", err)
		}
	}
	return fmt.Errorf("put item %v: lost the race to concurrent writers %d times", k, writeAttempts)
}

// conditionalPut is the PutItem of next over cur (nil: the key is new),
// conditional on cur's guard attributes still standing.
func conditionalPut(next, cur feed.Item, guard []string, table string) *dynamodb.PutItemInput {
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(table),
		Item:                                toAV(next),
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": feed.AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if cur == nil {
		return in
	}
	in.ExpressionAttributeNames = map[string]string{}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{}
	cond := ""
	for i, name := range guard {
		n, v := "#g"+strconv.Itoa(i), ":g"+strconv.Itoa(i)
		if cond != "" {
			cond += " AND "
		}
		in.ExpressionAttributeNames[n] = name
		a, ok := cur[name]
		if !ok {
			cond += "attribute_not_exists(" + n + ")"
			continue
		}
		cond += n + " = " + v
		in.ExpressionAttributeValues[v] = attrAV(a)
	}
	in.ConditionExpression = aws.String(cond)
	if len(in.ExpressionAttributeValues) == 0 {
		in.ExpressionAttributeValues = nil
	}
	return in
}

// versionGuard guards the items that carry a VERSION bumped by every write.
var versionGuard = []string{feed.AttrVersion}

// PutMarketChange applies c to its market by feed.ApplyMarketChange: a
// read, the rule and a write conditional on the version read, retried when
// another write won.
func (s *Store) PutMarketChange(ctx context.Context, c feed.MarketChange) (feed.MarketStatus, feed.ChangeEffect, error) {
	w := &store.MarketWrite{Change: c}
	if err := s.writeItem(ctx, feed.MarketKey(c.GameID, c.Market, c.Period), versionGuard, w.Plan); err != nil {
		return feed.MarketStatus{}, 0, fmt.Errorf("put market change %s %s: %w", c.GameID, feed.MarketID(c.Market, c.Period), err)
	}
	return w.Stored, w.Effect, nil
}

// Markets returns the statuses of a game's markets, by market then period
// (the order of their sort keys).
func (s *Store) Markets(ctx context.Context, gameID string) ([]feed.MarketStatus, error) {
	out := []feed.MarketStatus{}
	err := s.queryPrefix(ctx, feed.GamePK(gameID), feed.MarketPrefix, func(it feed.Item) error {
		m, err := feed.DecodeMarket(it)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("markets of game %s: %w", gameID, err)
	}
	return out, nil
}

// queryPrefix calls fn with every item of partition pk whose SK starts
// with prefix, in SK order (strongly consistent, page after page).
func (s *Store) queryPrefix(ctx context.Context, pk, prefix string, fn func(feed.Item) error) error {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.opts.Table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": feed.AttrPK, "#sk": feed.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": sAV(pk), ":prefix": sAV(prefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, m := range out.Items {
			if err := fn(fromAV(m)); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Heard records that provider was heard at, by feed.Heard.
func (s *Store) Heard(ctx context.Context, provider string, at time.Time) (feed.ProviderStatus, bool, error) {
	w := store.HeardWrite(provider, at)
	if err := s.writeItem(ctx, feed.ProviderKey(provider), versionGuard, w.Plan); err != nil {
		return feed.ProviderStatus{}, false, fmt.Errorf("heard provider %s: %w", provider, err)
	}
	return w.Stored, w.Written, nil
}

// MarkProviderDown marks provider down by feed.MarkDown.
func (s *Store) MarkProviderDown(ctx context.Context, provider string, lastHeard, at time.Time, by string) (feed.ProviderStatus, bool, error) {
	w := store.MarkDownWrite(lastHeard, at, by)
	if err := s.writeItem(ctx, feed.ProviderKey(provider), versionGuard, w.Plan); err != nil {
		return feed.ProviderStatus{}, false, fmt.Errorf("mark provider %s down: %w", provider, err)
	}
	return w.Stored, w.Written, nil
}

// Providers returns every provider's liveness, by provider: the partition
// PROVIDERS in SK order.
func (s *Store) Providers(ctx context.Context) ([]feed.ProviderStatus, error) {
	out := []feed.ProviderStatus{}
	err := s.queryPrefix(ctx, feed.ProvidersPK, feed.ProviderPrefix, func(it feed.Item) error {
		p, err := feed.DecodeProvider(it)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	return out, nil
}

// leaseGuard: a lease item's VERSION never changes; its holder and expiry
// do.
var leaseGuard = []string{feed.AttrHolder, feed.AttrLeaseExpires}

// AcquireLease takes or renews the lease name for holder until now+ttl
// when feed.LeaseFree allows, by a write conditional on the lease read.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (feed.Lease, bool, error) {
	w := &store.LeaseWrite{Name: name, Holder: holder, Now: now, TTL: ttl}
	if err := s.writeItem(ctx, feed.LeaseKey(name), leaseGuard, w.Plan); err != nil {
		return feed.Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return w.Lease, w.Held, nil
}

// quoteKeyTop is just above every LSI1 key starting with QUOTE#.
const quoteKeyTop = "QUOTE$"

// LatestQuotes returns the newest quote of each provider, market and period
// of a game, in store.CompareQuotes order: the full-game spreads of
// LatestOddsByProvider, and the other quotes by the same loose index scan
// of LSI1 (QUOTE#<provider>#<market>#<period>#<time>): the greatest key
// below the bound is the newest quote of the next series down, whose
// prefix is the next bound. One query per series, not a read of every
// quote.
func (s *Store) LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error) {
	res, err := s.LatestOddsByProvider(ctx, gameID)
	if err != nil {
		return nil, fmt.Errorf("latest quotes of game %s: %w", gameID, err)
	}
	if res == nil {
		res = []feed.Odds{}
	}
	hi := quoteKeyTop
	for {
		o, found, err := s.newestOdds(ctx, feed.LSI1Name, feed.AttrLSI1SK, "#sk BETWEEN :lo AND :hi", gameID,
			map[string]string{":lo": feed.QuotePrefix, ":hi": hi})
		if err != nil {
			return nil, fmt.Errorf("latest quotes of game %s: %w", gameID, err)
		}
		if !found {
			break
		}
		res = append(res, o)
		// Below every key of o's series: its times follow this prefix.
		hi = feed.QuotePrefix + o.Provider + "#" + string(o.Market.Or()) + "#" + string(o.Period.Or()) + "#"
	}
	slices.SortFunc(res, store.CompareQuotes)
	return res, nil
}

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

// PutOdds stores odds items, each with a conditional PutItem, so that
// concurrent writers of one key cannot lose one another's write: a new key
// is written only if it is still absent, a correction only if the version
// it follows still stands (store.ClassifyOdds decides what an item is to
// the version standing at its key). When the condition fails, the item
// standing now (returned with the failure) is classified again and the
// write retried. The items standing are read first in batches (BatchGetItem)
// so that duplicates, the usual retry, cost no write.
//
// A key repeated within the call is written in order: its n-th occurrence
// in the n-th round, after the earlier ones stand.
func (s *Store) PutOdds(ctx context.Context, odds []feed.Odds) ([]store.Outcome, error) {
	outcomes := make([]store.Outcome, len(odds))
	var expire time.Time
	if s.opts.OddsTTL > 0 {
		expire = s.opts.Now().Add(s.opts.OddsTTL)
	}
	var err error
	for _, round := range rounds(odds) {
		if err = s.putRound(ctx, odds, round, expire, outcomes); err != nil {
			break
		}
	}
	if err != nil {
		n := 0
		for _, o := range outcomes {
			if o == store.NotStored {
				n++
			}
		}
		return outcomes, fmt.Errorf("put odds: %d of %d items not stored: %w", n, len(odds), err)
	}
	return outcomes, nil
}

// rounds splits the indices of odds so that no round holds a key twice: the
// n-th occurrence of a key is in round n.
func rounds(odds []feed.Odds) [][]int {
	seen := make(map[feed.Key]int, len(odds))
	var out [][]int
	for i, o := range odds {
		k := o.Key()
		r := seen[k]
		seen[k] = r + 1
		if r == len(out) {
			out = append(out, make([]int, 0, len(odds)))
		}
		out[r] = append(out[r], i)
	}
	return out
}

// putRound writes the odds of one round (distinct keys).
func (s *Store) putRound(ctx context.Context, odds []feed.Odds, round []int, expire time.Time, outcomes []store.Outcome) error {
	keys := make([]feed.Key, len(round))
	for j, i := range round {
		keys[j] = odds[i].Key()
	}
	standing, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return fmt.Errorf("check existing items: %w", err)
	}
	return parallelN(len(round), putParallelism, func(j int) error {
		i := round[j]
		out, err := s.putOne(ctx, odds[i], standing[keys[j]], expire)
		outcomes[i] = out
		return err
	})
}

// putParallelism bounds the PutItem requests one call has in flight.
const putParallelism = 32

// putOne writes o given the item standing at its key (nil: none).
func (s *Store) putOne(ctx context.Context, o feed.Odds, cur feed.Item, expire time.Time) (store.Outcome, error) {
	var lastErr error
	retries := 0
	// Each lost condition means another writer stored a version: at most
	// MaxOddsVersions of them before the item is full.
	for lost := 0; lost <= feed.MaxOddsVersions; {
		in, out, err := s.oddsPut(o, cur, expire)
		if err != nil || in == nil {
			return out, err
		}
		_, err = s.put.PutItem(ctx, in)
		if err == nil {
			return out, nil
		}
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &ccf):
			lost++
			if cur, err = s.standing(ctx, o.Key(), ccf.Item); err != nil {
				return store.NotStored, err
			}
			continue
		case !retryable(err):
			return store.NotStored, fmt.Errorf("put item: %w", err)
		}
		lastErr = err
		if retries++; retries >= s.opts.MaxAttempts {
			return store.NotStored, exhausted("put item", retries, 1, lastErr)
		}
		if err := s.backoff(ctx, retries-1); err != nil {
			return store.NotStored, fmt.Errorf("put item: %w", err)
		}
	}
	return store.NotStored, fmt.Errorf("put item %v: the item kept changing under the write", o.Key())
}

// oddsPut builds the conditional PutItem that stores o over cur (nil: the
// key is new), and the outcome it has when it succeeds. in is nil when
// nothing is to be written (a duplicate, or refused).
func (s *Store) oddsPut(o feed.Odds, cur feed.Item, expire time.Time) (*dynamodb.PutItemInput, store.Outcome, error) {
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(s.opts.Table),
		ExpressionAttributeNames:            map[string]string{"#pk": feed.AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if cur == nil {
		o.Version = 1
		in.Item = toAV(feed.OddsItem(o, expire))
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		return in, store.Stored, nil
	}
	old, err := feed.DecodeOdds(cur)
	if err != nil {
		return nil, store.Refused, nil // something else holds the key; it stands
	}
	out, next, prior := store.ClassifyOdds(o, old, cur[feed.AttrPrior].S)
	if out != store.Corrected {
		return nil, out, nil
	}
	in.Item = toAV(feed.OddsItemVersion(next, expire, prior))
	in.ConditionExpression = aws.String("#v = :v")
	in.ExpressionAttributeNames = map[string]string{"#v": feed.AttrVersion}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(old.Version, 10)}}
	return in, out, nil
}

// standing is the item at k after a lost condition: the one DynamoDB
// returned with the failure, else read (strongly consistent). nil: none.
func (s *Store) standing(ctx context.Context, k feed.Key, returned map[string]types.AttributeValue) (feed.Item, error) {
	if len(returned) > 0 {
		return fromAV(returned), nil
	}
	items, err := s.batchGet(ctx, []feed.Key{k}, false)
	if err != nil {
		return nil, fmt.Errorf("read item after a lost condition: %w", err)
	}
	return items[k], nil
}

// tableKeyNames are the key attributes of the table, for cursors.
var tableKeyNames = []string{feed.AttrPK, feed.AttrSK}

// LatestOdds returns the newest full-game spread of a game, of one provider
// when provider is not "": of a provider, the greatest LSI1 key
// ODDS#<provider>#<time>; overall, the newest of LatestOddsByProvider (the
// greatest provider of a tie, as the table's key orders them), so that the
// read is bounded by the providers, however many quotes of other markets
// are newer.
func (s *Store) LatestOdds(ctx context.Context, gameID, provider string) (feed.Odds, error) {
	var (
		o     feed.Odds
		found bool
		err   error
	)
	if provider == "" {
		var all []feed.Odds
		all, err = s.LatestOddsByProvider(ctx, gameID)
		for _, a := range all {
			if !found || !a.ObservedAt.Before(o.ObservedAt) {
				o, found = a, true
			}
		}
	} else {
		o, found, err = s.newestOdds(ctx, feed.LSI1Name, feed.AttrLSI1SK, "begins_with(#sk, :lo)", gameID,
			map[string]string{":lo": feed.OddsPrefix + provider + "#"})
	}
	switch {
	case err != nil:
		return feed.Odds{}, fmt.Errorf("latest odds of game %s: %w", gameID, err)
	case !found:
		return feed.Odds{}, fmt.Errorf("latest odds of game %s provider %q: %w", gameID, provider, store.ErrNotFound)
	}
	return o, nil
}

// newestOdds returns the odds item with the greatest sort key skName (of
// index; "" is the table) in the game's partition that meets the key
// condition cond on "#sk", whose placeholders are bound by values.
func (s *Store) newestOdds(ctx context.Context, index, skName, cond, gameID string, values map[string]string) (feed.Odds, bool, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.opts.Table),
		KeyConditionExpression:    aws.String("#pk = :pk AND " + cond),
		ExpressionAttributeNames:  map[string]string{"#pk": feed.AttrPK, "#sk": skName},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV(feed.GamePK(gameID))},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(1),
	}
	for k, v := range values {
		in.ExpressionAttributeValues[k] = sAV(v)
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return feed.Odds{}, false, err
	}
	if len(out.Items) == 0 {
		return feed.Odds{}, false, nil
	}
	o, err := feed.DecodeOdds(fromAV(out.Items[0]))
	if err != nil {
		return feed.Odds{}, false, err
	}
	return o, true, nil
}

// oddsKeyTop is just above every key starting with ODDS# ('$' follows '#').
const oddsKeyTop = "ODDS$"

// LatestOddsByProvider returns the newest full-game spread of each provider
// of a game, by provider. It walks LSI1 (ODDS#<provider>#<time>) down from the top
// with one query per provider: the greatest key below the bound is the
// newest odds of the next provider down, and that provider's prefix is the
// next bound (a loose index scan). Provider ids cannot hold '#', which sorts
// below every character they can hold, so prefixes sort as providers do.
// Quotes of other markets (QUOTE#...) are outside the range.
func (s *Store) LatestOddsByProvider(ctx context.Context, gameID string) ([]feed.Odds, error) {
	var res []feed.Odds
	hi := oddsKeyTop
	for {
		o, found, err := s.newestOdds(ctx, feed.LSI1Name, feed.AttrLSI1SK, "#sk BETWEEN :lo AND :hi", gameID,
			map[string]string{":lo": feed.OddsPrefix, ":hi": hi})
		if err != nil {
			return nil, fmt.Errorf("latest odds by provider of game %s: %w", gameID, err)
		}
		if !found {
			break
		}
		res = append(res, o)
		hi = feed.OddsPrefix + o.Provider + "#" // below every key of o.Provider
	}
	slices.Reverse(res)
	return res, nil
}

// ListOdds returns odds of a game observed in [r.From, r.To], of r's
// markets, newest first: a query of the table's ODDS# keys, filtered on
// MARKET and PERIOD unless r.AllMarkets (a full-game spread has neither).
func (s *Store) ListOdds(ctx context.Context, r store.OddsRange) (store.OddsPage, error) {
	lo, hi := feed.OddsPrefix, oddsKeyTop
	if !r.From.IsZero() {
		lo = feed.OddsPrefix + feed.KeyTime(r.From)
	}
	if !r.To.IsZero() {
		hi = feed.OddsPrefix + feed.KeyTime(r.To) + "#\uffff"
	}
	pk := feed.GamePK(r.GameID)
	start, err := decodeCursor(r.Cursor, tableKeyNames, map[string]string{feed.AttrPK: pk})
	if err != nil {
		return store.OddsPage{}, fmt.Errorf("list odds of game %s: %w", r.GameID, err)
	}
	if lo > hi {
		return store.OddsPage{}, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.opts.Table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#pk": feed.AttrPK, "#sk": feed.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": sAV(pk), ":lo": sAV(lo), ":hi": sAV(hi),
		},
		ScanIndexForward:  aws.Bool(false),
		ConsistentRead:    aws.Bool(true),
		ExclusiveStartKey: start,
	}
	marketFilter(in, r)
	items, next, err := s.query(ctx, in, r.EffectiveLimit(), tableKeyNames)
	if err != nil {
		return store.OddsPage{}, fmt.Errorf("list odds of game %s: %w", r.GameID, err)
	}
	page := store.OddsPage{NextCursor: next, Odds: make([]feed.Odds, 0, len(items))}
	for _, it := range items {
		o, err := feed.DecodeOdds(it)
		if err != nil {
			return store.OddsPage{}, fmt.Errorf("list odds of game %s: %w", r.GameID, err)
		}
		page.Odds = append(page.Odds, o)
	}
	return page, nil
}

// marketFilter adds to in the FilterExpression of r's markets: none for
// AllMarkets; no MARKET attribute for the full-game spread; else MARKET
// and PERIOD.
func marketFilter(in *dynamodb.QueryInput, r store.OddsRange) {
	in.ExpressionAttributeNames["#m"] = feed.AttrMarket
	switch {
	case r.AllMarkets:
		delete(in.ExpressionAttributeNames, "#m")
		return
	case (feed.Odds{Market: r.Market, Period: r.Period}).IsFullGameSpread():
		in.FilterExpression = aws.String("attribute_not_exists(#m)")
		return
	}
	in.FilterExpression = aws.String("#m = :m AND #per = :per")
	in.ExpressionAttributeNames["#per"] = feed.AttrPeriod
	in.ExpressionAttributeValues[":m"] = sAV(string(r.Market.Or()))
	in.ExpressionAttributeValues[":per"] = sAV(string(r.Period.Or()))
}

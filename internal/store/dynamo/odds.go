package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// PutOdds stores odds items. Odds are immutable: the items already stored
// are found first (BatchGetItem) and classified Duplicate or Conflict; the
// new ones are written with BatchWriteItem. A key repeated within the call
// is written once; its later occurrences are classified against the first.
//
// Two calls racing on the same new key may both write it (the check and the
// write are separate requests); the last write stands.
func (s *Store) PutOdds(ctx context.Context, odds []feed.Odds) ([]store.Outcome, error) {
	outcomes := make([]store.Outcome, len(odds))
	if len(odds) == 0 {
		return outcomes, nil
	}
	first := make(map[feed.Key]int, len(odds)) // key -> index of its first occurrence
	var uniq, repeats []int
	for i, o := range odds {
		if _, seen := first[o.Key()]; seen {
			repeats = append(repeats, i)
			continue
		}
		first[o.Key()] = i
		uniq = append(uniq, i)
	}
	keys := make([]feed.Key, len(uniq))
	for j, i := range uniq {
		keys[j] = odds[i].Key()
	}
	existing, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return outcomes, fmt.Errorf("put odds: check existing items: %w", err)
	}

	standing := make(map[feed.Key]feed.Odds, len(uniq)) // what stands at each key
	var fresh []int                                     // indices to write
	expire := time.Time{}
	if s.opts.OddsTTL > 0 {
		expire = s.opts.Now().Add(s.opts.OddsTTL)
	}
	for _, i := range uniq {
		k := odds[i].Key()
		it, ok := existing[k]
		if !ok {
			fresh = append(fresh, i)
			standing[k] = odds[i]
			continue
		}
		old, err := feed.DecodeOdds(it)
		if err != nil {
			outcomes[i] = store.Conflict // something else holds the key; it stands
			continue
		}
		standing[k] = old
		outcomes[i] = classify(odds[i], old)
	}

	items := make([]map[string]types.AttributeValue, len(fresh))
	for j, i := range fresh {
		o := odds[i]
		o.Version = 1
		items[j] = toAV(feed.OddsItem(o, expire))
	}
	werr := s.batchPut(ctx, items, func(j int) { outcomes[fresh[j]] = store.Stored })

	for _, i := range repeats {
		k := odds[i].Key()
		if outcomes[first[k]] == store.NotStored {
			continue // nothing durable stands at the key yet
		}
		if o, ok := standing[k]; ok {
			outcomes[i] = classify(odds[i], o)
		} else {
			outcomes[i] = store.Conflict
		}
	}
	if werr != nil {
		n := 0
		for _, o := range outcomes {
			if o == store.NotStored {
				n++
			}
		}
		return outcomes, fmt.Errorf("put odds: %d of %d items not stored: %w", n, len(odds), werr)
	}
	return outcomes, nil
}

// classify says what a new item is to the one standing at its key.
func classify(o, standing feed.Odds) store.Outcome {
	if o.SameContent(standing) {
		return store.Duplicate
	}
	return store.Conflict
}

// tableKeyNames are the key attributes of the table, for cursors.
var tableKeyNames = []string{feed.AttrPK, feed.AttrSK}

// LatestOdds returns the newest odds of a game, of one provider when
// provider is not "".
func (s *Store) LatestOdds(ctx context.Context, gameID, provider string) (feed.Odds, error) {
	var (
		o     feed.Odds
		found bool
		err   error
	)
	if provider == "" {
		o, found, err = s.newestOdds(ctx, "", feed.AttrSK, "begins_with(#sk, :lo)", gameID,
			map[string]string{":lo": feed.OddsPrefix})
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

// LatestOddsByProvider returns the newest odds of each provider of a game,
// by provider. It walks LSI1 (ODDS#<provider>#<time>) down from the top
// with one query per provider: the greatest key below the bound is the
// newest odds of the next provider down, and that provider's prefix is the
// next bound (a loose index scan). Provider ids cannot hold '#', which sorts
// below every character they can hold, so prefixes sort as providers do.
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

// ListOdds returns odds of a game observed in [r.From, r.To], newest first.
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
	items, next, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.opts.Table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#pk": feed.AttrPK, "#sk": feed.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": sAV(pk), ":lo": sAV(lo), ":hi": sAV(hi),
		},
		ScanIndexForward:  aws.Bool(false),
		ConsistentRead:    aws.Bool(true),
		ExclusiveStartKey: start,
	}, r.EffectiveLimit(), tableKeyNames)
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

// Package dynamo is the DynamoDB adapter of the feed store port
// (store.FeedStore), on aws-sdk-go-v2, and the provisioning of its table,
// Kinesis stream and streaming destination.
//
// Items follow the single-table scheme of package feed: games, their odds
// (quotes of every market) and their market statuses share the partition
// GAME#<id>; the sparse GSI1 and GSI2 list scheduled and live games; LSI1
// orders a game's full-game spreads by provider, then time, and its other
// quotes by provider, market, period, then time. Providers' liveness and
// leases have partitions of their own (markets.go).
package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Options configure a Store.
type Options struct {
	// Table is the table's name.
	Table string
	// OddsTTL is how long odds items live (the EXPIRE attribute, counted
	// from the write); 0 writes no EXPIRE attribute.
	OddsTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the requests of one batch chunk (unprocessed
	// items, throttling) or of one item's write; 0 means 8.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential back-off with full
	// jitter between those attempts; 0 means 20ms and 1s.
	BaseBackoff, MaxBackoff time.Duration
	// ScanPageSize is the Limit of one Scan request of ScanSegment (DynamoDB
	// also ends a page at 1 MB); 0 means 1000.
	ScanPageSize int
}

// Store is the DynamoDB feed store. It is safe for concurrent use.
type Store struct {
	db   *dynamodb.Client
	put  itemPutter
	opts Options
}

var _ store.FeedStore = (*Store)(nil)

// New returns a store on the table o.Table through client.
func New(client *dynamodb.Client, o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 20 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.BaseBackoff)
	if o.ScanPageSize <= 0 {
		o.ScanPageSize = 1000
	}
	return &Store{db: client, put: client, opts: o}
}

// Close releases nothing: the client is the caller's.
func (s *Store) Close() error { return nil }

// GetGame returns a game or store.ErrNotFound.
func (s *Store) GetGame(ctx context.Context, id string) (feed.Game, error) {
	g, found, err := s.getGame(ctx, id)
	switch {
	case err != nil:
		return feed.Game{}, fmt.Errorf("get game %s: %w", id, err)
	case !found:
		return feed.Game{}, fmt.Errorf("get game %s: %w", id, store.ErrNotFound)
	}
	return g, nil
}

// getGame reads a game strongly consistently.
func (s *Store) getGame(ctx context.Context, id string) (feed.Game, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.opts.Table),
		Key:            keyAV(feed.GameKey(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return feed.Game{}, false, err
	}
	if out.Item == nil {
		return feed.Game{}, false, nil
	}
	g, err := feed.DecodeGame(fromAV(out.Item))
	if err != nil {
		return feed.Game{}, false, err
	}
	return g, true, nil
}

// GamesExist reports which of ids are known games.
func (s *Store) GamesExist(ctx context.Context, ids []string) (map[string]bool, error) {
	res := make(map[string]bool, len(ids))
	var keys []feed.Key
	for _, id := range ids {
		if _, seen := res[id]; !seen {
			res[id] = false
			keys = append(keys, feed.GameKey(id))
		}
	}
	found, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return nil, fmt.Errorf("games exist: %w", err)
	}
	for k := range found {
		res[feed.GameIDFromPK(k.PK)] = true
	}
	return res, nil
}

// ListGames lists scheduled (GSI1) or live (GSI2) games by date, then id.
func (s *Store) ListGames(ctx context.Context, status feed.GameStatus, p store.Page) (store.GamePage, error) {
	var index, pkName, skName, pkValue string
	switch status {
	case feed.StatusScheduled:
		index, pkName, skName, pkValue = feed.GSI1Name, feed.AttrGSI1PK, feed.AttrGSI1SK, feed.GSI1PKValue
	case feed.StatusLive:
		index, pkName, skName, pkValue = feed.GSI2Name, feed.AttrGSI2PK, feed.AttrGSI2SK, feed.GSI2PKValue
	default:
		return store.GamePage{}, fmt.Errorf("list games: status %q is not listed (only scheduled and live are)", status)
	}
	keyNames := []string{feed.AttrPK, feed.AttrSK, pkName, skName}
	start, err := decodeCursor(p.Cursor, keyNames, map[string]string{pkName: pkValue, feed.AttrSK: feed.MetaSK})
	if err != nil {
		return store.GamePage{}, fmt.Errorf("list games: %w", err)
	}
	items, next, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.opts.Table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkName},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV(pkValue)},
		ScanIndexForward:          aws.Bool(true),
		ExclusiveStartKey:         start,
	}, p.EffectiveLimit(), keyNames)
	if err != nil {
		return store.GamePage{}, fmt.Errorf("list games %s: %w", status, err)
	}
	page := store.GamePage{NextCursor: next, Games: make([]feed.Game, 0, len(items))}
	for _, it := range items {
		g, err := feed.DecodeGame(it)
		if err != nil {
			return store.GamePage{}, fmt.Errorf("list games %s: %w", status, err)
		}
		page.Games = append(page.Games, g)
	}
	return page, nil
}

// query runs one page of a query: it reads until it has limit+1 items (so
// that the last page has no cursor) or the key range is exhausted, and
// builds the cursor from the key attributes keyNames of the page's last
// item. DynamoDB applies a request's Limit before its FilterExpression and
// ends a response at 1 MB, so one request may bring fewer items than asked
// for, or none: the page is filled from further requests. A filtered query
// reads at least filteredReadAhead items per request.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, limit int, keyNames []string) ([]feed.Item, string, error) {
	var raw []map[string]types.AttributeValue
	for {
		want := limit + 1 - len(raw)
		if in.FilterExpression != nil {
			want = max(want, filteredReadAhead)
		}
		in.Limit = aws.Int32(int32(want))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", err
		}
		raw = append(raw, out.Items...)
		if len(raw) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	next := ""
	if len(raw) > limit {
		raw = raw[:limit]
		next = encodeCursor(pageKey(raw[limit-1], keyNames))
	}
	items := make([]feed.Item, len(raw))
	for i, m := range raw {
		items[i] = fromAV(m)
	}
	return items, next, nil
}

// filteredReadAhead is the least Limit of one request of a filtered query.
const filteredReadAhead = 100

package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// putGameAttempts bounds the conditional writes of one game: each lost
// condition means another writer changed the game in between.
const putGameAttempts = 5

// PutGame creates or updates a game: PutGames of one write.
func (s *Store) PutGame(ctx context.Context, g feed.Game, as store.As) (feed.Game, bool, error) {
	return store.PutOneGame(ctx, s.PutGames, g, as)
}

// PutGames writes games with one conditional PutItem each
// (store.PlanGameWrite decides what a write is to the game standing): a new
// game only if it is still absent, a change only if the version it follows
// (and so the owner checked) still stands and, for a provider, the game is
// still its own or nobody's. When the condition fails, the game standing
// now is planned for again. The games are read first in batches
// (BatchGetItem); distinct games are written in parallel, the writes of
// one game in order.
func (s *Store) PutGames(ctx context.Context, writes []store.GameWrite, as store.As) ([]store.GameResult, error) {
	results := make([]store.GameResult, len(writes))
	group := make(map[string]int, len(writes))
	var (
		keys   []feed.Key
		groups [][]int // groups[j]: the indices of the writes of game keys[j], in order
	)
	for i, w := range writes {
		j, ok := group[w.Game.ID]
		if !ok {
			j = len(keys)
			group[w.Game.ID] = j
			keys = append(keys, feed.GameKey(w.Game.ID))
			groups = append(groups, nil)
		}
		groups[j] = append(groups[j], i)
	}
	standing, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return results, fmt.Errorf("put games: read games: %w", err)
	}
	err = parallelN(len(keys), putParallelism, func(j int) error {
		cur := standing[keys[j]]
		for _, i := range groups[j] {
			var err error
			if results[i], cur, err = s.putGame(ctx, writes[i], as, cur); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return results, fmt.Errorf("put games: %w", err)
	}
	return results, nil
}

// putGame makes one write given the game item standing (nil: none) and
// returns its result and the item standing after it.
func (s *Store) putGame(ctx context.Context, w store.GameWrite, as store.As, cur feed.Item) (store.GameResult, feed.Item, error) {
	id := w.Game.ID
	for range putGameAttempts {
		var old feed.Game
		if cur != nil {
			var err error
			if old, err = feed.DecodeGame(cur); err != nil {
				return store.GameResult{}, cur, fmt.Errorf("put game %s: %w", id, err)
			}
		}
		next, write, err := store.PlanGameWrite(w, as, old, cur != nil)
		if !write {
			if err != nil {
				err = fmt.Errorf("put game %s: %w", id, err)
			}
			return store.GameResult{Game: old, Err: err}, cur, nil
		}
		next.UpdatedAt = s.opts.Now()
		item := feed.GameItem(next)
		_, err = s.put.PutItem(ctx, s.gamePut(item, old, cur != nil, as))
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &ccf):
			if cur, err = s.standing(ctx, feed.GameKey(id), ccf.Item); err != nil {
				return store.GameResult{}, nil, fmt.Errorf("put game %s: %w", id, err)
			}
			continue // a concurrent writer won; plan again
		case err != nil:
			return store.GameResult{}, cur, fmt.Errorf("put game %s: %w", id, err)
		}
		// Return what a read returns: the stored form of the item.
		stored, err := feed.DecodeGame(item)
		if err != nil {
			return store.GameResult{}, item, fmt.Errorf("put game %s: %w", id, err)
		}
		return store.GameResult{Game: stored, Changed: true}, item, nil
	}
	return store.GameResult{}, cur, fmt.Errorf("put game %s: lost the race to concurrent writers %d times", id, putGameAttempts)
}

// gamePut is the conditional PutItem of item over old (found: it stands).
func (s *Store) gamePut(item feed.Item, old feed.Game, found bool, as store.As) *dynamodb.PutItemInput {
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(s.opts.Table),
		Item:                                toAV(item),
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": feed.AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if !found {
		return in
	}
	cond := "#v = :v"
	in.ExpressionAttributeNames = map[string]string{"#v": feed.AttrVersion}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{
		":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(old.Version, 10)},
	}
	if !as.Admin {
		// The version pins the owner checked; the rule is in the write too.
		cond += " AND (attribute_not_exists(#o) OR #o = :me)"
		in.ExpressionAttributeNames["#o"] = feed.AttrOwner
		in.ExpressionAttributeValues[":me"] = sAV(as.Principal)
	}
	in.ConditionExpression = aws.String(cond)
	return in
}

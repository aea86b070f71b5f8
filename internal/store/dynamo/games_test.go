package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

func testGame(id, summary string) feed.Game {
	return feed.Game{ID: id, Sport: "nba", Summary: summary, Status: feed.StatusLive,
		GameDate: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// sneakFirst has rival run once, before the store's first PutItem is sent:
// a concurrent writer between the store's read and its write.
func sneakFirst(s *Store, rival func(ctx context.Context) error) {
	p := &faultyPutter{before: func(ctx context.Context, call int, _ *dynamodb.PutItemInput) error {
		if call == 0 {
			return rival(ctx)
		}
		return nil
	}}
	p.wrap(s)
}

// TestPutGameOwnerChecksAreAtomic: a provider's write lands only while the
// game it read is still its own or nobody's; a create-only write only while
// the game is missing.
func TestPutGameOwnerChecksAreAtomic(t *testing.T) {
	p1, p2 := store.As{Principal: "p1"}, store.As{Principal: "p2"}
	t.Run("claimed in between", func(t *testing.T) {
		s := newStore(t, quick(0))
		other := New(s.db, s.opts)
		if _, _, err := s.PutGame(t.Context(), testGame("g1", "old"), store.System); err != nil {
			t.Fatal(err)
		}
		sneakFirst(s, func(ctx context.Context) error {
			_, _, err := other.PutGame(ctx, testGame("g1", "p1's"), p1)
			return err
		})
		_, _, err := s.PutGame(t.Context(), testGame("g1", "p2's"), p2)
		if !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("PutGame as p2: %v, want ErrNotOwner", err)
		}
		if g, _ := s.GetGame(t.Context(), "g1"); g.Owner != "p1" || g.Summary != "p1's" || g.Version != 2 {
			t.Fatalf("game %+v", g)
		}
	})
	t.Run("owner set in between, version kept", func(t *testing.T) {
		// Only the write's owner clause can refuse this one.
		s := newStore(t, quick(0))
		if _, _, err := s.PutGame(t.Context(), testGame("g1", "old"), store.System); err != nil {
			t.Fatal(err)
		}
		sneakFirst(s, func(ctx context.Context) error {
			_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(s.opts.Table),
				Key:                       keyAV(feed.GameKey("g1")),
				UpdateExpression:          aws.String("SET #o = :o"),
				ExpressionAttributeNames:  map[string]string{"#o": feed.AttrOwner},
				ExpressionAttributeValues: toAV(feed.Item{":o": feed.S("p1")}),
			})
			return err
		})
		if _, _, err := s.PutGame(t.Context(), testGame("g1", "p2's"), p2); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("PutGame as p2: %v, want ErrNotOwner", err)
		}
		if g, _ := s.GetGame(t.Context(), "g1"); g.Owner != "p1" || g.Summary != "old" || g.Version != 1 {
			t.Fatalf("game %+v", g)
		}
	})
	t.Run("created in between", func(t *testing.T) {
		s := newStore(t, quick(0))
		other := New(s.db, s.opts)
		var created feed.Game
		sneakFirst(s, func(ctx context.Context) error {
			var err error
			created, _, err = other.PutGame(ctx, testGame("g1", "real"), p1)
			return err
		})
		res, err := s.PutGames(t.Context(), []store.GameWrite{{Game: testGame("g1", "made up"), CreateOnly: true}}, p2)
		if err != nil || res[0].Err != nil || res[0].Changed || res[0].Game.Summary != "real" {
			t.Fatalf("create only: %+v, %v", res, err)
		}
		if g, _ := s.GetGame(t.Context(), "g1"); g != created {
			t.Fatalf("game %+v, want %+v", g, created)
		}
	})
}

package embedded

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// statusIndexes are the sparse status indexes: the attributes of each.
var statusIndexes = [...]struct{ pk, sk string }{
	{feed.AttrGSI1PK, feed.AttrGSI1SK},
	{feed.AttrGSI2PK, feed.AttrGSI2SK},
}

// PutGame creates or updates a game: PutGames of one write.
func (s *Store) PutGame(ctx context.Context, g feed.Game, as store.As) (feed.Game, bool, error) {
	return store.PutOneGame(ctx, s.PutGames, g, as)
}

// PutGames writes games in one transaction (one fsync however many): for
// each, in order, a read, store.PlanGameWrite, the version bump, status
// index upkeep and a change-log INSERT or MODIFY (with the old image).
func (s *Store) PutGames(_ context.Context, writes []store.GameWrite, as store.As) ([]store.GameResult, error) {
	var (
		results []store.GameResult
		first   uint64   // log sequence of entries[0]
		entries [][]byte // the change-log entries written, in order
	)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		results, entries = make([]store.GameResult, len(writes)), nil
		at := s.now()
		for i, w := range writes {
			entry, err := putGameTx(tx, w, as, at, &results[i])
			if err != nil {
				return fmt.Errorf("put game %s: %w", w.Game.ID, err)
			}
			if entry == nil {
				continue
			}
			seq, err := appendLog(tx.Bucket(logBucket), entry)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				first = seq
			}
			entries = append(entries, entry)
		}
		return nil
	})
	if err != nil {
		s.tail.invalidate()
		return nil, fmt.Errorf("put games: %w", err)
	}
	if s.onCommit != nil {
		s.onCommit(!s.db.NoSync) // CommitHook counts game transactions too
	}
	if len(entries) > 0 {
		for j, entry := range entries {
			s.publishEntry(first+uint64(j), entry)
		}
		s.notify()
	}
	return results, nil
}

// putGameTx makes one write of PutGames in tx, setting its result, and
// returns the change-log entry to append (nil when nothing was written).
func putGameTx(tx *bolt.Tx, w store.GameWrite, as store.As, at time.Time, res *store.GameResult) ([]byte, error) {
	items, status := tx.Bucket(itemsBucket), tx.Bucket(statusBucket)
	pk := feed.GamePK(w.Game.ID)
	k := key(pk, feed.MetaSK)
	var (
		oldBytes []byte
		oldItem  feed.Item
		cur      feed.Game
	)
	kind := byte(kindInsert)
	if v := items.Get(k); v != nil {
		oldBytes = bytes.Clone(v)
		var err error
		if oldItem, err = decodeItem(oldBytes); err != nil {
			return nil, err
		}
		if cur, err = feed.DecodeGame(oldItem); err != nil {
			return nil, err
		}
		kind = kindModify
	}
	g, write, err := store.PlanGameWrite(w, as, cur, oldBytes != nil)
	if !write {
		if err != nil {
			err = fmt.Errorf("put game %s: %w", w.Game.ID, err)
		}
		*res = store.GameResult{Game: cur, Err: err}
		return nil, nil
	}
	g.UpdatedAt = at
	it := feed.GameItem(g)
	for _, idx := range statusIndexes {
		if a, ok := oldItem[idx.pk]; ok {
			if err := status.Delete(key(a.S, oldItem[idx.sk].S)); err != nil {
				return nil, fmt.Errorf("status index: %w", err)
			}
		}
		if a, ok := it[idx.pk]; ok {
			if err := status.Put(key(a.S, it[idx.sk].S), k); err != nil {
				return nil, fmt.Errorf("status index: %w", err)
			}
		}
	}
	entry := appendEntryHead(nil, kind, at, pk, feed.MetaSK, oldBytes)
	itemStart := len(entry)
	entry = appendItem(entry, it)
	if err := items.Put(k, entry[itemStart:]); err != nil {
		return nil, err
	}
	// Read back what was stored, so the caller sees what GetGame will.
	stored, err := feed.DecodeGame(it)
	if err != nil {
		return nil, err
	}
	*res = store.GameResult{Game: stored, Changed: true}
	return entry, nil
}

// decodeGame decodes a stored game item.
func decodeGame(v []byte) (feed.Game, error) {
	it, err := decodeItem(v)
	if err != nil {
		return feed.Game{}, err
	}
	return feed.DecodeGame(it)
}

// GetGame returns a game or store.ErrNotFound.
func (s *Store) GetGame(_ context.Context, id string) (feed.Game, error) {
	var g feed.Game
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(itemsBucket).Get(key(feed.GamePK(id), feed.MetaSK))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		g, err = decodeGame(v)
		return err
	})
	if err != nil {
		return feed.Game{}, fmt.Errorf("get game %s: %w", id, err)
	}
	return g, nil
}

// GamesExist reports which of ids are known games.
func (s *Store) GamesExist(_ context.Context, ids []string) (map[string]bool, error) {
	found := make(map[string]bool, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(itemsBucket)
		for _, id := range ids {
			found[id] = items.Get(key(feed.GamePK(id), feed.MetaSK)) != nil
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("games exist: %w", err)
	}
	return found, nil
}

// ListGames lists scheduled or live games ordered by game date then id.
func (s *Store) ListGames(_ context.Context, status feed.GameStatus, p store.Page) (store.GamePage, error) {
	var indexPK string
	switch status {
	case feed.StatusScheduled:
		indexPK = feed.GSI1PKValue
	case feed.StatusLive:
		indexPK = feed.GSI2PKValue
	default:
		return store.GamePage{}, fmt.Errorf("list games: status %q has no index", status)
	}
	prefix := key(indexPK, "")
	var after []byte
	if p.Cursor != "" {
		last, err := decodeCursor(p.Cursor, gameCursorTag, string(status))
		if err != nil {
			return store.GamePage{}, fmt.Errorf("list %s games: %w", status, err)
		}
		after = key(indexPK, last)
	}
	limit := p.EffectiveLimit()
	var page store.GamePage
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(itemsBucket)
		c := tx.Bucket(statusBucket).Cursor()
		k, v := c.Seek(prefix)
		if after != nil {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		var last []byte
		for ; bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(page.Games) == limit {
				page.NextCursor = encodeCursor(gameCursorTag, string(status), string(last[len(prefix):]))
				break
			}
			item := items.Get(v)
			if item == nil {
				return fmt.Errorf("status index entry %q: %w", k, errCorrupt)
			}
			g, err := decodeGame(item)
			if err != nil {
				return err
			}
			page.Games = append(page.Games, g)
			last = k
		}
		return nil
	})
	if err != nil {
		return store.GamePage{}, fmt.Errorf("list %s games: %w", status, err)
	}
	return page, nil
}

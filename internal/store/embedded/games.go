package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// statusIndexes are the sparse status indexes: the attributes of each.
var statusIndexes = [...]struct{ pk, sk string }{
	{feed.AttrGSI1PK, feed.AttrGSI1SK},
	{feed.AttrGSI2PK, feed.AttrGSI2SK},
}

// PutGame creates or updates a game in one transaction: read, compare,
// version bump, status index upkeep and a change-log INSERT or MODIFY (with
// the old image).
func (s *Store) PutGame(_ context.Context, g feed.Game) (feed.Game, bool, error) {
	var (
		stored  feed.Game
		changed bool
		seq     uint64
		entry   []byte
	)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		changed = false
		items, status, log := tx.Bucket(itemsBucket), tx.Bucket(statusBucket), tx.Bucket(logBucket)
		pk := feed.GamePK(g.ID)
		k := key(pk, feed.MetaSK)
		var (
			oldBytes []byte
			oldItem  feed.Item
		)
		kind := byte(kindInsert)
		g.Version = 1
		if v := items.Get(k); v != nil {
			oldBytes = bytes.Clone(v)
			var err error
			if oldItem, err = decodeItem(oldBytes); err != nil {
				return err
			}
			old, err := feed.DecodeGame(oldItem)
			if err != nil {
				return err
			}
			if old.SameContent(g) {
				stored = old
				return nil
			}
			kind = kindModify
			g.Version = old.Version + 1
		}
		at := s.now()
		g.UpdatedAt = at
		it := feed.GameItem(g)
		for _, idx := range statusIndexes {
			if a, ok := oldItem[idx.pk]; ok {
				if err := status.Delete(key(a.S, oldItem[idx.sk].S)); err != nil {
					return fmt.Errorf("status index: %w", err)
				}
			}
			if a, ok := it[idx.pk]; ok {
				if err := status.Put(key(a.S, it[idx.sk].S), k); err != nil {
					return fmt.Errorf("status index: %w", err)
				}
			}
		}
		entry = appendEntryHead(nil, kind, at, pk, feed.MetaSK, oldBytes)
		itemStart := len(entry)
		entry = appendItem(entry, it)
		if err := items.Put(k, entry[itemStart:]); err != nil {
			return err
		}
		var err error
		seq, err = log.NextSequence()
		if err != nil {
			return fmt.Errorf("next log sequence: %w", err)
		}
		if err := log.Put(binary.BigEndian.AppendUint64(nil, seq), entry); err != nil {
			return fmt.Errorf("log: %w", err)
		}
		// Read back what was stored, so the caller sees what GetGame will.
		if stored, err = feed.DecodeGame(it); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		s.tail.invalidate()
		return feed.Game{}, false, fmt.Errorf("put game %s: %w", g.ID, err)
	}
	if changed {
		s.publishEntry(seq, entry)
		s.notify()
	}
	return stored, changed, nil
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

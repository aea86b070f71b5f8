package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// scanCursorTag tags the cursors of ScanSegment.
const scanCursorTag = 'S'

// ScanSegment reads every stored item of one segment of the store, page by
// page in key order, for a full export such as the reporting backfill. The
// items are split into total segments (0 <= segment < total) by a hash of
// their key, so segments can be read in parallel and together hold every
// item exactly once. page is called for each page with the cursor to resume
// after it ("" after the segment's last page); an empty segment has no
// pages. A scan starts after cursor ("" from the segment's start); a cursor
// of another segment or total fails with store.ErrBadCursor. Each page is
// read in its own read transaction: items written during the scan may or
// may not be seen, but none is seen twice. An error from page stops the
// scan and is returned.
func (s *Store) ScanSegment(ctx context.Context, segment, total int, cursor string, page func(items []feed.Item, next string) error) error {
	if total < 1 || segment < 0 || segment >= total {
		return fmt.Errorf("scan segment %d of %d: segment out of range", segment, total)
	}
	query := strconv.Itoa(segment) + "/" + strconv.Itoa(total)
	if err := s.flush(ctx); err != nil {
		return fmt.Errorf("scan segment %s: apply pending odds: %w", query, err)
	}
	var after []byte
	if cursor != "" {
		last, err := decodeCursor(cursor, scanCursorTag, query)
		if err != nil {
			return fmt.Errorf("scan segment %s: %w", query, err)
		}
		after = []byte(last)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scan segment %s: %w", query, err)
		}
		items, last, more, err := s.scanPage(segment, total, after)
		if err != nil {
			return fmt.Errorf("scan segment %s: %w", query, err)
		}
		if len(items) == 0 {
			return nil
		}
		next := ""
		if more {
			next = encodeCursor(scanCursorTag, query, string(last))
		}
		if err := page(items, next); err != nil {
			return err
		}
		if !more {
			return nil
		}
		after = last
	}
}

// scanPage reads up to ScanPageSize items of a segment after the key after
// (nil: from the start). It returns the key of the page's last item and
// whether the segment has items past it.
func (s *Store) scanPage(segment, total int, after []byte) (items []feed.Item, last []byte, more bool, err error) {
	limit := s.opts.ScanPageSize
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(itemsBucket).Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if keySegment(k, total) != segment {
				continue
			}
			if len(items) == limit {
				more = true
				return nil
			}
			it, err := decodeItem(v)
			if err != nil {
				return fmt.Errorf("item %q: %w", k, err)
			}
			items = append(items, it)
			last = append(last[:0], k...) // k is only valid in the transaction
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	return items, last, more, err
}

// keySegment is the segment of total that the item key k belongs to.
func keySegment(k []byte, total int) int {
	if total == 1 {
		return 0
	}
	h := uint32(2166136261) // FNV-1a, 32 bits
	for _, b := range k {
		h ^= uint32(b)
		h *= 16777619
	}
	return int(h % uint32(total))
}

// ApproxItemCount returns the number of stored items (games and odds),
// pending ones included.
func (s *Store) ApproxItemCount(_ context.Context) (int64, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(itemsBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count items: %w", err)
	}
	return int64(n) + s.pend.count.Load(), nil
}

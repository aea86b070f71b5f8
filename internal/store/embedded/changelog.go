package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// DefaultChangesMax is the page size of ChangesAfter when max <= 0.
const DefaultChangesMax = 1000

// trimBatch bounds the log entries one TrimLog transaction deletes.
const trimBatch = 10000

// ChangesAfter returns up to max changes with a sequence above after, oldest
// first (max <= 0: DefaultChangesMax). Each change's Source is "log" and its
// Position the decimal sequence: pass the last one back as after to go on.
func (s *Store) ChangesAfter(after uint64, max int) ([]feed.Change, error) {
	if max <= 0 {
		max = DefaultChangesMax
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	var changes []feed.Change
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(logBucket).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil && len(changes) < max; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("log entry %d: %w", seq, err)
			}
			ch, err := e.change(seq)
			if err != nil {
				return err
			}
			changes = append(changes, ch)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", after, err)
	}
	return changes, nil
}

// LastSeq returns the newest sequence written to the change log, 0 if none.
// It stays put when TrimLog deletes entries.
func (s *Store) LastSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(logBucket).Sequence()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("last log sequence: %w", err)
	}
	return seq, nil
}

// TrimLog deletes the change-log entries older than the retention period,
// oldest first, but none with a sequence above keepAfter (the lowest
// position any consumer still needs). It returns how many it deleted.
func (s *Store) TrimLog(keepAfter uint64) (int, error) {
	cutoff := s.now().Add(-s.opts.LogRetention)
	deleted := 0
	for {
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(logBucket)
			var doomed [][]byte
			c := b.Cursor()
			for k, v := c.First(); k != nil && len(doomed) < trimBatch; k, v = c.Next() {
				if binary.BigEndian.Uint64(k) > keepAfter {
					break
				}
				at, err := entryTime(v)
				if err != nil {
					return fmt.Errorf("log entry %d: %w", binary.BigEndian.Uint64(k), err)
				}
				if !at.Before(cutoff) {
					break
				}
				doomed = append(doomed, bytes.Clone(k))
			}
			for _, k := range doomed {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n = len(doomed)
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("trim log: %w", err)
		}
		deleted += n
		if n < trimBatch {
			return deleted, nil
		}
	}
}

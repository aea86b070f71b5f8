package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

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
// The newest changes come from memory, older ones from the log.
func (s *Store) ChangesAfter(after uint64, max int) ([]feed.Change, error) {
	if max <= 0 {
		max = DefaultChangesMax
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	select {
	case <-s.quit:
		return nil, fmt.Errorf("changes after %d: %w", after, ErrClosed)
	default:
	}
	if changes, ok := s.tail.read(after, max); ok {
		return changes, nil
	}
	return s.readLog(after, max)
}

// readLog is ChangesAfter from the log on disk.
func (s *Store) readLog(after uint64, max int) ([]feed.Change, error) {
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

// publishEntry publishes the change of the log entry at seq, just committed,
// to the tail. It is called with wmu held.
func (s *Store) publishEntry(seq uint64, v []byte) {
	e, err := decodeEntry(v)
	var c feed.Change
	if err == nil {
		c, err = e.change(seq)
	}
	if err != nil { // not expected: the entry was just encoded
		s.tail.invalidate()
		return
	}
	s.tail.publish(seq, func(add func(tailEntry)) { add(tailEntry{change: &c}) })
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

// TrimEvery is how often the log is worth trimming: a quarter of the
// retention period, at least 100ms (cdc.RunLogRetention trims at most that
// far apart), so the log holds about 1.25 retention periods of changes.
func (s *Store) TrimEvery() time.Duration {
	return max(s.opts.LogRetention/4, 100*time.Millisecond)
}

// TrimLog deletes the change-log entries older than the retention period,
// oldest first, but none with a sequence above keepAfter (the lowest
// position any consumer still needs) or not yet applied to the items. It
// returns how many it deleted.
func (s *Store) TrimLog(keepAfter uint64) (int, error) {
	if err := s.flush(context.Background()); err != nil {
		return 0, fmt.Errorf("trim log: apply pending odds: %w", err)
	}
	cutoff := s.now().Add(-s.opts.LogRetention)
	deleted := 0
	for {
		n := 0
		var through uint64
		s.wmu.Lock()
		err := s.db.Update(func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(logBucket)
			keep := keepAfter
			if q := s.pend.queue; len(q) > 0 { // not yet applied: needed by Open
				keep = min(keep, q[0].first-1)
			}
			var doomed [][]byte
			c := b.Cursor()
			for k, v := c.First(); k != nil && len(doomed) < trimBatch; k, v = c.Next() {
				if binary.BigEndian.Uint64(k) > keep {
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
			if n > 0 {
				through = binary.BigEndian.Uint64(doomed[n-1])
			}
			return nil
		})
		if err != nil {
			s.tail.invalidate()
		} else if n > 0 {
			s.tail.trimmed(through)
		}
		s.wmu.Unlock()
		if err != nil {
			return deleted, fmt.Errorf("trim log: %w", err)
		}
		deleted += n
		if n < trimBatch {
			return deleted, nil
		}
	}
}

// appendLog appends an encoded entry to the change log and returns its
// sequence.
func appendLog(log *bolt.Bucket, entry []byte) (uint64, error) {
	seq, err := log.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("next log sequence: %w", err)
	}
	if err := log.Put(binary.BigEndian.AppendUint64(nil, seq), entry); err != nil {
		return 0, fmt.Errorf("log: %w", err)
	}
	return seq, nil
}

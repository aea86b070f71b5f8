// Package embedded is the feed store for a laptop or a single small node: a
// store.FeedStore on bbolt, in one local file, with no services to run.
//
// Items are stored as encoded feed.Item values under the same single-table
// keys the DynamoDB adapter uses (PK and SK joined by a zero byte), so range
// scans by partition and sort key work as DynamoDB queries do. Two index
// buckets stand in for the secondary indexes: one for the sparse status
// indexes (GSI1, GSI2) and one for LSI1 (odds by provider then time).
//
// Every item write appends a change-log entry in the same bbolt transaction,
// so the log never loses or duplicates a change; ChangesAfter reads it for
// change data capture. Concurrent PutOdds calls are group-committed: one
// transaction and one fsync serve every caller waiting at that moment.
//
// The store is for one process: bbolt locks the file.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Bucket names.
var (
	itemsBucket  = []byte("items")  // PK \x00 SK -> encoded item
	statusBucket = []byte("status") // GSIxPK \x00 GSIxSK -> item key (sparse status indexes)
	lsiBucket    = []byte("lsi")    // PK \x00 LSI1SK -> SK
	logBucket    = []byte("log")    // big-endian uint64 sequence -> encoded entry
)

// logSource is the Source of every change read from the log.
const logSource = "log"

// DBFile is the name of the database file inside the store's directory.
const DBFile = "feed.db"

// maxGroupItems bounds the odds of one group commit.
const maxGroupItems = 20000

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("embedded store closed")

// Options tune a Store.
type Options struct {
	// OddsTTL is how long odds live after they are received: it sets their
	// EXPIRE attribute. 0: odds never expire (EXPIRE is omitted).
	OddsTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LogRetention is how long change-log entries are kept at least;
	// older ones may be deleted by TrimLog. 0 means 24h.
	LogRetention time.Duration
	// ScanPageSize is the number of items in one page of ScanSegment;
	// 0 means 1000.
	ScanPageSize int
}

// Store is the embedded feed store. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options

	reqs    chan *oddsReq // to the group-commit writer
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the writer has returned
	once    sync.Once

	mu      sync.Mutex
	changed chan struct{} // closed at the next commit that logs changes
}

var _ store.FeedStore = (*Store)(nil)

// Open opens (creating when needed) the store in dir, in the file
// dir/feed.db.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LogRetention <= 0 {
		opts.LogRetention = 24 * time.Hour
	}
	if opts.ScanPageSize <= 0 {
		opts.ScanPageSize = 1000
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, &bolt.Options{
		Timeout:        time.Second,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", dir, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{itemsBucket, statusBucket, lsiBucket, logBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open embedded store %s: %w", dir, err)
	}
	s := &Store{
		db:      db,
		opts:    opts,
		reqs:    make(chan *oddsReq),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		changed: make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// Close stops the writer and closes the database file. Calls in flight
// finish first; later calls fail with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.stopped
		if e := s.db.Close(); e != nil {
			err = fmt.Errorf("close embedded store: %w", e)
		}
	})
	return err
}

// now returns the store's clock in UTC without a monotonic reading.
func (s *Store) now() time.Time { return s.opts.Now().UTC().Round(0) }

// Changed returns a channel that is closed at the next commit that appends
// changes to the log; a fresh channel is handed out after that. To wait
// without missing a change, take the channel before calling ChangesAfter.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// notify wakes the waiters on Changed.
func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// oddsReq is one PutOdds call waiting for the group-commit writer.
type oddsReq struct {
	ctx  context.Context
	w    oddsWrite
	err  error
	done chan struct{}
}

// writer commits the PutOdds requests: it takes one request, then every
// other request already waiting (up to maxGroupItems odds), and writes them
// all in one transaction, so concurrent callers share one fsync without
// waiting for a timer.
func (s *Store) writer() {
	defer close(s.stopped)
	for {
		var first *oddsReq
		select {
		case first = <-s.reqs:
		case <-s.quit:
			return
		}
		group := []*oddsReq{first}
		n := len(first.w.odds)
	gather:
		for n < maxGroupItems {
			select {
			case r := <-s.reqs:
				group = append(group, r)
				n += len(r.w.odds)
			default:
				break gather
			}
		}
		s.commit(group)
	}
}

// commit writes a group in one transaction. When that fails and the group
// has several requests, each is retried alone so that one bad request does
// not fail the others.
func (s *Store) commit(group []*oddsReq) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("put odds: %w", err)
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, r := range live {
			if err := s.putOddsTx(tx, &r.w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(live) > 1 {
		for _, r := range live {
			s.commit([]*oddsReq{r})
		}
		return
	}
	stored := 0
	for _, r := range live {
		if err != nil {
			r.w.reset()
			r.err = fmt.Errorf("put odds: %w", err)
		}
		stored += r.w.stored
	}
	if err == nil && stored > 0 {
		s.notify()
	}
	for _, r := range live {
		close(r.done)
	}
}

// Package embedded is the feed store for a laptop or a single small node: a
// store.FeedStore on bbolt, in one local file, with no services to run.
//
// Items are stored as encoded feed.Item values under the same single-table
// keys the DynamoDB adapter uses (PK and SK joined by a zero byte), so range
// scans by partition and sort key work as DynamoDB queries do. Index buckets
// stand in for the secondary indexes: one for the sparse status indexes
// (GSI1, GSI2); for the per-provider queries LSI1 serves on DynamoDB, a
// "latest" bucket keeps the key of the newest odds of each game, provider,
// market and period (one small entry per series, where an index entry per
// odds would dirty many more pages per commit). Market statuses, provider
// liveness and leases are items too (markets.go), written like games.
//
// Every item write appends a change-log entry in the same bbolt transaction,
// so the log never loses or duplicates a change; ChangesAfter reads it for
// change data capture, served from memory (the newest changes, as committed)
// when the reader is close behind. Concurrent PutOdds calls are
// group-committed: one transaction and one fsync serve every caller waiting
// at that moment. New odds are durable once in the log; they reach the
// items and latest buckets a few commits later, many per game at once
// (pending.go), and reads of odds apply them first.
//
// The store is for one process: bbolt locks the file.
package embedded

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Bucket names.
var (
	itemsBucket  = []byte("items")  // PK \x00 SK -> encoded item
	statusBucket = []byte("status") // GSIxPK \x00 GSIxSK -> item key (sparse status indexes)
	latestBucket = []byte("latest") // PK \x00 series (oddsSKTail) -> SK of its newest odds
	logBucket    = []byte("log")    // big-endian uint64 sequence -> encoded entry
	metaBucket   = []byte("meta")   // appliedKey -> big-endian uint64 sequence

	// lsiBucket (PK \x00 LSI1SK -> SK) is the index of earlier versions,
	// replaced by latestBucket: Open drops it.
	lsiBucket = []byte("lsi")
)

// logSource is the Source of every change read from the log.
const logSource = "log"

// DBFile is the name of the database file inside the store's directory.
const DBFile = "feed.db"

// maxGroupItems bounds the odds of one group commit.
const maxGroupItems = 20000

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("embedded store closed")

// CommitHook is for tests that pin the store's durability: when set before
// Open, the store calls it after each transaction of its group-commit
// writer that succeeded, before the PutOdds calls that transaction served
// return, with synced true when bbolt synced the file to disk before the
// transaction returned (the database is not in NoSync mode).
var CommitHook func(synced bool)

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
	// PendingMax is the number of new odds items left pending (in the log
	// and in memory, not yet in the items) at most after a commit; 0 means
	// DefaultPendingMax, negative none (each commit writes the items).
	PendingMax int
	// TailSize is the number of newest changes kept in memory for
	// ChangesAfter; 0 means DefaultTailSize, negative keeps none (every
	// read decodes the log).
	TailSize int
	// ExpireEvery is how often the store deletes the odds whose EXPIRE has
	// passed (expire.go); 0 means a quarter of OddsTTL within [100ms, 1m]
	// (1m when OddsTTL is 0), negative never (ExpireOdds still does).
	ExpireEvery time.Duration
	// ExpireBatch is the most odds one expiry transaction deletes; 0 means
	// DefaultExpireBatch.
	ExpireBatch int
}

// Store is the embedded feed store. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options

	reqs    chan *oddsReq // to the group-commit writer
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the writer has returned
	// expStopped is closed when the background expiry has returned.
	expStopped chan struct{}
	once       sync.Once

	// wmu serializes the transactions that write the log with the publishing
	// of their changes to tail, so that it sees them in sequence order.
	wmu  sync.Mutex
	tail *tail
	pend *pendingSet

	mu      sync.Mutex
	changed chan struct{} // closed at the next commit that logs changes

	onCommit func(synced bool) // CommitHook when opened
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
	if opts.PendingMax == 0 {
		opts.PendingMax = DefaultPendingMax
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
	var last uint64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{itemsBucket, statusBucket, logBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if err := upgradeLatest(tx); err != nil {
			return err
		}
		if err := upgradeExpire(tx); err != nil {
			return err
		}
		var err error
		last, err = replay(tx)
		return err
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

		expStopped: make(chan struct{}),
		tail:       newTail(cmp.Or(opts.TailSize, DefaultTailSize)),
		pend:       newPendingSet(last),

		onCommit: CommitHook,
	}
	s.tail.reset(last)
	go s.writer()
	if every := expireEvery(opts); every > 0 {
		go s.expirer(every)
	} else {
		close(s.expStopped)
	}
	return s, nil
}

// upgradeLatest creates the latest bucket when missing, filled from the
// stored odds, and drops the index bucket it replaces.
func upgradeLatest(tx *bolt.Tx) error {
	if tx.Bucket(latestBucket) != nil {
		return nil
	}
	latest, err := tx.CreateBucket(latestBucket)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", latestBucket, err)
	}
	c := tx.Bucket(itemsBucket).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		pk, sk, ok := bytes.Cut(k, []byte{0})
		if !ok || !bytes.HasPrefix(sk, []byte(feed.OddsPrefix)) {
			continue
		}
		// Odds of a game come in time order: the last one put is the newest.
		if err := latest.Put(key(string(pk), string(oddsSKTail(sk))), bytes.Clone(sk)); err != nil {
			return fmt.Errorf("fill bucket %s: %w", latestBucket, err)
		}
	}
	if tx.Bucket(lsiBucket) != nil {
		if err := tx.DeleteBucket(lsiBucket); err != nil {
			return fmt.Errorf("drop bucket %s: %w", lsiBucket, err)
		}
	}
	return nil
}

// Close stops the writer and closes the database file. Calls in flight
// finish first; later calls fail with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.stopped
		<-s.expStopped
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

// oddsReq is one PutOdds call (or flush) waiting for the group-commit
// writer.
type oddsReq struct {
	ctx   context.Context
	w     oddsWrite
	flush bool // apply every pending item
	err   error
	done  chan struct{}
}

// writer commits the PutOdds requests: it takes one request, then every
// other request already waiting (up to maxGroupItems odds), and writes them
// all in one transaction, so concurrent callers share one fsync without
// waiting for a timer. Before it stops, it applies the pending items.
func (s *Store) writer() {
	defer close(s.stopped)
	for {
		var first *oddsReq
		select {
		case first = <-s.reqs:
		case <-s.quit:
			if s.pend.count.Load() > 0 { // else Open replays them
				s.commit([]*oddsReq{{ctx: context.Background(), flush: true, done: make(chan struct{})}})
			}
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
// not fail the others. The same transaction applies pending odds to the
// items (all of them when a request is a flush). The changes of a
// successful commit are published to the tail before Changed fires and
// before the callers return.
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
	flush := false
	for _, r := range live {
		flush = flush || r.flush
	}
	if len(live) == 0 || (flush && len(live) == 1 && s.pend.count.Load() == 0) {
		for _, r := range live {
			close(r.done)
		}
		return
	}
	s.wmu.Lock()
	var (
		tw      txWrites
		apply   int
		all     bool
		applied uint64
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		tw = txWrites{}
		for _, r := range live {
			if err := s.putOddsTx(tx, &r.w, &tw); err != nil {
				return err
			}
		}
		apply, all = s.pend.plan(&tw, s.opts.PendingMax, flush)
		var err error
		applied, err = s.pend.apply(tx, apply, all, &tw)
		return err
	})
	if err != nil {
		s.tail.invalidate()
		s.wmu.Unlock()
		if len(live) > 1 {
			for _, r := range live {
				s.commit([]*oddsReq{r})
			}
			return
		}
	} else {
		s.pend.committed(apply, all, &tw, applied)
		if len(tw.recs) > 0 {
			s.publish(&tw, live)
		}
		s.wmu.Unlock()
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
	if err == nil && s.onCommit != nil {
		// Update returned: bbolt has written the transaction and, unless
		// NoSync, fdatasync'ed the file.
		s.onCommit(!s.db.NoSync)
	}
	for _, r := range live {
		close(r.done)
	}
}

// publish adds the odds a commit stored or corrected to the tail.
func (s *Store) publish(tw *txWrites, live []*oddsReq) {
	s.tail.publish(tw.first, func(add func(tailEntry)) {
		for _, r := range live {
			for i := range r.w.odds {
				switch r.w.out[i] {
				case store.Stored:
					add(tailEntry{at: r.w.at, odds: storedOdds(r.w.odds[i])})
				case store.Corrected:
					add(tailEntry{change: r.w.corrections[i]})
				}
			}
		}
	})
}

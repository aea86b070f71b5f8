package reporting

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// ownerLockClass is the first key of the session-level advisory locks that
// give one replica a source (shard) of one consumer.
const ownerLockClass = 0x0DDF_0002

// errLostLock: the transaction found the source's lock no longer held by
// this replica's lock session.
var errLostLock = errors.New("lost the source's lock")

// owner holds the advisory locks of the sources this replica syncs, on a
// dedicated connection outside the pool: the locks live as long as that
// session, so they free themselves when the process dies.
type owner struct {
	pool     *pgxpool.Pool
	consumer string

	mu    sync.Mutex
	conn  *pgx.Conn
	owned map[string]bool
}

func newOwner(pool *pgxpool.Pool, consumer string) *owner {
	return &owner{pool: pool, consumer: consumer, owned: map[string]bool{}}
}

// lockKey is the second lock key of a source: 31 bits of its hash (a
// collision only makes one replica own both sources).
func (o *owner) lockKey(source string) int32 {
	h := fnv.New32a()
	h.Write([]byte(o.consumer))
	h.Write([]byte{0})
	h.Write([]byte(source))
	return int32(h.Sum32() & 0x7fff_ffff)
}

// own takes the source's lock unless this replica holds it already;
// ErrNotOwner when another replica does.
func (o *owner) own(ctx context.Context, source string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn != nil && o.conn.IsClosed() {
		o.dropLocked(ctx)
	}
	if o.owned[source] {
		return nil
	}
	if o.conn == nil {
		c, err := pgx.ConnectConfig(ctx, o.pool.Config().ConnConfig.Copy())
		if err != nil {
			return fmt.Errorf("connect lock session: %w", err)
		}
		o.conn = c
	}
	got, err := db.New(o.conn).TryLockSource(ctx, db.TryLockSourceParams{LockClass: ownerLockClass, LockKey: o.lockKey(source)})
	if err != nil {
		o.dropLocked(ctx)
		return fmt.Errorf("lock source %s: %w", source, err)
	}
	if !got {
		return ErrNotOwner
	}
	o.owned[source] = true
	return nil
}

// session returns the lock session's backend pid (0 when this replica
// does not hold source) and the source's lock key, for the transaction's
// ownership check.
func (o *owner) session(source string) (pid uint32, key int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn != nil && !o.conn.IsClosed() && o.owned[source] {
		pid = o.conn.PgConn().PID()
	}
	return pid, o.lockKey(source)
}

// reset forgets the lock session (it ended or is suspect).
func (o *owner) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropLocked(context.Background())
}

func (o *owner) dropLocked(ctx context.Context) {
	if o.conn != nil {
		_ = o.conn.Close(context.WithoutCancel(ctx))
		o.conn = nil
	}
	clear(o.owned)
}

// close ends the lock session, releasing every source.
func (o *owner) close(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var err error
	if o.conn != nil {
		// Unlock first: the server frees a closed session's locks only when
		// its backend has exited, a moment after Close returns, and Close
		// promises the sources to other replicas at once.
		_, _ = o.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()")
		err = o.conn.Close(ctx)
		o.conn = nil
	}
	clear(o.owned)
	return err
}

// pid is the backend pid of the lock session (0: none), for tests.
func (o *owner) pid() uint32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn == nil {
		return 0
	}
	return o.conn.PgConn().PID()
}

package broadcast

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Close reasons sent in close frames.
const (
	ReasonTooSlow  = "client too slow"
	ReasonShutdown = "server shutting down"
	// ReasonTooManyRequests: the client kept sending past its request rate.
	ReasonTooManyRequests = "too many requests"
	// ReasonSessionEnded: the dashboard session the stream was opened with
	// was signed out (Hub.CloseSession).
	ReasonSessionEnded = "session ended"
	// ReasonSessionExpired and ReasonTokenExpired: the credential the stream
	// was opened with expired (auth.Principal.Expires).
	ReasonSessionExpired = "session expired"
	ReasonTokenExpired   = "token expired"
)

// transport is where a client's writer goroutine sends frames: a WebSocket
// connection in production, a discarding sink in benchmarks.
type transport interface {
	// write sends one text frame.
	write(p []byte) error
	// stuck reports whether the write under way started more than timeout
	// before now (a monotonic reading, see monoNow).
	stuck(now int64, timeout time.Duration) bool
	// close sends a close frame with code and reason and waits for the
	// handshake (bounded by the library's timeouts).
	close(code websocket.StatusCode, reason string)
	// abort drops the connection without a handshake.
	abort()
}

// monoBase anchors monoNow.
var monoBase = time.Now()

// monoNow is a monotonic clock reading in nanoseconds, never 0.
func monoNow() int64 { return int64(time.Since(monoBase)) + 1 }

// wsTransport is a transport over a coder/websocket connection.
//
// A write only records when it started; the hub's write watchdog
// (Hub.watchWrites) drops a connection whose write has taken longer than
// the write timeout. That is the bound a context with a deadline per write
// gives, without the context, timer and AfterFunc each such write would
// allocate, or the timer reset and stop a watchdog timer per client would
// cost: one write per message per client is the fan-out's hot path.
type wsTransport struct {
	conn    *websocket.Conn
	started atomic.Int64 // monoNow when the write under way started; 0 when idle
}

func newWSTransport(conn *websocket.Conn) *wsTransport { return &wsTransport{conn: conn} }

func (t *wsTransport) write(p []byte) error {
	t.started.Store(monoNow())
	err := t.conn.Write(context.Background(), websocket.MessageText, p)
	t.started.Store(0)
	return err
}

func (t *wsTransport) stuck(now int64, timeout time.Duration) bool {
	start := t.started.Load()
	return start != 0 && time.Duration(now-start) > timeout
}

func (t *wsTransport) close(code websocket.StatusCode, reason string) {
	_ = t.conn.Close(code, reason)
}

func (t *wsTransport) abort() { _ = t.conn.CloseNow() }

// entry is one queued message; pinned entries (snapshots, replays, errors)
// are never conflated and do not count towards the queue bounds.
type entry struct {
	m      *message
	pinned bool
}

// client is one connection: a queue bounded in bytes, drained by its own
// writer goroutine. The hub enqueues without ever blocking on the socket.
type client struct {
	hub *Hub
	tr  transport
	// ref marks an AWS reference client: flat odds inserts, nothing else.
	ref bool
	// own is the principal's counters (nil without a principal); session
	// is the auth.Principal.Session the connection was opened with.
	own     *owner
	session string

	// Guarded by hub.mu.
	topics map[topic]struct{}
	stamp  uint64 // last publish that enqueued to this client (dedup)
	// skip holds, per game, the odds sent as missed that must not be sent
	// again live (see resume.go); nil when empty.
	skip map[string]*skipSet

	mu           sync.Mutex
	q            []entry
	head         int
	bytes        int // bytes of all queued entries
	pinnedBytes  int // bytes of pinned queued entries
	conflateMark int // conflate again only past this many bytes
	closing      bool

	wake       chan struct{} // cap 1: work is queued
	done       chan struct{} // closed when the client starts closing
	writerDone chan struct{} // closed when the writer goroutine exits
}

func newClient(h *Hub, tr transport, ref bool) *client {
	return &client{
		hub: h, tr: tr, ref: ref,
		topics:     map[topic]struct{}{},
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// enqueue queues a published message; it never blocks on the socket. Under
// pressure it conflates, past the hard bound it closes the client.
func (c *client) enqueue(m *message) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	wasEmpty := c.head == len(c.q)
	c.q = append(c.q, entry{m: m})
	c.bytes += len(m.data)
	o := &c.hub.o
	if live := c.bytes - c.pinnedBytes; live > o.QueueBytes && c.bytes >= c.conflateMark {
		c.conflateLocked()
		c.conflateMark = c.bytes + o.QueueBytes/4
	}
	if c.bytes-c.pinnedBytes > o.HardQueueBytes {
		c.closeSlowLocked()
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if wasEmpty { // else the writer is draining or already woken
		c.signal()
	}
}

// enqueuePinned queues snapshots, replays or an error reply. A client that
// already has more than HardQueueBytes of unread pinned messages (it keeps
// subscribing without reading) is closed as too slow.
func (c *client) enqueuePinned(ms []*message) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if c.pinnedBytes > c.hub.o.HardQueueBytes {
		c.closeSlowLocked()
		c.mu.Unlock()
		return
	}
	for _, m := range ms {
		c.q = append(c.q, entry{m: m, pinned: true})
		c.bytes += len(m.data)
		c.pinnedBytes += len(m.data)
	}
	c.mu.Unlock()
	c.signal()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// conflateLocked keeps, of the queued unpinned odds messages, only the
// newest per game, provider, market and period (by observation time, then
// version: a late odds queued after a newer one goes first); other
// messages (market and provider frames among them) keep their order.
func (c *client) conflateLocked() {
	type series struct {
		game string
		q    quoteKey
	}
	best := make(map[series]int, 16)
	for i := c.head; i < len(c.q); i++ {
		e := c.q[i]
		if e.pinned || e.m.od == nil {
			continue
		}
		k := series{e.m.gameID, quoteOf(e.m.od)}
		if j, ok := best[k]; !ok || !c.q[j].m.od.Newer(*e.m.od) {
			best[k] = i
		}
	}
	keep := c.head
	for i := c.head; i < len(c.q); i++ {
		e := c.q[i]
		if !e.pinned && e.m.od != nil && best[series{e.m.gameID, quoteOf(e.m.od)}] != i {
			c.bytes -= len(e.m.data)
			c.hub.stats.conflated.Add(1)
			continue
		}
		c.q[keep] = e
		keep++
	}
	clear(c.q[keep:])
	c.q = c.q[:keep]
}

// closeSlowLocked drops the queue and closes the client with
// StatusPolicyViolation in the background. c.mu is held.
func (c *client) closeSlowLocked() {
	c.hub.stats.slowClosed.Add(1)
	c.markClosingLocked()
	go c.tr.close(websocket.StatusPolicyViolation, ReasonTooSlow)
}

// markClosingLocked stops the writer and drops what is queued; it reports
// whether this call did it.
func (c *client) markClosingLocked() bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.hub.stats.dropped.Add(uint64(len(c.q) - c.head))
	clear(c.q)
	c.q, c.head, c.bytes, c.pinnedBytes = nil, 0, 0, 0
	close(c.done)
	c.signal() // the writer sees closing and exits
	return true
}

// close closes the client with a close frame, once; it blocks for the
// close handshake.
func (c *client) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	first := c.markClosingLocked()
	c.mu.Unlock()
	if first {
		c.tr.close(code, reason)
	}
}

// abort drops the connection without a close frame (write or ping failed,
// or the peer is gone).
func (c *client) abort() {
	c.mu.Lock()
	c.markClosingLocked()
	c.mu.Unlock()
	c.tr.abort()
}

// writeBatch bounds the messages the writer takes per lock.
const writeBatch = 32

// popBatch moves up to writeBatch queued messages into buf; closing is
// true when the client is closing (buf is then empty).
func (c *client) popBatch(buf []*message) (_ []*message, closing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return buf, true
	}
	end := min(len(c.q), c.head+writeBatch)
	for i := c.head; i < end; i++ {
		e := c.q[i]
		c.q[i] = entry{}
		buf = append(buf, e.m)
		c.bytes -= len(e.m.data)
		if e.pinned {
			c.pinnedBytes -= len(e.m.data)
		}
	}
	c.head = end
	switch {
	case c.head == len(c.q):
		c.q, c.head = c.q[:0], 0
	case c.head >= 64 && c.head*2 >= len(c.q):
		// Reclaim the consumed front so a never-empty queue does not grow.
		n := copy(c.q, c.q[c.head:])
		clear(c.q[n:])
		c.q, c.head = c.q[:n], 0
	}
	if c.bytes-c.pinnedBytes <= c.hub.o.QueueBytes {
		c.conflateMark = 0
	}
	return buf, false
}

// writeLoop is the client's writer goroutine: woken when its queue becomes
// non-empty, it writes until the queue is empty.
func (c *client) writeLoop() {
	defer close(c.writerDone)
	buf := make([]*message, 0, writeBatch)
	for {
		<-c.wake
		for {
			var closing bool
			buf, closing = c.popBatch(buf[:0])
			if closing {
				return
			}
			if len(buf) == 0 {
				break
			}
			for _, m := range buf {
				if err := c.tr.write(m.data); err != nil {
					c.hub.log.Debug("broadcast write failed", "err", err)
					c.abort()
					return
				}
			}
			c.hub.stats.sent.Add(uint64(len(buf)))
			clear(buf)
		}
	}
}

// pingLoop pings the peer every interval; a missing pong drops it.
func (c *client) pingLoop(conn *websocket.Conn, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			select {
			case <-c.done: // closing anyway
			default:
				c.hub.log.Debug("broadcast ping failed", "err", err)
				c.abort()
			}
			return
		}
	}
}

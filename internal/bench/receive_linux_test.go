package bench

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// pollEvery is how long receive sleeps when no socket has input: the
// bound on how late it may stamp a receipt.
const pollEvery = 500 * time.Microsecond

// receive reads the text frames of every conn and calls fn with the index
// of the conn in conns, each payload and the time it was read, until stop is called; pings are
// answered.
//
// One goroutine polls an epoll set of all the sockets, taken out of the Go
// runtime's poller, without blocking, and sleeps pollEvery when none has
// input. A goroutine per socket would be woken, and would wake a thread,
// for every one of the 50,000 frames a second; those wake-ups are charged
// to the server's write calls on loopback, where a real analyst's socket
// is across a network and costs the server no such thing. Stamps are late
// by at most about pollEvery, so the latency reported can only be higher.
func receive(conns []*rawWS, fn func(i int, p []byte, at time.Time)) (stop func(), err error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	socks := make([]*epollConn, 0, len(conns))
	closeAll := func() {
		for _, s := range socks {
			_ = syscall.Close(s.fd)
		}
		_ = syscall.Close(epfd)
	}
	for i, c := range conns {
		s, err := detach(c)
		if err != nil {
			closeAll()
			return nil, err
		}
		s.fn = func(p []byte, at time.Time) { fn(i, p, at) }
		socks = append(socks, s)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			closeAll()
			return nil, fmt.Errorf("epoll add: %w", err)
		}
	}
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		events := make([]syscall.EpollEvent, 1024)
		for !stopped.Load() {
			n, err := syscall.EpollWait(epfd, events, 0)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return
			}
			for _, ev := range events[:n] {
				if s := socks[ev.Fd]; !s.readOnce() {
					_ = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
				}
			}
			if n < len(events) {
				time.Sleep(pollEvery)
			}
		}
	}()
	return func() { stopped.Store(true); <-done; closeAll() }, nil
}

// epollConn is one detached client socket and its unparsed input.
type epollConn struct {
	fd int
	in *frameBuf
	fn func(p []byte, at time.Time) // receive's fn for this conn
}

// detach takes a non-blocking duplicate of c's socket out of the Go
// runtime's poller (closing c), with what c's reader had buffered.
func detach(c *rawWS) (*epollConn, error) {
	tc, ok := c.c.(*net.TCPConn)
	if !ok {
		return nil, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) { fd, derr = syscall.Dup(int(f)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("dup: %w", derr)
	}
	s := &epollConn{fd: fd, in: newFrameBuf(c.pendingInput())}
	_ = c.c.Close()
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	return s, nil
}

// readOnce reads what the socket holds and hands every complete frame on;
// it reports false when the connection is finished.
func (s *epollConn) readOnce() bool {
	err := s.in.fill(func(p []byte) (int, error) { return syscall.Read(s.fd, p) })
	at := time.Now()
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
		return true
	}
	if err != nil {
		return false
	}
	return s.in.frames(func(op byte, payload []byte) bool {
		return onFrame(op, payload, at, s.fn, func(p []byte) error { _, err := syscall.Write(s.fd, p); return err })
	})
}

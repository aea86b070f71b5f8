package harness

import (
	"context"
	"net"
	"net/http"
)

// smallBuffer is the socket buffer of SmallSendBuffers and
// SmallReceiveBuffers: a few KiB instead of the megabytes loopback TCP
// would otherwise buffer.
const smallBuffer = 4 << 10

// SmallSendBuffers wraps l so that accepted connections have a small send
// buffer: a WebSocket client that stops reading backs up into the server's
// queue after a few KiB.
func SmallSendBuffers(l net.Listener) net.Listener { return smallSendListener{l} }

type smallSendListener struct{ net.Listener }

func (l smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(smallBuffer)
	}
	return c, err
}

// SmallReceiveBuffers is an HTTP client whose connections have a small
// receive buffer (see SmallSendBuffers), for a WebSocket dial.
func SmallReceiveBuffers() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(smallBuffer)
			}
			return c, err
		},
	}}
}

package bench

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// rawWS is a minimal WebSocket client for the latency benchmark: a
// handshake and one masked text frame out; receive reads the unmasked
// server frames that come back. A thousand of them share the two cores
// with the server under test, so the load generator must cost as little as
// it can; the dashboard and tests use coder/websocket.
type rawWS struct {
	c net.Conn
	r *bufio.Reader // holds what came after the handshake response
}

func dialRaw(rawURL, key string) (*rawWS, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
		u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(nonce), key)
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	return &rawWS{c: c, r: r}, nil
}

// writeText sends one masked text frame (clients must mask).
func (w *rawWS) writeText(p []byte) error {
	hdr := []byte{0x81}
	switch n := len(p); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		return errors.New("frame too large for this client")
	}
	mask := []byte{1, 2, 3, 4}
	hdr = append(hdr, mask...)
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ mask[i%4]
	}
	_, err := w.c.Write(append(hdr, out...))
	return err
}

func (w *rawWS) close() { w.c.Close() }

// frameBuf holds a connection's unparsed input.
type frameBuf struct {
	buf []byte
	n   int
}

func newFrameBuf(pending []byte) *frameBuf {
	f := &frameBuf{buf: make([]byte, max(64<<10, 2*len(pending)))}
	f.n = copy(f.buf, pending)
	return f
}

// fill reads once into the free space, growing it when full.
func (f *frameBuf) fill(read func([]byte) (int, error)) error {
	if f.n == len(f.buf) {
		f.buf = append(f.buf, make([]byte, len(f.buf))...)
	}
	n, err := read(f.buf[f.n:])
	if n > 0 {
		f.n += n
	}
	if err == nil && n == 0 {
		err = io.EOF
	}
	return err
}

// frames hands every complete frame to fn, in order, and keeps the rest;
// it stops early, reporting false, when fn does.
func (f *frameBuf) frames(fn func(op byte, payload []byte) bool) bool {
	off, ok := 0, true
	for ok {
		op, payload, size, complete := parseFrame(f.buf[off:f.n])
		if !complete {
			break
		}
		off += size
		ok = fn(op, payload)
	}
	f.n = copy(f.buf, f.buf[off:f.n])
	return ok
}

// parseFrame parses one unmasked server frame at the start of b.
func parseFrame(b []byte) (op byte, payload []byte, size int, ok bool) {
	if len(b) < 2 {
		return 0, nil, 0, false
	}
	op = b[0] & 0x0f
	n, h := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, nil, 0, false
		}
		n, h = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return 0, nil, 0, false
		}
		n, h = binary.BigEndian.Uint64(b[2:10]), 10
	}
	if uint64(len(b)-h) < n {
		return 0, nil, 0, false
	}
	return op, b[h : h+int(n)], h + int(n), true
}

// onFrame handles one server frame for receive: text and binary frames go
// to fn, a ping is answered with write, a close frame ends the stream.
func onFrame(op byte, payload []byte, at time.Time, fn func([]byte, time.Time), write func([]byte) error) bool {
	switch op {
	case 0x1, 0x2:
		fn(payload, at)
	case 0x9: // answer with a pong, masked with a zero key
		if len(payload) > 125 {
			return false
		}
		return write(append([]byte{0x8a, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)) == nil
	case 0x8:
		return false
	}
	return true
}

// pendingInput returns what w's reader buffered past the handshake.
func (w *rawWS) pendingInput() []byte {
	p, _ := w.r.Peek(w.r.Buffered())
	return p
}

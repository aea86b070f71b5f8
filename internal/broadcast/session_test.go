package broadcast

import (
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestCloseSession: signing a dashboard session out closes its streams
// with 1008 "session ended", and no other.
func TestCloseSession(t *testing.T) {
	h := New(&fakeStore{}, Options{})
	url := serveAs(t, h)
	a1 := dial(t, url, as("X-Principal", "alice", "X-Session", "s1"))
	a2 := dial(t, url, as("X-Principal", "alice", "X-Session", "s1"))
	b := dial(t, url, as("X-Principal", "alice", "X-Session", "s2"))
	waitFor(t, func() bool { return h.Stats().Clients == 3 })
	h.CloseSession("s1")
	for _, c := range []*websocket.Conn{a1, a2} {
		if code, reason := closeStatus(t, c); code != websocket.StatusPolicyViolation || reason != ReasonSessionEnded {
			t.Errorf("closed with %v %q, want 1008 %q", code, reason, ReasonSessionEnded)
		}
	}
	subscribe(t, b, "game:g1")
	if f := read(t, b); f.Type != "snapshot" {
		t.Fatalf("the other session's stream: got %+v, want a snapshot", f)
	}
}

// TestExpiredCredentialClosesStream: a stream ends when the token or
// session it was opened with expires.
func TestExpiredCredentialClosesStream(t *testing.T) {
	url := serveAs(t, New(&fakeStore{}, Options{}))
	exp := time.Now().Add(300 * time.Millisecond).Format(time.RFC3339Nano)
	tok := dial(t, url, as("X-Principal", "alice", "X-Expires", exp))
	sess := dial(t, url, as("X-Principal", "alice", "X-Expires", exp, "X-Session", "s1"))
	keyed := dial(t, url, as("X-Principal", "alice"))
	for c, want := range map[*websocket.Conn]string{tok: ReasonTokenExpired, sess: ReasonSessionExpired} {
		if code, reason := closeStatus(t, c); code != websocket.StatusPolicyViolation || reason != want {
			t.Errorf("closed with %v %q, want 1008 %q", code, reason, want)
		}
	}
	subscribe(t, keyed, "game:g1")
	if f := read(t, keyed); f.Type != "snapshot" {
		t.Fatalf("a stream without expiry: got %+v, want a snapshot", f)
	}
}

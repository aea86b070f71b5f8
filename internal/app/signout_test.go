package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSignOutClosesStreams: a browser's stream, opened with a token minted
// from its dashboard session, is closed (1008 "session ended") when that
// session signs out.
func TestSignOutClosesStreams(t *testing.T) {
	k := newKeys()
	_, base := startServer(t, map[string]string{"ODDSFEED_API_KEYS": k.spec})
	cookie, csrf := adminSession(t, base, k.admin)
	post := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, nil)
		req.AddCookie(cookie)
		req.Header.Set("X-CSRF-Token", csrf)
		req.Header.Set("Origin", base)
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post("/v1/stream/token")
	var tok struct{ Token string }
	err := json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("stream token: %d %v", res.StatusCode, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/v1/stream?token="+tok.Token,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		t.Fatalf("dial with the session's token: %v", err)
	}
	defer c.CloseNow()
	send(t, c, map[string]any{"type": "subscribe", "topics": []string{"all"}})
	syncPoint(t, c)

	res = post("/signout")
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode >= 400 {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "session ended" {
			t.Fatalf("stream after sign-out: %v, want close 1008 \"session ended\"", err)
		}
		return
	}
}

package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStreamTokens(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tk := NewTokens(nil, time.Minute, clock)
	p := Principal{Name: "alice", Role: RoleAnalyst}
	tok := tk.Issue(p)
	want := Principal{Name: "alice", Role: RoleAnalyst, Expires: now.Add(StreamTTL)}
	if got, err := tk.Check(tok); err != nil || got != want {
		t.Fatalf("Check = %v, %v; want %v", got, err, want)
	}
	if _, err := NewTokens(nil, time.Minute, clock).Check(tok); err == nil {
		t.Error("a token signed with another secret was accepted")
	}
	if _, err := tk.Check(tok[:len(tok)-2] + "xx"); err == nil {
		t.Error("a tampered token was accepted")
	}
	now = now.Add(2 * time.Minute)
	if _, err := tk.Check(tok); err == nil {
		t.Error("an expired token was accepted")
	}
	now = now.Add(-2 * time.Minute)

	ws := func(tok string) *http.Request {
		r := httptest.NewRequest("GET", "/v1/stream?token="+tok, nil)
		r.Header.Set("Upgrade", "websocket")
		return r
	}
	if got, ok := tk.Authenticate(ws(tok)); !ok || got != want {
		t.Errorf("upgrade with token: %v %v", got, ok)
	}
	if _, ok := tk.Authenticate(ws(tok)); ok {
		t.Error("a token was accepted twice")
	}
	plain := httptest.NewRequest("GET", "/v1/games?token="+tk.Issue(p), nil)
	if _, ok := tk.Authenticate(plain); ok {
		t.Error("a token was accepted on a plain request")
	}
	mint := ws(tk.Issue(p))
	mint.URL.Path = "/v1/stream/token"
	if _, ok := tk.Authenticate(mint); ok {
		t.Error("a token was accepted on another route than the stream")
	}
	post := ws(tk.Issue(p))
	post.Method = "POST"
	if _, ok := tk.Authenticate(post); ok {
		t.Error("a token was accepted on a POST")
	}
	if _, ok := NewKeyring().Authenticate(ws(tk.Issue(p))); ok {
		t.Error("the keyring took a stream token for an API key")
	}
}

// TestStreamTokenOfSession: a token minted with a dashboard session carries
// the session (so its stream ends with it) and expires with it.
func TestStreamTokenOfSession(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tk := NewTokens(nil, time.Minute, func() time.Time { return now })
	p := Principal{Name: "bob", Role: RoleAdmin, Session: "session-id", Expires: now.Add(time.Hour)}
	got, err := tk.Redeem(tk.Issue(p))
	if err != nil || got != p {
		t.Fatalf("Redeem = %v, %v; want %v", got, err, p)
	}
}

// TestUsedTokensBounded: the redeemed-token table forgets tokens whose
// redeem window is over.
func TestUsedTokensBounded(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tk := NewTokens(nil, time.Minute, func() time.Time { return now })
	p := Principal{Name: "alice", Role: RoleAnalyst}
	for range 3000 {
		if _, err := tk.Redeem(tk.Issue(p)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if n := len(tk.used); n > 2100 {
		t.Errorf("%d used tokens kept; want the expired ones swept", n)
	}
}

// TestStreamTokenOpensOnlyTheStream: behind RequireAny, as the server
// mounts it, a token minted for a stream cannot mint another (a leaked
// token used to mint tokens forever) nor read anything, and opens the
// stream once.
func TestStreamTokenOpensOnlyTheStream(t *testing.T) {
	tk := NewTokens(nil, time.Minute, nil)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		_, _ = w.Write([]byte(tk.Issue(p)))
	})
	mux := http.NewServeMux()
	mux.Handle("/", RequireAny([]Authenticator{NewKeyring(), tk}, RoleAnalyst)(ok))
	tok := tk.Issue(Principal{Name: "alice", Role: RoleAnalyst})
	do := func(method, path string) int {
		r := httptest.NewRequest(method, path+"?token="+tok, nil)
		r.Header.Set("Upgrade", "websocket")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Code
	}
	for _, c := range []struct{ method, path string }{{"POST", "/v1/stream/token"}, {"GET", "/v1/stream/token"}, {"GET", "/v1/games"}} {
		if code := do(c.method, c.path); code != http.StatusUnauthorized {
			t.Errorf("%s %s with a stream token: %d, want 401", c.method, c.path, code)
		}
	}
	if code := do("GET", StreamPath); code != http.StatusOK {
		t.Errorf("GET %s with a stream token: %d, want 200", StreamPath, code)
	}
	if code := do("GET", StreamPath); code != http.StatusUnauthorized {
		t.Errorf("GET %s with the token again: %d, want 401", StreamPath, code)
	}
}

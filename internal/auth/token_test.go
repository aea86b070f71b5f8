package auth

import (
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
	if got, err := tk.Check(tok); err != nil || got != p {
		t.Fatalf("Check = %v, %v", got, err)
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

	k := NewKeyring().WithTokens(tk)
	ws := httptest.NewRequest("GET", "/v1/stream?token="+tok, nil)
	ws.Header.Set("Upgrade", "websocket")
	if got, ok := k.Authenticate(ws); !ok || got != p {
		t.Errorf("upgrade with token: %v %v", got, ok)
	}
	plain := httptest.NewRequest("GET", "/v1/games?token="+tok, nil)
	if _, ok := k.Authenticate(plain); ok {
		t.Error("a token was accepted on a plain request")
	}
}

package dashboard_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestSessionBounds: a principal has at most 20 sessions (a new one ends
// the oldest), and a table full of live sessions refuses sign-in with 503
// and Retry-After until one expires. OnSessionEnd hears of every end.
func TestSessionBounds(t *testing.T) {
	key := func(s *limitsServer) url.Values { return url.Values{"apikey": {s.analystKey}} }

	t.Run("per principal", func(t *testing.T) {
		s := newLimitsServer(t, time.Hour)
		var bs []*browser
		var ids []string
		for i := range 21 {
			res, b := s.signin(t, key(s))
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in %d: %d", i+1, res.StatusCode)
			}
			bs, ids = append(bs, b), append(ids, s.sessionID(t, b))
		}
		if res, _ := bs[0].req("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the principal's oldest session after its 21st: %d, want 303 (ended)", res.StatusCode)
		}
		for _, i := range []int{1, 20} {
			if res, _ := bs[i].req("GET", "/", nil); res.StatusCode != http.StatusOK {
				t.Errorf("session %d of 21: %d, want 200", i+1, res.StatusCode)
			}
		}
		if got := waitEnded(t, s); got != ids[0] {
			t.Errorf("OnSessionEnd(%q), want the oldest session %q", got, ids[0])
		}
	})

	t.Run("in total", func(t *testing.T) {
		s := newLimitsServer(t, time.Hour)
		s.d.SetMaxSessions(3)
		var bs []*browser
		for i := range 3 {
			res, b := s.signin(t, key(s))
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in %d: %d", i+1, res.StatusCode)
			}
			bs = append(bs, b)
		}
		res, _ := s.signin(t, url.Values{"username": {adminUser}, "password": {password}})
		retryAfter(t, "sign-in into a full table", res, http.StatusServiceUnavailable, time.Hour)
		for i, b := range bs {
			if res, _ := b.req("GET", "/", nil); res.StatusCode != http.StatusOK {
				t.Errorf("live session %d after the refusal: %d, want 200", i+1, res.StatusCode)
			}
		}
		s.now.Advance(time.Hour)
		if res, _ := s.signin(t, key(s)); res.StatusCode != http.StatusSeeOther {
			t.Errorf("sign-in once the sessions expired: %d, want 303", res.StatusCode)
		}
		for range 3 {
			waitEnded(t, s)
		}
	})
}

// TestOnSessionEnd: sign-out, expiry (seen by a request, or by nobody) and
// a new sign-in from the same browser end the session, and OnSessionEnd is
// called with its id.
func TestOnSessionEnd(t *testing.T) {
	s := newLimitsServer(t, time.Hour)
	signin := func() (*browser, string, string) {
		res, b := s.signin(t, url.Values{"apikey": {s.analystKey}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		_, page := b.req("GET", "/", nil)
		m := csrfMeta.FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no csrf-token meta on the board page")
		}
		return b, s.sessionID(t, b), m[1]
	}

	b, id, csrf := signin()
	if res, _ := b.req("POST", "/signout", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	if got := waitEnded(t, s); got != id {
		t.Errorf("sign-out: OnSessionEnd(%q), want %q", got, id)
	}

	b, id, _ = signin()
	s.now.Advance(time.Hour)
	if res, _ := b.req("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("board after the TTL: %d, want 303", res.StatusCode)
	}
	if got := waitEnded(t, s); got != id {
		t.Errorf("expiry: OnSessionEnd(%q), want %q", got, id)
	}

	b, id, _ = signin()
	if res, _ := b.req("POST", "/signin", url.Values{"apikey": {s.analystKey}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", res.StatusCode)
	}
	if got := waitEnded(t, s); got != id {
		t.Errorf("sign-in again: OnSessionEnd(%q), want the replaced session %q", got, id)
	}

	// Expiry with no request at all: the dashboard's own timer.
	idle := newLimitsServer(t, time.Second)
	res, ib := idle.signin(t, url.Values{"apikey": {idle.analystKey}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	want := idle.sessionIDOf(t, ib) // "" if it expired already on a slow machine
	if got := waitEnded(t, idle); want != "" && got != want {
		t.Errorf("idle expiry: OnSessionEnd(%q), want %q", got, want)
	}
}

// waitEnded returns the next session id OnSessionEnd is called with.
func waitEnded(t *testing.T, s *limitsServer) string {
	t.Helper()
	select {
	case id := <-s.ended:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("OnSessionEnd was not called within 10s")
		return ""
	}
}

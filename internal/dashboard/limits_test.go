package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
)

// limitsServer is a dashboard alone (newDashServer) with users ana
// (analyst) and ops (admin) hashed cheaply, an analyst API key, an
// adjustable clock and a record of the sessions ended.
type limitsServer struct {
	URL        string
	d          *dashboard.Dashboard
	analystKey string
	now        *clock
	ended      chan string
}

func newLimitsServer(t *testing.T, ttl time.Duration) *limitsServer {
	t.Helper()
	hash := dashboard.HashPasswordIter(password, dashboard.MinIterations)
	users, err := dashboard.ParseUsers(analystUser + ":analyst:" + hash + "," + adminUser + ":admin:" + hash)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeyring()
	key, keyHash := auth.NewKey()
	keys.Add(auth.Principal{Name: "desk", Role: auth.RoleAnalyst}, keyHash)
	s := &limitsServer{analystKey: key, now: &clock{}, ended: make(chan string, 100)}
	s.d, s.URL = newDashServer(t, dashboard.Options{Keys: keys, Users: users, SessionTTL: ttl, Now: s.now.Now,
		OnSessionEnd: func(id string) { s.ended <- id }})
	return s
}

// signin posts the sign-in form from a new browser, which it returns. The
// browser gives up after 20s (a sign-in that hangs fails the test).
func (s *limitsServer) signin(t *testing.T, form url.Values) (*http.Response, *browser) {
	t.Helper()
	b := newBrowser(t, s.URL)
	b.c.Timeout = 20 * time.Second
	res, _ := b.req("POST", "/signin", form)
	return res, b
}

func (s *limitsServer) password(t *testing.T, user, pw string) int {
	t.Helper()
	res, _ := s.signin(t, url.Values{"username": {user}, "password": {pw}})
	return res.StatusCode
}

// sessionID is the id of b's session as OnSessionEnd names it: its
// requests' auth.Principal.Session.
func (s *limitsServer) sessionID(t *testing.T, b *browser) string {
	t.Helper()
	id := s.sessionIDOf(t, b)
	if id == "" {
		t.Fatal("the browser has no live session")
	}
	return id
}

// sessionIDOf is sessionID, "" when b has no live session.
func (s *limitsServer) sessionIDOf(t *testing.T, b *browser) string {
	t.Helper()
	res, body := b.req("GET", "/whoami", nil)
	var p struct {
		Session string    `json:"session"`
		Expires time.Time `json:"expires"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
		return ""
	}
	if p.Session == "" || p.Expires.IsZero() {
		t.Errorf("a session's principal has Session %q and Expires %v", p.Session, p.Expires)
	}
	return p.Session
}

// retryAfter checks a refusal's status and Retry-After (1 to max seconds).
func retryAfter(t *testing.T, what string, res *http.Response, status int, max time.Duration) {
	t.Helper()
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != status || err != nil || ra < 1 || ra > int(max.Seconds()) {
		t.Errorf("%s: %d Retry-After %q, want %d and 1..%v", what, res.StatusCode, res.Header.Get("Retry-After"), status, max)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("%s: a refusal sets a cookie", what)
	}
}

// TestSignInThrottle: failed sign-ins are limited per username (5 in 15
// minutes) and per client address (20), with 429 and Retry-After, before
// any password is hashed; a success resets the username's count.
func TestSignInThrottle(t *testing.T) {
	good := url.Values{"username": {analystUser}, "password": {password}}

	t.Run("per username", func(t *testing.T) {
		s := newLimitsServer(t, time.Hour)
		for i := range 5 {
			if code := s.password(t, analystUser, "wrong"); code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d, want 401", i+1, code)
			}
		}
		// Blocked even with the right password, and without hashing: with
		// every hashing slot taken, a check would wait (then 503).
		s.d.SetHashWait(time.Minute)
		release := s.d.FillHashing()
		res, _ := s.signin(t, good)
		release()
		retryAfter(t, "6th sign-in of the user", res, http.StatusTooManyRequests, 15*time.Minute)
		if code := s.password(t, adminUser, password); code != http.StatusSeeOther {
			t.Errorf("another user from the same address: %d, want 303", code)
		}
		s.now.Advance(15*time.Minute + time.Second)
		if code := s.password(t, analystUser, password); code != http.StatusSeeOther {
			t.Errorf("after the window: %d, want 303", code)
		}
	})

	t.Run("a success resets the username's count", func(t *testing.T) {
		s := newLimitsServer(t, time.Hour)
		for round := range 3 {
			for range 4 {
				s.password(t, analystUser, "wrong")
			}
			if code := s.password(t, analystUser, password); code != http.StatusSeeOther {
				t.Fatalf("round %d: sign-in after 4 failures: %d, want 303", round, code)
			}
		}
	})

	t.Run("concurrent attempts cannot slip past", func(t *testing.T) {
		s := newLimitsServer(t, time.Hour)
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				res, _ := s.signin(t, url.Values{"username": {analystUser}, "password": {"wrong"}})
				mu.Lock()
				codes[res.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[http.StatusUnauthorized] != 5 || codes[http.StatusTooManyRequests] != 7 {
			t.Errorf("12 concurrent failures: %v, want 5 × 401 and 7 × 429", codes)
		}
	})

	t.Run("per address", func(t *testing.T) {
		s := newLimitsServer(t, time.Hour)
		for i := range 20 {
			if code := s.password(t, "nobody-"+strconv.Itoa(i), "wrong"); code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d, want 401", i+1, code)
			}
		}
		res, _ := s.signin(t, url.Values{"username": {adminUser}, "password": {password}})
		retryAfter(t, "password sign-in from the address", res, http.StatusTooManyRequests, 15*time.Minute)
		res, _ = s.signin(t, url.Values{"apikey": {s.analystKey}})
		retryAfter(t, "API-key sign-in from the address", res, http.StatusTooManyRequests, 15*time.Minute)
		s.now.Advance(15*time.Minute + time.Second)
		if res, _ := s.signin(t, url.Values{"apikey": {s.analystKey}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("after the window: %d, want 303", res.StatusCode)
		}
	})
}

// TestSignInHashingBusy: while every hashing slot is taken (slow hashes in
// progress), a password sign-in waits a bounded time, then gets 503 with
// Retry-After; the attempt does not count as a failure.
func TestSignInHashingBusy(t *testing.T) {
	s := newLimitsServer(t, time.Hour)
	s.d.SetHashWait(50 * time.Millisecond)
	release := s.d.FillHashing()
	for i := range 6 {
		res, _ := s.signin(t, url.Values{"username": {analystUser}, "password": {password}})
		retryAfter(t, "sign-in while hashing is full "+strconv.Itoa(i), res, http.StatusServiceUnavailable, time.Minute)
	}
	release()
	if code := s.password(t, analystUser, password); code != http.StatusSeeOther {
		t.Errorf("sign-in once hashing is free: %d, want 303", code)
	}
}

// TestSafeNext: the page to go to after sign-in is a plain same-origin
// path, or "/".
func TestSafeNext(t *testing.T) {
	s := newLimitsServer(t, time.Hour)
	evil := []string{
		"/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com", "\t//evil.com", " /evil.com", "//evil.com", "///evil.com",
		"/\\evil.com", "/\\/evil.com", "\\\\evil.com", "https://evil.com", "javascript:alert(1)", "evil.com", "",
		"/%09/evil.com", "/%2F/evil.com", "/%2f%2fevil.com", "/%5Cevil.com", "/%0a/evil.com", "/%zz",
		"/games/a b", "/\x00/evil.com", "/\x7f/evil.com", "/\u2028/evil.com", "/\u200b/evil.com", "/\u3000/evil.com",
		"/signin", "/signin?next=//evil.com",
	}
	for _, next := range evil {
		res, _ := s.signin(t, url.Values{"apikey": {s.analystKey}, "next": {next}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("next %q: %d Location %q, want 303 /", next, res.StatusCode, loc)
		}
	}
	for _, next := range []string{"/reports", "/games/football-000", "/?sport=soccer&q=ars", "/pipeline#dead-letters"} {
		res, _ := s.signin(t, url.Values{"apikey": {s.analystKey}, "next": {next}})
		if loc := res.Header.Get("Location"); loc != next {
			t.Errorf("next %q: Location %q, want it kept", next, loc)
		}
	}
}

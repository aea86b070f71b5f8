package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

// maxSessions bounds the session table; past it, expired sessions are swept
// and, if still full, the oldest is dropped.
const maxSessions = 100_000

// session is one signed-in browser.
type session struct {
	p       auth.Principal
	csrf    string
	expires time.Time
}

// sessions is the server-side session table. It lives in this process:
// sessions do not survive a restart and are not shared between replicas
// (behind a load balancer, use sticky sessions or sign in again).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: make(map[string]*session), ttl: ttl, now: now}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for p and returns its id.
func (s *sessions) create(p auth.Principal) (string, *session) {
	id := randomToken()
	sess := &session{p: p, csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		s.sweepLocked()
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[id] = sess
	return id, sess
}

// get returns the live session id names.
func (s *sessions) get(id string) (*session, bool) {
	if len(id) != 43 { // base64url of 32 bytes
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok {
		return nil, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.m, id)
		return nil, false
	}
	return sess, true
}

// delete ends a session.
func (s *sessions) delete(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (s *sessions) sweepLocked() {
	now := s.now()
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
}

// csrfOK compares a presented CSRF token with the session's in constant time.
func (sess *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

package dashboard

import (
	"container/list"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

const (
	// maxSessions bounds the session table: when it is full of live
	// sessions, sign-in is refused (503) until the oldest expires.
	maxSessions = 10_000
	// maxSessionsPerPrincipal bounds one principal's sessions: a new one
	// ends the principal's oldest.
	maxSessionsPerPrincipal = 20
)

// errSessionsFull is create's error when the table is full of live sessions.
var errSessionsFull = errors.New("dashboard: the session table is full")

// session is one signed-in browser.
type session struct {
	// id names the session to OnSessionEnd and in auth.Principal.Session;
	// unlike the cookie value (key), it is no credential.
	id      string
	key     string
	p       auth.Principal
	csrf    string
	expires time.Time
	inAll   *list.Element // in sessions.all
	inMine  *list.Element // in sessions.byPrincipal[p.Name]
}

// sessions is the server-side session table. It lives in this process:
// sessions do not survive a restart and are not shared between replicas
// (behind a load balancer, use sticky sessions or sign in again).
//
// Every session has the same TTL, so the order of creation is the order of
// expiry: expired sessions are dropped from the front of one list, O(1)
// amortized, on every create and get and by a timer set for the oldest
// session's expiry (so an idle server still ends sessions on time).
type sessions struct {
	ttl          time.Duration
	now          func() time.Time
	max, perUser int
	// onEnd, when set, is called with the id of every session that ends
	// (sign-out, expiry, eviction, replacement), never under mu.
	onEnd func(id string)

	mu          sync.Mutex
	m           map[string]*session // by cookie value
	all         *list.List          // of *session, oldest first
	byPrincipal map[string]*list.List
	timer       *time.Timer
	timerSet    bool
}

func newSessions(ttl time.Duration, now func() time.Time, onEnd func(string)) *sessions {
	return &sessions{ttl: ttl, now: now, max: maxSessions, perUser: maxSessionsPerPrincipal, onEnd: onEnd,
		m: make(map[string]*session), all: list.New(), byPrincipal: make(map[string]*list.List)}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for p. When the table is full of live sessions
// it returns errSessionsFull and how long until the oldest expires.
func (s *sessions) create(p auth.Principal) (*session, time.Duration, error) {
	sess := &session{id: randomToken()[:22], key: randomToken(), p: p, csrf: randomToken()}
	s.mu.Lock()
	now := s.now()
	ended := s.sweepLocked(now, nil)
	if mine := s.byPrincipal[p.Name]; mine != nil && mine.Len() >= s.perUser {
		ended = append(ended, s.removeLocked(mine.Front().Value.(*session)))
	}
	if len(s.m) >= s.max {
		wait := s.all.Front().Value.(*session).expires.Sub(now)
		s.mu.Unlock()
		s.ended(ended)
		return nil, wait, errSessionsFull
	}
	sess.expires = now.Add(s.ttl)
	s.m[sess.key] = sess
	sess.inAll = s.all.PushBack(sess)
	mine := s.byPrincipal[p.Name]
	if mine == nil {
		mine = list.New()
		s.byPrincipal[p.Name] = mine
	}
	sess.inMine = mine.PushBack(sess)
	s.armLocked(now)
	s.mu.Unlock()
	s.ended(ended)
	return sess, 0, nil
}

// get returns the live session a cookie value names.
func (s *sessions) get(key string) (*session, bool) {
	if len(key) != 43 { // base64url of 32 bytes
		return nil, false
	}
	s.mu.Lock()
	ended := s.sweepLocked(s.now(), nil)
	sess, ok := s.m[key]
	if ok && !s.now().Before(sess.expires) { // the clock went back: not swept
		ended = append(ended, s.removeLocked(sess))
		sess, ok = nil, false
	}
	s.mu.Unlock()
	s.ended(ended)
	return sess, ok
}

// delete ends the session a cookie value names, if it is live.
func (s *sessions) delete(key string) {
	s.mu.Lock()
	var ended []string
	if sess, ok := s.m[key]; ok {
		ended = append(ended, s.removeLocked(sess))
	}
	s.mu.Unlock()
	s.ended(ended)
}

// sweepLocked removes the expired sessions, appending their ids to ended.
func (s *sessions) sweepLocked(now time.Time, ended []string) []string {
	for e := s.all.Front(); e != nil; e = s.all.Front() {
		sess := e.Value.(*session)
		if now.Before(sess.expires) {
			break
		}
		ended = append(ended, s.removeLocked(sess))
	}
	return ended
}

func (s *sessions) removeLocked(sess *session) string {
	delete(s.m, sess.key)
	s.all.Remove(sess.inAll)
	if mine := s.byPrincipal[sess.p.Name]; mine != nil {
		mine.Remove(sess.inMine)
		if mine.Len() == 0 {
			delete(s.byPrincipal, sess.p.Name)
		}
	}
	return sess.id
}

// armLocked sets the timer for the oldest session's expiry, unless it is
// set already (it re-arms itself).
func (s *sessions) armLocked(now time.Time) {
	if s.timerSet || s.all.Len() == 0 {
		return
	}
	d := s.all.Front().Value.(*session).expires.Sub(now)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.expire)
	} else {
		s.timer.Reset(d)
	}
	s.timerSet = true
}

// expire is the timer's sweep.
func (s *sessions) expire() {
	s.mu.Lock()
	now := s.now()
	ended := s.sweepLocked(now, nil)
	s.timerSet = false
	s.armLocked(now)
	s.mu.Unlock()
	s.ended(ended)
}

func (s *sessions) ended(ids []string) {
	if s.onEnd == nil {
		return
	}
	for _, id := range ids {
		s.onEnd(id)
	}
}

// csrfOK compares a presented CSRF token with the session's in constant time.
func (sess *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

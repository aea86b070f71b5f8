package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tokens issues and checks stream tokens. Browsers cannot set headers on a
// WebSocket handshake, so an analyst signed in with a key or a dashboard
// session asks for a token (POST /v1/stream/token) and opens
// /v1/stream?token=<token>.
//
// A token is not an API key: Authenticate accepts it on GET /v1/stream
// (StreamPath) alone, and only once (it is single use), within
// its TTL of issue. The stream it opened lasts until the token expires: the
// expiry of the session it was minted with, else StreamTTL after issue
// (Principal.Expires; the hub closes the stream then). A token is principal,
// role, redeem-by time, a random id, session and expiry, signed with
// HMAC-SHA256.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	mu sync.Mutex
	// used holds the ids of redeemed tokens until their redeem-by time (Unix
	// seconds); past it the signature check refuses them anyway. At most
	// maxUsedTokens: past that, redeeming fails until some expire.
	used      map[string]int64
	nextSweep int
}

// StreamTTL bounds the life of a stream opened with a token minted with an
// API key (a session's token ends with the session, at most StreamTTL).
const StreamTTL = 12 * time.Hour

// maxUsedTokens bounds the redeemed-token table: tokens redeemed within one
// TTL. Past it a token is refused (fail closed) until older ones expire.
const maxUsedTokens = 100_000

// Token errors. Their texts are safe to show to the client.
var (
	errBadToken     = errors.New("bad token")
	errTokenExpired = errors.New("token expired")
	errTokenUsed    = errors.New("token already used")
	errTokensFull   = errors.New("too many stream tokens in use; try again shortly")
)

// NewTokens makes a token issuer; ttl is how long after issue a token may
// be redeemed. secret nil draws a random one (tokens then work only on this
// process; replicas behind a load balancer share a configured secret, but
// single use is per process).
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) *Tokens {
	if secret == nil {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: secret, ttl: ttl, now: now, used: map[string]int64{}, nextSweep: 1024}
}

// TTL is how long an issued token may be redeemed.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue returns a token for p, bound to p.Session and ending at p.Expires
// (at most StreamTTL from now).
func (t *Tokens) Issue(p Principal) string {
	now := t.now()
	exp := now.Add(StreamTTL)
	if !p.Expires.IsZero() && p.Expires.Before(exp) {
		exp = p.Expires
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	payload := strings.Join([]string{p.Name, string(p.Role), strconv.FormatInt(now.Add(t.ttl).Unix(), 10),
		base64.RawURLEncoding.EncodeToString(id[:]), p.Session, strconv.FormatInt(exp.Unix(), 10)}, "|")
	enc := base64.RawURLEncoding.EncodeToString([]byte(payload))
	return enc + "." + t.sign(enc)
}

func (t *Tokens) sign(enc string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(enc))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// claims is a token's verified payload.
type claims struct {
	p        Principal
	id       string
	redeemBy int64
}

// check verifies a token's signature and times.
func (t *Tokens) check(token string) (claims, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 || !hmac.Equal([]byte(sig), []byte(t.sign(enc))) {
		return claims{}, errBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return claims{}, errBadToken
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 6 {
		return claims{}, errBadToken
	}
	redeemBy, err1 := strconv.ParseInt(parts[2], 10, 64)
	exp, err2 := strconv.ParseInt(parts[5], 10, 64)
	if err1 != nil || err2 != nil {
		return claims{}, errBadToken
	}
	if now := t.now().Unix(); now > redeemBy || now > exp {
		return claims{}, errTokenExpired
	}
	p := Principal{Name: parts[0], Role: Role(parts[1]), Session: parts[4], Expires: time.Unix(exp, 0).UTC()}
	return claims{p: p, id: parts[3], redeemBy: redeemBy}, nil
}

// Check returns the principal of a valid token that may still be redeemed,
// without redeeming it. Its Expires is when the stream it opens ends.
func (t *Tokens) Check(token string) (Principal, error) {
	c, err := t.check(token)
	return c.p, err
}

// Redeem is Check, once: a token already redeemed is refused.
func (t *Tokens) Redeem(token string) (Principal, error) {
	c, err := t.check(token)
	if err != nil {
		return Principal{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.used[c.id]; dup {
		return Principal{}, errTokenUsed
	}
	if len(t.used) >= t.nextSweep {
		now := t.now().Unix()
		for id, by := range t.used {
			if now > by {
				delete(t.used, id)
			}
		}
		t.nextSweep = min(max(1024, 2*len(t.used)), maxUsedTokens)
		if len(t.used) >= maxUsedTokens {
			return Principal{}, errTokensFull
		}
	}
	t.used[c.id] = c.redeemBy
	return c.p, nil
}

// StreamPath is the one route a stream token opens.
const StreamPath = "/v1/stream"

// Authenticate redeems the stream token of a WebSocket upgrade request
// to StreamPath (GET with "Upgrade: websocket" and ?token=): a token
// authenticates nothing else, whatever routes Authenticate guards.
func (t *Tokens) Authenticate(r *http.Request) (Principal, bool) {
	if r.Method != http.MethodGet || r.URL.Path != StreamPath || !isUpgrade(r) {
		return Principal{}, false
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return Principal{}, false
	}
	p, err := t.Redeem(tok)
	return p, err == nil
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

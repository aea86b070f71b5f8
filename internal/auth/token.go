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
	"time"
)

// Tokens issues and checks short-lived stream tokens. Browsers cannot set
// headers on a WebSocket handshake, so an analyst signed in with a key asks
// for a token (POST /v1/stream/token) and opens /v1/stream?token=<token>.
// A token is principal, role and expiry, signed with HMAC-SHA256; it is only
// accepted on WebSocket upgrade requests.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens makes a token issuer. secret nil draws a random one (tokens
// then work only on this process; replicas behind a load balancer share a
// configured secret).
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) *Tokens {
	if secret == nil {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: secret, ttl: ttl, now: now}
}

// TTL is how long an issued token is valid.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue returns a token for p.
func (t *Tokens) Issue(p Principal) string {
	payload := p.Name + "|" + string(p.Role) + "|" + strconv.FormatInt(t.now().Add(t.ttl).Unix(), 10)
	enc := base64.RawURLEncoding.EncodeToString([]byte(payload))
	return enc + "." + t.sign(enc)
}

func (t *Tokens) sign(enc string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(enc))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errBadToken = errors.New("bad token")

// Check returns the principal of a valid, unexpired token.
func (t *Tokens) Check(token string) (Principal, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 || !hmac.Equal([]byte(sig), []byte(t.sign(enc))) {
		return Principal{}, errBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return Principal{}, errBadToken
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return Principal{}, errBadToken
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || t.now().Unix() > exp {
		return Principal{}, errors.New("token expired")
	}
	return Principal{Name: parts[0], Role: Role(parts[1])}, nil
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// WithTokens returns a keyring view that also accepts stream tokens
// (?token=) on WebSocket upgrade requests.
func (k *Keyring) WithTokens(t *Tokens) *Keyring {
	c := *k
	c.tokens = t
	return &c
}

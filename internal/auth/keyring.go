// Package auth authenticates API clients by API key and authorizes them by
// role. Keys are random 32-byte secrets (base64url); only their SHA-256 is
// kept, and the final comparison is constant-time. Keys are never logged.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Role is what a principal may do.
type Role string

// The roles. Admin may do everything; analysts read; traders read what
// analysts read and may also suspend and re-open markets; providers write
// odds, games and their markets' status (and may read GET /feeds, as in the
// AWS reference API).
const (
	RoleProvider Role = "provider"
	RoleAnalyst  Role = "analyst"
	RoleTrader   Role = "trader"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleProvider, RoleAnalyst, RoleTrader, RoleAdmin:
		return true
	}
	return false
}

// Principal is an authenticated client. For a provider, Name is the provider
// id its odds are stored under.
type Principal struct {
	Name string
	Role Role
	// Session is the id of the dashboard session the request authenticated
	// with, directly or through a stream token minted with it; "" for an
	// API key. It is no credential (tokens carry it in URLs). Streams opened
	// with it are closed when the session ends (broadcast.Hub.CloseSession).
	Session string
	// Expires is when the credential ends (a session's or a stream token's
	// expiry); zero for an API key. A stream is closed at Expires.
	Expires time.Time
}

// maxKeyLen bounds the key a request may present, so nobody makes us hash
// megabytes. Real keys are 43 characters.
const maxKeyLen = 256

// Keyring holds the hashes of the valid API keys. It is read-only once
// built, so it is safe for concurrent Authenticate calls.
type Keyring struct {
	byHash map[[sha256.Size]byte]entry
}

type entry struct {
	p   Principal
	sum [sha256.Size]byte
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring {
	return &Keyring{byHash: make(map[[sha256.Size]byte]entry)}
}

// ParseKeyring parses a key spec: entries "principal:role:sha256hex"
// separated by commas or newlines; blank entries and lines starting with '#'
// are ignored. Errors name the bad entry by its position (1-based) and never
// echo its content, so a secret pasted by mistake does not reach a log.
func ParseKeyring(spec string) (*Keyring, error) {
	k := NewKeyring()
	for i, e := range SpecEntries(spec) {
		pos := i + 1
		p, sum, err := parseEntry(e)
		if err != nil {
			return nil, fmt.Errorf("parse keyring: entry %d: %s", pos, err)
		}
		if _, dup := k.byHash[sum]; dup {
			return nil, fmt.Errorf("parse keyring: entry %d: the same key hash is listed twice", pos)
		}
		k.byHash[sum] = entry{p: p, sum: sum}
	}
	return k, nil
}

// SpecEntries splits a credential spec into its entries: separated by
// commas or newlines, trimmed, without blank entries and lines starting
// with '#'.
func SpecEntries(spec string) []string {
	var out []string
	for _, line := range strings.Split(spec, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, e := range strings.Split(line, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// parseEntry parses one "principal:role:sha256hex" entry. Its error texts
// never contain the entry's text.
func parseEntry(entry string) (Principal, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	parts := strings.Split(entry, ":")
	if len(parts) != 3 {
		return Principal{}, sum, fmt.Errorf("want principal:role:sha256hex (3 fields), got %d fields", len(parts))
	}
	name, role, hexHash := strings.TrimSpace(parts[0]), Role(strings.TrimSpace(parts[1])), strings.TrimSpace(parts[2])
	if reason := feed.ValidateID(name); reason != "" {
		return Principal{}, sum, fmt.Errorf("principal %s", reason)
	}
	if !role.Valid() {
		return Principal{}, sum, fmt.Errorf("role must be one of provider, analyst, trader, admin")
	}
	h, err := parseHash(hexHash)
	if err != nil {
		return Principal{}, sum, err
	}
	return Principal{Name: name, Role: role}, h, nil
}

func parseHash(s string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if len(s) != hex.EncodedLen(sha256.Size) {
		return sum, fmt.Errorf("hash must be %d hex characters (the SHA-256 of the key, as `oddsfeed keygen` prints), got %d characters",
			hex.EncodedLen(sha256.Size), len(s))
	}
	if _, err := hex.Decode(sum[:], []byte(strings.ToLower(s))); err != nil {
		return sum, fmt.Errorf("hash must be hexadecimal")
	}
	return sum, nil
}

// NewKey makes a new random API key and its hash, for `oddsfeed keygen`:
// the key goes to the client, the hash into the server's key spec.
func NewKey() (key string, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		panic(fmt.Sprintf("auth: read random key: %v", err))
	}
	key = base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashKey(key)
}

// HashKey returns the SHA-256 of key in lower-case hex. Keys are 256-bit
// random secrets, so a fast hash is enough: there is nothing to brute-force.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Add adds the key whose hash (hex SHA-256) is hash for p. A malformed hash
// is ignored; ParseKeyring is the checked way in.
func (k *Keyring) Add(p Principal, hash string) {
	sum, err := parseHash(hash)
	if err != nil {
		return
	}
	k.byHash[sum] = entry{p: p, sum: sum}
}

// Len returns the number of keys in the keyring.
func (k *Keyring) Len() int { return len(k.byHash) }

// Authenticate finds the principal of the API key a request presents in
// "Authorization: Bearer <key>" or "X-API-Key: <key>". Keys in the URL
// (?access_token=) are not accepted: URLs end up in logs. Stream tokens are
// not API keys: Tokens authenticates them, on GET /v1/stream only.
func (k *Keyring) Authenticate(r *http.Request) (Principal, bool) {
	key := presentedKey(r)
	if key == "" || len(key) > maxKeyLen {
		return Principal{}, false
	}
	return k.lookup(key)
}

// lookup finds the principal of key. The map lookup is by hash, which
// reveals nothing useful about the key; the final check of the candidate is
// a constant-time comparison, done against a zero hash on a miss so both
// paths do the same work.
func (k *Keyring) lookup(key string) (Principal, bool) {
	sum := sha256.Sum256([]byte(key))
	e, ok := k.byHash[sum]
	if subtle.ConstantTimeCompare(sum[:], e.sum[:]) != 1 || !ok {
		return Principal{}, false
	}
	return e.p, true
}

func presentedKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, found := strings.Cut(strings.TrimSpace(h), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(cred)
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

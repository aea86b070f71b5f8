package dashboard

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Password hashes are PBKDF2-HMAC-SHA256 (crypto/pbkdf2) with a random
// 16-byte salt, written as
//
//	pbkdf2-sha256.<iterations>.<salt base64url>.<key base64url>
//
// Dots, not colons or dollar signs, separate the fields, so a hash sits in a
// "username:role:hash" entry and in a shell or docker-compose variable
// without quoting.
const (
	hashScheme = "pbkdf2-sha256"
	// DefaultIterations is the PBKDF2 work factor of HashPassword (OWASP's
	// 2023 figure for PBKDF2-HMAC-SHA256).
	DefaultIterations = 600_000
	minIterations     = 10_000
	maxIterations     = 10_000_000
	saltLen           = 16
	keyLen            = 32
	// maxPasswordLen bounds what a sign-in form may make us hash.
	maxPasswordLen = 1024
)

// UserEntry is a dashboard user configured by the admin.
type UserEntry struct {
	Principal    auth.Principal
	PasswordHash string
}

// HashPassword returns the stored form of pw (see the format above), for
// the admin's user list: `oddsfeed passwd` prints it.
func HashPassword(pw string) string {
	return hashPassword(pw, DefaultIterations)
}

func hashPassword(pw string, iter int) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // never fails on supported platforms (Go 1.24+)
	key, err := pbkdf2.Key(sha256.New, pw, salt, iter, keyLen)
	if err != nil {
		panic(fmt.Sprintf("dashboard: pbkdf2: %v", err)) // only for bad parameters, which are constants
	}
	enc := base64.RawURLEncoding
	return hashScheme + "." + strconv.Itoa(iter) + "." + enc.EncodeToString(salt) + "." + enc.EncodeToString(key)
}

type parsedHash struct {
	iter      int
	salt, key []byte
}

func parseHash(s string) (parsedHash, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 || parts[0] != hashScheme {
		return parsedHash{}, errors.New("password hash must be " + hashScheme + ".<iterations>.<salt>.<key> (as `oddsfeed passwd` prints)")
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < minIterations || iter > maxIterations {
		return parsedHash{}, fmt.Errorf("password hash iterations must be from %d to %d", minIterations, maxIterations)
	}
	salt, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	key, err2 := base64.RawURLEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) != keyLen {
		return parsedHash{}, errors.New("password hash salt or key is malformed")
	}
	return parsedHash{iter: iter, salt: salt, key: key}, nil
}

// checkPassword reports whether pw matches the stored hash, in constant
// time for a given hash.
func checkPassword(hash, pw string) bool {
	h, err := parseHash(hash)
	if err != nil || len(pw) > maxPasswordLen {
		return false
	}
	key, err := pbkdf2.Key(sha256.New, pw, h.salt, h.iter, keyLen)
	return err == nil && subtle.ConstantTimeCompare(key, h.key) == 1
}

// usersIterations is the highest work factor of users' hashes
// (DefaultIterations when there are none): an unknown username's check
// costs as much as a known one's.
func usersIterations(users map[string]UserEntry) int {
	iter := 0
	for _, u := range users {
		if h, err := parseHash(u.PasswordHash); err == nil {
			iter = max(iter, h.iter)
		}
	}
	if iter == 0 {
		return DefaultIterations
	}
	return iter
}

// ParseUsers parses the admin's user list: entries "username:role:hash"
// separated by commas or newlines (blank entries and lines starting with
// '#' are ignored). Roles are analyst or admin (providers do not use the
// dashboard). Errors name the entry by position, never by content.
func ParseUsers(spec string) (map[string]UserEntry, error) {
	users := make(map[string]UserEntry)
	for i, e := range auth.SpecEntries(spec) {
		u, err := parseUser(e)
		if err != nil {
			return nil, fmt.Errorf("parse dashboard users: entry %d: %w", i+1, err)
		}
		if _, dup := users[u.Principal.Name]; dup {
			return nil, fmt.Errorf("parse dashboard users: entry %d: the username is listed twice", i+1)
		}
		users[u.Principal.Name] = u
	}
	return users, nil
}

func parseUser(e string) (UserEntry, error) {
	parts := strings.Split(e, ":")
	if len(parts) != 3 {
		return UserEntry{}, fmt.Errorf("want username:role:hash (3 fields), got %d fields", len(parts))
	}
	name, role, hash := strings.TrimSpace(parts[0]), auth.Role(strings.TrimSpace(parts[1])), strings.TrimSpace(parts[2])
	if reason := feed.ValidateID(name); reason != "" {
		return UserEntry{}, fmt.Errorf("username %s", reason)
	}
	if role != auth.RoleAnalyst && role != auth.RoleTrader && role != auth.RoleAdmin {
		return UserEntry{}, errors.New("role must be analyst or admin")
	}
	if _, err := parseHash(hash); err != nil {
		return UserEntry{}, err
	}
	return UserEntry{Principal: auth.Principal{Name: name, Role: role}, PasswordHash: hash}, nil
}

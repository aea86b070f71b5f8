package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// FuzzParseKeyring: a key spec (ODDSFEED_API_KEYS or its file) parses to
// one key per entry, or to an error that never echoes an entry (a secret
// key pasted by mistake must not reach a log).
func FuzzParseKeyring(f *testing.F) {
	_, h := NewKey()
	for _, s := range []string{
		"acme:provider:" + h, "a:analyst:" + h + ",\n# comment\n b:admin:" + HashKey("x"), "a:provider:" + h + ",b:provider:" + h,
		"a:root:" + h, "a:provider:" + strings.ToUpper(h), "a:provider:xyz", "secret-key-pasted-by-mistake", ":::", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		k, err := ParseKeyring(spec)
		entries := SpecEntries(spec)
		if err != nil {
			for _, e := range entries {
				if len(e) >= 12 && strings.Contains(err.Error(), e) {
					t.Fatalf("error %q echoes the entry %q", err, e)
				}
			}
			return
		}
		if k.Len() != len(entries) {
			t.Fatalf("%d keys from %d entries", k.Len(), len(entries))
		}
	})
}

// FuzzTokenCheck: the ?token= of a stream request is outside bytes. A token
// not signed with the secret is refused; a signed payload of any shape is
// either refused or names a principal whose stream has not ended yet.
func FuzzTokenCheck(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	tk := NewTokens([]byte("fuzz-secret"), time.Minute, func() time.Time { return now })
	// A token as Issue makes it, with a fixed id: the same in every fuzz
	// worker process.
	payload := "ann|analyst|1800000060|Zml4ZWQtaWQtMTI|s1|1800003600"
	enc := base64.RawURLEncoding.EncodeToString([]byte(payload))
	good := enc + "." + tk.sign(enc)
	if p, err := tk.Check(good); err != nil || p.Name != "ann" {
		f.Fatalf("the seed token: %+v %v", p, err)
	}
	for _, s := range []string{good, enc, payload, "a|analyst|1800000060|id||1800003600", "x.y", "", "||||||"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, sign bool) {
		token := s
		if sign { // a payload signed with the secret: only its shape is checked
			e := base64.RawURLEncoding.EncodeToString([]byte(s))
			token = e + "." + tk.sign(e)
		}
		p, err := tk.Check(token)
		switch {
		case err != nil:
			if p != (Principal{}) {
				t.Fatalf("refused token %q gave principal %+v", token, p)
			}
		case !sign && token != good:
			t.Fatalf("unsigned token %q accepted as %+v", token, p)
		case p.Expires.Before(now):
			t.Fatalf("token %q accepted with its stream ended at %v", token, p.Expires)
		}
	})
}

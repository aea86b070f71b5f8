package auth

import (
	"strings"
	"testing"
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

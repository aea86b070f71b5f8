package feed

import (
	"testing"
	"time"
)

// FuzzParseKeyTime: the time inside a key (odds sort keys, the stored
// observedAt, receivedAt, gameDate and updatedAt attributes, cursors) parses
// only in KeyTime's fixed-width form: what it accepts is UTC and formats back
// to the same text, so string order stays time order.
func FuzzParseKeyTime(f *testing.F) {
	for _, s := range []string{
		KeyTime(time.Date(2026, 11, 23, 17, 31, 2, 120e6, time.UTC)), "0000-01-01T00:00:00.000000000Z",
		"9999-12-31T23:59:59.999999999Z", "2026-02-29T00:00:00.000000000Z", "2026-11-23T17:31:02.12Z",
		"2026-11-23T17:31:02.120000000+01:00", "2026-11-23T24:00:00.000000000Z", "2026-11-23T17:31:60.000000000Z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseKeyTime(s)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("%q parsed in %v", s, tm.Location())
		}
		if got := KeyTime(tm); got != s {
			t.Fatalf("%q parsed to %v, which formats as %q", s, tm, got)
		}
	})
}

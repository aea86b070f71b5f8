package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// browserURL is how a browser reads a Location header (WHATWG URL
// parsing): leading and trailing C0 controls and spaces trimmed, every tab
// and newline removed, a backslash taken for a slash.
func browserURL(loc string) string {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	return strings.ReplaceAll(loc, `\`, "/")
}

// FuzzSafeNext: whatever the next parameter of the sign-in form (a query
// or form value, so any text), the redirect that follows sign-in stays on
// this site, as a browser reads the Location header http.Redirect writes.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/odds?game=g1", "/reports#x", "//evil.example", `/\evil.example`, "/\t/evil.example",
		"/%2F/evil.example", "/%09/evil.example", " //evil.example", "https://evil.example/", "/signin?next=//x", "javascript:alert(1)",
		"/\x00/evil.example", "/.//evil.example", "/..//evil.example", ""} {
		f.Add(s)
	}
	base, _ := url.Parse("https://odds.example/signin")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest(http.MethodPost, "https://odds.example/signin", nil), got, http.StatusSeeOther)
		loc := browserURL(rec.Header().Get("Location"))
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
			t.Fatalf("next %q: Location %q is not a path on this site", next, rec.Header().Get("Location"))
		}
		if u, err := url.Parse(loc); err == nil {
			if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
				t.Fatalf("next %q redirects to %v", next, r)
			}
		}
	})
}

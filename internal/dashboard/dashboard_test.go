package dashboard_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
)

func TestParseUsers(t *testing.T) {
	hash := dashboard.HashPassword("pw")
	tests := []struct {
		name, spec string
		want       map[string]auth.Role
		wantErr    string
	}{
		{"two users", "ana:analyst:" + hash + "\n# comment\nops:admin:" + hash, map[string]auth.Role{"ana": auth.RoleAnalyst, "ops": auth.RoleAdmin}, ""},
		{"commas and blanks", " ana:analyst:" + hash + " , ,", map[string]auth.Role{"ana": auth.RoleAnalyst}, ""},
		{"empty", "", map[string]auth.Role{}, ""},
		{"provider role", "feed:provider:" + hash, nil, "entry 1: role must be analyst or admin"},
		{"two fields", "ana:analyst", nil, "entry 1: want username:role:hash"},
		{"bad hash", "ana:analyst:sha256.1.x.y", nil, "entry 1: password hash must be"},
		{"low iterations", "ana:analyst:pbkdf2-sha256.10.AAAAAAAAAAA.AAAA", nil, "iterations must be"},
		{"duplicate", "ana:analyst:" + hash + ",ana:admin:" + hash, nil, "entry 2: the username is listed twice"},
		{"bad username", "a b:analyst:" + hash, nil, "entry 1: username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dashboard.ParseUsers(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), hash) {
					t.Fatalf("error echoes the entry: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d users, want %d", len(got), len(tt.want))
			}
			for name, role := range tt.want {
				if u := got[name]; u.Principal.Name != name || u.Principal.Role != role {
					t.Errorf("user %s = %+v, want role %s", name, u.Principal, role)
				}
			}
		})
	}
}

func TestHashPasswordFormat(t *testing.T) {
	a, b := dashboard.HashPassword("secret"), dashboard.HashPassword("secret")
	if a == b {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if !regexp.MustCompile(`^pbkdf2-sha256\.600000\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$`).MatchString(a) {
		t.Fatalf("hash %q is not pbkdf2-sha256.<iter>.<salt>.<key>", a)
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, like a browser's view of one request at a time.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) req(method, path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(res.Body)
	return res, string(text)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// signIn signs in with the form and returns the CSRF token of the session.
func (b *browser) signIn(form url.Values) string {
	b.t.Helper()
	res, _ := b.req("POST", "/signin", form, "Origin", b.base)
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in: status %d, want 303", res.StatusCode)
	}
	_, page := b.req("GET", "/", nil)
	m := csrfMeta.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no csrf-token meta on the board page")
	}
	return m[1]
}

// TestAccess checks the dashboard's access rules on the real server.
func TestAccess(t *testing.T) {
	s := newStack(t)
	pages := []string{"/", "/games/football-000", "/reports", "/pipeline"}
	apis := []struct{ method, path string }{
		{"GET", "/v1/games?status=live"}, {"GET", "/v1/games/football-000"}, {"GET", "/v1/games/football-000/odds"},
		{"GET", "/v1/games/football-000/odds/latest"}, {"GET", "/v1/reports/movers"}, {"GET", "/v1/reports/pipeline"},
		{"GET", "/v1/reports/providers"}, {"GET", "/v1/reports/suspensions"}, {"GET", "/v1/reports/outages"},
		{"GET", "/v1/reports/settlements"}, {"GET", "/v1/reports/margins"},
		{"POST", "/v1/stream/token"}, {"POST", "/v1/admin/replay"}, {"GET", "/v1/stream"},
	}

	t.Run("anonymous pages redirect to sign-in", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		for _, p := range pages {
			res, _ := b.req("GET", p, nil)
			if want := "/signin?next=" + url.QueryEscape(p); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
				t.Errorf("GET %s: %d Location %q, want 303 %q", p, res.StatusCode, res.Header.Get("Location"), want)
			}
		}
		res, body := b.req("GET", "/signin", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="password"`) {
			t.Errorf("GET /signin: %d", res.StatusCode)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP = %q", csp)
		}
	})

	t.Run("anonymous API is refused", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		for _, a := range apis {
			if res, _ := b.req(a.method, a.path, nil); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s: %d, want 401", a.method, a.path, res.StatusCode)
			}
		}
	})

	t.Run("session cookie", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		res, _ := b.req("POST", "/signin", url.Values{"username": {analystUser}, "password": {password}, "next": {"/reports"}}, "Origin", s.URL)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/reports" {
			t.Fatalf("sign-in: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		c := res.Header.Get("Set-Cookie")
		for _, want := range []string{"oddsfeed_session=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=3600"} {
			if !strings.Contains(c, want) {
				t.Errorf("Set-Cookie %q lacks %s", c, want)
			}
		}
		if strings.Contains(c, "Secure") {
			t.Errorf("Set-Cookie %q is Secure without SecureCookies", c)
		}
	})

	t.Run("secure cookie", func(t *testing.T) {
		d := dashboard.New(dashboard.Options{SecureCookies: true, Users: mustUsers(t)})
		rec := newRecorder()
		req, _ := http.NewRequest("POST", "/signin", strings.NewReader(url.Values{"username": {analystUser}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		serve(d, rec, req)
		c := rec.Header().Get("Set-Cookie")
		if !strings.HasPrefix(c, "__Host-oddsfeed_session=") || !strings.Contains(c, "; Secure") || !strings.Contains(c, "HttpOnly") {
			t.Errorf("Set-Cookie = %q, want __Host- Secure HttpOnly", c)
		}
	})

	t.Run("cookies alone cannot write", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		csrf := b.signIn(url.Values{"username": {analystUser}, "password": {password}})
		if res, _ := b.req("GET", "/v1/games?status=live", nil); res.StatusCode != 200 {
			t.Errorf("GET with the session: %d", res.StatusCode)
		}
		if res, _ := b.req("POST", "/v1/stream/token", nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST without CSRF token: %d, want 401", res.StatusCode)
		}
		if res, _ := b.req("POST", "/v1/stream/token", nil, "X-CSRF-Token", "wrong"); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST with a wrong CSRF token: %d, want 401", res.StatusCode)
		}
		if res, _ := b.req("POST", "/v1/stream/token", nil, "X-CSRF-Token", csrf); res.StatusCode != 200 {
			t.Errorf("POST with the CSRF token: %d", res.StatusCode)
		}
		if res, _ := b.req("POST", "/signout", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out without CSRF token: %d, want 403", res.StatusCode)
		}
	})

	t.Run("analyst cannot replay", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		csrf := b.signIn(url.Values{"username": {analystUser}, "password": {password}})
		if res, _ := b.req("POST", "/v1/admin/replay", nil, "X-CSRF-Token", csrf); res.StatusCode != http.StatusForbidden {
			t.Errorf("analyst session replay: %d, want 403", res.StatusCode)
		}
		if code, _ := s.do(t, "POST", "/v1/admin/replay", s.analystKey, nil); code != http.StatusForbidden {
			t.Errorf("analyst key replay: %d, want 403", code)
		}
		admin := newBrowser(t, s.URL)
		csrf = admin.signIn(url.Values{"apikey": {s.adminKey}})
		if res, body := admin.req("POST", "/v1/admin/replay", nil, "X-CSRF-Token", csrf); res.StatusCode != 200 {
			t.Errorf("admin session replay: %d %s", res.StatusCode, body)
		}
	})

	t.Run("sign-in refusals", func(t *testing.T) {
		tests := []struct {
			name   string
			form   url.Values
			header []string
			want   int
		}{
			{"wrong password", url.Values{"username": {analystUser}, "password": {"nope"}}, nil, 401},
			{"unknown user", url.Values{"username": {"mallory"}, "password": {password}}, nil, 401},
			{"provider key", url.Values{"apikey": {s.keys[providers[0]]}}, nil, 401},
			{"unknown key", url.Values{"apikey": {"not-a-key"}}, nil, 401},
			{"cross-site origin", url.Values{"username": {analystUser}, "password": {password}}, []string{"Origin", "https://evil.example"}, 403},
			{"cross-site fetch", url.Values{"username": {analystUser}, "password": {password}}, []string{"Sec-Fetch-Site", "cross-site"}, 403},
			{"opaque origin", url.Values{"username": {analystUser}, "password": {password}}, []string{"Origin", "null"}, 403},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := newBrowser(t, s.URL)
				res, _ := b.req("POST", "/signin", tt.form, tt.header...)
				if res.StatusCode != tt.want || res.Header.Get("Set-Cookie") != "" {
					t.Errorf("status %d (Set-Cookie %q), want %d and no cookie", res.StatusCode, res.Header.Get("Set-Cookie"), tt.want)
				}
			})
		}
	})

	t.Run("sign-out and expiry end the session", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		csrf := b.signIn(url.Values{"apikey": {s.analystKey}})
		res, _ := b.req("POST", "/signout", url.Values{"csrf": {csrf}}, "Origin", s.URL)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
			t.Fatalf("sign-out: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := b.req("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("board after sign-out: %d, want 303", res.StatusCode)
		}

		// Expiry needs a clock the test can move: the dashboard alone.
		now := &clock{}
		base, key := newClockServer(t, now)
		b = newBrowser(t, base)
		b.signIn(url.Values{"apikey": {key}})
		if res, _ := b.req("GET", "/v1/games?status=live", nil); res.StatusCode != http.StatusOK {
			t.Errorf("API within the session's TTL: %d, want 200", res.StatusCode)
		}
		now.Advance(time.Hour + time.Second)
		if res, _ := b.req("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("board after the session's TTL: %d, want 303", res.StatusCode)
		}
		if res, _ := b.req("GET", "/v1/games?status=live", nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("API after the session's TTL: %d, want 401", res.StatusCode)
		}
	})

	t.Run("assets", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		_, page := b.req("GET", "/signin", nil)
		m := regexp.MustCompile(`href="(/assets/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("sign-in page links no versioned app.css")
		}
		res, body := b.req("GET", m[1], nil)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(res.Header.Get("Content-Type"), "text/css") || body == "" {
			t.Errorf("GET %s: %d %q %q", m[1], res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
		}
		res, _ = b.req("GET", "/assets/app.js", nil, "If-None-Match", res.Header.Get("ETag"))
		if res.StatusCode != 200 {
			t.Errorf("GET app.js: %d", res.StatusCode)
		}
		if res, _ := b.req("GET", "/assets/nope.js", nil); res.StatusCode != 404 {
			t.Errorf("GET a missing asset: %d", res.StatusCode)
		}
	})
}

func mustUsers(t *testing.T) map[string]dashboard.UserEntry {
	t.Helper()
	u, err := dashboard.ParseUsers(analystUser + ":analyst:" + dashboard.HashPassword(password))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// serve serves one request through a router with only the dashboard.
func serve(d *dashboard.Dashboard, w http.ResponseWriter, r *http.Request) {
	rt := chi.NewRouter()
	d.Routes(rt)
	rt.ServeHTTP(w, r)
}

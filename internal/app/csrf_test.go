package app_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/app"
)

// TestEveryWriteNeedsCSRF walks the real server's router (so a new route is
// covered without editing the test) and sends every state-changing route
// an admin's session cookie (roles hide nothing) without the session's
// CSRF token, then with a wrong one: every one must refuse (401: the cookie
// alone is no credential; 403: the dashboard's sign-out). Sign-in itself
// takes no token (it starts a session; cross-site sign-ins are refused by
// Origin, see the dashboard's TestAccess).
func TestEveryWriteNeedsCSRF(t *testing.T) {
	k := newKeys()
	srv, base := startServer(t, map[string]string{"ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATABASE_URL": reportingDB(t)})
	cookie, csrf := adminSession(t, base, k.admin)

	send := func(method, path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(cookie)
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return res.StatusCode, string(b)
	}

	// The session is good, and writes with its token: the refusals below
	// are the token's doing.
	if code, body := send("POST", "/v1/stream/token", csrf); code != http.StatusOK {
		t.Fatalf("POST /v1/stream/token with the session's CSRF token: %d %s", code, body)
	}

	walked := map[string]bool{}
	err := chi.Walk(srv.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		switch {
		case method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions:
			return nil
		case method == http.MethodPost && route == "/signin":
			return nil
		}
		walked[method+" "+route] = true
		path := strings.NewReplacer("{id}", "g1", "/*", "/x").Replace(route)
		for _, token := range []string{"", "wrong-" + csrf[6:]} {
			if code, body := send(method, path, token); code != http.StatusUnauthorized && code != http.StatusForbidden {
				t.Errorf("%s %s with an admin session cookie and CSRF token %q: %d %s, want 401 or 403", method, route, token, code, body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"POST /v1/odds", "PUT /feeds", "POST /feeds", "PUT /v1/games/{id}", "POST /v1/stream/token",
		"POST /v1/admin/replay", "POST /signout"} {
		if !walked[r] {
			t.Errorf("the walk missed %s", r)
		}
	}
	t.Logf("%d state-changing routes refuse a session cookie without its CSRF token: %v", len(walked), slices.Sorted(maps.Keys(walked)))

	// The session outlived all that (nothing above signed it out).
	if code, body := send("POST", "/v1/stream/token", csrf); code != http.StatusOK {
		t.Errorf("POST /v1/stream/token with the session's CSRF token after the walk: %d %s", code, body)
	}
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// startServer builds the real server from vars (plus a loopback address,
// a fresh data directory and warn logs) and serves it until the test ends.
func startServer(t *testing.T, vars map[string]string) (*app.Server, string) {
	t.Helper()
	all := map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_LOG_LEVEL": "warn"}
	maps.Copy(all, vars)
	cfg, err := app.LoadConfig(func(key string) string { return all[key] })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.NewServer(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return srv, serveServer(t, srv)
}

// serveServer serves srv on its configured address until the test ends and
// returns its base URL.
func serveServer(t *testing.T, srv *app.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urlc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(url string) { urlc <- url }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("the server did not shut down within 20s")
		}
	})
	select {
	case url := <-urlc:
		return url
	case err := <-done:
		t.Fatalf("serve: %v", err)
		return ""
	}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// adminSession signs in to the dashboard with an admin's API key and
// returns the session cookie and the session's CSRF token.
func adminSession(t *testing.T, base, key string) (*http.Cookie, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(url.Values{"apikey": {key}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies := res.Cookies()
	if res.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("admin sign-in: %d, cookies %v", res.StatusCode, cookies)
	}
	req, _ = http.NewRequest("GET", base+"/", nil)
	req.AddCookie(cookies[0])
	res, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	m := csrfMeta.FindStringSubmatch(string(page))
	if m == nil {
		t.Fatalf("no csrf-token meta on the board page (%d)", res.StatusCode)
	}
	return cookies[0], m[1]
}

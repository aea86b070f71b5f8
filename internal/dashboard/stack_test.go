package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/web"
)

var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.Postgres)
}

// Accounts of the test stack.
const (
	analystUser = "ana"
	traderUser  = "tess"
	adminUser   = "ops"
	password    = "correct horse battery staple"
)

var providers = []string{"betcorp", "linepro", "sharpbook"}

// stack is the real oddsfeed server (app.NewServer, as `oddsfeed serve`
// runs it) on 127.0.0.1:0 with the embedded back end in a temp dir and a
// fresh, migrated Postgres reporting database; it holds the API keys it was
// configured with and a pool on the reporting database for the seeding.
type stack struct {
	URL        string
	pool       *pgxpool.Pool
	keys       map[string]string // principal -> API key
	analystKey string
	adminKey   string
}

// newStack starts the real server for the test; it stops when the test ends.
func newStack(t *testing.T) *stack { t.Helper(); return newStackWith(t, true) }

// newStackWith is newStack with or without the Postgres reporting database
// (without it, pool is nil).
func newStackWith(t *testing.T, postgres bool) *stack {
	t.Helper()
	return newStackVars(t, postgres, nil)
}

// newStackVars is newStackWith with configuration variables set (or
// overridden) by vars.
func newStackVars(t *testing.T, postgres bool, extra map[string]string) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{keys: map[string]string{}}

	var keySpec []string
	addKey := func(name string, role auth.Role) string {
		key, hash := auth.NewKey()
		keySpec = append(keySpec, fmt.Sprintf("%s:%s:%s", name, role, hash))
		s.keys[name] = key
		return key
	}
	for _, p := range providers {
		addKey(p, auth.RoleProvider)
	}
	s.analystKey = addKey("desk", auth.RoleAnalyst)
	s.adminKey = addKey("root", auth.RoleAdmin)
	hash := dashboard.HashPassword(password)

	dsn := ""
	if postgres {
		dsn = env.Postgres.NewDatabase(t)
		if err := reporting.Migrate(ctx, dsn, "up", io.Discard); err != nil {
			t.Fatalf("migrate the reporting database: %v", err)
		}
	}
	vars := map[string]string{
		"ODDSFEED_ADDR":            "127.0.0.1:0",
		"ODDSFEED_BACKEND":         "embedded",
		"ODDSFEED_DATA_DIR":        t.TempDir(),
		"ODDSFEED_API_KEYS":        strings.Join(keySpec, ","),
		"ODDSFEED_DASHBOARD_USERS": fmt.Sprintf("%s:analyst:%s,%s:trader:%s,%s:admin:%s", analystUser, hash, traderUser, hash, adminUser, hash),
		"ODDSFEED_SESSION_TTL":     "1h",
		"ODDSFEED_DATABASE_URL":    dsn,
		"ODDSFEED_LOG_LEVEL":       "warn",
	}
	maps.Copy(vars, extra)
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := app.NewServer(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	urlc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Serve(runCtx, func(url string) { urlc <- url }) }()
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
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case s.URL = <-urlc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}

	if postgres {
		s.pool, err = pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.pool.Close)
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// clock is an adjustable clock for session expiry.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// newClockServer serves the dashboard alone on an adjustable clock (see
// newDashServer): the unit test of session expiry. It returns the URL and
// an analyst API key that can sign in.
func newClockServer(t *testing.T, now *clock) (url, analystKey string) {
	t.Helper()
	keys := auth.NewKeyring()
	analystKey, hash := auth.NewKey()
	keys.Add(auth.Principal{Name: "desk", Role: auth.RoleAnalyst}, hash)
	_, url = newDashServer(t, dashboard.Options{Keys: keys, Users: mustUsers(t), SessionTTL: time.Hour, Now: now.Now})
	return url, analystKey
}

// newDashServer serves a dashboard made with o (its Keys must be set) alone,
// with the built assets, no logs and stand-in API routes behind the
// dashboard's session auth, as the real server mounts them: /v1/games, and
// /whoami, which answers the principal the request authenticated as.
func newDashServer(t *testing.T, o dashboard.Options) (*dashboard.Dashboard, string) {
	t.Helper()
	o.Assets, o.Logger = web.Assets(), slog.New(slog.DiscardHandler)
	d := dashboard.New(o)
	r := chi.NewRouter()
	d.Routes(r)
	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAny([]auth.Authenticator{o.Keys, d}, auth.RoleAnalyst, auth.RoleAdmin))
		r.Get("/v1/games", func(w http.ResponseWriter, _ *http.Request) {
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"games": []any{}})
		})
		r.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.PrincipalFrom(r.Context())
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"name": p.Name, "session": p.Session, "expires": p.Expires})
		})
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return d, srv.URL
}

// do sends an API request with a key and returns the status and body. A
// transport error fails t, or returns status 0 when t is nil (for use off
// the test's goroutine).
func (s *stack) do(t testing.TB, method, path, key string, body any) (int, []byte) {
	if t != nil {
		t.Helper()
	}
	fail := func(err error) (int, []byte) {
		if t != nil {
			t.Fatal(err)
		}
		return 0, []byte(err.Error())
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fail(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return fail(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// mustDo is do that fails the test on a status other than 2xx.
func (s *stack) mustDo(t testing.TB, method, path, key string, body any) []byte {
	t.Helper()
	code, b := s.do(t, method, path, key, body)
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %.500s", method, path, code, b)
	}
	return b
}

package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/broadcast"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
	"github.com/oddsfeed/oddsfeed/internal/feedread"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
	"github.com/oddsfeed/oddsfeed/web"
)

var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.Postgres)
}

// Accounts of the test stack.
const (
	analystUser = "ana"
	adminUser   = "ops"
	password    = "correct horse battery staple"
)

var providers = []string{"betcorp", "linepro", "sharpbook"}

// stack is a real oddsfeed server for the dashboard's tests: the embedded
// store, its change log tailed into the WebSocket hub and the Postgres
// reporting sync, the real ingest, read and reports handlers, and the
// dashboard. Its routes mirror internal/app's, with the dashboard wired the
// way the report to the lead describes (mounted at /, and its sessions
// accepted by the API's auth as an alternative to API keys).
type stack struct {
	URL        string
	pool       *pgxpool.Pool
	keys       map[string]string // principal -> API key
	dash       *dashboard.Dashboard
	now        *clock
	analystKey string
	adminKey   string
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

// authenticator is what the API's auth accepts: a keyring or the dashboard.
type authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, bool)
}

// requireAny is auth.Require over several authenticators: the first that
// knows the request wins. (The lead's change to internal/auth does this.)
func requireAny(as []authenticator, roles ...auth.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, a := range as {
				p, ok := a.Authenticate(r)
				if !ok {
					continue
				}
				if !p.Role.Allows(roles...) {
					httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeForbidden, Status: http.StatusForbidden,
						Detail: "the " + string(p.Role) + " role may not use this endpoint"})
					return
				}
				next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="oddsfeed"`)
			httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnauthorized, Status: http.StatusUnauthorized,
				Detail: "an API key or a dashboard session is required"})
		})
	}
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	s := &stack{keys: map[string]string{}, now: &clock{}}

	keys := auth.NewKeyring()
	addKey := func(name string, role auth.Role) string {
		key, hash := auth.NewKey()
		keys.Add(auth.Principal{Name: name, Role: role}, hash)
		s.keys[name] = key
		return key
	}
	for _, p := range providers {
		addKey(p, auth.RoleProvider)
	}
	s.analystKey = addKey("desk", auth.RoleAnalyst)
	s.adminKey = addKey("root", auth.RoleAdmin)
	hash := dashboard.HashPassword(password)
	users, err := dashboard.ParseUsers(fmt.Sprintf("%s:analyst:%s\n%s:admin:%s", analystUser, hash, adminUser, hash))
	if err != nil {
		t.Fatal(err)
	}

	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dsn := env.Postgres.NewDatabase(t)
	if err := reporting.Migrate(ctx, dsn, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	s.pool, err = pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	hub := broadcast.New(st, broadcast.Options{Logger: log})
	tailer := cdc.NewTailer(cdc.NewLogSource(st, cdc.LogOptions{Logger: log}), cdc.TailerOptions{Logger: log,
		Backoff: cdc.Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond}})
	tailer.Add(cdc.FuncConsumer{ConsumerName: "broadcast", ApplyFunc: func(_ context.Context, b cdc.Batch) error {
		for _, c := range b.Changes {
			hub.Publish(c)
		}
		return nil
	}}, cdc.ConsumerOptions{Guard: cdc.NewGuard(cdc.GuardOptions{})})
	rsync := reporting.NewSync(s.pool, reporting.SyncOptions{Logger: log})
	tailer.Add(rsync, cdc.ConsumerOptions{})

	s.dash = dashboard.New(dashboard.Options{Keys: keys, Users: users, SessionTTL: time.Hour, Assets: web.Assets(), Logger: log, Now: s.now.Now})
	tokens := auth.NewTokens(nil, time.Minute, nil)
	in := ingest.New(st, ingest.Options{Rate: 100000, Burst: 100000, Logger: log})
	rd := feedread.New(st, feedread.Options{})
	reports := reporting.NewReports(s.pool, reporting.ReportsOptions{Logger: log})

	r := chi.NewRouter()
	s.dash.Routes(r)
	r.Group(func(r chi.Router) {
		r.Use(requireAny([]authenticator{keys}, auth.RoleProvider, auth.RoleAdmin))
		in.Routes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(requireAny([]authenticator{keys.WithTokens(tokens), s.dash}, auth.RoleAnalyst, auth.RoleAdmin))
		rd.Routes(r)
		reports.Routes(r)
		r.Get("/v1/stream", hub.ServeHTTP)
		r.Post("/v1/stream/token", func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.PrincipalFrom(r.Context())
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"token": tokens.Issue(p), "expiresIn": int(tokens.TTL().Seconds())})
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(requireAny([]authenticator{keys, s.dash}, auth.RoleAdmin))
		r.Post("/v1/admin/replay", func(w http.ResponseWriter, r *http.Request) {
			applied, failed, err := reporting.Replay(r.Context(), s.pool)
			if err != nil {
				httpx.Error(w, r, err)
				return
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]int{"applied": applied, "failed": failed})
		})
	})

	srv := httptest.NewServer(r)
	s.URL = srv.URL
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = tailer.Run(runCtx) })
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		defer scancel()
		_ = hub.Shutdown(sctx)
		srv.Close()
		cancel()
		wg.Wait()
		_ = rsync.Close(sctx)
		s.pool.Close()
		_ = st.Close()
	})
	return s
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

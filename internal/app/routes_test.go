package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/app"
)

// public routes answer without a key: probes and the sign-in page.
var public = map[string]bool{"/healthz": true, "/readyz": true, "/signin": true, "/assets/*": true}

// TestEveryRouteNeedsAuth walks the server's router: every API route
// refuses a request without credentials, and admin routes refuse analysts.
func TestEveryRouteNeedsAuth(t *testing.T) {
	k := newKeys()
	cfg, err := app.LoadConfig(func(key string) string {
		return map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATABASE_URL": reportingDB(t)}[key]
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.NewServer(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	routes := 0
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if public[route] {
			return nil
		}
		routes++
		path := strings.NewReplacer("{id}", "g1", "/*", "/x").Replace(route)
		req := httptest.NewRequest(method, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized && !(rec.Code == http.StatusSeeOther || rec.Code == http.StatusFound) {
			t.Errorf("%s %s without credentials = %d, want 401 (or a redirect to sign-in for pages)", method, route, rec.Code)
		}
		if strings.HasPrefix(route, "/v1/admin") || route == "/metrics" {
			req := httptest.NewRequest(method, path, nil)
			req.Header.Set("Authorization", "Bearer "+k.analyst)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s %s as analyst = %d, want 403", method, route, rec.Code)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if routes < 15 {
		t.Fatalf("only %d routes walked", routes)
	}
	t.Logf("%d routes refuse anonymous requests", routes)
}

package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/feedread"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// env is a router with the ingest and reference read APIs over a real
// embedded store, and one key per role.
type env struct {
	t        testing.TB
	store    *embedded.Store
	router   http.Handler
	provider string // key of provider "acme"
	other    string // key of provider "beta"
	analyst  string
	admin    string
}

type envOpt struct {
	opts  ingest.Options
	wrap  func(*embedded.Store) ingest.Store // wraps the store given to ingest
	setup func(*env)
}

func newEnv(t testing.TB, o envOpt) *env {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e := &env{t: t, store: s}
	k := auth.NewKeyring()
	for _, p := range []struct {
		name string
		role auth.Role
		dst  *string
	}{{"acme", auth.RoleProvider, &e.provider}, {"beta", auth.RoleProvider, &e.other}, {"ana", auth.RoleAnalyst, &e.analyst}, {"root", auth.RoleAdmin, &e.admin}} {
		key, hash := auth.NewKey()
		k.Add(auth.Principal{Name: p.name, Role: p.role}, hash)
		*p.dst = key
	}
	var is ingest.Store = s
	if o.wrap != nil {
		is = o.wrap(s)
	}
	ing := ingest.New(is, o.opts)
	read := feedread.New(s, feedread.Options{})
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleProvider))
		ing.Routes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(k, auth.RoleProvider, auth.RoleAnalyst))
		read.ReferenceRoutes(r)
	})
	e.router = r
	return e
}

// do sends a request with the key (none when "") and returns the response.
func (e *env) do(method, path, key, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, r)
	return rec
}

// putGame stores a live game directly.
func (e *env) putGame(id string) feed.Game {
	e.t.Helper()
	g, _, err := e.store.PutGame(context.Background(), feed.Game{ID: id, Sport: "soccer", Summary: "A v B",
		GameDate: time.Now().Add(-time.Hour).UTC().Truncate(time.Second), Status: feed.StatusLive}, store.System)
	if err != nil {
		e.t.Fatalf("put game: %v", err)
	}
	return g
}

// odds lists every stored odds item of a game, newest first.
func (e *env) odds(gameID string) []feed.Odds {
	e.t.Helper()
	page, err := e.store.ListOdds(context.Background(), store.OddsRange{GameID: gameID, Page: store.Page{Limit: store.MaxLimit}})
	if err != nil {
		e.t.Fatalf("list odds: %v", err)
	}
	return page.Odds
}

// item is one odds item of POST /v1/odds.
type item struct {
	GameID     string    `json:"gameId"`
	ObservedAt time.Time `json:"observedAt"`
	AwaySpread float64   `json:"awaySpread"`
	HomeSpread float64   `json:"homeSpread"`
	AwayOdds   int       `json:"awayOdds"`
	HomeOdds   int       `json:"homeOdds"`
}

func goodItem(gameID string, at time.Time) item {
	return item{GameID: gameID, ObservedAt: at.UTC(), AwaySpread: 3, HomeSpread: -3, AwayOdds: -110, HomeOdds: -110}
}

func (it item) json() string {
	b, _ := json.Marshal(it)
	return string(b)
}

// batch makes a POST /v1/odds body from raw item JSON texts.
func batch(items ...string) string {
	return `{"odds":[` + strings.Join(items, ",") + `]}`
}

// problem is a decoded problem+json response.
type problem struct {
	Type             string `json:"type"`
	Status           int    `json:"status"`
	Detail           string `json:"detail"`
	Instance         string `json:"instance"`
	Errors           []perr `json:"errors"`
	Stored           int    `json:"stored"`
	Duplicates       int    `json:"duplicates"`
	Corrected        int    `json:"corrected"`
	Invalid          int    `json:"invalid"`
	StoredIndices    []int  `json:"storedIndices"`
	DuplicateIndices []int  `json:"duplicateIndices"`
	CorrectedIndices []int  `json:"correctedIndices"`
	NotStoredIndices []int  `json:"notStoredIndices"`
}

type perr struct {
	Index  *int   `json:"index"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p perr) String() string {
	if p.Index == nil {
		return p.Field
	}
	return fmt.Sprintf("%d.%s", *p.Index, p.Field)
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int) problem {
	t.Helper()
	if rec.Code != wantStatus {
		t.Fatalf("status %d, want %d: %s", rec.Code, wantStatus, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q: %s", ct, rec.Body)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem: %v: %s", err, rec.Body)
	}
	if p.Status != wantStatus || p.Type == "" {
		t.Fatalf("problem status/type %d %q", p.Status, p.Type)
	}
	return p
}

// fields lists a problem's errors as "index.field" (or "field").
func (p problem) fields() []string {
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.String()
	}
	return out
}

package ingest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

func TestPutGame(t *testing.T) {
	e := newEnv(t, envOpt{})
	date := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	body := `{"sport":"soccer","summary":"England v Italy @ Wembley","venue":"Wembley","gameDate":"2026-12-01T16:00:00Z","status":"scheduled"}`
	decode := func(b []byte) feed.Game {
		var g feed.Game
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		return g
	}

	rec := e.do(http.MethodPut, "/v1/games/eng-ita", e.provider, body)
	if rec.Code != 201 || rec.Header().Get("Location") != "/v1/games/eng-ita" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if g := decode(rec.Body.Bytes()); g.Version != 1 || !g.GameDate.Equal(date) || g.ID != "eng-ita" {
		t.Fatalf("created %+v", g)
	}
	rec = e.do(http.MethodPut, "/v1/games/eng-ita", e.provider, body)
	if g := decode(rec.Body.Bytes()); rec.Code != 200 || g.Version != 1 {
		t.Fatalf("no-op: %d %+v", rec.Code, g)
	}
	rec = e.do(http.MethodPut, "/v1/games/eng-ita", e.provider,
		`{"id":"eng-ita","sport":"soccer","summary":"England v Italy","gameDate":"2026-12-01T16:00:00Z","status":"live","version":77}`)
	if g := decode(rec.Body.Bytes()); rec.Code != 200 || g.Version != 2 || g.Status != feed.StatusLive {
		t.Fatalf("update: %d %+v", rec.Code, g)
	}
	stored, _ := e.store.GetGame(context.Background(), "eng-ita")

	tests := []struct {
		name   string
		path   string
		body   string
		status int
		fields []string
	}{
		{"malformed", "/v1/games/eng-ita", `{"sport":`, 400, nil},
		{"id mismatch", "/v1/games/eng-ita", `{"id":"other","sport":"soccer","gameDate":"2026-12-01T16:00:00Z","status":"live"}`, 422, []string{"id"}},
		{"bad status", "/v1/games/eng-ita", `{"sport":"soccer","gameDate":"2026-12-01T16:00:00Z","status":"finished"}`, 422, []string{"status"}},
		{"bad date", "/v1/games/eng-ita", `{"sport":"soccer","gameDate":"1 Dec","status":"live"}`, 422, []string{"gameDate"}},
		{"wrong type", "/v1/games/eng-ita", `{"sport":7,"gameDate":"2026-12-01T16:00:00Z","status":"live"}`, 422, []string{"sport"}},
		{"bad id charset", "/v1/games/-bad", `{"sport":"soccer","gameDate":"2026-12-01T16:00:00Z","status":"live"}`, 422, []string{"id"}},
		{"analyst may not write", "/v1/games/eng-ita", body, 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := e.provider
			if tt.status == 403 {
				key = e.analyst
			}
			p := decodeProblem(t, e.do(http.MethodPut, tt.path, key, tt.body), tt.status)
			if got := p.fields(); !slices.Equal(got, tt.fields) && !(len(got) == 0 && len(tt.fields) == 0) {
				t.Fatalf("fields %q, want %q", got, tt.fields)
			}
			now, _ := e.store.GetGame(context.Background(), "eng-ita")
			if now != stored {
				t.Fatalf("game changed by a refused request: %+v", now)
			}
		})
	}
}

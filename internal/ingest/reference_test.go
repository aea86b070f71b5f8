package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

const refLayout = "2006-01-02 15:04:05.000"

// refItem is one item of the AWS reference design's PUT /feeds.
func refItem(gameID string, gameDate, date time.Time, isOpen bool, awayOdds int) string {
	return fmt.Sprintf(`{"summary":"UEFA European Championship @ Wembley","gameId":%q,"gameDate":%q,"type":"game-soccer",`+
		`"isOpen":%t,"away":3,"home":-3,"awayOdds":%d,"homeOdds":-110,"date":%q}`,
		gameID, gameDate.UTC().Format("2006-01-02 15:04"), isOpen, awayOdds, date.UTC().Format(refLayout))
}

// countingStore counts game writes.
type countingStore struct {
	*embedded.Store
	putGames atomic.Int32
}

func (s *countingStore) PutGame(ctx context.Context, g feed.Game, as store.As) (feed.Game, bool, error) {
	s.putGames.Add(1)
	return s.Store.PutGame(ctx, g, as)
}

func (s *countingStore) PutGames(ctx context.Context, writes []store.GameWrite, as store.As) ([]store.GameResult, error) {
	s.putGames.Add(int32(len(writes)))
	return s.Store.PutGames(ctx, writes, as)
}

func TestReferenceFeeds(t *testing.T) {
	var cs *countingStore
	e := newEnv(t, envOpt{wrap: func(s *embedded.Store) ingest.Store { cs = &countingStore{Store: s}; return cs }})
	gameDate := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Minute)
	date := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)

	rec := e.do(http.MethodPut, "/feeds", e.provider, batch(
		refItem("ftge2gq-4g6daf1", gameDate, date, true, -110),
		refItem("ftge2gq-4g6daf1", gameDate, date.Add(time.Second), true, -115),
	))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `"Feeds Added Successfully"` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	g, err := e.store.GetGame(context.Background(), "ftge2gq-4g6daf1")
	if err != nil {
		t.Fatal(err)
	}
	want := feed.Game{ID: "ftge2gq-4g6daf1", Sport: "soccer", Summary: "UEFA European Championship @ Wembley", Venue: "Wembley",
		GameDate: gameDate, Status: feed.StatusLive}
	if !g.SameContent(want) || g.Version != 1 {
		t.Fatalf("game %+v, want %+v", g, want)
	}
	if n := cs.putGames.Load(); n != 1 {
		t.Fatalf("%d game writes for one game, want 1", n)
	}

	// GET /feeds returns the latest odds in the reference shape.
	rec = e.do(http.MethodGet, "/feeds?game=ftge2gq-4g6daf1", e.analyst, "")
	wantBody := fmt.Sprintf(`{"odds":[{"gameId":"ftge2gq-4g6daf1","away":3,"home":-3,"awayOdds":-115,"homeOdds":-110,"date":%q}]}`,
		date.Add(time.Second).Format(refLayout))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != wantBody {
		t.Fatalf("GET /feeds: %d %s, want %s", rec.Code, rec.Body, wantBody)
	}
	if rec := e.do(http.MethodGet, "/feeds?game=ftge2gq-4g6daf1", e.provider, ""); rec.Code != 200 {
		t.Fatalf("provider GET /feeds: %d", rec.Code)
	}

	// The same game again: no game write. Closed: one write, version 2.
	rec = e.do(http.MethodPost, "/feeds", e.provider, batch(refItem("ftge2gq-4g6daf1", gameDate, date.Add(2*time.Second), true, -110)))
	if rec.Code != 200 || cs.putGames.Load() != 1 {
		t.Fatalf("%d, %d game writes", rec.Code, cs.putGames.Load())
	}
	rec = e.do(http.MethodPut, "/feeds", e.provider, batch(refItem("ftge2gq-4g6daf1", gameDate, date.Add(3*time.Second), false, -110)))
	if rec.Code != 200 || cs.putGames.Load() != 2 {
		t.Fatalf("%d, %d game writes", rec.Code, cs.putGames.Load())
	}
	g, _ = e.store.GetGame(context.Background(), "ftge2gq-4g6daf1")
	if g.Status != feed.StatusClosed || g.Version != 2 {
		t.Fatalf("game %+v", g)
	}
	if n := len(e.odds("ftge2gq-4g6daf1")); n != 4 {
		t.Fatalf("%d odds, want 4", n)
	}
}

func TestReferenceFeedsKeepsTeams(t *testing.T) {
	e := newEnv(t, envOpt{})
	future := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute)
	rec := e.do(http.MethodPut, "/v1/games/g1", e.provider, fmt.Sprintf(
		`{"sport":"soccer","summary":"x","gameDate":%q,"status":"scheduled","homeTeam":"England","awayTeam":"Italy"}`, future.Format(time.RFC3339)))
	if rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = e.do(http.MethodPut, "/feeds", e.provider, batch(refItem("g1", future, time.Now().Add(-time.Minute), true, -110)))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	g, _ := e.store.GetGame(context.Background(), "g1")
	if g.HomeTeam != "England" || g.AwayTeam != "Italy" || g.Status != feed.StatusScheduled || g.Venue != "Wembley" {
		t.Fatalf("game %+v", g)
	}
}

func TestReferenceFeedsBadInput(t *testing.T) {
	gameDate := time.Now().Add(-2 * time.Hour)
	date := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	good := func(i int) string { return refItem("g1", gameDate, date.Add(time.Duration(i)*time.Second), true, -110) }
	edit := func(i int, f func(m map[string]any)) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(good(i)), &m)
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name   string
		body   string
		status int
		fields []string
		stored []int
	}{
		{"malformed", `{"odds":[{`, 400, nil, nil},
		{"odds in (-100,100)", batch(good(0), edit(1, func(m map[string]any) { m["awayOdds"] = 50 })), 422, []string{"1.awayOdds"}, []int{0}},
		{"wrong type", batch(edit(0, func(m map[string]any) { m["home"] = true }), good(1)), 422, []string{"0.home"}, []int{1}},
		{"not a number in a string", batch(edit(0, func(m map[string]any) { m["awayOdds"] = "-110x" }), good(1)), 422, []string{"0.awayOdds"}, []int{1}},
		{"bad isOpen", batch(good(0), edit(1, func(m map[string]any) { m["isOpen"] = "yes" })), 422, []string{"1.isOpen"}, []int{0}},
		{"bad type", batch(good(0), edit(1, func(m map[string]any) { m["type"] = "game soccer" })), 422, []string{"1.type"}, []int{0}},
		{"summary not a string", batch(good(0), edit(1, func(m map[string]any) { m["summary"] = 7 })), 422, []string{"1.summary"}, []int{0}},
		{"bad date", batch(good(0), edit(1, func(m map[string]any) { m["date"] = "20/11/2021" })), 422, []string{"1.date"}, []int{0}},
		{"future date", batch(good(0), edit(1, func(m map[string]any) { m["date"] = time.Now().Add(time.Hour).UTC().Format(refLayout) })), 422, []string{"1.date"}, []int{0}},
		{"bad game id", batch(good(0), edit(1, func(m map[string]any) { m["gameId"] = "a b" })), 422, []string{"1.gameId"}, []int{0}},
		{"missing date of a new game", batch(good(0), edit(1, func(m map[string]any) { m["gameId"] = "g2"; delete(m, "gameDate"); delete(m, "date") })), 422, []string{"1.date"}, []int{0}},
		{"bad gameDate", batch(good(0), edit(1, func(m map[string]any) { m["gameDate"] = "tomorrow" })), 422, []string{"1.gameDate"}, []int{0}},
		{"RFC 3339 times accepted", batch(edit(0, func(m map[string]any) { m["date"] = date.Format(time.RFC3339Nano) })), 200, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpt{})
			rec := e.do(http.MethodPut, "/feeds", e.provider, tt.body)
			if tt.status == 200 {
				if rec.Code != 200 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
			} else {
				p := decodeProblem(t, rec, tt.status)
				if got := p.fields(); !slices.Equal(got, tt.fields) && !(len(got) == 0 && len(tt.fields) == 0) {
					t.Fatalf("fields %q, want %q: %s", got, tt.fields, rec.Body)
				}
				if tt.status == 422 && !slices.Equal(p.StoredIndices, tt.stored) {
					t.Fatalf("storedIndices %v, want %v", p.StoredIndices, tt.stored)
				}
			}
			if n := len(e.odds("g1")); n != len(tt.stored) {
				t.Fatalf("%d odds stored, want %d", n, len(tt.stored))
			}
			if _, err := e.store.GetGame(context.Background(), "g2"); err == nil {
				t.Fatal("a game of a refused item was written")
			}
		})
	}
}

package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// gameBody is a PUT /v1/games/{id} body.
func gameBody(summary, status string, date time.Time) string {
	return fmt.Sprintf(`{"sport":"soccer","summary":%q,"gameDate":%q,"status":%q}`, summary, date.UTC().Format(time.RFC3339), status)
}

// ownerOf is the owner in a game response body.
func ownerOf(t *testing.T, body []byte) string {
	t.Helper()
	var g struct {
		Owner string `json:"owner"`
	}
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("decode game: %v: %s", err, body)
	}
	return g.Owner
}

// refGameItem is an item of /feeds describing game id with summary.
func refGameItem(id, summary string, gameDate, date time.Time, isOpen bool) string {
	return fmt.Sprintf(`{"summary":%q,"gameId":%q,"gameDate":%q,"type":"game-soccer","isOpen":%t,`+
		`"away":3,"home":-3,"awayOdds":-110,"homeOdds":-110,"date":%q}`,
		summary, id, gameDate.UTC().Format("2006-01-02 15:04"), isOpen, date.UTC().Format(refLayout))
}

func TestGameOwnership(t *testing.T) {
	e := newEnv(t, envOpt{})
	date := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute)
	rec := e.do(http.MethodPut, "/v1/games/own1", e.provider, gameBody("A v B", "scheduled", date))
	if rec.Code != 201 || ownerOf(t, rec.Body.Bytes()) != "acme" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	created, _ := e.store.GetGame(context.Background(), "own1")
	unchanged := func(what string) {
		t.Helper()
		if g, _ := e.store.GetGame(context.Background(), "own1"); g != created {
			t.Fatalf("%s changed the game: %+v, was %+v", what, g, created)
		}
	}

	// Another provider may not rename it...
	p := decodeProblem(t, e.do(http.MethodPut, "/v1/games/own1", e.other, gameBody("Renamed", "scheduled", date)), 403)
	if p.Type != httpx.TypeForbidden || !strings.Contains(p.Detail, "owned by another provider") || strings.Contains(p.Detail, "acme") {
		t.Fatalf("problem %+v", p)
	}
	unchanged("a rename by another provider")
	// ... nor close it through /feeds (nothing is stored: 403) ...
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	p = decodeProblem(t, e.do(http.MethodPut, "/feeds", e.other, batch(refGameItem("own1", "A v B", date, at, false))), 403)
	if !slices.Equal(p.fields(), []string{"0.gameId"}) || !strings.Contains(p.Errors[0].Reason, "owned by another provider") {
		t.Fatalf("problem %+v", p)
	}
	unchanged("a close by another provider")
	if n := len(e.odds("own1")); n != 0 {
		t.Fatalf("%d odds stored by a refused item", n)
	}
	// ... but it may send the game as it stands and post odds for it.
	if rec := e.do(http.MethodPut, "/v1/games/own1", e.other, gameBody("A v B", "scheduled", date)); rec.Code != 200 {
		t.Fatalf("same content by another provider: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(http.MethodPost, "/v1/odds", e.other, batch(goodItem("own1", at).json())); rec.Code != 200 {
		t.Fatalf("odds by another provider: %d %s", rec.Code, rec.Body)
	}
	unchanged("odds of another provider")

	// A /feeds request of another provider: the item that would change the
	// game is refused, the others are stored (422).
	p = decodeProblem(t, e.do(http.MethodPut, "/feeds", e.other, batch(
		refGameItem("own1", "Renamed", date, at, true),
		refGameItem("beta1", "C v D", date, at, true),
	)), 422)
	if !slices.Equal(p.fields(), []string{"0.gameId"}) || !slices.Equal(p.StoredIndices, []int{1}) {
		t.Fatalf("problem %+v", p)
	}
	unchanged("a mixed /feeds request")
	if g, err := e.store.GetGame(context.Background(), "beta1"); err != nil || g.Summary != "C v D" {
		t.Fatalf("beta1: %+v %v", g, err)
	}

	// An admin may change it; the owner stays.
	rec = e.do(http.MethodPut, "/v1/games/own1", e.admin, gameBody("A v B (admin)", "live", date))
	if rec.Code != 200 || ownerOf(t, rec.Body.Bytes()) != "acme" {
		t.Fatalf("admin update: %d %s", rec.Code, rec.Body)
	}
	// The owner still may.
	rec = e.do(http.MethodPut, "/v1/games/own1", e.provider, gameBody("A v B", "closed", date))
	if rec.Code != 200 || ownerOf(t, rec.Body.Bytes()) != "acme" {
		t.Fatalf("owner update: %d %s", rec.Code, rec.Body)
	}
	if g, _ := e.store.GetGame(context.Background(), "own1"); g.Version != 3 || g.Status != feed.StatusClosed {
		t.Fatalf("game %+v", g)
	}
}

// TestOwnerlessGameIsClaimed: a game stored without an owner (before games
// had owners) belongs to the first provider that changes it.
func TestOwnerlessGameIsClaimed(t *testing.T) {
	e := newEnv(t, envOpt{})
	old := e.putGame("legacy")
	date := old.GameDate
	if rec := e.do(http.MethodPut, "/v1/games/legacy", e.other, gameBody("A v B", "live", date)); rec.Code != 200 {
		t.Fatalf("no-op by beta: %d %s", rec.Code, rec.Body) // the same content: nothing written, nothing claimed
	}
	rec := e.do(http.MethodPut, "/v1/games/legacy", e.other, gameBody("Claimed", "live", date))
	if rec.Code != 200 || ownerOf(t, rec.Body.Bytes()) != "beta" {
		t.Fatalf("claim by beta: %d %s", rec.Code, rec.Body)
	}
	decodeProblem(t, e.do(http.MethodPut, "/v1/games/legacy", e.provider, gameBody("Taken back", "live", date)), 403)
	if g, _ := e.store.GetGame(context.Background(), "legacy"); g.Summary != "Claimed" || g.Version != 2 {
		t.Fatalf("game %+v", g)
	}
}

// racingStore creates game raced (as another writer would) each time it is
// read, and reports it missing: a game created between the read and the
// write of a /feeds item's game.
type racingStore struct {
	*embedded.Store
	create func()
	once   sync.Once
}

func (s *racingStore) GetGame(ctx context.Context, id string) (feed.Game, error) {
	if id == "raced" {
		s.once.Do(s.create)
		return feed.Game{}, fmt.Errorf("get game: %w", store.ErrNotFound)
	}
	return s.Store.GetGame(ctx, id)
}

// TestSixFieldsNeverOverwrite: the game a six-field item makes up is
// created only while the game is missing, atomically: a game created after
// every read the request made is not written over.
func TestSixFieldsNeverOverwrite(t *testing.T) {
	var rs *racingStore
	e := newEnv(t, envOpt{wrap: func(s *embedded.Store) ingest.Store { rs = &racingStore{Store: s}; return rs }})
	var known feed.Game
	rs.create = func() { known = e.putGame("raced") }
	date := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	rec := e.do(http.MethodPut, "/feeds", e.provider, batch(fmt.Sprintf(
		`{"gameId":"raced","away":3,"home":-3,"awayOdds":-110,"homeOdds":-110,"date":%q}`, date.Format(refLayout))))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if g, _ := e.store.GetGame(context.Background(), "raced"); g.Version != 1 || !g.SameContent(known) {
		t.Fatalf("game %+v, want %+v", g, known)
	}
	e.quoteOf("raced", date)
}

// TestFeedsGamesInOneCommit: the games of one /feeds request are written in
// one transaction of the embedded store, each game once, with the content
// of its last item.
func TestFeedsGamesInOneCommit(t *testing.T) {
	var commits atomic.Int64
	embedded.CommitHook = func(bool) { commits.Add(1) }
	e := newEnv(t, envOpt{})
	embedded.CommitHook = nil
	const games = 250
	date := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Minute)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	items := func(summary func(i int) string, n int) string {
		var out []string
		for i := range n {
			out = append(out, refGameItem(fmt.Sprintf("g%03d", i%games), summary(i), date, at.Add(time.Duration(n+i)*time.Millisecond), true))
		}
		return batch(out...)
	}
	if rec := e.do(http.MethodPut, "/feeds", e.provider, items(func(int) string { return "S0" }, games)); rec.Code != 200 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	before := commits.Load()
	// 500 items, two per game, alternating two summaries: the second wins.
	rec := e.do(http.MethodPut, "/feeds", e.provider, items(func(i int) string { return fmt.Sprintf("S%d", 1+i/games) }, 2*games))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if n := commits.Load() - before; n != 2 {
		t.Fatalf("%d commits for one /feeds request, want 2 (its games, its odds)", n)
	}
	for i := range games {
		id := fmt.Sprintf("g%03d", i)
		g, err := e.store.GetGame(context.Background(), id)
		if err != nil || g.Summary != "S2" || g.Version != 2 {
			t.Fatalf("%s: %+v %v, want summary S2 at version 2", id, g, err)
		}
		if n := len(e.odds(id)); n != 3 {
			t.Fatalf("%s: %d odds, want 3", id, n)
		}
	}
}

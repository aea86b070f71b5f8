package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Writers of the ownership cases.
var (
	p1    = store.As{Principal: "p1"}
	p2    = store.As{Principal: "p2"}
	admin = store.As{Principal: "root", Admin: true}
)

// putAs stores a game as a writer and fails the test on error.
func putAs(t *testing.T, s store.FeedStore, g feed.Game, as store.As) feed.Game {
	t.Helper()
	stored, _, err := s.PutGame(t.Context(), g, as)
	if err != nil {
		t.Fatalf("PutGame(%s) as %+v: %v", g.ID, as, err)
	}
	return stored
}

// refusedAs checks that as may not change the game to g, and that the
// stored game is still want.
func refusedAs(t *testing.T, s store.FeedStore, g feed.Game, as store.As, want feed.Game) {
	t.Helper()
	_, changed, err := s.PutGame(t.Context(), g, as)
	wantErr(t, fmt.Sprintf("PutGame(%s) as %s", g.ID, as.Principal), err, store.ErrNotOwner)
	if changed {
		t.Fatal("a refused PutGame: changed=true")
	}
	checkStored(t, s, want)
}

// checkStored checks that GetGame returns want, owner included.
func checkStored(t *testing.T, s store.FeedStore, want feed.Game) {
	t.Helper()
	got, err := s.GetGame(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("GetGame(%s): %v", want.ID, err)
	}
	checkGame(t, "GetGame", got, want)
	if got.Owner != want.Owner {
		t.Fatalf("GetGame(%s): owner %q, want %q", want.ID, got.Owner, want.Owner)
	}
}

// renamed is g with another summary.
func renamed(g feed.Game, summary string) feed.Game {
	g.Summary = summary
	return g
}

// ownershipCases covers who may change a game: PutGame and PutGames with
// their writer (store.As).
func ownershipCases() []testCase {
	return []testCase{
		{"create sets the owner, who may update", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusScheduled, t0)
			if stored := putAs(t, s, g, p1); stored.Owner != "p1" || stored.Version != 1 {
				t.Fatalf("created %+v, want owner p1 at version 1", stored)
			}
			stored := putAs(t, s, renamed(g, "changed"), p1)
			if stored.Owner != "p1" || stored.Version != 2 {
				t.Fatalf("updated %+v, want owner p1 at version 2", stored)
			}
			checkStored(t, s, stored)
		}},
		{"another provider is refused", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusScheduled, t0)
			first := putAs(t, s, g, p1)
			refusedAs(t, s, renamed(g, "p2 was here"), p2, first)
			closed := g
			closed.Status = feed.StatusClosed
			refusedAs(t, s, closed, p2, first)
			// The same content changes nothing: not refused.
			stored, changed, err := s.PutGame(t.Context(), g, p2)
			if err != nil || changed {
				t.Fatalf("PutGame(same content) as p2: changed=%v, %v", changed, err)
			}
			checkGame(t, "PutGame(same content)", stored, first)
		}},
		{"admin updates keep the owner", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusScheduled, t0)
			putAs(t, s, g, p1)
			stored := putAs(t, s, renamed(g, "by admin"), admin)
			if stored.Owner != "p1" || stored.Version != 2 {
				t.Fatalf("admin update %+v, want owner p1 at version 2", stored)
			}
			checkStored(t, s, stored)
			refusedAs(t, s, renamed(g, "p2"), p2, stored)
			if got := putAs(t, s, renamed(g, "by owner"), p1); got.Version != 3 || got.Owner != "p1" {
				t.Fatalf("owner update after admin: %+v", got)
			}
		}},
		{"a game without an owner is claimed by the first provider to change it", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusScheduled, t0)
			if stored := putAs(t, s, g, store.System); stored.Owner != "" {
				t.Fatalf("created by System: owner %q, want none", stored.Owner)
			}
			if stored := putAs(t, s, renamed(g, "by admin"), admin); stored.Owner != "" {
				t.Fatalf("admin update: owner %q, want none", stored.Owner)
			}
			if _, changed, err := s.PutGame(t.Context(), renamed(g, "by admin"), p2); err != nil || changed {
				t.Fatalf("same content as p2: changed=%v, %v", changed, err) // nothing written: nothing claimed
			}
			claimed := putAs(t, s, renamed(g, "by p1"), p1)
			if claimed.Owner != "p1" || claimed.Version != 3 {
				t.Fatalf("claim %+v, want owner p1 at version 3", claimed)
			}
			refusedAs(t, s, renamed(g, "by p2"), p2, claimed)
		}},
		{"create only", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusLive, t0)
			res, err := s.PutGames(t.Context(), []store.GameWrite{{Game: g, CreateOnly: true}}, p1)
			if err != nil || len(res) != 1 || res[0].Err != nil || !res[0].Changed || res[0].Game.Owner != "p1" {
				t.Fatalf("create only of a new game: %+v, %v", res, err)
			}
			created := res[0].Game
			// Over an existing game (anyone's), nothing is written.
			for _, as := range []store.As{p1, p2, admin} {
				res, err = s.PutGames(t.Context(), []store.GameWrite{{Game: renamed(g, "made up"), CreateOnly: true}}, as)
				if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Changed {
					t.Fatalf("create only over an existing game as %s: %+v, %v", as.Principal, res, err)
				}
				checkGame(t, "create only result", res[0].Game, created)
			}
			checkStored(t, s, created)
		}},
		{"concurrent claims: one provider wins", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusLive, t0)
			putAs(t, s, g, store.System)
			raceOwners(t, s, g)
		}},
		{"concurrent creates: one provider wins", func(t *testing.T, s store.FeedStore) {
			raceOwners(t, s, newGame("g1", feed.StatusLive, t0))
		}},
	}
}

// raceOwners has providers change (or create) g at once, each to its own
// summary: exactly one may succeed, and the game is that one's.
func raceOwners(t *testing.T, s store.FeedStore, g feed.Game) {
	t.Helper()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			as := store.As{Principal: fmt.Sprintf("r%d", i)}
			_, _, errs[i] = s.PutGame(t.Context(), renamed(g, as.Principal), as)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("both r%d and r%d changed the game", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrNotOwner):
			t.Fatalf("r%d: %v, want nil or ErrNotOwner", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no provider changed the game")
	}
	got, err := s.GetGame(t.Context(), g.ID)
	if err != nil {
		t.Fatalf("GetGame: %v", err)
	}
	if w := fmt.Sprintf("r%d", winner); got.Owner != w || got.Summary != w {
		t.Fatalf("game %+v, want owner and summary %s", got, w)
	}
}

// putGamesCases covers PutGames: order, repeated games, one outcome per
// write.
func putGamesCases() []testCase {
	return []testCase{
		{"in order: the last write of a game wins", func(t *testing.T, s store.FeedStore) {
			a, b := newGame("a", feed.StatusScheduled, t0), newGame("b", feed.StatusLive, t0.Add(time.Hour))
			writes := []store.GameWrite{
				{Game: renamed(a, "a1")}, {Game: renamed(b, "b1")}, {Game: renamed(a, "a2")},
				{Game: renamed(b, "b1")}, {Game: renamed(a, "a3")}, {Game: newGame("c", feed.StatusClosed, t0)},
			}
			res, err := s.PutGames(t.Context(), writes, p1)
			if err != nil || len(res) != len(writes) {
				t.Fatalf("PutGames: %d results, %v", len(res), err)
			}
			wantVersion := []int64{1, 1, 2, 1, 3, 1}
			wantChanged := []bool{true, true, true, false, true, true}
			for i, r := range res {
				if r.Err != nil || r.Changed != wantChanged[i] || r.Game.Version != wantVersion[i] || r.Game.Summary != writes[i].Game.Summary {
					t.Fatalf("result %d: %+v, want version %d changed=%v", i, r, wantVersion[i], wantChanged[i])
				}
			}
			checkStored(t, s, res[4].Game)
			checkStored(t, s, res[3].Game)
			checkIDs(t, "scheduled", gameIDs(listGames(t, s, feed.StatusScheduled, 0)), []string{"a"})
			checkIDs(t, "live", gameIDs(listGames(t, s, feed.StatusLive, 0)), []string{"b"})
		}},
		{"one outcome per write", func(t *testing.T, s store.FeedStore) {
			mine := putAs(t, s, newGame("mine", feed.StatusLive, t0), p2)
			theirs := putAs(t, s, newGame("theirs", feed.StatusLive, t0), p1)
			nobodys := putAs(t, s, newGame("nobodys", feed.StatusLive, t0), store.System)
			writes := []store.GameWrite{
				{Game: renamed(theirs, "x")},                                  // refused
				{Game: renamed(nobodys, "x")},                                 // claimed
				{Game: renamed(mine, "x")},                                    // updated
				{Game: newGame("new", feed.StatusLive, t0), CreateOnly: true}, // created
				{Game: renamed(theirs, "y"), CreateOnly: true},                // left as it is
				{Game: renamed(mine, "x")},                                    // the same content
			}
			res, err := s.PutGames(t.Context(), writes, p2)
			if err != nil || len(res) != len(writes) {
				t.Fatalf("PutGames: %d results, %v", len(res), err)
			}
			wantErr(t, "result 0", res[0].Err, store.ErrNotOwner)
			checkGame(t, "result 0", res[0].Game, theirs)
			want := []struct {
				changed bool
				owner   string
				version int64
			}{{}, {true, "p2", 2}, {true, "p2", 2}, {true, "p2", 1}, {false, "p1", 1}, {false, "p2", 2}}
			for i := 1; i < len(res); i++ {
				r, w := res[i], want[i]
				if r.Err != nil || r.Changed != w.changed || r.Game.Owner != w.owner || r.Game.Version != w.version {
					t.Fatalf("result %d: %+v, want changed=%v owner %s version %d", i, r, w.changed, w.owner, w.version)
				}
				checkStored(t, s, r.Game)
			}
			checkStored(t, s, theirs)
		}},
		{"none", func(t *testing.T, s store.FeedStore) {
			if res, err := s.PutGames(t.Context(), nil, p1); err != nil || len(res) != 0 {
				t.Fatalf("PutGames(nil): %v, %v", res, err)
			}
		}},
	}
}

package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// gameCases covers PutGame, GetGame and GamesExist.
func gameCases() []testCase {
	return []testCase{
		{"create", func(t *testing.T, s store.FeedStore) {
			start := time.Now().Add(-time.Minute)
			g := newGame("g1", feed.StatusScheduled, t0.Add(48*time.Hour))
			stored, changed, err := s.PutGame(t.Context(), g, store.System)
			if err != nil {
				t.Fatalf("PutGame: %v", err)
			}
			if !changed {
				t.Fatal("PutGame of a new game: changed=false")
			}
			want := g
			want.Version = 1
			checkGame(t, "PutGame result", stored, want)
			if stored.UpdatedAt.IsZero() || stored.UpdatedAt.Before(start) {
				t.Fatalf("UpdatedAt = %v, want about now", stored.UpdatedAt)
			}
			got, err := s.GetGame(t.Context(), "g1")
			if err != nil {
				t.Fatalf("GetGame: %v", err)
			}
			checkGame(t, "GetGame", got, stored)
		}},
		{"same content is a no-op", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusScheduled, t0.Add(48*time.Hour))
			first := mustPutGame(t, s, g)
			// A provider re-sends the game; a time in another zone is the same instant.
			again := g
			again.GameDate = g.GameDate.In(time.FixedZone("X", 3600))
			stored, changed, err := s.PutGame(t.Context(), again, store.System)
			if err != nil {
				t.Fatalf("PutGame again: %v", err)
			}
			if changed {
				t.Fatal("PutGame with the same content: changed=true")
			}
			checkGame(t, "PutGame again", stored, first)
			got, err := s.GetGame(t.Context(), "g1")
			if err != nil {
				t.Fatalf("GetGame: %v", err)
			}
			checkGame(t, "GetGame", got, first)
		}},
		{"update bumps the version", func(t *testing.T, s store.FeedStore) {
			g := newGame("g1", feed.StatusScheduled, t0.Add(48*time.Hour))
			first := mustPutGame(t, s, g)
			for v := int64(2); v <= 3; v++ {
				g.Summary = fmt.Sprintf("changed %d", v)
				stored, changed, err := s.PutGame(t.Context(), g, store.System)
				if err != nil {
					t.Fatalf("PutGame v%d: %v", v, err)
				}
				if !changed {
					t.Fatalf("PutGame v%d: changed=false", v)
				}
				want := g
				want.Version = v
				checkGame(t, "PutGame result", stored, want)
				if stored.UpdatedAt.Before(first.UpdatedAt) {
					t.Fatalf("UpdatedAt went back: %v < %v", stored.UpdatedAt, first.UpdatedAt)
				}
				got, err := s.GetGame(t.Context(), "g1")
				if err != nil {
					t.Fatalf("GetGame: %v", err)
				}
				checkGame(t, "GetGame", got, stored)
			}
		}},
		{"GetGame not found", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g10", feed.StatusLive, t0))
			_, err := s.GetGame(t.Context(), "g1")
			wantErr(t, "GetGame(missing)", err, store.ErrNotFound)
		}},
		{"GamesExist", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusScheduled, t0))
			mustPutGame(t, s, newGame("g2", feed.StatusClosed, t0))
			got, err := s.GamesExist(t.Context(), []string{"g1", "g2", "g10", "g"})
			if err != nil {
				t.Fatalf("GamesExist: %v", err)
			}
			want := map[string]bool{"g1": true, "g2": true, "g10": false, "g": false}
			for id, w := range want {
				if got[id] != w {
					t.Fatalf("GamesExist[%s] = %v, want %v (all: %v)", id, got[id], w, got)
				}
			}
			if _, err := s.GamesExist(t.Context(), nil); err != nil {
				t.Fatalf("GamesExist(nil): %v", err)
			}
		}},
	}
}

// listGames lists every game of a status, following cursors, with the given
// page size; it checks each page is full except the last.
func listGames(t *testing.T, s store.FeedStore, status feed.GameStatus, limit int) []feed.Game {
	t.Helper()
	var all []feed.Game
	p := store.Page{Limit: limit}
	for range 1000 {
		page, err := s.ListGames(t.Context(), status, p)
		if err != nil {
			t.Fatalf("ListGames(%s, %+v): %v", status, p, err)
		}
		if len(page.Games) > p.EffectiveLimit() {
			t.Fatalf("ListGames: %d games, limit %d", len(page.Games), p.EffectiveLimit())
		}
		all = append(all, page.Games...)
		if page.NextCursor == "" {
			return all
		}
		if len(page.Games) < p.EffectiveLimit() {
			t.Fatalf("ListGames: short page (%d of %d) with a next cursor", len(page.Games), p.EffectiveLimit())
		}
		p.Cursor = page.NextCursor
	}
	t.Fatal("ListGames: cursors never end")
	return nil
}

// gameIDs returns the ids of games, in order.
func gameIDs(games []feed.Game) []string {
	ids := make([]string, len(games))
	for i, g := range games {
		ids[i] = g.ID
	}
	return ids
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// listGameCases covers ListGames: sparse status lists, order, paging.
func listGameCases() []testCase {
	return []testCase{
		{"sparse status lists", func(t *testing.T, s store.FeedStore) {
			s1 := mustPutGame(t, s, newGame("s1", feed.StatusScheduled, t0.Add(2*time.Hour)))
			mustPutGame(t, s, newGame("l1", feed.StatusLive, t0.Add(time.Hour)))
			mustPutGame(t, s, newGame("c1", feed.StatusClosed, t0))
			checkIDs(t, "scheduled", gameIDs(listGames(t, s, feed.StatusScheduled, 0)), []string{"s1"})
			checkIDs(t, "live", gameIDs(listGames(t, s, feed.StatusLive, 0)), []string{"l1"})

			// s1 goes live: it leaves the scheduled list and joins the live one.
			s1.Status = feed.StatusLive
			mustPutGame(t, s, s1)
			checkIDs(t, "scheduled after s1 live", gameIDs(listGames(t, s, feed.StatusScheduled, 0)), []string{})
			live := listGames(t, s, feed.StatusLive, 0)
			checkIDs(t, "live after s1 live", gameIDs(live), []string{"l1", "s1"})
			want := s1
			want.Version, want.UpdatedAt = 2, time.Time{}
			checkGame(t, "listed s1", live[1], want)

			// Both close: no list holds them.
			for _, id := range []string{"s1", "l1"} {
				g, err := s.GetGame(t.Context(), id)
				if err != nil {
					t.Fatalf("GetGame(%s): %v", id, err)
				}
				g.Status = feed.StatusClosed
				mustPutGame(t, s, g)
			}
			checkIDs(t, "live after close", gameIDs(listGames(t, s, feed.StatusLive, 0)), []string{})
			checkIDs(t, "scheduled after close", gameIDs(listGames(t, s, feed.StatusScheduled, 0)), []string{})
		}},
		{"ordered by date then id", func(t *testing.T, s store.FeedStore) {
			// Inserted out of order; b2 and b10 share a date.
			for _, g := range []feed.Game{
				newGame("c", feed.StatusScheduled, t0.Add(3*time.Hour)),
				newGame("b2", feed.StatusScheduled, t0.Add(2*time.Hour)),
				newGame("a", feed.StatusScheduled, t0.Add(time.Hour)),
				newGame("b10", feed.StatusScheduled, t0.Add(2*time.Hour)),
				newGame("z", feed.StatusScheduled, t0.Add(30*time.Minute)),
			} {
				mustPutGame(t, s, g)
			}
			// A later date change moves a game in the order.
			mustPutGame(t, s, newGame("z", feed.StatusScheduled, t0.Add(4*time.Hour)))
			checkIDs(t, "scheduled", gameIDs(listGames(t, s, feed.StatusScheduled, 0)),
				[]string{"a", "b10", "b2", "c", "z"})
		}},
		{"paging", func(t *testing.T, s store.FeedStore) {
			var want []string
			for i := range 7 {
				id := fmt.Sprintf("g%02d", i)
				want = append(want, id)
				mustPutGame(t, s, newGame(id, feed.StatusLive, t0.Add(time.Duration(i)*time.Hour)))
			}
			mustPutGame(t, s, newGame("other", feed.StatusScheduled, t0))
			for _, limit := range []int{1, 3, 7, 100} {
				checkIDs(t, fmt.Sprintf("limit %d", limit), gameIDs(listGames(t, s, feed.StatusLive, limit)), want)
			}
			page, err := s.ListGames(t.Context(), feed.StatusLive, store.Page{Limit: 3})
			if err != nil {
				t.Fatalf("ListGames: %v", err)
			}
			checkIDs(t, "first page", gameIDs(page.Games), want[:3])
			if page.NextCursor == "" {
				t.Fatal("first page of 3 of 7: no next cursor")
			}
		}},
		{"bad cursor", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusScheduled, t0))
			_, err := s.ListGames(t.Context(), feed.StatusScheduled, store.Page{Cursor: "%%not a cursor%%"})
			wantErr(t, "ListGames(bad cursor)", err, store.ErrBadCursor)
		}},
	}
}

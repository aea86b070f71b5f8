package embedded

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/store"
)

// TestPutGamesOneCommit: the writes of one PutGames call share one
// transaction (one fsync), and log one change each, in order, as the tail
// serves them too.
func TestPutGamesOneCommit(t *testing.T) {
	var commits atomic.Int64
	CommitHook = func(bool) { commits.Add(1) }
	s := openStore(t, t.TempDir(), Options{})
	CommitHook = nil
	const games = 250
	var writes []store.GameWrite
	for i := range 2 * games {
		g := testGame(fmt.Sprintf("g%03d", i%games))
		g.Summary = fmt.Sprintf("S%d", i/games)
		writes = append(writes, store.GameWrite{Game: g})
	}
	res, err := s.PutGames(t.Context(), writes, store.As{Principal: "p1"})
	if err != nil {
		t.Fatalf("PutGames: %v", err)
	}
	if n := commits.Load(); n != 1 {
		t.Fatalf("%d commits for one PutGames, want 1", n)
	}
	for i, r := range res {
		if want := int64(1 + i/games); r.Err != nil || !r.Changed || r.Game.Version != want || r.Game.Owner != "p1" {
			t.Fatalf("result %d: %+v, want version %d", i, r, want)
		}
	}
	fromLog, err := s.readLog(0, 10*games)
	if err != nil {
		t.Fatalf("readLog: %v", err)
	}
	if len(fromLog) != 2*games {
		t.Fatalf("%d changes logged, want %d", len(fromLog), 2*games)
	}
	for i, c := range fromLog {
		if c.NewGame == nil || c.NewGame.ID != writes[i].Game.ID || c.NewGame.Summary != writes[i].Game.Summary {
			t.Fatalf("change %d: %+v, want the write of %+v", i, c.NewGame, writes[i].Game)
		}
	}
	if fromTail := changesAfter(t, s, 0, 10*games); !reflect.DeepEqual(fromTail, fromLog) {
		t.Fatal("the tail serves other changes than the log holds")
	}
}

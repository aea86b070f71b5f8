package embedded

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

func TestChangeLogRecordsEveryWriteOnce(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})

	g := testGame("g1")
	v1 := mustPutGame(t, s, g)
	mustPutGame(t, s, g) // same content: no change
	clk.Set(t0.Add(time.Minute))
	g.Status = feed.StatusLive
	v2 := mustPutGame(t, s, g)
	clk.Set(t0.Add(2 * time.Minute))
	odds := oddsBatch("g1", "p1", 0, 2)
	mustPutOdds(t, s, odds)

	// A duplicate and a no-op game log nothing; a correction logs a MODIFY
	// with the version it replaces as the old image.
	fix := odds[1]
	fix.AwayOdds = 999
	out := mustPutOdds(t, s, []feed.Odds{odds[0], fix})
	if !slices.Equal(out, []store.Outcome{store.Duplicate, store.Corrected}) {
		t.Fatalf("outcomes %v", out)
	}
	mustPutGame(t, s, g)

	changes := changesAfter(t, s, 0, 100)
	type want struct {
		kind             feed.ChangeKind
		itemType         string
		key              feed.Key
		version          int64
		at               time.Time
		newGame, oldGame *feed.Game
		newOdds, oldOdds *feed.Odds
	}
	o0, o1 := odds[0], odds[1]
	o0.Version, o1.Version, fix.Version = 1, 1, 2
	wants := []want{
		{feed.ChangeInsert, feed.TypeGame, feed.GameKey("g1"), 1, t0, &v1, nil, nil, nil},
		{feed.ChangeModify, feed.TypeGame, feed.GameKey("g1"), 2, t0.Add(time.Minute), &v2, &v1, nil, nil},
		{feed.ChangeInsert, feed.TypeOdds, o0.Key(), 1, t0.Add(2 * time.Minute), nil, nil, &o0, nil},
		{feed.ChangeInsert, feed.TypeOdds, o1.Key(), 1, t0.Add(2 * time.Minute), nil, nil, &o1, nil},
		{feed.ChangeModify, feed.TypeOdds, o1.Key(), 2, t0.Add(2 * time.Minute), nil, nil, &fix, &o1},
	}
	if len(changes) != len(wants) {
		t.Fatalf("%d changes, want %d: %+v", len(changes), len(wants), changes)
	}
	for i, w := range wants {
		c := changes[i]
		t.Run(fmt.Sprint(i+1), func(t *testing.T) {
			if c.Kind != w.kind || c.ItemType != w.itemType || c.Key != w.key || c.Version != w.version {
				t.Fatalf("change %+v, want %+v", c, w)
			}
			if !c.At.Equal(w.at) || c.Source != "log" || c.Position != fmt.Sprint(i+1) || c.Expired {
				t.Fatalf("change at %v source %q position %q expired %v", c.At, c.Source, c.Position, c.Expired)
			}
			if fmt.Sprint(c.NewGame) != fmt.Sprint(w.newGame) || fmt.Sprint(c.OldGame) != fmt.Sprint(w.oldGame) {
				t.Fatalf("game images new %+v old %+v, want %+v %+v", c.NewGame, c.OldGame, w.newGame, w.oldGame)
			}
			if !sameOddsImage(c.NewOdds, w.newOdds) || !sameOddsImage(c.OldOdds, w.oldOdds) {
				t.Fatalf("odds images new %+v old %+v, want %+v %+v", c.NewOdds, c.OldOdds, w.newOdds, w.oldOdds)
			}
		})
	}
	if n := lastSeq(t, s); n != 5 {
		t.Fatalf("LastSeq = %d, want 5", n)
	}
}

// sameOddsImage compares a change's odds image with the odds written.
func sameOddsImage(got, want *feed.Odds) bool {
	if got == nil || want == nil {
		return got == want
	}
	return got.SameContent(*want) && got.Version == want.Version && got.ReceivedAt.Equal(want.ReceivedAt)
}

func TestChangesAfterPaging(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	if n := lastSeq(t, s); n != 0 {
		t.Fatalf("LastSeq of an empty store = %d", n)
	}
	if c := changesAfter(t, s, 0, 10); len(c) != 0 {
		t.Fatalf("changes of an empty store: %v", c)
	}
	mustPutOdds(t, s, oddsBatch("g1", "p", 0, 250))
	var after uint64
	var pages []int
	for {
		page := changesAfter(t, s, after, 100)
		if len(page) == 0 {
			break
		}
		pages = append(pages, len(page))
		for _, c := range page {
			after++
			if c.Position != fmt.Sprint(after) {
				t.Fatalf("position %s, want %d", c.Position, after)
			}
			if want := testOdds("g1", "p", int(after-1)).Key(); c.Key != want {
				t.Fatalf("change %d key %v, want %v", after, c.Key, want)
			}
		}
	}
	if fmt.Sprint(pages) != "[100 100 50]" {
		t.Fatalf("pages %v, want [100 100 50]", pages)
	}
	if c := changesAfter(t, s, 249, 0); len(c) != 1 || c[0].Position != "250" {
		t.Fatalf("ChangesAfter(249) = %+v", c)
	}
}

func TestChangedWakesWaiter(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	isClosed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	tests := []struct {
		name  string
		write func()
		wake  bool
	}{
		{"new odds", func() { mustPutOdds(t, s, oddsBatch("g1", "p", 0, 2)) }, true},
		{"duplicate odds", func() { mustPutOdds(t, s, oddsBatch("g1", "p", 0, 2)) }, false},
		{"new game", func() { mustPutGame(t, s, testGame("g1")) }, true},
		{"same game", func() { mustPutGame(t, s, testGame("g1")) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := s.Changed()
			if isClosed(ch) {
				t.Fatal("Changed closed before any write")
			}
			if !tc.wake {
				tc.write()
				if isClosed(ch) {
					t.Fatal("woken by a write that changed nothing")
				}
				return
			}
			woke := make(chan struct{})
			go func() {
				<-ch
				close(woke)
			}()
			tc.write()
			select {
			case <-woke:
			case <-time.After(5 * time.Second):
				t.Fatal("waiter not woken by a commit")
			}
			if isClosed(s.Changed()) {
				t.Fatal("no fresh channel after the wake-up")
			}
		})
	}
}

func TestTrimLog(t *testing.T) {
	clk := &clock{now: t0}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, LogRetention: time.Hour})
	mustPutOdds(t, s, oddsBatch("g1", "p", 0, 10)) // seq 1..10 at t0
	clk.Set(t0.Add(2 * time.Hour))
	mustPutOdds(t, s, oddsBatch("g1", "p", 10, 5)) // seq 11..15 at t0+2h
	clk.Set(t0.Add(2*time.Hour + 10*time.Minute))  // cutoff t0+70m: 1..10 are old

	steps := []struct {
		name      string
		keepAfter uint64
		deleted   int
		first     string // position of the first entry left
	}{
		{"keepAfter holds back", 4, 4, "5"},
		{"nothing more below keepAfter", 4, 0, "5"},
		{"retention holds back", 100, 6, "11"},
		{"within retention", 15, 0, "11"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			n, err := s.TrimLog(st.keepAfter)
			if err != nil {
				t.Fatalf("TrimLog: %v", err)
			}
			if n != st.deleted {
				t.Fatalf("deleted %d, want %d", n, st.deleted)
			}
			if c := changesAfter(t, s, 0, 1); len(c) != 1 || c[0].Position != st.first {
				t.Fatalf("first change left: %+v, want position %s", c, st.first)
			}
		})
	}
	clk.Set(t0.Add(10 * time.Hour))
	if n, err := s.TrimLog(15); err != nil || n != 5 {
		t.Fatalf("TrimLog(15) later = %d, %v; want 5", n, err)
	}
	if c := changesAfter(t, s, 0, 0); len(c) != 0 {
		t.Fatalf("log not empty: %d entries", len(c))
	}
	if n := lastSeq(t, s); n != 15 {
		t.Fatalf("LastSeq after trimming = %d, want 15", n)
	}
	mustPutOdds(t, s, oddsBatch("g1", "p", 15, 1))
	if c := changesAfter(t, s, 0, 0); len(c) != 1 || c[0].Position != "16" {
		t.Fatalf("after a trim the sequence goes on: %+v", c)
	}
}

func TestReopenKeepsItemsAndLog(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	g := mustPutGame(t, s, testGame("g1"))
	odds := oddsBatch("g1", "p", 0, 30)
	mustPutOdds(t, s, odds)
	before := changesAfter(t, s, 0, 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, dir, Options{})
	got, err := s.GetGame(t.Context(), "g1")
	if err != nil || got != g {
		t.Fatalf("GetGame after reopen = %+v, %v; want %+v", got, err, g)
	}
	latest, err := s.LatestOdds(t.Context(), "g1", "")
	if err != nil || !latest.SameContent(odds[29]) {
		t.Fatalf("LatestOdds after reopen = %+v, %v", latest, err)
	}
	after := changesAfter(t, s, 0, 0)
	if a, b := mustJSON(t, after), mustJSON(t, before); a != b || len(after) != 31 {
		t.Fatalf("log after reopen differs: %d entries, before %d", len(after), len(before))
	}
	if n := lastSeq(t, s); n != 31 {
		t.Fatalf("LastSeq after reopen = %d, want 31", n)
	}
	if out := mustPutOdds(t, s, odds[:1]); out[0] != store.Duplicate {
		t.Fatalf("re-put after reopen: %v", out)
	}
	mustPutOdds(t, s, oddsBatch("g1", "p", 30, 1))
	if c := changesAfter(t, s, 31, 0); len(c) != 1 || c[0].Position != "32" {
		t.Fatalf("next change after reopen: %+v", c)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

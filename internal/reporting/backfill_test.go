package reporting_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// logScanner is a reporting.Scanner over the embedded store's change log
// (ChangesAfter from 0): the simplest real source of every item the store
// wrote, until the store adapters implement ScanSegment themselves. A
// segment holds the items whose key hashes to it; the cursor is the log
// sequence after which to go on.
type logScanner struct {
	s     *embedded.Store
	pages atomic.Int64
}

func (l *logScanner) ScanSegment(ctx context.Context, segment, total int, cursor string, page func([]feed.Item, string) error) error {
	var after uint64
	if cursor != "" {
		var err error
		if after, err = strconv.ParseUint(cursor, 10, 64); err != nil {
			return fmt.Errorf("bad cursor %q", cursor)
		}
	}
	for {
		changes, err := l.s.ChangesAfter(after, 100)
		if err != nil || len(changes) == 0 {
			return err
		}
		var items []feed.Item
		for _, c := range changes {
			h := fnv.New32a()
			h.Write([]byte(c.Key.PK + c.Key.SK))
			if int(h.Sum32()%uint32(total)) != segment {
				continue
			}
			switch {
			case c.NewGame != nil:
				items = append(items, feed.GameItem(*c.NewGame))
			case c.NewOdds != nil:
				items = append(items, feed.OddsItem(*c.NewOdds, time.Time{}))
			}
		}
		after, _ = strconv.ParseUint(changes[len(changes)-1].Position, 10, 64)
		next := strconv.FormatUint(after, 10)
		if len(changes) < 100 {
			next = ""
		}
		l.pages.Add(1)
		if err := page(items, next); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
	}
}

// fillStore writes games and odds to a fresh embedded store.
func fillStore(t *testing.T, games, oddsPerGame int) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for g := range games {
		id := fmt.Sprintf("game-%d", g)
		gm := game(id, 0, feed.StatusScheduled)
		if _, _, err := st.PutGame(ctx, gm, store.System); err != nil {
			t.Fatal(err)
		}
		gm.Status = feed.StatusLive
		if _, _, err := st.PutGame(ctx, gm, store.System); err != nil { // version 2
			t.Fatal(err)
		}
		var batch []feed.Odds
		for i := range oddsPerGame {
			batch = append(batch, odds(id, fmt.Sprintf("p%d", i%4), base.Add(time.Duration(i)*time.Second), float64(i%7), 100+i))
		}
		if _, err := st.PutOdds(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestBackfill(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	st := fillStore(t, 10, 60)
	src := &logScanner{s: st}
	var out strings.Builder
	if err := reporting.Backfill(ctx, src, pool, &out, reporting.BackfillOptions{Segments: 3}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 600 {
		t.Fatalf("%d ticks, want 600", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM games WHERE version = 2 AND status = 'live'"); n != 10 {
		t.Fatalf("%d games at version 2, want 10", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM latest_odds"); n != 40 {
		t.Fatalf("%d latest odds, want 40", n)
	}
	if !strings.Contains(out.String(), "segments 3/3 done") {
		t.Fatalf("progress output %q", out.String())
	}
	want := snapshot(t, pool)

	// Done runs are not scanned again; a restarted run changes nothing.
	pages := src.pages.Load()
	if err := reporting.Backfill(ctx, src, pool, nil, reporting.BackfillOptions{Segments: 3}); err != nil {
		t.Fatal(err)
	}
	if src.pages.Load() != pages {
		t.Fatal("a finished run scanned again")
	}
	if err := reporting.Backfill(ctx, src, pool, nil, reporting.BackfillOptions{Segments: 3, Restart: true}); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, pool); got != want {
		t.Fatal("a second backfill changed the rows")
	}
}

func TestBackfillResumes(t *testing.T) {
	_, pool := newDB(t)
	st := fillStore(t, 10, 60)
	src := &logScanner{s: st}
	// Interrupt the first run after a few pages.
	ctx, cancel := context.WithCancel(context.Background())
	stopping := &stopAfter{Scanner: src, pages: 3, cancel: cancel}
	err := reporting.Backfill(ctx, stopping, pool, nil, reporting.BackfillOptions{Segments: 1})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted backfill: %v", err)
	}
	if n := count(t, pool, "SELECT items FROM backfill_progress"); n == 0 {
		t.Fatal("no progress saved")
	}
	before := src.pages.Load()
	if err := reporting.Backfill(context.Background(), src, pool, nil, reporting.BackfillOptions{Segments: 1}); err != nil {
		t.Fatal(err)
	}
	total := (st2changes(t, st) + 99) / 100
	if resumed := src.pages.Load() - before; resumed >= int64(total) {
		t.Fatalf("resumed run scanned %d pages of %d: it started over", resumed, total)
	}
	if n := count(t, pool, "SELECT count(*) FROM odds_ticks"); n != 600 {
		t.Fatalf("%d ticks after resuming, want 600", n)
	}
}

// stopAfter cancels the run once pages pages were handed over.
type stopAfter struct {
	reporting.Scanner
	pages  int
	cancel context.CancelFunc
	n      atomic.Int64
}

func (s *stopAfter) ScanSegment(ctx context.Context, segment, total int, cursor string, page func([]feed.Item, string) error) error {
	return s.Scanner.ScanSegment(ctx, segment, total, cursor, func(items []feed.Item, next string) error {
		if s.n.Add(1) > int64(s.pages) {
			s.cancel()
		}
		return page(items, next)
	})
}

func st2changes(t *testing.T, st *embedded.Store) int {
	seq, err := st.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	return int(seq)
}

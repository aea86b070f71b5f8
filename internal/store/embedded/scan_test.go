package embedded

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// The store is a source of the reporting backfill.
var (
	_ reporting.Scanner = (*Store)(nil)
	_ reporting.Counter = (*Store)(nil)
)

// TestBackfillAcceptsStore hands the store to reporting.Backfill as its
// source: the backfill's own tests run it against Postgres.
func TestBackfillAcceptsStore(t *testing.T) {
	var src reporting.Scanner = openStore(t, t.TempDir(), Options{})
	if _, ok := src.(reporting.Counter); !ok {
		t.Error("the store is no reporting.Counter")
	}
	_ = func() error {
		return reporting.Backfill(context.Background(), src, nil, nil, reporting.BackfillOptions{})
	}
}

// fillScanStore writes games with odds and returns the store and the keys
// of every item it holds.
func fillScanStore(t *testing.T, games, oddsPerGame, pageSize int) (*Store, map[feed.Key]bool) {
	t.Helper()
	s := openStore(t, t.TempDir(), Options{ScanPageSize: pageSize})
	want := map[feed.Key]bool{}
	for g := range games {
		id := fmt.Sprintf("scan-%02d", g)
		want[mustPutGame(t, s, testGame(id)).Key()] = true
		odds := append(oddsBatch(id, "p1", 0, oddsPerGame/2), oddsBatch(id, "p2", 0, oddsPerGame-oddsPerGame/2)...)
		mustPutOdds(t, s, odds)
		for _, o := range odds {
			want[o.Key()] = true
		}
	}
	return s, want
}

// scanPage is one page a scan delivered.
type scanPage struct {
	keys []feed.Key
	next string
}

// scanAll reads one segment from cursor to its end.
func scanAll(t *testing.T, s *Store, segment, total int, cursor string) []scanPage {
	t.Helper()
	var pages []scanPage
	err := s.ScanSegment(t.Context(), segment, total, cursor, func(items []feed.Item, next string) error {
		p := scanPage{next: next}
		for _, it := range items {
			var err error
			switch it.Type() {
			case feed.TypeGame:
				_, err = feed.DecodeGame(it)
			case feed.TypeOdds:
				_, err = feed.DecodeOdds(it)
			default:
				err = fmt.Errorf("type %q", it.Type())
			}
			if err != nil {
				t.Errorf("segment %d/%d: item %v: %v", segment, total, it.Key(), err)
			}
			p.keys = append(p.keys, it.Key())
		}
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanSegment(%d, %d, %q): %v", segment, total, cursor, err)
	}
	return pages
}

// checkPages checks the page sizes, the key order and the cursors of a
// segment's pages.
func checkPages(t *testing.T, pages []scanPage, pageSize int) {
	t.Helper()
	var prev string
	for i, p := range pages {
		if len(p.keys) == 0 || len(p.keys) > pageSize {
			t.Errorf("page %d has %d items (page size %d)", i, len(p.keys), pageSize)
		}
		if last := i == len(pages)-1; last != (p.next == "") {
			t.Errorf("page %d of %d: next = %q", i, len(pages), p.next)
		}
		for _, k := range p.keys {
			if ks := string(key(k.PK, k.SK)); ks <= prev {
				t.Errorf("page %d: key %v not after the previous one", i, k)
			} else {
				prev = ks
			}
		}
	}
}

func TestScanSegmentCoversAllItems(t *testing.T) {
	const pageSize = 7
	s, want := fillScanStore(t, 6, 25, pageSize)
	for _, total := range []int{1, 4, 7} {
		t.Run(fmt.Sprintf("%d segments", total), func(t *testing.T) {
			seen := map[feed.Key]int{}
			perSegment := make([]int, total)
			for seg := range total {
				pages := scanAll(t, s, seg, total, "")
				checkPages(t, pages, pageSize)
				for _, p := range pages {
					for _, k := range p.keys {
						seen[k]++
					}
					perSegment[seg] += len(p.keys)
				}
			}
			t.Logf("items per segment: %v", perSegment)
			for k, n := range seen {
				if n != 1 || !want[k] {
					t.Errorf("key %v seen %d times (stored: %v)", k, n, want[k])
				}
			}
			if len(seen) != len(want) {
				t.Errorf("scanned %d distinct items, stored %d", len(seen), len(want))
			}
		})
	}
	n, err := s.ApproxItemCount(t.Context())
	if err != nil || n != int64(len(want)) {
		t.Errorf("ApproxItemCount = %d, %v; want %d", n, err, len(want))
	}
}

func TestScanSegmentResumes(t *testing.T) {
	const pageSize, total, seg = 5, 3, 1
	s, _ := fillScanStore(t, 4, 20, pageSize)
	full := scanAll(t, s, seg, total, "")
	if len(full) < 4 {
		t.Fatalf("segment has %d pages; the test wants at least 4", len(full))
	}
	// Stop after two pages, as an interrupted backfill does.
	errStop := errors.New("stop")
	var got []feed.Key
	var cursor string
	pages := 0
	err := s.ScanSegment(t.Context(), seg, total, "", func(items []feed.Item, next string) error {
		for _, it := range items {
			got = append(got, it.Key())
		}
		cursor = next
		if pages++; pages == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("ScanSegment = %v, want the page's error", err)
	}
	if cursor != full[1].next {
		t.Errorf("cursor after page 2 = %q, the full scan's is %q", cursor, full[1].next)
	}
	rest := scanAll(t, s, seg, total, cursor)
	checkPages(t, rest, pageSize)
	for _, p := range rest {
		got = append(got, p.keys...)
	}
	var want []feed.Key
	for _, p := range full {
		want = append(want, p.keys...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("resumed scan read %d items, the full scan %d (or in another order)", len(got), len(want))
	}
}

func TestScanSegmentRejects(t *testing.T) {
	s, _ := fillScanStore(t, 2, 10, 3)
	cursor := scanAll(t, s, 0, 2, "")[0].next
	if cursor == "" {
		t.Fatal("no cursor after the first page")
	}
	noop := func([]feed.Item, string) error { return nil }
	for _, tc := range []struct {
		name           string
		segment, total int
		cursor         string
		badCursor      bool
	}{
		{"other segment's cursor", 1, 2, cursor, true},
		{"other total's cursor", 0, 3, cursor, true},
		{"garbage cursor", 0, 2, "!!", true},
		{"segment past total", 2, 2, "", false},
		{"negative segment", -1, 2, "", false},
		{"zero total", 0, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ScanSegment(t.Context(), tc.segment, tc.total, tc.cursor, noop)
			if err == nil || errors.Is(err, store.ErrBadCursor) != tc.badCursor {
				t.Errorf("ScanSegment = %v, want an error (bad cursor: %v)", err, tc.badCursor)
			}
		})
	}
}

func TestScanSegmentEmptyStore(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	pages := scanAll(t, s, 0, 4, "")
	if len(pages) != 0 {
		t.Errorf("empty store gave %d pages", len(pages))
	}
	if n, err := s.ApproxItemCount(t.Context()); n != 0 || err != nil {
		t.Errorf("ApproxItemCount = %d, %v", n, err)
	}
}

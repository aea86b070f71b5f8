package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Scanner is a feed store that also offers the segment scan the reporting
// backfill reads (reporting.Scanner and reporting.Counter).
type Scanner interface {
	store.FeedStore
	ScanSegment(ctx context.Context, segment, total int, cursor string, page func(items []feed.Item, next string) error) error
	ApproxItemCount(ctx context.Context) (int64, error)
}

// ScanOptions describe an adapter's scan to RunScanConformance.
type ScanOptions struct {
	// NewStore returns a fresh, empty store whose scan pages hold at most
	// pageSize items.
	NewStore func(t *testing.T, pageSize int) Scanner
	// ExactCount: ApproxItemCount is exact (else it only has to answer a
	// number between 0 and the items stored, as DynamoDB's lazy ItemCount).
	ExactCount bool
	// Less, when set, is the order of the items within one segment's pages.
	Less func(a, b feed.Key) bool
}

// RunScanConformance runs the segment-scan cases against an adapter: every
// item comes out of exactly one segment, pages are bounded and only the last
// has no cursor, a scan resumes from a cursor without repeats, and bad
// cursors and segments are refused.
func RunScanConformance(t *testing.T, o ScanOptions) {
	t.Helper()
	t.Run("CoversAllItems", func(t *testing.T) { scanCoversAllItems(t, o) })
	t.Run("Resumes", func(t *testing.T) { scanResumes(t, o) })
	t.Run("Rejects", func(t *testing.T) { scanRejects(t, o) })
	t.Run("Empty", func(t *testing.T) { scanEmpty(t, o) })
}

// fillScanStore writes games with odds (quotes of several markets) and market
// statuses, providers and a lease, and returns the store and the keys of
// every item it holds.
func fillScanStore(t *testing.T, o ScanOptions, games, oddsPerGame, pageSize int) (Scanner, map[feed.Key]bool) {
	t.Helper()
	s := o.NewStore(t, pageSize)
	want := map[feed.Key]bool{}
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for g := range games {
		id := fmt.Sprintf("scan-%02d", g)
		stored, _, err := s.PutGame(t.Context(), feed.Game{ID: id, Sport: "nba", GameDate: base, Status: feed.StatusScheduled}, store.System)
		if err != nil {
			t.Fatalf("PutGame: %v", err)
		}
		want[stored.Key()] = true
		var odds []feed.Odds
		for i := range oddsPerGame {
			provider := []string{"p1", "p2"}[i%2]
			at := base.Add(time.Duration(i) * time.Second)
			if i%3 == 2 { // a quote of another market: an item of the same partition
				odds = append(odds, newQuote(id, provider, feed.MarketTotal, feed.PeriodFirstHalf, at, i))
				continue
			}
			odds = append(odds, feed.Odds{GameID: id, Provider: provider, ObservedAt: at,
				AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: 100 + i, HomeOdds: -110, ReceivedAt: base})
		}
		if _, err := s.PutOdds(t.Context(), odds); err != nil {
			t.Fatalf("PutOdds: %v", err)
		}
		for _, od := range odds {
			want[od.Key()] = true
		}
		if g%2 == 0 { // a market status: one more item type in the game's partition
			st, _, err := s.PutMarketChange(t.Context(), feed.MarketChange{GameID: id, Market: feed.MarketMoneyline,
				Action: feed.ActionSuspend, At: base})
			if err != nil {
				t.Fatalf("PutMarketChange: %v", err)
			}
			want[st.Key()] = true
		}
	}
	if games > 0 { // providers' liveness and a lease: partitions of their own
		for _, p := range []string{"p1", "p2"} {
			st, _, err := s.Heard(t.Context(), p, base)
			if err != nil {
				t.Fatalf("Heard: %v", err)
			}
			want[st.Key()] = true
		}
		if _, _, err := s.AcquireLease(t.Context(), "liveness", "r1", base, time.Minute); err != nil {
			t.Fatalf("AcquireLease: %v", err)
		}
		want[feed.LeaseKey("liveness")] = true
	}
	return s, want
}

// scanPage is one page a scan delivered.
type scanPage struct {
	keys []feed.Key
	next string
}

// scanAll reads one segment from cursor to its end, checking that every
// item decodes.
func scanAll(t *testing.T, s Scanner, segment, total int, cursor string) []scanPage {
	t.Helper()
	var pages []scanPage
	err := s.ScanSegment(t.Context(), segment, total, cursor, func(items []feed.Item, next string) error {
		p := scanPage{next: next}
		for _, it := range items {
			var c feed.Change // decodes every item type, as a change image
			if _, err := c.SetImage(it, false); err != nil {
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

// checkPages checks the page sizes, the cursors and (with o.Less) the key
// order of a segment's pages.
func checkPages(t *testing.T, o ScanOptions, pages []scanPage, pageSize int) {
	t.Helper()
	var prev *feed.Key
	for i, p := range pages {
		if len(p.keys) == 0 || len(p.keys) > pageSize {
			t.Errorf("page %d has %d items (page size %d)", i, len(p.keys), pageSize)
		}
		if last := i == len(pages)-1; last != (p.next == "") {
			t.Errorf("page %d of %d: next = %q", i, len(pages), p.next)
		}
		for _, k := range p.keys {
			if o.Less != nil && prev != nil && !o.Less(*prev, k) {
				t.Errorf("page %d: key %v not after the previous one", i, k)
			}
			prev = &k
		}
	}
}

func scanCoversAllItems(t *testing.T, o ScanOptions) {
	const pageSize = 7
	s, want := fillScanStore(t, o, 6, 25, pageSize)
	for _, total := range []int{1, 4, 7} {
		t.Run(fmt.Sprintf("%d segments", total), func(t *testing.T) {
			seen := map[feed.Key]int{}
			perSegment := make([]int, total)
			for seg := range total {
				pages := scanAll(t, s, seg, total, "")
				checkPages(t, o, pages, pageSize)
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
	if err != nil || n < 0 || n > int64(len(want)) || (o.ExactCount && n != int64(len(want))) {
		t.Errorf("ApproxItemCount = %d, %v; stored %d (exact: %v)", n, err, len(want), o.ExactCount)
	}
}

func scanResumes(t *testing.T, o ScanOptions) {
	const pageSize, total, seg = 5, 2, 1
	s, _ := fillScanStore(t, o, 4, 20, pageSize)
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
	checkPages(t, o, rest, pageSize)
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

func scanRejects(t *testing.T, o ScanOptions) {
	s, _ := fillScanStore(t, o, 2, 10, 3)
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

func scanEmpty(t *testing.T, o ScanOptions) {
	s := o.NewStore(t, 0)
	for seg := range 3 {
		if pages := scanAll(t, s, seg, 3, ""); len(pages) != 0 {
			t.Errorf("segment %d of an empty store gave %d pages", seg, len(pages))
		}
	}
	if n, err := s.ApproxItemCount(t.Context()); n != 0 || err != nil {
		t.Errorf("ApproxItemCount = %d, %v", n, err)
	}
}

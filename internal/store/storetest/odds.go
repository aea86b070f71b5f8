package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// series returns n odds of a game, one per second from start, cycling
// through providers.
func series(gameID string, providers []string, start time.Time, n int) []feed.Odds {
	odds := make([]feed.Odds, n)
	for i := range odds {
		odds[i] = newOdds(gameID, providers[i%len(providers)], start.Add(time.Duration(i)*time.Second), i)
	}
	return odds
}

// newestFirst returns a copy of odds sorted newest first (then provider
// descending, as the key order has it).
func newestFirst(odds []feed.Odds) []feed.Odds {
	out := slices.Clone(odds)
	slices.SortFunc(out, func(a, b feed.Odds) int {
		if c := b.ObservedAt.Compare(a.ObservedAt); c != 0 {
			return c
		}
		switch {
		case a.Provider > b.Provider:
			return -1
		case a.Provider < b.Provider:
			return 1
		}
		return 0
	})
	return out
}

// putOddsCases covers PutOdds outcomes and batching.
func putOddsCases() []testCase {
	return []testCase{
		{"stored, duplicate, correction", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			o1 := newOdds("g1", "p1", t0, 1)
			o2 := newOdds("g1", "p1", t0.Add(time.Second), 2)
			mustPutOdds(t, s, []feed.Odds{o1, o2}, store.Stored)

			dup := o1
			dup.ReceivedAt = o1.ReceivedAt.Add(time.Minute) // a retry: received later, same quote
			fix := o2
			fix.AwayOdds, fix.ReceivedAt = 250, o2.ReceivedAt.Add(time.Second)
			o3 := newOdds("g1", "p1", t0.Add(2*time.Second), 3)
			out, err := s.PutOdds(t.Context(), []feed.Odds{o3, dup, fix})
			if err != nil {
				t.Fatalf("PutOdds: %v", err)
			}
			want := []store.Outcome{store.Stored, store.Duplicate, store.Corrected}
			if !slices.Equal(out, want) {
				t.Fatalf("outcomes %v, want %v", out, want)
			}
			// The correction is the next version of o2; the duplicate changed nothing.
			fix.Version = 2
			page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1"})
			if err != nil {
				t.Fatalf("ListOdds: %v", err)
			}
			checkOddsList(t, "ListOdds", page.Odds, []feed.Odds{o3, fix, o1})
		}},
		{"corrections: every stored version is a duplicate, a new one the next version", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			v1 := newOdds("g1", "p1", t0, 1)
			mustPutOdds(t, s, []feed.Odds{v1}, store.Stored)
			v2 := v1
			v2.HomeOdds = -150
			mustPutOdds(t, s, []feed.Odds{v2}, store.Corrected)
			// A provider retrying an old body after a lost answer must not roll
			// the price back: v1 again is a duplicate, v2 stays current.
			mustPutOdds(t, s, []feed.Odds{v1}, store.Duplicate)
			mustPutOdds(t, s, []feed.Odds{v2}, store.Duplicate)
			v3 := v1
			v3.AwaySpread, v3.HomeSpread = 4, -4
			mustPutOdds(t, s, []feed.Odds{v3}, store.Corrected)
			mustPutOdds(t, s, []feed.Odds{v1, v2}, store.Duplicate)
			got, err := s.LatestOdds(t.Context(), "g1", "p1")
			if err != nil {
				t.Fatalf("LatestOdds: %v", err)
			}
			v3.Version = 3
			checkOdds(t, "LatestOdds after corrections", got, v3)
		}},
		{"corrections are bounded", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			o := newOdds("g1", "p1", t0, 1)
			mustPutOdds(t, s, []feed.Odds{o}, store.Stored)
			for v := 2; v <= feed.MaxOddsVersions; v++ {
				o.AwayOdds++
				mustPutOdds(t, s, []feed.Odds{o}, store.Corrected)
			}
			o.AwayOdds++
			mustPutOdds(t, s, []feed.Odds{o}, store.Refused)
			got, err := s.LatestOdds(t.Context(), "g1", "p1")
			if err != nil {
				t.Fatalf("LatestOdds: %v", err)
			}
			if got.Version != feed.MaxOddsVersions || got.AwayOdds != o.AwayOdds-1 {
				t.Fatalf("after a refused version: %+v, want version %d", got, feed.MaxOddsVersions)
			}
		}},
		{"same key twice in one batch", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			a := newOdds("g1", "p1", t0, 1)
			b := newOdds("g1", "p2", t0, 2)
			b2 := b
			b2.HomeOdds = -300
			out, err := s.PutOdds(t.Context(), []feed.Odds{a, b, a, b2})
			if err != nil {
				t.Fatalf("PutOdds: %v", err)
			}
			want := []store.Outcome{store.Stored, store.Stored, store.Duplicate, store.Corrected}
			if !slices.Equal(out, want) {
				t.Fatalf("outcomes %v, want %v", out, want)
			}
			got, err := s.LatestOdds(t.Context(), "g1", "p2")
			if err != nil {
				t.Fatalf("LatestOdds: %v", err)
			}
			b2.Version = 2
			checkOdds(t, "LatestOdds(p2)", got, b2)
		}},
		{"concurrent corrections of one key lose nothing", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			const writers = 6
			var wg sync.WaitGroup
			outs := make([]store.Outcome, writers)
			for w := range writers {
				wg.Go(func() {
					o := newOdds("g1", "p1", t0, w)
					out, err := s.PutOdds(t.Context(), []feed.Odds{o})
					if err != nil {
						t.Errorf("PutOdds: %v", err)
						return
					}
					outs[w] = out[0]
				})
			}
			wg.Wait()
			stored, corrected := 0, 0
			for _, o := range outs {
				switch o {
				case store.Stored:
					stored++
				case store.Corrected:
					corrected++
				}
			}
			if stored != 1 || corrected != writers-1 {
				t.Fatalf("outcomes %v: want one stored and %d corrected", outs, writers-1)
			}
			got, err := s.LatestOdds(t.Context(), "g1", "p1")
			if err != nil {
				t.Fatalf("LatestOdds: %v", err)
			}
			if got.Version != writers {
				t.Fatalf("version %d after %d different writes, want %d", got.Version, writers, writers)
			}
		}},
		{"large batch", func(t *testing.T, s store.FeedStore) {
			// 120 items over two games: more than one DynamoDB batch (25).
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g2", feed.StatusLive, t0))
			var odds []feed.Odds
			g2 := series("g2", []string{"p1"}, t0, 60)
			for i, o := range series("g1", []string{"p1", "p2", "p3"}, t0, 60) {
				odds = append(odds, o, g2[i])
			}
			mustPutOdds(t, s, odds, store.Stored)
			mustPutOdds(t, s, odds, store.Duplicate)
			for _, g := range []string{"g1", "g2"} {
				var want []feed.Odds
				for _, o := range odds {
					if o.GameID == g {
						want = append(want, o)
					}
				}
				page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: g, Page: store.Page{Limit: 1000}})
				if err != nil {
					t.Fatalf("ListOdds(%s): %v", g, err)
				}
				checkOddsList(t, "ListOdds "+g, page.Odds, newestFirst(want))
			}
		}},
		{"empty batch", func(t *testing.T, s store.FeedStore) {
			out, err := s.PutOdds(t.Context(), nil)
			if err != nil || len(out) != 0 {
				t.Fatalf("PutOdds(nil) = %v, %v; want no outcomes, no error", out, err)
			}
		}},
	}
}

// latestOddsCases covers LatestOdds and LatestOddsByProvider.
func latestOddsCases() []testCase {
	return []testCase{
		{"overall and per provider", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g2", feed.StatusLive, t0))
			_, err := s.LatestOdds(t.Context(), "g1", "")
			wantErr(t, "LatestOdds(no odds)", err, store.ErrNotFound)

			odds := series("g1", []string{"p2", "p1", "p3"}, t0, 10) // newest: i=9, p2
			mustPutOdds(t, s, odds, store.Stored)
			got, err := s.LatestOdds(t.Context(), "g1", "")
			if err != nil {
				t.Fatalf("LatestOdds: %v", err)
			}
			checkOdds(t, "LatestOdds overall", got, odds[9])
			for provider, want := range map[string]feed.Odds{"p1": odds[7], "p2": odds[9], "p3": odds[8]} {
				got, err := s.LatestOdds(t.Context(), "g1", provider)
				if err != nil {
					t.Fatalf("LatestOdds(%s): %v", provider, err)
				}
				checkOdds(t, "LatestOdds "+provider, got, want)
			}
			_, err = s.LatestOdds(t.Context(), "g1", "p")
			wantErr(t, "LatestOdds(unknown provider)", err, store.ErrNotFound)
			_, err = s.LatestOdds(t.Context(), "g2", "")
			wantErr(t, "LatestOdds(other game)", err, store.ErrNotFound)
		}},
		{"by provider", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			none, err := s.LatestOddsByProvider(t.Context(), "g1")
			if err != nil || len(none) != 0 {
				t.Fatalf("LatestOddsByProvider(no odds) = %v, %v; want none", none, err)
			}
			// Interleaved in time; names chosen so time order, insertion
			// order and name order all differ, with prefixes of each other.
			providers := []string{"pinnacle", "bet", "draftkings", "bet365"}
			odds := series("g1", providers, t0, 22)
			slices.Reverse(odds)
			mustPutOdds(t, s, odds, store.Stored)
			got, err := s.LatestOddsByProvider(t.Context(), "g1")
			if err != nil {
				t.Fatalf("LatestOddsByProvider: %v", err)
			}
			// Newest per provider (series index): pinnacle 20, bet 21, draftkings 18, bet365 19.
			want := []feed.Odds{odds[0], odds[2], odds[3], odds[1]} // bet, bet365, draftkings, pinnacle
			checkOddsList(t, "LatestOddsByProvider", got, want)
		}},
		{"games whose ids are prefixes", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g10", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g", feed.StatusLive, t0))
			// g10 has newer odds and another provider; g has none.
			g1 := series("g1", []string{"p1"}, t0, 5)
			g10 := series("g10", []string{"p1", "p2"}, t0.Add(time.Hour), 5)
			mustPutOdds(t, s, append(slices.Clone(g10), g1...), store.Stored)

			got, err := s.LatestOdds(t.Context(), "g1", "")
			if err != nil {
				t.Fatalf("LatestOdds(g1): %v", err)
			}
			checkOdds(t, "LatestOdds g1", got, g1[4])
			_, err = s.LatestOdds(t.Context(), "g1", "p2")
			wantErr(t, "LatestOdds(g1, p2)", err, store.ErrNotFound)
			_, err = s.LatestOdds(t.Context(), "g", "")
			wantErr(t, "LatestOdds(g)", err, store.ErrNotFound)
			byProvider, err := s.LatestOddsByProvider(t.Context(), "g1")
			if err != nil {
				t.Fatalf("LatestOddsByProvider(g1): %v", err)
			}
			checkOddsList(t, "LatestOddsByProvider g1", byProvider, []feed.Odds{g1[4]})
			page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1"})
			if err != nil {
				t.Fatalf("ListOdds(g1): %v", err)
			}
			checkOddsList(t, "ListOdds g1", page.Odds, newestFirst(g1))
			page, err = s.ListOdds(t.Context(), store.OddsRange{GameID: "g"})
			if err != nil || len(page.Odds) != 0 || page.NextCursor != "" {
				t.Fatalf("ListOdds(g) = %+v, %v; want an empty last page", page, err)
			}
			game, err := s.GetGame(t.Context(), "g1")
			if err != nil || game.ID != "g1" {
				t.Fatalf("GetGame(g1) = %+v, %v", game, err)
			}
		}},
	}
}

// listAllOdds follows cursors through every page of r, checking page sizes.
func listAllOdds(t *testing.T, s store.FeedStore, r store.OddsRange) []feed.Odds {
	t.Helper()
	var all []feed.Odds
	for range 10000 {
		page, err := s.ListOdds(t.Context(), r)
		if err != nil {
			t.Fatalf("ListOdds(%+v): %v", r, err)
		}
		if len(page.Odds) > r.EffectiveLimit() {
			t.Fatalf("ListOdds: %d odds, limit %d", len(page.Odds), r.EffectiveLimit())
		}
		all = append(all, page.Odds...)
		if page.NextCursor == "" {
			return all
		}
		if len(page.Odds) < r.EffectiveLimit() {
			t.Fatalf("ListOdds: short page (%d of %d) with a next cursor", len(page.Odds), r.EffectiveLimit())
		}
		r.Cursor = page.NextCursor
	}
	t.Fatal("ListOdds: cursors never end")
	return nil
}

// inRange returns the odds observed within [from, to] (zero: unbounded).
func inRange(odds []feed.Odds, from, to time.Time) []feed.Odds {
	var out []feed.Odds
	for _, o := range odds {
		if (from.IsZero() || !o.ObservedAt.Before(from)) && (to.IsZero() || !o.ObservedAt.After(to)) {
			out = append(out, o)
		}
	}
	return out
}

// listOddsCases covers ListOdds: order, bounds, paging, cursors.
func listOddsCases() []testCase {
	return []testCase{
		{"range bounds are inclusive", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			// Two providers per instant, so bounds fall on shared timestamps.
			var odds []feed.Odds
			for i := range 20 {
				at := t0.Add(time.Duration(i) * time.Second)
				odds = append(odds, newOdds("g1", "a", at, i), newOdds("g1", "b", at, i))
			}
			mustPutOdds(t, s, odds, store.Stored)
			at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
			for _, tc := range []struct {
				name     string
				from, to time.Time
			}{
				{"unbounded", time.Time{}, time.Time{}},
				{"from and to", at(5), at(10)},
				{"one instant", at(7), at(7)},
				{"from only", at(15), time.Time{}},
				{"to only", time.Time{}, at(3)},
				{"between instants", at(5).Add(time.Nanosecond), at(10).Add(-time.Nanosecond)},
				{"before all", time.Time{}, at(0).Add(-time.Nanosecond)},
				{"after all", at(19).Add(time.Nanosecond), time.Time{}},
				{"zone other than UTC", at(5).In(time.FixedZone("X", -5*3600)), at(6).In(time.FixedZone("Y", 7200))},
			} {
				t.Run(tc.name, func(t *testing.T) {
					want := newestFirst(inRange(odds, tc.from, tc.to))
					got := listAllOdds(t, s, store.OddsRange{GameID: "g1", From: tc.from, To: tc.to})
					checkOddsList(t, "ListOdds", got, want)
					paged := listAllOdds(t, s, store.OddsRange{GameID: "g1", From: tc.from, To: tc.to, Page: store.Page{Limit: 3}})
					checkOddsList(t, "ListOdds by 3", paged, want)
				})
			}
		}},
		{"paging", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g10", feed.StatusLive, t0))
			odds := series("g1", []string{"p1", "p2", "p3"}, t0, 250)
			mustPutOdds(t, s, odds, store.Stored)
			mustPutOdds(t, s, series("g10", []string{"p1"}, t0, 30), store.Stored)
			want := newestFirst(odds)

			first, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1"})
			if err != nil {
				t.Fatalf("ListOdds: %v", err)
			}
			checkOddsList(t, "default page", first.Odds, want[:store.DefaultLimit])
			if first.NextCursor == "" {
				t.Fatal("default page of 250: no next cursor")
			}
			for _, limit := range []int{40, 100, 249, 250, 1000} {
				t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
					got := listAllOdds(t, s, store.OddsRange{GameID: "g1", Page: store.Page{Limit: limit}})
					checkOddsList(t, "all pages", got, want)
				})
			}
			from, to := odds[20].ObservedAt, odds[199].ObservedAt
			got := listAllOdds(t, s, store.OddsRange{GameID: "g1", From: from, To: to, Page: store.Page{Limit: 33}})
			checkOddsList(t, "range by 33", got, newestFirst(odds[20:200]))
		}},
		{"bad cursor", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutOdds(t, s, series("g1", []string{"p1"}, t0, 3), store.Stored)
			_, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1", Page: store.Page{Cursor: "%%not a cursor%%"}})
			wantErr(t, "ListOdds(bad cursor)", err, store.ErrBadCursor)
		}},
	}
}

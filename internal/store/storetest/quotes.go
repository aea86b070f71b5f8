package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// newQuote returns a valid quote of market m and period p of a game; n
// varies the prices.
func newQuote(gameID, provider string, m feed.Market, p feed.Period, observedAt time.Time, n int) feed.Odds {
	o := feed.Odds{GameID: gameID, Provider: provider, ObservedAt: observedAt, Market: m, Period: p,
		ReceivedAt: observedAt.Add(50 * time.Millisecond)}
	switch m.Or() {
	case feed.MarketSpread:
		o.AwaySpread, o.HomeSpread, o.AwayOdds, o.HomeOdds = 3.5, -3.5, 100+n, -(110 + n)
	case feed.MarketMoneyline:
		o.AwayOdds, o.HomeOdds = 140+n, -(160 + n)
	case feed.MarketThreeWay:
		o.HomeOdds, o.DrawOdds, o.AwayOdds = 150+n, 220+n, 180+n
	case feed.MarketTotal:
		o.Line, o.OverOdds, o.UnderOdds = 44.5, -(105 + n), -(115 + n)
	}
	return o
}

// quoteMarkets are the markets and periods the quote cases use: every
// market type on the full game, and some on halves.
var quoteMarkets = []struct {
	m feed.Market
	p feed.Period
}{
	{"", ""}, {feed.MarketMoneyline, ""}, {feed.MarketThreeWay, ""}, {feed.MarketTotal, ""},
	{feed.MarketTotal, feed.PeriodFirstHalf}, {feed.MarketSpread, feed.PeriodSecondHalf},
	{feed.MarketMoneyline, feed.PeriodFirstHalf},
}

// byKeyDesc returns a copy of odds in ListOdds order: by SK, descending.
func byKeyDesc(odds []feed.Odds) []feed.Odds {
	out := slices.Clone(odds)
	slices.SortFunc(out, func(a, b feed.Odds) int { return strings.Compare(b.Key().SK, a.Key().SK) })
	return out
}

// inMarket returns the odds of market m and period p (normalized).
func inMarket(odds []feed.Odds, m feed.Market, p feed.Period) []feed.Odds {
	var out []feed.Odds
	for _, o := range odds {
		if o.Market.Or() == m.Or() && o.Period.Or() == p.Or() {
			out = append(out, o)
		}
	}
	return out
}

// quoteCases covers quotes of every market on the odds path.
func quoteCases() []testCase {
	return []testCase{
		{"each market: stored, duplicate, corrected", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			var all []feed.Odds
			for _, qm := range quoteMarkets {
				all = append(all, newQuote("g1", "p1", qm.m, qm.p, t0, 1))
			}
			// One instant and provider: every market is its own key.
			mustPutOdds(t, s, all, store.Stored)
			mustPutOdds(t, s, all, store.Duplicate)
			for i, v1 := range all {
				v2 := v1
				v2.ReceivedAt = v1.ReceivedAt.Add(time.Second)
				switch v1.Market.Or() {
				case feed.MarketThreeWay:
					v2.DrawOdds++
				case feed.MarketTotal:
					v2.Line++
				default:
					v2.HomeOdds--
				}
				mustPutOdds(t, s, []feed.Odds{v2}, store.Corrected)
				mustPutOdds(t, s, []feed.Odds{v1}, store.Duplicate)
				mustPutOdds(t, s, []feed.Odds{v2}, store.Duplicate)
				v2.Version = 2
				all[i] = v2
			}
			got := listAllOdds(t, s, store.OddsRange{GameID: "g1", AllMarkets: true})
			checkOddsList(t, "ListOdds(all markets)", got, byKeyDesc(all))
			for _, o := range got {
				if o.Market == feed.MarketSpread || o.Period == feed.PeriodFull {
					t.Fatalf("stored quote %+v: market and period are not normalized", o)
				}
			}
		}},
		{"full-game spreads keep their keys", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			named := newOdds("g1", "p1", t0, 1)
			named.Market, named.Period = feed.MarketSpread, feed.PeriodFull
			if k := named.Key(); k.SK != feed.OddsSK(t0, "p1") || named.LSI1SK() != feed.ProviderSK("p1", t0) {
				t.Fatalf("key of a full-game spread: %v %s", k, named.LSI1SK())
			}
			mustPutOdds(t, s, []feed.Odds{named}, store.Stored)
			mustPutOdds(t, s, []feed.Odds{newOdds("g1", "p1", t0, 1)}, store.Duplicate)
			half := newQuote("g1", "p1", feed.MarketSpread, feed.PeriodFirstHalf, t0, 1)
			mustPutOdds(t, s, []feed.Odds{half}, store.Stored)
			got, err := s.LatestOdds(t.Context(), "g1", "p1")
			if err != nil {
				t.Fatalf("LatestOdds: %v", err)
			}
			if got.Market != "" || got.Period != "" {
				t.Fatalf("LatestOdds = %+v: want market and period empty", got)
			}
			checkOdds(t, "LatestOdds", got, named)
		}},
		{"LatestOdds ignores other markets", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			spread := newOdds("g1", "p1", t0, 1)
			mustPutOdds(t, s, []feed.Odds{spread}, store.Stored)
			var later []feed.Odds
			for i, qm := range quoteMarkets[1:] {
				at := t0.Add(time.Duration(i+1) * time.Second)
				later = append(later, newQuote("g1", "p1", qm.m, qm.p, at, i), newQuote("g1", "p2", qm.m, qm.p, at, i))
			}
			mustPutOdds(t, s, later, store.Stored)
			for _, provider := range []string{"", "p1"} {
				got, err := s.LatestOdds(t.Context(), "g1", provider)
				if err != nil {
					t.Fatalf("LatestOdds(%q): %v", provider, err)
				}
				checkOdds(t, fmt.Sprintf("LatestOdds(%q)", provider), got, spread)
			}
			_, err := s.LatestOdds(t.Context(), "g1", "p2")
			wantErr(t, "LatestOdds(p2, quotes only)", err, store.ErrNotFound)
			by, err := s.LatestOddsByProvider(t.Context(), "g1")
			if err != nil {
				t.Fatalf("LatestOddsByProvider: %v", err)
			}
			checkOddsList(t, "LatestOddsByProvider", by, []feed.Odds{spread})
			page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1"})
			if err != nil {
				t.Fatalf("ListOdds: %v", err)
			}
			checkOddsList(t, "ListOdds(spread)", page.Odds, []feed.Odds{spread})
		}},
		{"LatestQuotes", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g10", feed.StatusLive, t0))
			none, err := s.LatestQuotes(t.Context(), "g1")
			if err != nil || none == nil || len(none) != 0 {
				t.Fatalf("LatestQuotes(no quotes) = %#v, %v; want an empty slice", none, err)
			}
			providers := []string{"pinnacle", "bet", "bet365"}
			var all []feed.Odds
			newest := map[string]feed.Odds{}
			seen := map[feed.Key]bool{}
			for i := range 40 {
				qm := quoteMarkets[(i*3)%len(quoteMarkets)]
				o := newQuote("g1", providers[i%len(providers)], qm.m, qm.p, t0.Add(time.Duration(i%17)*time.Second), i)
				if seen[o.Key()] {
					continue
				}
				seen[o.Key()] = true
				all = append(all, o)
				if cur, ok := newest[o.QuoteID()]; !ok || o.ObservedAt.After(cur.ObservedAt) {
					newest[o.QuoteID()] = o
				}
			}
			mustPutOdds(t, s, all, store.Stored)
			mustPutOdds(t, s, []feed.Odds{newQuote("g10", "bet", feed.MarketTotal, "", t0.Add(time.Hour), 1)}, store.Stored)
			// A correction of a newest quote is what LatestQuotes returns.
			cur := newest[all[0].QuoteID()]
			fix := newQuote(cur.GameID, cur.Provider, cur.Market, cur.Period, cur.ObservedAt, 777)
			mustPutOdds(t, s, []feed.Odds{fix}, store.Corrected)
			fix.Version = 2
			newest[fix.QuoteID()] = fix
			want := make([]feed.Odds, 0, len(newest))
			for _, o := range newest {
				want = append(want, o)
			}
			slices.SortFunc(want, store.CompareQuotes)
			got, err := s.LatestQuotes(t.Context(), "g1")
			if err != nil {
				t.Fatalf("LatestQuotes: %v", err)
			}
			checkOddsList(t, "LatestQuotes", got, want)
		}},
		{"ListOdds by market, paged", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			mustPutGame(t, s, newGame("g10", feed.StatusLive, t0))
			var all []feed.Odds
			for i := range 150 {
				at := t0.Add(time.Duration(i/3) * time.Second)
				qm := quoteMarkets[i%len(quoteMarkets)]
				if i%10 == 0 {
					qm = quoteMarkets[0] // spreads are rarer: filtered pages read past many quotes
				}
				all = append(all, newQuote("g1", []string{"p1", "p2"}[i%2], qm.m, qm.p, at, i))
			}
			mustPutOdds(t, s, all, store.Stored)
			mustPutOdds(t, s, []feed.Odds{newQuote("g10", "p1", feed.MarketTotal, "", t0, 1)}, store.Stored)
			from, to := t0.Add(10*time.Second), t0.Add(40*time.Second)
			for _, qm := range append(quoteMarkets, struct {
				m feed.Market
				p feed.Period
			}{feed.MarketSpread, feed.PeriodFull}) {
				want := byKeyDesc(inMarket(all, qm.m, qm.p))
				for _, limit := range []int{1, 4, 100} {
					r := store.OddsRange{GameID: "g1", Market: qm.m, Period: qm.p, Page: store.Page{Limit: limit}}
					what := fmt.Sprintf("ListOdds(%s) by %d", feed.MarketID(qm.m, qm.p), limit)
					checkOddsList(t, what, listAllOdds(t, s, r), want)
					r.From, r.To = from, to
					checkOddsList(t, what+" in range", listAllOdds(t, s, r), inRange(want, from, to))
				}
			}
			for _, limit := range []int{7, 1000} {
				r := store.OddsRange{GameID: "g1", AllMarkets: true, Page: store.Page{Limit: limit}}
				checkOddsList(t, fmt.Sprint("ListOdds(all) by ", limit), listAllOdds(t, s, r), byKeyDesc(all))
			}
			page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1", Market: feed.MarketThreeWay, Period: feed.PeriodSecondHalf})
			if err != nil || len(page.Odds) != 0 || page.NextCursor != "" {
				t.Fatalf("ListOdds(a market never quoted) = %+v, %v; want an empty last page", page, err)
			}
		}},
	}
}

package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// change returns a change of market m (full game) of g1 made at t0+sec by
// provider p1.
func change(m feed.Market, a feed.MarketAction, sec int) feed.MarketChange {
	return feed.MarketChange{GameID: "g1", Market: m, Action: a, At: t0.Add(time.Duration(sec) * time.Second), By: "p1"}
}

// mustChange applies c and checks its effect; it returns the status stored.
func mustChange(t *testing.T, s store.FeedStore, c feed.MarketChange, want feed.ChangeEffect) feed.MarketStatus {
	t.Helper()
	st, eff, err := s.PutMarketChange(t.Context(), c)
	if err != nil {
		t.Fatalf("PutMarketChange(%s %s at %v): %v", c.Action, feed.MarketID(c.Market, c.Period), c.At, err)
	}
	if eff != want {
		t.Fatalf("PutMarketChange(%s %s): effect %v, want %v", c.Action, feed.MarketID(c.Market, c.Period), eff, want)
	}
	return st
}

// checkMarkets fails the test unless Markets of gameID is exactly want.
func checkMarkets(t *testing.T, s store.FeedStore, gameID string, want ...feed.MarketStatus) {
	t.Helper()
	got, err := s.Markets(t.Context(), gameID)
	if err != nil {
		t.Fatalf("Markets(%s): %v", gameID, err)
	}
	if got == nil || len(got) != len(want) {
		t.Fatalf("Markets(%s) = %+v, want %d statuses (never nil)", gameID, got, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("Markets(%s)[%d] =\n %+v\nwant (as PutMarketChange returned it)\n %+v", gameID, i, got[i], want[i])
		}
	}
}

// marketCases covers PutMarketChange and Markets.
func marketCases() []testCase {
	return []testCase{
		{"every transition, settlement and cancellation rolled back", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			ml := feed.MarketMoneyline
			results := map[feed.Outcome]feed.Result{feed.OutcomeHome: feed.ResultWin, feed.OutcomeAway: feed.ResultLose}
			settle := change(ml, feed.ActionSettle, 0)
			settle.Results = results
			steps := []struct {
				c       feed.MarketChange
				state   feed.MarketState
				prev    feed.MarketState
				results bool
			}{
				{change(ml, feed.ActionOpen, 1), feed.MarketOpen, "", false},
				{change(ml, feed.ActionSuspend, 2), feed.MarketSuspended, "", false},
				{change(ml, feed.ActionSuspend, 3), feed.MarketSuspended, "", false},
				{change(ml, feed.ActionResume, 4), feed.MarketOpen, "", false},
				{change(ml, feed.ActionClose, 5), feed.MarketClosed, "", false},
				{settle, feed.MarketSettled, feed.MarketClosed, true},
				{change(ml, feed.ActionRollback, 7), feed.MarketClosed, "", false},
				{settle, feed.MarketSettled, feed.MarketClosed, true},
				{change(ml, feed.ActionCancel, 9), feed.MarketCancelled, feed.MarketClosed, false},
				{change(ml, feed.ActionRollback, 10), feed.MarketClosed, "", false},
				{change(ml, feed.ActionOpen, 11), feed.MarketOpen, "", false},
				{change(ml, feed.ActionCancel, 12), feed.MarketCancelled, feed.MarketOpen, false},
				{change(ml, feed.ActionRollback, 13), feed.MarketOpen, "", false},
			}
			var st feed.MarketStatus
			for i, step := range steps {
				c := step.c
				c.At = t0.Add(time.Duration(i+1) * time.Second)
				st = mustChange(t, s, c, feed.Applied)
				if st.State != step.state || st.Prev != step.prev || (len(st.Results) > 0) != step.results ||
					st.Version != int64(i+1) || !st.At.Equal(c.At) || st.By != "p1" || st.UpdatedAt.IsZero() {
					t.Fatalf("step %d (%s): %+v; want %s, prev %q, version %d", i, c.Action, st, step.state, step.prev, i+1)
				}
				if step.results && !reflect.DeepEqual(st.Results, results) {
					t.Fatalf("step %d: results %v, want %v", i, st.Results, results)
				}
				checkMarkets(t, s, "g1", st)
			}
			if st.Market != ml || st.Period != feed.PeriodFull || st.GameID != "g1" {
				t.Fatalf("status %+v: want g1 moneyline/full", st)
			}
		}},
		{"refused changes write nothing", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			tot := feed.MarketTotal
			_, _, err := s.PutMarketChange(t.Context(), change(tot, feed.ActionRollback, 1))
			wantErr(t, "rollback of a market never settled", err, feed.ErrTransition)
			checkMarkets(t, s, "g1")
			mustChange(t, s, change(tot, feed.ActionClose, 1), feed.Applied)
			settle := change(tot, feed.ActionSettle, 2)
			settle.Results = map[feed.Outcome]feed.Result{feed.OutcomeOver: feed.ResultPush, feed.OutcomeUnder: feed.ResultPush}
			settled := mustChange(t, s, settle, feed.Applied)
			for i, a := range []feed.MarketAction{feed.ActionSuspend, feed.ActionResume, feed.ActionOpen, feed.ActionClose, feed.ActionSettle} {
				c := change(tot, a, 3+i)
				c.Results = settle.Results
				if a != feed.ActionSettle {
					c.Results = nil
				}
				_, _, err := s.PutMarketChange(t.Context(), c)
				wantErr(t, fmt.Sprintf("%s a settled market", a), err, feed.ErrTransition)
			}
			checkMarkets(t, s, "g1", settled)
			cancelled := mustChange(t, s, change(tot, feed.ActionCancel, 10), feed.Applied)
			_, _, err = s.PutMarketChange(t.Context(), change(tot, feed.ActionCancel, 11))
			wantErr(t, "cancel a cancelled market", err, feed.ErrTransition)
			checkMarkets(t, s, "g1", cancelled)
		}},
		{"trader suspensions", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			tw := feed.MarketThreeWay
			trader := change(tw, feed.ActionSuspend, 1)
			trader.By, trader.ByTrader = "t1", true
			st := mustChange(t, s, trader, feed.Applied)
			if st.Reason != feed.ReasonTrader || !st.ByTrader {
				t.Fatalf("trader suspension: %+v", st)
			}
			_, _, err := s.PutMarketChange(t.Context(), change(tw, feed.ActionResume, 2))
			wantErr(t, "a provider resumes a trader's suspension", err, feed.ErrTraderSuspension)
			stop := change(tw, feed.ActionSuspend, 3)
			stop.Reason = feed.ReasonBetStop
			st = mustChange(t, s, stop, feed.Applied)
			if st.Reason != feed.ReasonTrader || !st.ByTrader || st.Version != 2 {
				t.Fatalf("a provider's bet stop over a trader's suspension: %+v", st)
			}
			resume := change(tw, feed.ActionResume, 4)
			resume.By, resume.ByTrader = "t1", true
			st = mustChange(t, s, resume, feed.Applied)
			if st.State != feed.MarketOpen || st.Version != 3 {
				t.Fatalf("trader resume: %+v", st)
			}
			checkMarkets(t, s, "g1", st)
		}},
		{"superseded and repeated", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			late := change(feed.MarketSpread, feed.ActionSuspend, 10)
			late.Period, late.Note = feed.PeriodFirstHalf, "goal"
			st := mustChange(t, s, late, feed.Applied)
			again := mustChange(t, s, late, feed.Repeated)
			if !reflect.DeepEqual(again, st) {
				t.Fatalf("repeated: stored %+v, want %+v", again, st)
			}
			early := change(feed.MarketSpread, feed.ActionResume, 5)
			early.Period = feed.PeriodFirstHalf
			old := mustChange(t, s, early, feed.Superseded)
			if !reflect.DeepEqual(old, st) {
				t.Fatalf("superseded: stored %+v, want %+v", old, st)
			}
			// An older change that the rule would refuse is superseded too.
			refused := change(feed.MarketSpread, feed.ActionRollback, 1)
			refused.Period = feed.PeriodFirstHalf
			mustChange(t, s, refused, feed.Superseded)
			checkMarkets(t, s, "g1", st)
		}},
		{"markets of a game, ordered", func(t *testing.T, s store.FeedStore) {
			for _, g := range []string{"g1", "g10", "g"} {
				mustPutGame(t, s, newGame(g, feed.StatusLive, t0))
			}
			var want []feed.MarketStatus
			for i, qm := range quoteMarkets {
				c := change(qm.m.Or(), feed.ActionSuspend, i)
				c.Period = qm.p
				want = append(want, mustChange(t, s, c, feed.Applied))
			}
			other := change(feed.MarketTotal, feed.ActionClose, 0)
			other.GameID = "g10"
			g10 := mustChange(t, s, other, feed.Applied)
			slices.SortFunc(want, func(a, b feed.MarketStatus) int {
				return store.CompareQuotes(feed.Odds{Market: a.Market, Period: a.Period}, feed.Odds{Market: b.Market, Period: b.Period})
			})
			checkMarkets(t, s, "g1", want...)
			checkMarkets(t, s, "g10", g10)
			checkMarkets(t, s, "g")
			checkMarkets(t, s, "unknown")
		}},
		{"concurrent changes of one market lose nothing", func(t *testing.T, s store.FeedStore) {
			mustPutGame(t, s, newGame("g1", feed.StatusLive, t0))
			const writers, each = 8, 4
			var (
				mu       sync.Mutex
				versions []int64
				wg       sync.WaitGroup
			)
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						// Same instant, different notes: every change is a new state.
						c := change(feed.MarketTotal, feed.ActionSuspend, 0)
						c.Note = fmt.Sprintf("w%d-%d", w, i)
						st, eff, err := s.PutMarketChange(t.Context(), c)
						if err != nil || eff != feed.Applied || st.Note != c.Note {
							t.Errorf("PutMarketChange(%s) = %+v, %v, %v", c.Note, st, eff, err)
							return
						}
						mu.Lock()
						versions = append(versions, st.Version)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			slices.Sort(versions)
			for i, v := range versions {
				if v != int64(i+1) {
					t.Fatalf("versions %v: want 1..%d, each once", versions, writers*each)
				}
			}
			ms, err := s.Markets(t.Context(), "g1")
			if err != nil || len(ms) != 1 || ms[0].Version != writers*each {
				t.Fatalf("Markets = %+v, %v; want version %d", ms, err, writers*each)
			}
		}},
	}
}

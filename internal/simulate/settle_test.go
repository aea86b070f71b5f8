package simulate

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

func TestResults(t *testing.T) {
	const (
		W  = feed.ResultWin
		L  = feed.ResultLose
		P  = feed.ResultPush
		HW = feed.ResultHalfWin
		HL = feed.ResultHalfLose
	)
	cases := []struct {
		m          feed.Market
		home, away int
		line       float64
		want       []feed.Result // in the market's outcome order
	}{
		{feed.MarketThreeWay, 2, 1, 0, []feed.Result{W, L, L}},
		{feed.MarketThreeWay, 1, 1, 0, []feed.Result{L, W, L}},
		{feed.MarketThreeWay, 0, 3, 0, []feed.Result{L, L, W}},
		{feed.MarketMoneyline, 101, 99, 0, []feed.Result{W, L}},
		{feed.MarketMoneyline, 3, 4, 0, []feed.Result{L, W}},
		{feed.MarketSpread, 24, 20, -3.5, []feed.Result{W, L}},
		{feed.MarketSpread, 24, 21, -3.5, []feed.Result{L, W}},
		{feed.MarketSpread, 24, 21, -3, []feed.Result{P, P}},
		{feed.MarketSpread, 1, 2, 1.5, []feed.Result{W, L}},
		{feed.MarketSpread, 1, 1, -0.25, []feed.Result{HL, HW}}, // -0 pushes, -0.5 loses
		{feed.MarketSpread, 2, 1, -0.75, []feed.Result{HW, HL}}, // -0.5 wins, -1 pushes
		{feed.MarketSpread, 1, 1, 0.25, []feed.Result{HW, HL}},
		{feed.MarketTotal, 2, 1, 2.5, []feed.Result{W, L}},
		{feed.MarketTotal, 1, 1, 2.5, []feed.Result{L, W}},
		{feed.MarketTotal, 1, 1, 2, []feed.Result{P, P}},
		{feed.MarketTotal, 1, 1, 2.25, []feed.Result{HL, HW}},
		{feed.MarketTotal, 2, 1, 2.75, []feed.Result{HW, HL}},
	}
	for _, c := range cases {
		got := Results(c.m, c.home, c.away, c.line)
		want := map[feed.Outcome]feed.Result{}
		for i, out := range c.m.Outcomes() {
			want[out] = c.want[i]
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s %d-%d at %v: %v, want %v", c.m, c.home, c.away, c.line, got, want)
		}
		if errs := (feed.MarketChange{GameID: "g", Market: c.m, Action: feed.ActionSettle, Results: got, At: t0}).Validate(t0); len(errs) > 0 {
			t.Errorf("%s: %v", c.m, errs)
		}
	}
}

// changeLog applies a run's market changes as the server would and keeps
// what the test needs of them.
type changeLog struct {
	t        *testing.T
	status   map[string]feed.MarketStatus
	settles  map[string][]feed.MarketChange // per market: its settlements, in order
	actions  map[feed.MarketAction]int
	byWhom   map[string]map[int]bool // game -> providers that changed its markets
	lastSeen time.Time
}

func newChangeLog(t *testing.T) *changeLog {
	return &changeLog{t: t, status: map[string]feed.MarketStatus{}, settles: map[string][]feed.MarketChange{},
		actions: map[feed.MarketAction]int{}, byWhom: map[string]map[int]bool{}}
}

func (l *changeLog) apply(now time.Time, p int, c feed.MarketChange) {
	if errs := c.Validate(now); len(errs) > 0 {
		l.t.Fatalf("invalid change %+v: %v", c, errs)
	}
	if c.At.After(now) {
		l.t.Fatalf("change %+v posted at %v, before its time", c, now)
	}
	k := c.GameID + "|" + feed.MarketID(c.Market, c.Period)
	cur, found := l.status[k]
	next, effect, err := feed.ApplyMarketChange(cur, found, c)
	if errors.Is(err, feed.ErrTransition) || effect != feed.Applied {
		l.t.Fatalf("%s: %s at %v on %+v: %v %v", k, c.Action, c.At, cur, effect, err)
	}
	l.status[k] = next
	l.actions[c.Action]++
	if c.Action == feed.ActionSettle {
		l.settles[k] = append(l.settles[k], c)
	}
	if l.byWhom[c.GameID] == nil {
		l.byWhom[c.GameID] = map[int]bool{}
	}
	l.byWhom[c.GameID][p] = true
}

// TestSettlementsFollowTheFinalScore: every market change of a run applies
// in order; each closed game's markets are closed by its owner, then
// settled from its final score (at the lines of its kick-off) or
// cancelled; some settlements are rolled back and made again, the last one
// right.
func TestSettlementsFollowTheFinalScore(t *testing.T) {
	e := NewEngine(Config{Providers: DefaultProviders, Games: 12, Rate: 60, LiveFor: 40 * time.Second, Seed: 21,
		Rollbacks: 0.15, Cancels: 0.05})
	games := map[string]*game{}
	owners := map[string]int{}
	l := newChangeLog(t)
	end := t0.Add(10 * time.Minute)
	for now := t0; !now.After(end); now = now.Add(liveTick) {
		tk := e.Advance(now)
		for _, g := range e.games {
			games[g.ID] = g
		}
		for _, w := range tk.Writes {
			owners[w.Game.ID] = w.Owner
		}
		for p, cs := range tk.Changes {
			for _, c := range cs {
				if c.Action != feed.ActionSuspend && c.Action != feed.ActionResume && p != owners[c.GameID] {
					t.Fatalf("%s of %s by provider %d, owner %d", c.Action, c.GameID, p, owners[c.GameID])
				}
				l.apply(now, p, c)
			}
		}
	}
	settled, rolledBack, cancelled, draws := 0, 0, 0, 0
	for id, g := range games {
		if g.Status != feed.StatusClosed || g.closeAt.After(end.Add(-time.Minute)) {
			continue // open, or its settlement may still be to come
		}
		if !g.sport.Draws && g.home == g.away {
			t.Errorf("%s ended level %d-%d", id, g.home, g.away)
		}
		if g.home == g.away {
			draws++
		}
		for _, m := range g.sport.Markets() {
			k := id + "|" + feed.MarketID(m, "")
			s := l.status[k]
			switch s.State {
			case feed.MarketCancelled:
				cancelled++
				continue
			case feed.MarketSettled:
			default:
				t.Errorf("%s of a closed game is %s", k, s.State)
				continue
			}
			settled++
			ss := l.settles[k]
			if len(ss) > 1 {
				rolledBack++
			}
			want := Results(m, g.home, g.away, g.lineOf(m))
			if !maps.Equal(s.Results, want) || !maps.Equal(ss[len(ss)-1].Results, want) {
				t.Errorf("%s %d-%d (line %v): settled %v, want %v", k, g.home, g.away, g.lineOf(m), s.Results, want)
			}
			// Independently of Results: who won.
			r := s.Results
			switch m {
			case feed.MarketThreeWay:
				if (r[feed.OutcomeHome] == feed.ResultWin) != (g.home > g.away) || (r[feed.OutcomeDraw] == feed.ResultWin) != (g.home == g.away) {
					t.Errorf("%s %d-%d: %v", k, g.home, g.away, r)
				}
			case feed.MarketMoneyline:
				if (r[feed.OutcomeHome] == feed.ResultWin) != (g.home > g.away) || (r[feed.OutcomeAway] == feed.ResultWin) != (g.away > g.home) {
					t.Errorf("%s %d-%d: %v", k, g.home, g.away, r)
				}
			case feed.MarketTotal:
				if tot := float64(g.home + g.away); (r[feed.OutcomeOver] == feed.ResultWin) != (tot > g.lineAt) || (r[feed.OutcomeUnder] == feed.ResultWin) != (tot < g.lineAt) {
					t.Errorf("%s %d-%d over/under %v: %v", k, g.home, g.away, g.lineAt, r)
				}
			case feed.MarketSpread:
				if v := float64(g.home-g.away) + g.spreadAt; (r[feed.OutcomeHome] == feed.ResultWin) != (v > 0) || (r[feed.OutcomeAway] == feed.ResultWin) != (v < 0) {
					t.Errorf("%s %d-%d at %v: %v", k, g.home, g.away, g.spreadAt, r)
				}
			}
		}
	}
	t.Logf("%d markets settled (%d rolled back and settled again), %d cancelled; %d draws; actions %v", settled, rolledBack, cancelled, draws, l.actions)
	if settled < 100 || rolledBack == 0 || cancelled == 0 || draws == 0 {
		t.Errorf("%d settled, %d rolled back (%d rollbacks), %d cancelled, %d draws", settled, rolledBack, l.actions[feed.ActionRollback], cancelled, draws)
	}
}

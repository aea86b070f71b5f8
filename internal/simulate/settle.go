package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Settlement. When a game closes its owner closes its markets at once, then
// settles each a few seconds later with a result per outcome from the final
// score: the spread and the total at the lines they had when the game went
// live. A small share of settlements (Config.Rollbacks) is first made from a
// wrong score (without its last scoring play, as if a goal were counted
// that did not stand), rolled back and settled again; a small share of
// markets (Config.Cancels) is cancelled instead.

// Settlement delays: settleMin plus up to settleRand after the close; a
// wrong settlement is rolled back rollbackMin plus up to rollbackRand after
// it, and settled again a second later.
const (
	settleMin    = 2 * time.Second
	settleRand   = 4 * time.Second
	rollbackMin  = 4 * time.Second
	rollbackRand = 6 * time.Second
)

// Results is how each outcome of a full-game market paid for a final score
// home-away. line is the home side's spread of a spread market and the line
// of a total; a quarter line (-0.25, 2.75) is two bets of half the stake, on
// the half lines either side, so an outcome can half win or half lose.
func Results(m feed.Market, home, away int, line float64) map[feed.Outcome]feed.Result {
	switch m.Or() {
	case feed.MarketThreeWay:
		r := map[feed.Outcome]feed.Result{feed.OutcomeHome: feed.ResultLose, feed.OutcomeDraw: feed.ResultLose, feed.OutcomeAway: feed.ResultLose}
		switch {
		case home > away:
			r[feed.OutcomeHome] = feed.ResultWin
		case home < away:
			r[feed.OutcomeAway] = feed.ResultWin
		default:
			r[feed.OutcomeDraw] = feed.ResultWin
		}
		return r
	case feed.MarketMoneyline:
		return twoWay(feed.OutcomeHome, feed.OutcomeAway, float64(home-away), 0)
	case feed.MarketTotal:
		return twoWay(feed.OutcomeOver, feed.OutcomeUnder, float64(home+away), line)
	}
	return twoWay(feed.OutcomeHome, feed.OutcomeAway, float64(home-away), -line)
}

// twoWay settles a two-way market whose first outcome wins when v is above
// line and the second when below; level is a push. A quarter line is split.
func twoWay(first, second feed.Outcome, v, line float64) map[feed.Outcome]feed.Result {
	if q := line * 4; q == math.Trunc(q) && math.Mod(math.Abs(q), 2) == 1 {
		a, b := twoWay(first, second, v, line-0.25), twoWay(first, second, v, line+0.25)
		return map[feed.Outcome]feed.Result{first: half(a[first], b[first]), second: half(a[second], b[second])}
	}
	switch {
	case v > line:
		return map[feed.Outcome]feed.Result{first: feed.ResultWin, second: feed.ResultLose}
	case v < line:
		return map[feed.Outcome]feed.Result{first: feed.ResultLose, second: feed.ResultWin}
	}
	return map[feed.Outcome]feed.Result{first: feed.ResultPush, second: feed.ResultPush}
}

// half combines the results of two half stakes whose lines are half a
// point apart (so they differ by at most one step: win/push or push/lose).
func half(a, b feed.Result) feed.Result {
	switch {
	case a == b:
		return a
	case a == feed.ResultWin || b == feed.ResultWin:
		return feed.ResultHalfWin
	}
	return feed.ResultHalfLose
}

// lineOf is the line m of g is settled at.
func (g *game) lineOf(m feed.Market) float64 {
	switch m {
	case feed.MarketSpread:
		return g.spreadAt
	case feed.MarketTotal:
		return g.lineAt
	}
	return 0
}

// settle closes g's markets now and schedules their settlements by its
// owner. Its pending bet stops are dropped: the close ends them.
func (e *Engine) settle(g *game, now time.Time) {
	e.dropChanges(g.ID, feed.ActionSuspend, feed.ActionResume)
	final := fmt.Sprintf("final %d-%d", g.home, g.away)
	for _, m := range g.sport.Markets() {
		note := final
		if m == feed.MarketSpread || m == feed.MarketTotal {
			note = fmt.Sprintf("%s, line %g", final, g.lineOf(m))
		}
		c := feed.MarketChange{GameID: g.ID, Market: m}
		e.change(g.owner, with(c, feed.ActionClose, final, now))
		at := now.Add(settleMin + time.Duration(e.rng.Float64()*float64(settleRand)))
		switch r := e.rng.Float64(); {
		case r < e.cfg.Cancels:
			e.change(g.owner, with(c, feed.ActionCancel, "cancelled: "+final, at))
			continue
		case r < e.cfg.Cancels+e.cfg.Rollbacks:
			wrong := with(c, feed.ActionSettle, "settled on a wrong score", at)
			wrong.Results = Results(m, g.home-g.lastPlay[0], g.away-g.lastPlay[1], g.lineOf(m))
			e.change(g.owner, wrong)
			at = at.Add(rollbackMin + time.Duration(e.rng.Float64()*float64(rollbackRand)))
			e.change(g.owner, with(c, feed.ActionRollback, "wrong score", at))
			at = at.Add(time.Second)
		}
		s := with(c, feed.ActionSettle, note, at)
		s.Results = Results(m, g.home, g.away, g.lineOf(m))
		e.change(g.owner, s)
	}
}

func with(c feed.MarketChange, a feed.MarketAction, note string, at time.Time) feed.MarketChange {
	c.Action, c.Note, c.At = a, note, at
	return c
}

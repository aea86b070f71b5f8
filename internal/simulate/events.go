package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// A game's events: it scores, and around its events (goals, scores, runs,
// breaks: Sport.Event) providers stop bets on its markets. The fastest
// provider that is not quiet sees the event first: it suspends every market
// of the game (reason bet_stop) Latency after the event and resumes them a
// few seconds later; nobody quotes the game in between.

// A bet stop lasts betStopMin plus up to betStopRand of a game's live
// time (3 to 8 seconds of the default 4 minutes), at least minBetStop.
const (
	betStopMin  = 0.0125
	betStopRand = 0.02
	minBetStop  = 500 * time.Millisecond
)

// walk moves g on by dt seconds to now: its strength's mean mu drifts, its
// strength x reverts to mu with noise of its own; a live game scores and
// has its events. It reports whether an event happened (a bet stop's cause).
func (e *Engine) walk(g *game, now time.Time, dt float64) (event bool) {
	sigmaMu, sigmaX := 0.008, 0.015
	if g.Status == feed.StatusLive {
		sigmaMu, sigmaX = 0.02, 0.03
		live := g.liveFor().Seconds()
		for range poisson(e.rng, g.sport.plays()/live*dt) {
			e.score(g)
			event = event || g.sport.ScoresAreEvents
		}
		if !g.sport.ScoresAreEvents && e.rng.Float64() < g.sport.Events/live*dt {
			jump := g.sport.Jump * (0.6 + g.played(now))
			if e.rng.Float64() >= logistic(0.7*g.x) { // the stronger side has more of them
				jump = -jump
			}
			g.mu += jump
			g.x += jump
			event = true
		}
	}
	sq := math.Sqrt(dt)
	g.mu = clampLogOdds(g.mu + sigmaMu*sq*e.rng.NormFloat64())
	g.x = clampLogOdds(g.x + 0.2*(g.mu-g.x)*dt + sigmaX*sq*e.rng.NormFloat64())
	g.hist = append(g.hist, sample{now, g.state(now)})
	cut := 0
	for cut < len(g.hist)-1 && now.Sub(g.hist[cut+1].at) > e.maxLatency {
		cut++
	}
	g.hist = g.hist[cut:]
	return event
}

// score is one scoring play of g: the home side makes its share of them.
func (e *Engine) score(g *game) {
	pts := g.sport.Points[e.rng.IntN(len(g.sport.Points))]
	if e.rng.Float64() < g.sport.homeShare(g.x) {
		g.home += pts
		g.lastPlay = [2]int{pts, 0}
	} else {
		g.away += pts
		g.lastPlay = [2]int{0, pts}
	}
}

// overtime decides a level game of a sport without draws: one more play.
func (e *Engine) overtime(g *game) {
	for !g.sport.Draws && g.home == g.away {
		e.score(g)
	}
}

// poisson draws a Poisson count of mean m (Knuth's method; m is small).
func poisson(r *rand.Rand, m float64) int {
	if m <= 0 {
		return 0
	}
	l, k, p := math.Exp(-m), 0, r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// betStop stops bets on g's markets around an event now: the fastest
// provider not quiet suspends them when it sees the event and resumes them
// a few seconds later (a newer event's bet stop replaces the resume of an
// earlier one).
func (e *Engine) betStop(g *game, now time.Time) {
	p := -1
	for i, pr := range e.cfg.Providers {
		if !e.Quiet(i, now) && (p < 0 || pr.Latency < e.cfg.Providers[p].Latency) {
			p = i
		}
	}
	if p < 0 {
		return
	}
	e.dropChanges(g.ID, feed.ActionResume)
	stop := now.Add(e.cfg.Providers[p].Latency)
	resume := stop.Add(max(minBetStop, time.Duration((betStopMin+betStopRand*e.rng.Float64())*float64(g.liveFor()))))
	for _, m := range g.sport.Markets() {
		e.change(p, feed.MarketChange{GameID: g.ID, Market: m, Action: feed.ActionSuspend, Reason: feed.ReasonBetStop, Note: g.sport.Event, At: stop})
		e.change(p, feed.MarketChange{GameID: g.ID, Market: m, Action: feed.ActionResume, At: resume})
	}
	g.stopUntil = resume
}

// openMarkets: a new game's owner opens its markets.
func (e *Engine) openMarkets(g *game, now time.Time) {
	for _, m := range g.sport.Markets() {
		e.change(g.owner, feed.MarketChange{GameID: g.ID, Market: m, Action: feed.ActionOpen, At: now})
	}
}

// pendingChange is a market change provider posts once its At has come
// (and the provider is not quiet).
type pendingChange struct {
	provider int
	change   feed.MarketChange
}

func (e *Engine) change(p int, c feed.MarketChange) {
	c.At = c.At.UTC().Truncate(time.Microsecond)
	e.changes = append(e.changes, pendingChange{p, c})
}

// dropChanges forgets the pending changes of a game with one of actions.
func (e *Engine) dropChanges(id string, actions ...feed.MarketAction) {
	keep := e.changes[:0]
	for _, c := range e.changes {
		drop := false
		for _, a := range actions {
			drop = drop || (c.change.GameID == id && c.change.Action == a)
		}
		if !drop {
			keep = append(keep, c)
		}
	}
	e.changes = keep
}

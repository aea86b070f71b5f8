package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Config of an Engine.
type Config struct {
	Providers []Provider    // at least one
	Sports    []Sport       // default Sports
	Games     int           // open games (scheduled and live) kept going (default 20)
	Rate      float64       // odds per second over all providers (default 100)
	LiveFor   time.Duration // how long a game is live (default 4m)
	Prefix    string        // game ids are <Prefix><sport>-<run>-<n> (default "sim-")
	Seed      uint64
	// Corrections and Late are the shares of quotes a provider re-posts
	// corrected (same observedAt, other price) and posts late (after a
	// newer one). Default 0.01 each; negative: never.
	Corrections, Late float64
}

func (c *Config) defaults() {
	if len(c.Sports) == 0 {
		c.Sports = Sports
	}
	if c.Games <= 0 {
		c.Games = 20
	}
	if c.Rate <= 0 {
		c.Rate = 100
	}
	if c.LiveFor <= 0 {
		c.LiveFor = 4 * time.Minute
	}
	if c.Prefix == "" {
		c.Prefix = "sim-"
	}
	if c.Corrections == 0 {
		c.Corrections = 0.01
	}
	if c.Late == 0 {
		c.Late = 0.01
	}
}

// GameWrite is a game to PUT, by its owner, Providers[Owner].
type GameWrite struct {
	Owner int
	Game  feed.Game
}

// Tick is what the providers send at one instant: game writes first (a
// game is created before anyone quotes it), then each provider's odds.
type Tick struct {
	Writes []GameWrite
	Odds   [][]feed.Odds // by provider index
	// Corrections and Late count the odds of Odds that are corrections and
	// late observations.
	Corrections, Late int
}

// Engine is the simulated world: games of several sports that are
// scheduled, go live and close (each created and moved on by one provider,
// its owner), and providers quoting them. It keeps no clock: Advance is
// given the time, so tests can run it faster than real time.
type Engine struct {
	cfg        Config
	rng        *rand.Rand
	run        string // this run's stamp in game ids
	made       int
	games      []*game // open games
	pending    []pendingOdds
	last       time.Time
	maxLatency time.Duration
}

type game struct {
	feed.Game
	sport   *Sport
	owner   int
	x, mu   float64 // the true line in log-odds (home side) and where it reverts to
	closeAt time.Time
	hist    []sample    // recent values of x, for the providers' latencies
	next    []time.Time // per provider: when it quotes next
	last    []time.Time // per provider: its last observedAt
}

type sample struct {
	at time.Time
	x  float64
}

type pendingOdds struct {
	due        time.Time
	provider   int
	odds       feed.Odds
	correction bool
}

// NewEngine makes an engine; the first Advance creates the games.
func NewEngine(cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	for _, p := range cfg.Providers {
		e.maxLatency = max(e.maxLatency, p.Latency)
	}
	return e
}

// Advance moves the world to now and returns what the providers send.
func (e *Engine) Advance(now time.Time) Tick {
	t := Tick{Odds: make([][]feed.Odds, len(e.cfg.Providers))}
	if e.last.IsZero() {
		e.start(now, &t)
		e.last = now
		return t
	}
	dt := math.Max(0, math.Min(5, now.Sub(e.last).Seconds()))
	e.last = now
	iv := e.interval()
	open, closed := e.games[:0], 0
	for _, g := range e.games {
		e.walk(g, now, dt)
		switch {
		case g.Status == feed.StatusScheduled && !now.Before(g.GameDate):
			g.Status = feed.StatusLive
			t.Writes = append(t.Writes, GameWrite{g.owner, g.Game})
		case g.Status == feed.StatusLive && !now.Before(g.closeAt):
			g.Status = feed.StatusClosed
			t.Writes = append(t.Writes, GameWrite{g.owner, g.Game})
			e.dropPending(g.ID)
			closed++
			continue
		}
		open = append(open, g)
		e.quoteDue(g, now, iv, &t)
	}
	e.games = open
	for range closed { // a new game takes each closed one's place
		kickoff := now.Add(time.Duration(float64(e.cfg.LiveFor) * (0.5 + e.rng.Float64())))
		t.Writes = append(t.Writes, e.newGame(now, e.sportFor(e.made), feed.StatusScheduled, kickoff, kickoff.Add(e.cfg.LiveFor)))
	}
	keep := e.pending[:0]
	for _, p := range e.pending {
		if now.Before(p.due) {
			keep = append(keep, p)
			continue
		}
		t.Odds[p.provider] = append(t.Odds[p.provider], p.odds)
		if p.correction {
			t.Corrections++
		} else {
			t.Late++
		}
	}
	e.pending = keep
	return t
}

// start creates the first games: half of them live, at evenly spread points
// of their play (so the first closes soon), the others scheduled to kick off
// one after another over the next LiveFor.
func (e *Engine) start(now time.Time, t *Tick) {
	e.run = strconv.FormatInt(now.UnixMilli(), 36)
	live := (e.cfg.Games + 1) / 2
	sched := e.cfg.Games - live
	for i := range e.cfg.Games {
		sport := e.sportFor(i)
		if i%2 == 0 {
			k := i / 2
			left := time.Duration(float64(e.cfg.LiveFor) * (float64(k) + 0.5) / float64(live))
			t.Writes = append(t.Writes, e.newGame(now, sport, feed.StatusLive, now.Add(left-e.cfg.LiveFor), now.Add(left)))
			continue
		}
		k := i / 2
		kickoff := now.Add(time.Duration(float64(e.cfg.LiveFor) * float64(k+1) / float64(sched)))
		t.Writes = append(t.Writes, e.newGame(now, sport, feed.StatusScheduled, kickoff, kickoff.Add(e.cfg.LiveFor)))
	}
}

func (e *Engine) sportFor(i int) *Sport { return &e.cfg.Sports[i%len(e.cfg.Sports)] }

// newGame makes an open game of a sport between two teams not playing now
// (when the sport has enough), owned by the providers in turn.
func (e *Engine) newGame(now time.Time, s *Sport, status feed.GameStatus, kickoff, closeAt time.Time) GameWrite {
	busy := map[string]bool{}
	for _, g := range e.games {
		busy[g.HomeTeam], busy[g.AwayTeam] = true, true
	}
	var free []int
	for i, team := range s.Teams {
		if !busy[team] {
			free = append(free, i)
		}
	}
	if len(free) < 2 {
		free = free[:0]
		for i := range s.Teams {
			free = append(free, i)
		}
	}
	e.rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	home, away := free[0], free[1]
	venue := s.Venues[e.rng.IntN(len(s.Venues))]
	if len(s.Venues) == len(s.Teams) {
		venue = s.Venues[home]
	}
	x := clampLogOdds(0.15 + s.Favourite*e.rng.NormFloat64()) // 0.15: home advantage
	n := len(e.cfg.Providers)
	g := &game{
		Game: feed.Game{
			ID: fmt.Sprintf("%s%s-%s-%d", e.cfg.Prefix, s.Name, e.run, e.made+1), Sport: s.Name,
			Summary: s.summary(s.Teams[home], s.Teams[away]), Venue: venue, GameDate: kickoff.UTC().Truncate(time.Second),
			Status: status, HomeTeam: s.Teams[home], AwayTeam: s.Teams[away],
		},
		sport: s, owner: e.made % n, x: x, mu: x, closeAt: closeAt,
		hist: []sample{{now, x}}, next: make([]time.Time, n), last: make([]time.Time, n),
	}
	iv := e.interval()
	for p := range g.next { // stagger the providers' first quotes
		g.next[p] = now.Add(time.Duration(e.rng.Float64() * float64(iv)))
	}
	e.made++
	e.games = append(e.games, g)
	return GameWrite{g.owner, g.Game}
}

// interval is the mean time between two quotes of a live game by one
// provider, such that all providers together quote Rate odds a second
// (a scheduled game is quoted a third as often).
func (e *Engine) interval() time.Duration {
	var weight float64
	for _, g := range e.games {
		if g.Status == feed.StatusLive {
			weight++
		} else {
			weight += 1.0 / 3
		}
	}
	weight = max(weight, 1)
	return max(20*time.Millisecond, time.Duration(float64(time.Second)*weight*float64(len(e.cfg.Providers))/e.cfg.Rate))
}

// walk moves a game's true line by dt seconds: mu drifts, x reverts to mu
// with noise of its own, and a live game's events make both jump.
func (e *Engine) walk(g *game, now time.Time, dt float64) {
	sigmaMu, sigmaX := 0.008, 0.015
	if g.Status == feed.StatusLive {
		sigmaMu, sigmaX = 0.02, 0.03
		live := e.cfg.LiveFor.Seconds()
		if e.rng.Float64() < g.sport.Events/live*dt {
			progress := 1 - g.closeAt.Sub(now).Seconds()/live
			jump := g.sport.Jump * (0.6 + math.Max(0, math.Min(1, progress)))
			if e.rng.Float64() >= logistic(0.7*g.x) { // the favourite scores more often
				jump = -jump
			}
			g.mu += jump
			g.x += jump
		}
	}
	sq := math.Sqrt(dt)
	g.mu = clampLogOdds(g.mu + sigmaMu*sq*e.rng.NormFloat64())
	g.x = clampLogOdds(g.x + 0.2*(g.mu-g.x)*dt + sigmaX*sq*e.rng.NormFloat64())
	g.hist = append(g.hist, sample{now, g.x})
	cut := 0
	for cut < len(g.hist)-1 && now.Sub(g.hist[cut+1].at) > e.maxLatency {
		cut++
	}
	g.hist = g.hist[cut:]
}

// xAt is the true line as it was at t (its oldest known value before that).
func (g *game) xAt(t time.Time) float64 {
	x := g.hist[0].x
	for _, s := range g.hist {
		if s.at.After(t) {
			break
		}
		x = s.x
	}
	return x
}

// quoteDue makes the quotes of the providers whose turn it is for g.
func (e *Engine) quoteDue(g *game, now time.Time, iv time.Duration, t *Tick) {
	if g.Status == feed.StatusScheduled {
		iv *= 3
	}
	for p, pr := range e.cfg.Providers {
		if now.Before(g.next[p]) {
			continue
		}
		g.next[p] = now.Add(time.Duration(float64(iv) * (0.5 + e.rng.Float64())))
		at := now.Add(-pr.Latency).UTC().Truncate(time.Microsecond)
		if !at.After(g.last[p]) {
			at = g.last[p].Add(time.Microsecond)
		}
		g.last[p] = at
		o := e.quote(g, p, at, g.xAt(at)+pr.Noise*e.rng.NormFloat64())
		switch r := e.rng.Float64(); {
		case r < e.cfg.Corrections:
			// The provider re-quotes that instant without its error.
			if c := e.quote(g, p, at, g.xAt(at)); !c.SameContent(o) {
				e.pending = append(e.pending, pendingOdds{now.Add(time.Duration(float64(iv) * (0.3 + e.rng.Float64()))), p, c, true})
			}
		case r < e.cfg.Corrections+e.cfg.Late:
			// Held back: it arrives after the provider's next quotes.
			e.pending = append(e.pending, pendingOdds{now.Add(time.Duration(float64(iv) * (2 + 2*e.rng.Float64()))), p, o, false})
			continue
		}
		t.Odds[p] = append(t.Odds[p], o)
	}
}

// quote is provider p's odds for g observed at at, seeing the line as x:
// the extension point of the market model (see the package's price model).
func (e *Engine) quote(g *game, p int, at time.Time, x float64) feed.Odds {
	pr := e.cfg.Providers[p]
	home, away, spread := price(clampLogOdds(x), pr.Margin, g.sport.PerLogit)
	return feed.Odds{GameID: g.ID, Provider: pr.Name, ObservedAt: at,
		HomeSpread: spread, AwaySpread: 0 - spread, HomeOdds: home, AwayOdds: away}
}

// dropPending forgets the held-back odds of a game that closed.
func (e *Engine) dropPending(id string) {
	keep := e.pending[:0]
	for _, p := range e.pending {
		if p.odds.GameID != id {
			keep = append(keep, p)
		}
	}
	e.pending = keep
}

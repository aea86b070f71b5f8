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
	// Rollbacks and Cancels are the shares of a closed game's markets
	// whose settlement is rolled back and settled again, and that are
	// cancelled instead of settled. Default 0.05 and 0.02; negative: never.
	Rollbacks, Cancels float64
	// QuietProvider (a provider's name; default the last one) goes quiet
	// for QuietFor (default 45s) every QuietEvery (default 5m; the first
	// time after half of it): it posts no odds, heartbeats or market
	// changes (they wait until it is back). Negative: never. With one
	// provider, never.
	QuietProvider        string
	QuietEvery, QuietFor time.Duration
	// HeartbeatEvery: a provider that has posted no odds for this long
	// sends a heartbeat (default 5s).
	HeartbeatEvery time.Duration
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
	if c.Rollbacks == 0 {
		c.Rollbacks = 0.05
	}
	if c.Cancels == 0 {
		c.Cancels = 0.02
	}
	if c.QuietEvery == 0 {
		c.QuietEvery = 5 * time.Minute
	}
	if c.QuietFor == 0 {
		c.QuietFor = 45 * time.Second
	}
	if c.QuietProvider == "" && len(c.Providers) > 0 {
		c.QuietProvider = c.Providers[len(c.Providers)-1].Name
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = 5 * time.Second
	}
}

// GameWrite is a game to PUT, by its owner, Providers[Owner].
type GameWrite struct {
	Owner int
	Game  feed.Game
}

// Tick is what the providers send at one instant: game writes first (a
// game is created before anyone quotes it), then each provider's market
// changes (in the order of their At), odds and heartbeat.
type Tick struct {
	Writes     []GameWrite
	Changes    [][]feed.MarketChange // by provider index
	Odds       [][]feed.Odds         // by provider index
	Heartbeats []bool                // by provider index
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
	changes    []pendingChange // market changes waiting for their time (or their quiet provider)
	start      time.Time
	last       time.Time
	lastPosted []time.Time // per provider: its last odds or heartbeat
	quiet      int         // the provider that goes quiet (-1: none)
	maxLatency time.Duration
}

type game struct {
	feed.Game
	sport      *Sport
	owner      int
	x, mu      float64 // the home side's true strength in log-odds and where it reverts to
	home, away int     // the score
	lastPlay   [2]int  // the last scoring play's points, home and away
	closeAt    time.Time
	stopUntil  time.Time // a bet stop: nobody quotes it until then
	// spreadAt and lineAt are the lines its spread and total are settled
	// at: those of its true state when it went live (or was created live).
	spreadAt, lineAt float64
	hist             []sample    // recent states, for the providers' latencies
	next             []time.Time // per provider: when it quotes next
	last             []time.Time // per provider: its last observedAt
}

type sample struct {
	at time.Time
	st state
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
	e := &Engine{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), quiet: -1,
		lastPosted: make([]time.Time, len(cfg.Providers))}
	for i, p := range cfg.Providers {
		e.maxLatency = max(e.maxLatency, p.Latency)
		if p.Name == cfg.QuietProvider && len(cfg.Providers) > 1 && cfg.QuietEvery > 0 && cfg.QuietFor > 0 {
			e.quiet = i
		}
	}
	return e
}

// Advance moves the world to now and returns what the providers send.
func (e *Engine) Advance(now time.Time) Tick {
	n := len(e.cfg.Providers)
	t := Tick{Changes: make([][]feed.MarketChange, n), Odds: make([][]feed.Odds, n), Heartbeats: make([]bool, n)}
	if e.last.IsZero() {
		e.start = now
		for p := range e.lastPosted {
			e.lastPosted[p] = now
		}
		e.begin(now, &t)
		e.last = now
		e.emit(now, &t)
		return t
	}
	dt := math.Max(0, math.Min(5, now.Sub(e.last).Seconds()))
	e.last = now
	iv := e.interval()
	open, closed := e.games[:0], 0
	stopped := map[string]bool{} // games whose bets are stopped: their held-back odds wait too
	for _, g := range e.games {
		event := e.walk(g, now, dt)
		switch {
		case g.Status == feed.StatusScheduled && !now.Before(g.GameDate):
			g.Status = feed.StatusLive
			g.fixLines(now)
			t.Writes = append(t.Writes, GameWrite{g.owner, g.Game})
		case g.Status == feed.StatusLive && !now.Before(g.closeAt):
			e.overtime(g)
			g.Status = feed.StatusClosed
			t.Writes = append(t.Writes, GameWrite{g.owner, g.Game})
			e.dropPending(g.ID)
			e.settle(g, now)
			closed++
			continue
		case event && g.Status == feed.StatusLive:
			e.betStop(g, now)
		}
		open = append(open, g)
		e.quoteDue(g, now, iv, &t)
		if now.Before(g.stopUntil) {
			stopped[g.ID] = true
		}
	}
	e.games = open
	for range closed { // a new game takes each closed one's place
		kickoff := now.Add(time.Duration(float64(e.cfg.LiveFor) * (0.5 + e.rng.Float64())))
		t.Writes = append(t.Writes, e.newGame(now, e.sportFor(e.made), feed.StatusScheduled, kickoff, kickoff.Add(e.cfg.LiveFor)))
	}
	keep := e.pending[:0]
	for _, p := range e.pending {
		if now.Before(p.due) || e.Quiet(p.provider, now) || stopped[p.odds.GameID] {
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
	e.emit(now, &t)
	return t
}

// begin creates the first games: half of them live, at evenly spread points
// of their play (so the first closes soon), the others scheduled to kick off
// one after another over the next LiveFor.
func (e *Engine) begin(now time.Time, t *Tick) {
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
		next: make([]time.Time, n), last: make([]time.Time, n),
	}
	if status == feed.StatusLive { // the score of the part already played
		for range poisson(e.rng, s.plays()*g.played(now)) {
			e.score(g)
		}
	}
	g.hist = []sample{{now, g.state(now)}}
	g.fixLines(now)
	iv := e.interval()
	for p := range g.next { // stagger the providers' first quotes
		g.next[p] = now.Add(time.Duration(e.rng.Float64() * float64(iv)))
	}
	e.made++
	e.games = append(e.games, g)
	e.openMarkets(g, now)
	return GameWrite{g.owner, g.Game}
}

// interval is the mean time between two quotes of one market of a live
// game by one provider, such that all providers together quote Rate odds
// a second (a scheduled game is quoted a third as often). A provider quotes
// all markets of a game at once.
func (e *Engine) interval() time.Duration {
	var weight float64
	for _, g := range e.games {
		w := float64(len(g.sport.Markets()))
		if g.Status != feed.StatusLive {
			w /= 3
		}
		weight += w
	}
	weight = max(weight, 1)
	return max(20*time.Millisecond, time.Duration(float64(time.Second)*weight*float64(len(e.cfg.Providers))/e.cfg.Rate))
}

// played is the share of g played at t.
func (g *game) played(t time.Time) float64 {
	if g.Status == feed.StatusScheduled {
		return 0
	}
	return math.Max(0, math.Min(1, 1-g.closeAt.Sub(t).Seconds()/g.liveFor().Seconds()))
}

func (g *game) liveFor() time.Duration { return g.closeAt.Sub(g.GameDate) }

// state is g's true state now.
func (g *game) state(now time.Time) state {
	return state{x: g.x, home: g.home, away: g.away, played: g.played(now)}
}

// stateAt is the true state as it was at t (its oldest known one before that).
func (g *game) stateAt(t time.Time) state {
	st := g.hist[0].st
	for _, s := range g.hist {
		if s.at.After(t) {
			break
		}
		st = s.st
	}
	return st
}

// fixLines takes the lines g's spread and total are settled at: its true
// lines now.
func (g *game) fixLines(now time.Time) {
	t := g.sport.truth(g.state(now))
	g.spreadAt, g.lineAt = t.homeSpread, t.line
}

// quoteDue makes the quotes of the providers whose turn it is for g: all
// its markets, unless its bets are stopped or the provider is quiet.
func (e *Engine) quoteDue(g *game, now time.Time, iv time.Duration, t *Tick) {
	if g.Status == feed.StatusScheduled {
		iv *= 3
	}
	for p, pr := range e.cfg.Providers {
		if now.Before(g.next[p]) {
			continue
		}
		g.next[p] = now.Add(time.Duration(float64(iv) * (0.5 + e.rng.Float64())))
		if now.Before(g.stopUntil) || e.Quiet(p, now) {
			continue
		}
		at := now.Add(-pr.Latency).UTC().Truncate(time.Microsecond)
		if !at.After(g.last[p]) {
			at = g.last[p].Add(time.Microsecond)
		}
		g.last[p] = at
		seen := g.stateAt(at)
		noisy := seen
		noisy.x = clampLogOdds(seen.x + pr.Noise*e.rng.NormFloat64())
		var exact []feed.Odds
		for i, o := range e.quotes(g, p, at, noisy) {
			switch r := e.rng.Float64(); {
			case r < e.cfg.Corrections:
				// The provider re-quotes that instant without its error.
				if exact == nil {
					exact = e.quotes(g, p, at, seen)
				}
				if c := exact[i]; !c.SameContent(o) {
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

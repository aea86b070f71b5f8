// Package simulate is a provider simulator posting through the real HTTP
// API. Live (the `oddsfeed simulate` command and `serve -demo`) runs a
// realistic world: several providers, each with its own margin and latency,
// quoting every market (moneyline or three-way, spread, total) of games of
// several sports that are scheduled, go live, score, stop bets around their
// events, close and are settled, one provider going quiet now and then
// (see Engine and the price model in model.go; markets.go, events.go,
// settle.go, liveness.go; wire.go for what is posted). Run is the load
// generator of the benchmarks: one provider quoting N live games' spreads
// in turn, as fast as asked.
package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Options of a simulation.
type Options struct {
	BaseURL string // server base URL, e.g. http://127.0.0.1:8080
	Key     string // provider API key
	Games   int    // games to create and quote (default 10)
	// Rate is the odds per second to post over all games; 0 posts as fast
	// as the server answers.
	Rate        float64
	Batch       int           // odds per request (default 500, the API's limit)
	Concurrency int           // requests in flight (default 4)
	Duration    time.Duration // stop after this long (0: until Total or ctx)
	Total       int           // stop after this many odds (0: until Duration or ctx)
	GamePrefix  string        // game ids are <prefix><n> (default "sim-")
	Sport       string        // Run's sport (default "soccer")
	Seed        uint64
	Client      *http.Client

	// Live's world (see Config): the providers, with their keys (Key is
	// not used), the sports (default all) and how long a game is live.
	Providers []Provider
	Sports    []Sport
	LiveFor   time.Duration
	// QuietEvery and QuietFor: the last provider goes quiet for QuietFor
	// every QuietEvery (see Config; default 45s every 5m, negative: never).
	QuietEvery, QuietFor time.Duration
	// Log, when set, is told of Live's failed requests.
	Log func(msg string, args ...any)
}

// Result sums up a simulation.
type Result struct {
	Requests   int
	Odds       int // odds acknowledged durable (stored or duplicate)
	Failed     int // requests answered other than 2xx
	Elapsed    time.Duration
	Latencies  []time.Duration // one per request, sorted
	LastStatus int
	// Live only: game writes made, odds posted as corrections and late,
	// odds dropped because a provider's requests fell behind, odds posted
	// in decimal, market changes the server took, heartbeats sent; and
	// whether the server predates markets (only spreads were posted).
	GameWrites, Corrections, Late, Dropped int
	Decimal, MarketChanges, Heartbeats     int
	SpreadsOnly                            bool
}

// Percentile returns the q-th (0..1) request latency.
func (r Result) Percentile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// OddsPerSecond is the acknowledged odds over the elapsed time.
func (r Result) OddsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Odds) / r.Elapsed.Seconds()
}

func (o *Options) defaults() {
	if o.Games <= 0 {
		o.Games = 10
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.GamePrefix == "" {
		o.GamePrefix = "sim-"
	}
	if o.Sport == "" {
		o.Sport = "soccer"
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	}
}

// loadGame is one of Run's games: a true line walking, quoted with a margin.
type loadGame struct {
	id             string
	x              float64
	perLogit       float64
	lastObservedAt time.Time
}

type oddsItem struct {
	GameID     string    `json:"gameId"`
	ObservedAt time.Time `json:"observedAt"`
	AwaySpread float64   `json:"awaySpread"`
	HomeSpread float64   `json:"homeSpread"`
	AwayOdds   int       `json:"awayOdds"`
	HomeOdds   int       `json:"homeOdds"`
}

// loadMargin is Run's provider's overround.
const loadMargin = 0.05

// step moves the line one random step and returns the quote, observed at a
// time strictly after the game's previous quote.
func (g *loadGame) step(r *rand.Rand, now time.Time) oddsItem {
	g.x = clampLogOdds(g.x + 0.05*r.NormFloat64() - 0.02*g.x)
	home, away, spread := price(g.x, loadMargin, g.perLogit)
	if !now.After(g.lastObservedAt) {
		now = g.lastObservedAt.Add(time.Microsecond)
	}
	g.lastObservedAt = now
	return oddsItem{GameID: g.id, ObservedAt: now, AwaySpread: 0 - spread, HomeSpread: spread, AwayOdds: away, HomeOdds: home}
}

// Run creates the games, then posts odds until Duration, Total or ctx ends.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	if o.BaseURL == "" || o.Key == "" {
		return Result{}, errors.New("simulate: base URL and key are required")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	perLogit := 1.0
	if s, err := SportsNamed(o.Sport); err == nil {
		perLogit = s[0].PerLogit
	}
	games := make([]*loadGame, o.Games)
	for i := range games {
		g := &loadGame{id: o.GamePrefix + strconv.Itoa(i+1), x: rng.NormFloat64() * 0.7, perLogit: perLogit}
		games[i] = g
		if _, err := o.putGame(ctx, o.Key, feed.Game{
			ID: g.id, Sport: o.Sport, Summary: fmt.Sprintf("Simulated match %d", i+1), Venue: "Simulation Park",
			GameDate: time.Now().UTC().Add(time.Duration(i) * time.Hour).Truncate(time.Minute), Status: feed.StatusLive,
			HomeTeam: fmt.Sprintf("Home %d", i+1), AwayTeam: fmt.Sprintf("Away %d", i+1),
		}); err != nil {
			return Result{}, err
		}
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}

	bodies := make(chan []byte, o.Concurrency)
	var res Result
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				t0 := time.Now()
				status, n, err := o.postOdds(ctx, o.Key, body)
				lat := time.Since(t0)
				mu.Lock()
				res.Requests++
				res.LastStatus = status
				if err != nil || status/100 != 2 {
					res.Failed++
				} else {
					res.Odds += n
					res.Latencies = append(res.Latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}

	// The producer: batches of odds, paced to Rate.
	sent := 0
	next := 0
	var pace *time.Ticker
	if o.Rate > 0 {
		interval := time.Duration(float64(time.Second) * float64(o.Batch) / o.Rate)
		if interval <= 0 {
			interval = time.Microsecond
		}
		pace = time.NewTicker(interval)
		defer pace.Stop()
	}
produce:
	for o.Total == 0 || sent < o.Total {
		n := o.Batch
		if o.Total > 0 && o.Total-sent < n {
			n = o.Total - sent
		}
		if pace != nil { // pace first, so observedAt is when the batch leaves
			select {
			case <-ctx.Done():
				break produce
			case <-pace.C:
			}
		}
		items := make([]oddsItem, n)
		now := time.Now().UTC()
		for i := range items {
			items[i] = games[next].step(rng, now)
			next = (next + 1) % len(games)
		}
		body, _ := json.Marshal(map[string]any{"odds": items})
		select {
		case <-ctx.Done():
			break produce
		case bodies <- body:
			sent += n
		}
	}
	close(bodies)
	wg.Wait()
	res.Elapsed = time.Since(start)
	sort.Slice(res.Latencies, func(i, j int) bool { return res.Latencies[i] < res.Latencies[j] })
	return res, nil
}

// putGame creates or changes g with key and returns the answer's status.
func (o *Options) putGame(ctx context.Context, key string, g feed.Game) (int, error) {
	body, _ := json.Marshal(map[string]any{
		"sport": g.Sport, "summary": g.Summary, "venue": g.Venue, "gameDate": g.GameDate,
		"status": g.Status, "homeTeam": g.HomeTeam, "awayTeam": g.AwayTeam,
	})
	resp, err := o.do(ctx, http.MethodPut, "/v1/games/"+g.ID, key, body)
	if err != nil {
		return 0, fmt.Errorf("simulate: put game %s: %w", g.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return resp.StatusCode, fmt.Errorf("simulate: put game %s: %s: %s", g.ID, resp.Status, b)
	}
	return resp.StatusCode, nil
}

// postOdds posts one batch and returns the status and the odds acknowledged.
func (o *Options) postOdds(ctx context.Context, key string, body []byte) (int, int, error) {
	resp, err := o.do(ctx, http.MethodPost, "/v1/odds", key, body)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Stored     int `json:"stored"`
		Duplicates int `json:"duplicates"`
		Corrected  int `json:"corrected"`
	}
	if resp.StatusCode/100 == 2 {
		_ = json.NewDecoder(resp.Body).Decode(&out)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, out.Stored + out.Duplicates + out.Corrected, nil
}

func (o *Options) do(ctx context.Context, method, path, key string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.BaseURL+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return o.Client.Do(req)
}

// Package simulate is a provider simulator: it creates games and posts odds
// that move by a random walk, in batches, through the real HTTP API. The
// `oddsfeed simulate` command, demos and the ingest benchmark use it.
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
	Sport       string        // default "soccer"
	Seed        uint64
	Client      *http.Client
}

// Result sums up a simulation.
type Result struct {
	Requests   int
	Odds       int // odds acknowledged durable (stored or duplicate)
	Failed     int // requests answered other than 2xx
	Elapsed    time.Duration
	Latencies  []time.Duration // one per request, sorted
	LastStatus int
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

// game is one simulated game's moving line.
type game struct {
	id             string
	spread         float64
	awayOdds       int
	homeOdds       int
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

// step moves the line one random step and returns the quote, observed at a
// time strictly after the game's previous quote.
func (g *game) step(r *rand.Rand, now time.Time) oddsItem {
	switch r.IntN(3) {
	case 0:
		g.spread += 0.5 * float64(r.IntN(3)-1)
	case 1:
		g.awayOdds = walkAmerican(g.awayOdds, r.IntN(21)-10)
		g.homeOdds = walkAmerican(g.homeOdds, r.IntN(21)-10)
	}
	if !now.After(g.lastObservedAt) {
		now = g.lastObservedAt.Add(time.Microsecond)
	}
	g.lastObservedAt = now
	return oddsItem{GameID: g.id, ObservedAt: now, AwaySpread: g.spread, HomeSpread: -g.spread, AwayOdds: g.awayOdds, HomeOdds: g.homeOdds}
}

// walkAmerican moves American odds by d, skipping the (-100, +100) gap.
func walkAmerican(v, d int) int {
	n := v + d
	if n > -100 && n < 100 {
		if d > 0 {
			n = 100 + (n + 100)
		} else {
			n = -100 - (100 - n)
		}
	}
	if n > 2000 {
		n = 2000
	}
	if n < -2000 {
		n = -2000
	}
	return n
}

// Run creates the games, then posts odds until Duration, Total or ctx ends.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	if o.BaseURL == "" || o.Key == "" {
		return Result{}, errors.New("simulate: base URL and key are required")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	games := make([]*game, o.Games)
	for i := range games {
		g := &game{id: o.GamePrefix + strconv.Itoa(i+1), spread: float64(rng.IntN(15)) - 7, awayOdds: -110, homeOdds: -110}
		games[i] = g
		if err := o.putGame(ctx, g.id, i); err != nil {
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
				status, n, err := o.postOdds(ctx, body)
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

func (o *Options) putGame(ctx context.Context, id string, i int) error {
	body, _ := json.Marshal(map[string]any{
		"sport":    o.Sport,
		"summary":  fmt.Sprintf("Simulated match %d", i+1),
		"venue":    "Simulation Park",
		"gameDate": time.Now().UTC().Add(time.Duration(i) * time.Hour).Truncate(time.Minute),
		"status":   "live",
		"homeTeam": fmt.Sprintf("Home %d", i+1),
		"awayTeam": fmt.Sprintf("Away %d", i+1),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, o.BaseURL+"/v1/games/"+id, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("simulate: create game %s: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("simulate: create game %s: %s: %s", id, resp.Status, b)
	}
	return nil
}

// postOdds posts one batch and returns the status and the odds acknowledged.
func (o *Options) postOdds(ctx context.Context, body []byte) (int, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.BaseURL+"/v1/odds", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+o.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Stored     int `json:"stored"`
		Duplicates int `json:"duplicates"`
	}
	if resp.StatusCode/100 == 2 {
		_ = json.NewDecoder(resp.Body).Decode(&out)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, out.Stored + out.Duplicates, nil
}

package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// liveTick is how often Live advances its world.
const liveTick = 100 * time.Millisecond

// Live runs the realistic world of Engine against a server until Duration or
// ctx ends: each game is created and moved on (scheduled, live, closed) by
// its owner through PUT /v1/games/{id}; every provider posts its quotes
// through POST /v1/odds, at most Batch a request, one request in flight per
// provider. Games, Rate, GamePrefix, Seed, Providers, Sports and LiveFor
// configure the world.
func Live(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	if o.BaseURL == "" || len(o.Providers) == 0 {
		return Result{}, errors.New("simulate: base URL and providers are required")
	}
	for _, p := range o.Providers {
		if p.Key == "" {
			return Result{}, fmt.Errorf("simulate: provider %s has no key", p.Name)
		}
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	eng := NewEngine(Config{Providers: o.Providers, Sports: o.Sports, Games: o.Games, Rate: o.Rate,
		LiveFor: o.LiveFor, Prefix: o.GamePrefix, Seed: o.Seed})

	var (
		res Result
		mu  sync.Mutex
		wg  sync.WaitGroup
	)
	logf := func(msg string, args ...any) {
		if o.Log != nil {
			o.Log(msg, args...)
		}
	}
	queues := make([]chan []feed.Odds, len(o.Providers))
	for i, p := range o.Providers {
		queues[i] = make(chan []feed.Odds, 16)
		wg.Go(func() {
			for odds := range queues[i] {
				for len(odds) > 0 && ctx.Err() == nil {
					n := min(len(odds), o.Batch)
					items := make([]oddsItem, n)
					for j, x := range odds[:n] {
						items[j] = wireOdds(x)
					}
					odds = odds[n:]
					body, _ := json.Marshal(map[string]any{"odds": items})
					t0 := time.Now()
					status, acked, err := o.postOdds(ctx, p.Key, body)
					if ctx.Err() != nil {
						break // stopped: not a failure
					}
					mu.Lock()
					res.Requests++
					res.LastStatus = status
					if err != nil || status/100 != 2 {
						res.Failed++
					} else {
						res.Odds += acked
						res.Latencies = append(res.Latencies, time.Since(t0))
					}
					mu.Unlock()
					if err != nil || status/100 != 2 {
						logf("simulate: post odds failed", "provider", p.Name, "status", status, "err", err)
					}
				}
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	var runErr error
loop:
	for {
		t := eng.Advance(time.Now())
		for _, w := range t.Writes {
			status, err := o.putGame(ctx, o.Providers[w.Owner].Key, w.Game)
			if ctx.Err() != nil {
				break loop
			}
			mu.Lock()
			if err != nil {
				res.Failed++
			} else {
				res.GameWrites++
			}
			mu.Unlock()
			if status == http.StatusUnauthorized {
				runErr = err // a wrong key: nothing will work
				break loop
			}
			if err != nil {
				logf("simulate: put game failed", "err", err)
			}
		}
		mu.Lock()
		res.Corrections += t.Corrections
		res.Late += t.Late
		mu.Unlock()
		for p, odds := range t.Odds {
			if len(odds) == 0 {
				continue
			}
			select {
			case queues[p] <- odds:
			default: // the provider's requests fell behind: as a real feed would, it skips
				mu.Lock()
				res.Dropped += len(odds)
				mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	sort.Slice(res.Latencies, func(i, j int) bool { return res.Latencies[i] < res.Latencies[j] })
	return res, runErr
}

// CloseOpen closes the open games with GamePrefix that Providers own (a
// previous run's, left open when it stopped), each by its owner; readerKey
// (an analyst's) lists them. It returns how many it closed.
func CloseOpen(ctx context.Context, o Options, readerKey string) (int, error) {
	o.defaults()
	keys := map[string]string{}
	for _, p := range o.Providers {
		keys[p.Name] = p.Key
	}
	closed := 0
	for _, status := range []feed.GameStatus{feed.StatusScheduled, feed.StatusLive} {
		cursor := ""
		for {
			path := "/v1/games?limit=100&status=" + string(status)
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			resp, err := o.do(ctx, http.MethodGet, path, readerKey, nil)
			if err != nil {
				return closed, fmt.Errorf("simulate: list games: %w", err)
			}
			var page struct {
				Games      []feed.Game `json:"games"`
				NextCursor string      `json:"nextCursor"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				return closed, fmt.Errorf("simulate: list games: %s (%v)", resp.Status, err)
			}
			for _, g := range page.Games {
				key, ok := keys[g.Owner]
				if !ok || !strings.HasPrefix(g.ID, o.GamePrefix) {
					continue
				}
				g.Status = feed.StatusClosed
				if _, err := o.putGame(ctx, key, g); err != nil {
					return closed, err
				}
				closed++
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	return closed, nil
}

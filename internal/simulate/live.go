package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
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
// its owner through PUT /v1/games/{id}; every provider posts its market
// changes (bet stops, resumes; its games' openings, closes, settlements)
// through POST /v1/markets, its quotes of every market through POST
// /v1/odds (at most Batch a request; a share of them in decimal odds, see
// Provider.Decimal) and, when it has nothing to post, a heartbeat (POST
// /v1/heartbeat), one request in flight per provider, in that order.
// Games, Rate, GamePrefix, Seed, Providers, Sports, LiveFor, QuietEvery and
// QuietFor configure the world.
//
// A server without POST /v1/heartbeat (404 or 405 to the first one, sent
// by every provider at the start) predates markets: Live then posts only
// the full-game spreads, in American odds, and no market changes or
// heartbeats (Result.SpreadsOnly).
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
		LiveFor: o.LiveFor, Prefix: o.GamePrefix, Seed: o.Seed, QuietEvery: o.QuietEvery, QuietFor: o.QuietFor})

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
	count := func(f func(*Result)) {
		mu.Lock()
		defer mu.Unlock()
		f(&res)
	}
	for _, p := range o.Providers {
		status, err := o.postHeartbeat(ctx, p.Key)
		switch {
		case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
			res.SpreadsOnly = true
		case status == http.StatusUnauthorized:
			return res, err
		case err != nil:
			res.Failed++
			logf("simulate: heartbeat failed", "provider", p.Name, "status", status, "err", err)
		default:
			res.Heartbeats++
		}
	}
	if res.SpreadsOnly {
		logf("simulate: the server has no POST /v1/heartbeat: posting full-game spreads only")
	}
	queues := make([]chan post, len(o.Providers))
	for i, p := range o.Providers {
		queues[i] = make(chan post, 16)
		w := poster{o: &o, p: p, spreadsOnly: res.SpreadsOnly, count: count, logf: logf,
			rng: rand.New(rand.NewPCG(o.Seed+uint64(i)+1, 0x5eed))}
		wg.Go(func() {
			for b := range queues[i] {
				w.post(ctx, b)
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
			count(func(r *Result) {
				if err != nil {
					r.Failed++
				} else {
					r.GameWrites++
				}
			})
			if status == http.StatusUnauthorized {
				runErr = err // a wrong key: nothing will work
				break loop
			}
			if err != nil {
				logf("simulate: put game failed", "err", err)
			}
		}
		count(func(r *Result) { r.Corrections += t.Corrections; r.Late += t.Late })
		for p := range o.Providers {
			b := post{changes: t.Changes[p], odds: t.Odds[p], heartbeat: t.Heartbeats[p]}
			if len(b.changes) == 0 && len(b.odds) == 0 && !b.heartbeat {
				continue
			}
			if len(b.changes) == 0 {
				select {
				case queues[p] <- b:
				default: // the provider's requests fell behind: as a real feed would, it skips odds
					count(func(r *Result) { r.Dropped += len(b.odds) })
				}
				continue
			}
			select { // market changes are never skipped
			case queues[p] <- b:
			case <-ctx.Done():
				break loop
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

// post is what one provider sends for one tick.
type post struct {
	changes   []feed.MarketChange
	odds      []feed.Odds
	heartbeat bool
}

// poster sends one provider's posts, one request at a time.
type poster struct {
	o           *Options
	p           Provider
	spreadsOnly bool
	rng         *rand.Rand
	count       func(func(*Result))
	logf        func(msg string, args ...any)
}

func (w *poster) post(ctx context.Context, b post) {
	failed := func(what string, status int, err error) bool {
		if ctx.Err() != nil {
			return true // stopped: not a failure
		}
		if err == nil && status/100 == 2 {
			return false
		}
		w.count(func(r *Result) { r.Requests++; r.Failed++; r.LastStatus = status })
		w.logf("simulate: "+what+" failed", "provider", w.p.Name, "status", status, "err", err)
		return true
	}
	for cs := b.changes; len(cs) > 0 && !w.spreadsOnly && ctx.Err() == nil; {
		n := min(len(cs), maxChanges)
		status, took, err := w.o.postChanges(ctx, w.p.Key, cs[:n])
		cs = cs[n:]
		if !failed("post market changes", status, err) {
			w.count(func(r *Result) { r.Requests++; r.LastStatus = status; r.MarketChanges += took })
		}
	}
	odds := b.odds
	if w.spreadsOnly {
		odds = slices.DeleteFunc(slices.Clone(odds), func(q feed.Odds) bool { return !q.IsFullGameSpread() })
	}
	for len(odds) > 0 && ctx.Err() == nil {
		n := min(len(odds), w.o.Batch)
		items := make([]map[string]any, n)
		decimals := 0
		for j, q := range odds[:n] {
			dec := !w.spreadsOnly && w.rng.Float64() < w.p.Decimal
			if dec {
				decimals++
			}
			items[j] = wireQuote(q, dec)
		}
		odds = odds[n:]
		t0 := time.Now()
		status, acked, err := w.o.postQuotes(ctx, w.p.Key, items)
		if !failed("post odds", status, err) {
			lat := time.Since(t0)
			w.count(func(r *Result) {
				r.Requests++
				r.LastStatus = status
				r.Odds += acked
				r.Decimal += decimals
				r.Latencies = append(r.Latencies, lat)
			})
		}
	}
	if b.heartbeat && !w.spreadsOnly && ctx.Err() == nil {
		status, err := w.o.postHeartbeat(ctx, w.p.Key)
		if !failed("heartbeat", status, err) {
			w.count(func(r *Result) { r.Requests++; r.LastStatus = status; r.Heartbeats++ })
		}
	}
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

package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

var teams = map[string][]string{
	"soccer":     {"Arsenal", "Chelsea", "Liverpool", "Everton", "Spurs", "Villa", "Newcastle", "Brighton", "Fulham", "Wolves", "Brentford", "Leeds"},
	"basketball": {"Celtics", "Lakers", "Knicks", "Bulls", "Heat", "Nuggets", "Suns", "Warriors", "Bucks", "Nets", "Mavericks", "Clippers"},
	"football":   {"Chiefs", "Eagles", "Bills", "Cowboys", "49ers", "Ravens", "Packers", "Lions", "Bengals", "Jets", "Dolphins", "Steelers"},
	"hockey":     {"Bruins", "Rangers", "Oilers", "Leafs", "Canucks", "Kings", "Stars", "Wild", "Flames", "Sabres", "Devils", "Jets"},
}
var sports = []string{"football", "basketball", "soccer", "hockey"}

// seeded is what seedBoard wrote: the games, and the last odds of each
// game and provider (with the home win probability they came from).
type seeded struct {
	games []feed.Game
	mu    sync.Mutex
	last  map[string]seedOdds // gameID|provider
}

type seedOdds struct {
	odds feed.Odds
	p    float64
}

// american turns a win probability into American odds with the book's
// margin applied (never in -99..+99).
func american(p float64) int {
	if p >= 0.5 {
		return -int(math.Round(100 * p / (1 - p)))
	}
	return int(math.Round(100 * (1 - p) / p))
}

// quote makes odds from the home team's fair win probability and spread.
func quote(gameID string, at time.Time, p, spread float64) feed.Odds {
	const margin = 0.0225
	return feed.Odds{GameID: gameID, ObservedAt: at.UTC(), HomeSpread: spread, AwaySpread: -spread,
		HomeOdds: american(p + margin), AwayOdds: american(1 - p + margin)}
}

// seedBoard creates n open games (the first `live` of them live) and
// odds from every provider: a history of ticks over the last 45 minutes for
// the first `featured` games, one tick for the rest.
func seedBoard(t *testing.T, s *stack, n, live, featured int) *seeded {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UTC()
	out := &seeded{last: map[string]seedOdds{}}
	batches := map[string][]feed.Odds{}
	for i := range n {
		sport := sports[i%len(sports)]
		names := teams[sport]
		home, away := names[(i/len(sports))%len(names)], names[(i/len(sports)+1+i/48)%len(names)]
		g := feed.Game{ID: fmt.Sprintf("%s-%03d", sport, i), Sport: sport, Summary: away + " @ " + home,
			HomeTeam: home, AwayTeam: away, Venue: home + " Arena", Status: feed.StatusScheduled,
			GameDate: now.Add(time.Duration(i) * 20 * time.Minute).Truncate(5 * time.Minute)}
		if i < live {
			g.Status = feed.StatusLive
			g.GameDate = now.Add(-time.Duration(30+i*5) * time.Minute).Truncate(5 * time.Minute)
		}
		s.mustDo(t, "PUT", "/v1/games/"+g.ID, s.adminKey, g)
		out.games = append(out.games, g)
		baseP := 0.3 + 0.4*rng.Float64()
		baseSpread := math.Round((0.5-baseP)*28) / 2
		for pi, prov := range providers {
			p, spread := baseP+0.01*float64(pi-1), baseSpread
			ticks := 1
			if i < featured {
				ticks = 25
			}
			for k := range ticks {
				at := now.Add(-45 * time.Minute).Add(time.Duration(k)*(45*time.Minute)/time.Duration(ticks) + time.Duration(pi)*17*time.Second)
				if k > 0 {
					p = math.Min(0.85, math.Max(0.15, p+(rng.Float64()-0.5)*0.04))
					if rng.IntN(4) == 0 {
						spread += float64(rng.IntN(3)-1) * 0.5
					}
				}
				o := quote(g.ID, at, p, spread)
				o.Provider = prov
				batches[prov] = append(batches[prov], o)
				out.last[g.ID+"|"+prov] = seedOdds{odds: o, p: p}
			}
		}
	}
	for prov, all := range batches {
		for len(all) > 0 {
			b := all[:min(len(all), 500)]
			all = all[len(b):]
			s.mustDo(t, "POST", "/v1/odds", s.keys[prov], map[string]any{"odds": b})
		}
	}
	return out
}

// move posts a move of one provider's line on a game: the home win
// probability changes by dp (negative: the home odds go up) and the home
// spread by dspread. It returns the new odds.
func (sd *seeded) move(s *stack, gameID, provider string, dp, dspread float64) (feed.Odds, error) {
	sd.mu.Lock()
	last := sd.last[gameID+"|"+provider]
	p := math.Min(0.85, math.Max(0.15, last.p+dp))
	o := quote(gameID, time.Now(), p, last.odds.HomeSpread+dspread)
	o.Provider = provider
	sd.last[gameID+"|"+provider] = seedOdds{odds: o, p: p}
	sd.mu.Unlock()
	code, body := s.do(nil, "POST", "/v1/odds", s.keys[provider], map[string]any{"odds": []feed.Odds{o}})
	if code/100 != 2 {
		return o, fmt.Errorf("post odds: %d %.300s", code, body)
	}
	return o, nil
}

// burst posts n odds for every game and provider in turn, in batches of 50
// (one provider each), spread evenly over d: the board's load test.
func (sd *seeded) burst(s *stack, n int, d time.Duration) error {
	const batch = 50
	tick := time.NewTicker(d / time.Duration((n+batch-1)/batch))
	defer tick.Stop()
	k := 0
	for sent := 0; sent < n; sent += batch {
		prov := providers[(sent/batch)%len(providers)]
		var b []feed.Odds
		sd.mu.Lock()
		for range min(batch, n-sent) {
			g := sd.games[k%len(sd.games)]
			k++
			last := sd.last[g.ID+"|"+prov]
			p := math.Min(0.85, math.Max(0.15, last.p+0.01*float64(k%5-2)))
			o := quote(g.ID, time.Now(), p, last.odds.HomeSpread)
			o.Provider = prov
			sd.last[g.ID+"|"+prov] = seedOdds{odds: o, p: p}
			b = append(b, o)
		}
		sd.mu.Unlock()
		if code, body := s.do(nil, "POST", "/v1/odds", s.keys[prov], map[string]any{"odds": b}); code/100 != 2 {
			return fmt.Errorf("post odds: %d %.300s", code, body)
		}
		<-tick.C
	}
	return nil
}

// parkDeadLetter parks a change in the reporting dead letters, as the sync
// does with a record it cannot apply, so the pipeline page has one to show
// and replay. The change itself is valid: replay applies it.
func parkDeadLetter(t *testing.T, s *stack, gameID string) {
	t.Helper()
	o := quote(gameID, time.Now().Add(-time.Minute), 0.5, 0)
	o.Provider, o.ReceivedAt, o.Version = providers[0], time.Now().UTC(), 1
	c := feed.Change{Kind: feed.ChangeInsert, Key: o.Key(), ItemType: feed.TypeOdds, Version: 1, NewOdds: &o, At: time.Now().UTC()}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.pool.Exec(context.Background(),
		`INSERT INTO dead_letters (consumer, source, position, kind, raw, error) VALUES ('reporting', 'log', 900000001, 'change', $1, $2)`,
		raw, "apply odds tick: the dashboard test parked this change")
	if err != nil {
		t.Fatalf("park a dead letter: %v", err)
	}
}

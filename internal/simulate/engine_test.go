package simulate

import (
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// TestGameLifecycle: games are created scheduled (or live, at the start),
// go live and close, each written only by its owner; the number of open
// games stays; everyone quotes only open games of several sports.
func TestGameLifecycle(t *testing.T) {
	const games = 10
	e := NewEngine(Config{Providers: DefaultProviders, Games: games, Rate: 50, LiveFor: 30 * time.Second, Seed: 3})
	type state struct {
		owner    int
		statuses []feed.GameStatus
	}
	seen := map[string]*state{}
	sports := map[string]bool{}
	quoters := map[string]map[int]bool{}
	for _, tk := range run(e, t0, 3*time.Minute, liveTick) {
		for _, w := range tk.Writes {
			g := w.Game
			if errs := g.Validate(); len(errs) > 0 {
				t.Fatalf("invalid game %+v: %v", g, errs)
			}
			s, ok := seen[g.ID]
			if !ok {
				s = &state{owner: w.Owner}
				seen[g.ID] = s
				sports[g.Sport] = true
				if strings.HasPrefix(g.HomeTeam, "Home") || g.HomeTeam == g.AwayTeam || g.Venue == "" {
					t.Errorf("game %s: %s v %s at %q", g.ID, g.HomeTeam, g.AwayTeam, g.Venue)
				}
			} else if w.Owner != s.owner {
				t.Errorf("game %s written by provider %d, created by %d", g.ID, w.Owner, s.owner)
			}
			s.statuses = append(s.statuses, g.Status)
		}
		for p, odds := range tk.Odds {
			for _, o := range odds {
				s, ok := seen[o.GameID]
				if !ok {
					t.Fatalf("odds for game %s before it was created", o.GameID)
				}
				if s.statuses[len(s.statuses)-1] == feed.StatusClosed {
					t.Fatalf("odds for game %s after it closed", o.GameID)
				}
				if quoters[o.GameID] == nil {
					quoters[o.GameID] = map[int]bool{}
				}
				quoters[o.GameID][p] = true
			}
		}
		open := 0
		for _, s := range seen {
			if s.statuses[len(s.statuses)-1] != feed.StatusClosed {
				open++
			}
		}
		if open != games {
			t.Fatalf("%d open games, want %d", open, games)
		}
	}
	full := 0
	for id, s := range seen {
		got := strings.Join(statusStrings(s.statuses), " ")
		switch got {
		case "scheduled live closed":
			full++
		case "scheduled", "scheduled live", "live", "live closed":
		default:
			t.Errorf("game %s went %s", id, got)
		}
	}
	if full == 0 {
		t.Error("no game went scheduled -> live -> closed")
	}
	if len(sports) < 5 {
		t.Errorf("sports %v, want all 5", sports)
	}
	owners := map[int]bool{}
	for id, s := range seen {
		owners[s.owner] = true
		if len(quoters[id]) > 0 && len(quoters[id]) < len(DefaultProviders) && s.statuses[len(s.statuses)-1] == feed.StatusLive {
			t.Errorf("live game %s quoted by %v only", id, quoters[id])
		}
	}
	if len(owners) != len(DefaultProviders) {
		t.Errorf("owners %v, want every provider to own games", owners)
	}
}

func statusStrings(ss []feed.GameStatus) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// TestCorrectionsAndLateTicks: a small share of quotes are re-posted
// corrected (same key, other price) or arrive after a newer observation.
func TestCorrectionsAndLateTicks(t *testing.T) {
	e := NewEngine(Config{Providers: DefaultProviders, Games: 10, Rate: 100, LiveFor: time.Minute, Seed: 11})
	type key struct {
		quote string // game, provider, market
		at    time.Time
	}
	posted := map[key]feed.Odds{}
	newest := map[string]time.Time{}
	var total, corrections, late, counted int
	for _, tk := range run(e, t0, 10*time.Minute, liveTick) {
		counted += tk.Corrections + tk.Late
		for _, odds := range tk.Odds {
			for _, o := range odds {
				total++
				k := key{o.QuoteID(), o.ObservedAt}
				if p, ok := posted[k]; ok {
					if p.SameContent(o) {
						t.Errorf("re-posted %+v unchanged", o)
					}
					corrections++
					continue
				}
				posted[k] = o
				if o.ObservedAt.Before(newest[o.QuoteID()]) {
					late++
				} else {
					newest[o.QuoteID()] = o.ObservedAt
				}
			}
		}
	}
	t.Logf("%d odds: %d corrections, %d late", total, corrections, late)
	if corrections == 0 || late == 0 {
		t.Errorf("%d corrections and %d late of %d odds, want some of each", corrections, late, total)
	}
	if corrections+late > total/20 {
		t.Errorf("%d corrections and %d late of %d odds: more than a small share", corrections, late, total)
	}
	// A held-back quote is late unless the provider's next one was held
	// back too (and came later still), or a bet stop came in between and
	// the provider made no next one: rare.
	if d := counted - (corrections + late); d < 0 || d > counted/20 {
		t.Errorf("the ticks counted %d corrections and late odds, seen %d", counted, corrections+late)
	}
}

package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// TestBetStopsAroundEvents: a live game's events (goals, scores, runs,
// breaks) stop bets: the fastest provider suspends every market of the
// game (bet_stop, the sport's event as the note) and resumes them a few
// seconds later; nobody quotes the game in between, and every sport has
// them.
func TestBetStopsAroundEvents(t *testing.T) {
	const liveFor = 4 * time.Minute
	e := NewEngine(Config{Providers: DefaultProviders, Games: 10, Rate: 60, LiveFor: liveFor, Seed: 8, QuietEvery: -1})
	type stop struct{ from, until time.Time }
	stops := map[string][]stop{} // game -> its bet stops, from the suspend to the resume
	sports := map[string]string{}
	live := map[string]bool{}
	perSport := map[string]int{}
	for _, tk := range run(e, t0, 12*time.Minute, liveTick) {
		for _, w := range tk.Writes {
			sports[w.Game.ID] = w.Game.Sport
			live[w.Game.ID] = w.Game.Status == feed.StatusLive
		}
		for p, cs := range tk.Changes {
			for _, c := range cs {
				switch c.Action {
				case feed.ActionSuspend:
					if p != 0 { // meridian is the fastest
						t.Errorf("bet stop by %s", DefaultProviders[p].Name)
					}
					if !live[c.GameID] || c.Reason != feed.ReasonBetStop || c.Note == "" {
						t.Errorf("suspend %+v of a game live %v", c, live[c.GameID])
					}
					ss := stops[c.GameID]
					if n := len(ss); n == 0 || !ss[n-1].from.Equal(c.At) {
						stops[c.GameID] = append(ss, stop{from: c.At})
						perSport[sports[c.GameID]]++
					}
				case feed.ActionResume:
					ss := stops[c.GameID]
					if len(ss) == 0 || c.At.Before(ss[len(ss)-1].from) {
						t.Fatalf("resume %+v without a bet stop", c)
					}
					ss[len(ss)-1].until = c.At
				}
			}
		}
	}
	total := 0
	for id, ss := range stops {
		for _, s := range ss {
			if s.until.IsZero() {
				continue // the game closed during it, or the run ended
			}
			total++
			if d := s.until.Sub(s.from); d < time.Duration(betStopMin*float64(liveFor)) || d > time.Duration((betStopMin+betStopRand)*float64(liveFor)) {
				t.Errorf("%s: bet stop of %v", id, d)
			}
		}
	}
	t.Logf("%d bet stops by sport %v", total, perSport)
	for _, s := range Sports {
		if perSport[s.Name] == 0 {
			t.Errorf("no bet stops in %s", s.Name)
		}
	}
}

// TestNoQuotesDuringBetStops: between a bet stop and its resume nobody
// posts a quote of the game, not even a correction or a late one.
func TestNoQuotesDuringBetStops(t *testing.T) {
	e := NewEngine(Config{Providers: DefaultProviders, Games: 10, Rate: 100, LiveFor: 2 * time.Minute, Seed: 9, QuietEvery: -1,
		Corrections: 0.05, Late: 0.05})
	stopped := map[string][2]time.Time{} // game -> the suspend's and resume's At, once both are out
	pendingStop := map[string]time.Time{}
	checked := 0
	for now := t0; now.Before(t0.Add(8 * time.Minute)); now = now.Add(liveTick) {
		tk := e.Advance(now)
		for _, cs := range tk.Changes {
			for _, c := range cs {
				switch c.Action {
				case feed.ActionSuspend:
					pendingStop[c.GameID] = c.At
				case feed.ActionResume:
					stopped[c.GameID] = [2]time.Time{pendingStop[c.GameID], c.At}
				}
			}
		}
		for _, odds := range tk.Odds {
			for _, o := range odds {
				checked++
				if from, ok := pendingStop[o.GameID]; ok && !now.Before(from) {
					if s := stopped[o.GameID]; s[0].Equal(from) && now.Before(s[1]) || !s[0].Equal(from) {
						t.Fatalf("%s quoted at %v by %s during its bet stop from %v", o.GameID, now, o.Provider, from)
					}
				}
			}
		}
	}
	if checked == 0 || len(stopped) == 0 {
		t.Fatalf("%d quotes, %d bet stops", checked, len(stopped))
	}
}

// TestQuietProvider: the quiet provider is silent (no odds, heartbeats or
// market changes) for QuietFor every QuietEvery, the first time after half
// of it, and posts again after; its changes wait for it. The others are
// never silent for HeartbeatEvery: with little to quote, they send
// heartbeats.
func TestQuietProvider(t *testing.T) {
	const every, quiet, hb = 2 * time.Minute, 45 * time.Second, 5 * time.Second
	e := NewEngine(Config{Providers: DefaultProviders, Games: 2, Rate: 0.5, LiveFor: time.Minute, Seed: 4,
		QuietEvery: every, QuietFor: quiet, HeartbeatEvery: hb})
	if q := e.QuietProvider(); q != len(DefaultProviders)-1 {
		t.Fatalf("quiet provider %d, want the last", q)
	}
	heard := make([][]time.Time, len(DefaultProviders))
	heartbeats := make([]int, len(DefaultProviders))
	var heldChanges int
	for now := t0; !now.After(t0.Add(10 * time.Minute)); now = now.Add(liveTick) {
		tk := e.Advance(now)
		for p := range DefaultProviders {
			if len(tk.Odds[p]) > 0 || tk.Heartbeats[p] {
				heard[p] = append(heard[p], now)
			}
			if tk.Heartbeats[p] {
				heartbeats[p]++
				if len(tk.Odds[p]) > 0 {
					t.Errorf("%s sent a heartbeat with odds", DefaultProviders[p].Name)
				}
			}
			if e.Quiet(p, now) && (len(tk.Odds[p]) > 0 || tk.Heartbeats[p] || len(tk.Changes[p]) > 0) {
				t.Fatalf("%s posted while quiet at %v", DefaultProviders[p].Name, now.Sub(t0))
			}
			for _, c := range tk.Changes[p] {
				if now.Sub(c.At) > time.Second {
					heldChanges++
				}
			}
		}
	}
	for p, pr := range DefaultProviders {
		silences := gaps(heard[p], hb+liveTick)
		t.Logf("%s: %d heartbeats, silences %v", pr.Name, heartbeats[p], silences)
		if p != e.QuietProvider() {
			if len(silences) > 0 || heartbeats[p] == 0 {
				t.Errorf("%s: silent %v, %d heartbeats", pr.Name, silences, heartbeats[p])
			}
			continue
		}
		if len(silences) != 5 { // at 1m, 3m, 5m, 7m, 9m
			t.Fatalf("%s silent %v, want 5 times", pr.Name, silences)
		}
		for i, s := range silences {
			start := every/2 + time.Duration(i)*every
			if s.from < start-hb-liveTick || s.from > start || s.d < quiet || s.d > quiet+hb+liveTick {
				t.Errorf("%s silent for %v from %v, want %v from %v", pr.Name, s.d, s.from, quiet, start)
			}
		}
	}
	if heldChanges == 0 {
		t.Error("no market change of the quiet provider waited for it")
	}
	// The schedule itself.
	q := e.QuietProvider()
	for _, c := range []struct {
		at    time.Duration
		quiet bool
	}{{0, false}, {every/2 - time.Millisecond, false}, {every / 2, true}, {every/2 + quiet - time.Millisecond, true},
		{every/2 + quiet, false}, {every + every/2 + time.Second, true}, {3 * every, false}} {
		if got := e.Quiet(q, t0.Add(c.at)); got != c.quiet {
			t.Errorf("quiet at %v = %v", c.at, got)
		}
		if e.Quiet(0, t0.Add(c.at)) {
			t.Errorf("provider 0 quiet at %v", c.at)
		}
	}
}

type silence struct {
	from time.Duration // since t0
	d    time.Duration
}

func (s silence) String() string { return s.d.String() + " from " + s.from.String() }

// gaps are the silences longer than min between the times ts.
func gaps(ts []time.Time, min time.Duration) []silence {
	var out []silence
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > min {
			out = append(out, silence{ts[i-1].Sub(t0), d})
		}
	}
	return out
}

// TestDecimalRoundTrips: every American price the simulator makes comes
// back from its decimal form as the server converts it.
func TestDecimalRoundTrips(t *testing.T) {
	limit := American(minProb3 / (1 + 0.08))
	for a := -American(1 - minProb3); a <= limit; a++ {
		if a > -100 && a < 100 {
			continue
		}
		if got, ok := feed.DecimalToAmerican(Decimal(a)); !ok || got != a {
			t.Fatalf("%d: decimal %v gives %d %v", a, Decimal(a), got, ok)
		}
	}
	if d := Decimal(-110); math.Abs(d-1.909091) > 1e-9 {
		t.Errorf("Decimal(-110) = %v", d)
	}
}

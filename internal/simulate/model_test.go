package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// marginTolerance: American odds are whole numbers, so the implied
// probabilities of a quote sum to 1+margin only up to that rounding: half a
// point of odds near even money (±100, where a point moves the implied
// probability most: 100/200²) on each side.
const marginTolerance = 2*0.5*100/(200*200) + 1e-9

func impliedSum(o feed.Odds) float64 {
	return feed.ImpliedProbability(o.HomeOdds) + feed.ImpliedProbability(o.AwayOdds)
}

func TestPriceHasTheMarginAndValidOdds(t *testing.T) {
	for _, pr := range DefaultProviders {
		for x := -maxLogOdds; x <= maxLogOdds; x += 0.05 {
			home, away, spread := price(x, pr.Margin, 6.5)
			for _, v := range []int{home, away} {
				if r := feed.ValidateAmerican(v); r != "" {
					t.Fatalf("%s x=%.2f: odds %d: %s", pr.Name, x, v, r)
				}
			}
			if got := feed.ImpliedProbability(home) + feed.ImpliedProbability(away); math.Abs(got-(1+pr.Margin)) > marginTolerance {
				t.Errorf("%s x=%.2f: %d/%d imply %.4f, want 1+%.3f", pr.Name, x, home, away, got, pr.Margin)
			}
			if ph, pa := feed.ImpliedProbability(home), feed.ImpliedProbability(away); (x > 0.1 && ph <= pa) || (x < -0.1 && ph >= pa) {
				t.Errorf("x=%.2f: home %d, away %d", x, home, away)
			}
			if spread*2 != math.Trunc(spread*2) || (x > 0.2 && spread >= 0) || (x < -0.2 && spread <= 0) {
				t.Errorf("x=%.2f: home spread %v", x, spread)
			}
		}
	}
	if got := Spread(0.01, 1); math.Signbit(got) {
		t.Errorf("Spread(0.01) = -0, want 0")
	}
}

// run advances an engine by step for d and returns every tick.
func run(e *Engine, start time.Time, d, step time.Duration) []Tick {
	var ticks []Tick
	for now := start; !now.After(start.Add(d)); now = now.Add(step) {
		ticks = append(ticks, e.Advance(now))
	}
	return ticks
}

var t0 = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

func TestQuotesAreValidWithEachProvidersMargin(t *testing.T) {
	e := NewEngine(Config{Providers: DefaultProviders, Games: 10, Rate: 60, LiveFor: time.Minute, Seed: 1})
	n := 0
	for _, tk := range run(e, t0, 5*time.Minute, liveTick) {
		for p, odds := range tk.Odds {
			pr := DefaultProviders[p]
			for _, o := range odds {
				n++
				if o.Provider != pr.Name {
					t.Fatalf("provider %d's odds name %s", p, o.Provider)
				}
				if errs := o.Validate(o.ObservedAt); len(errs) > 0 {
					t.Fatalf("invalid quote %+v: %v", o, errs)
				}
				if got := impliedSum(o); math.Abs(got-(1+pr.Margin)) > marginTolerance {
					t.Errorf("%s's %d/%d imply %.4f, want 1+%.3f", pr.Name, o.HomeOdds, o.AwayOdds, got, pr.Margin)
				}
			}
		}
	}
	// 60 odds/s for 5 minutes, give or take the randomness of the intervals.
	if n < 60*300*8/10 || n > 60*300*12/10 {
		t.Errorf("%d odds in 5 minutes at 60/s", n)
	}
}

// TestProvidersMoveTogether: each provider's implied probability of the
// home side (margin removed) over a live game follows the one true line.
func TestProvidersMoveTogether(t *testing.T) {
	e := NewEngine(Config{Providers: DefaultProviders, Games: 2, Rate: 30, LiveFor: 20 * time.Minute, Seed: 7})
	latest := make([]feed.Odds, len(DefaultProviders))
	series := make([][]float64, len(DefaultProviders))
	var game string
	for _, tk := range run(e, t0, 8*time.Minute, liveTick) {
		if game == "" {
			game = tk.Writes[0].Game.ID // the first game is live from the start
		}
		for p, odds := range tk.Odds {
			for _, o := range odds {
				if o.GameID == game && (latest[p].GameID == "" || o.Newer(latest[p])) {
					latest[p] = o
				}
			}
		}
		if latest[0].GameID == "" || latest[1].GameID == "" || latest[2].GameID == "" {
			continue
		}
		for p, o := range latest {
			series[p] = append(series[p], feed.ImpliedProbability(o.HomeOdds)/impliedSum(o))
		}
	}
	if len(series[0]) < 1000 {
		t.Fatalf("only %d samples", len(series[0]))
	}
	lo, hi := extent(series[0])
	if hi-lo < 0.1 {
		t.Errorf("the line hardly moved: %.3f..%.3f", lo, hi)
	}
	for i := range series {
		for j := i + 1; j < len(series); j++ {
			if c := correlation(series[i], series[j]); c <= 0.9 {
				t.Errorf("correlation of %s and %s = %.3f, want > 0.9", DefaultProviders[i].Name, DefaultProviders[j].Name, c)
			} else {
				t.Logf("correlation of %s and %s = %.3f", DefaultProviders[i].Name, DefaultProviders[j].Name, c)
			}
		}
	}
}

func extent(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func correlation(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var cov, va, vb float64
	for i := range a {
		cov += (a[i] - ma) * (b[i] - mb)
		va += (a[i] - ma) * (a[i] - ma)
		vb += (b[i] - mb) * (b[i] - mb)
	}
	return cov / math.Sqrt(va*vb)
}

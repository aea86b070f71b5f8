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

// overroundTolerance: American odds are whole numbers, so a quote's
// implied probabilities sum to 1+margin only up to that rounding: half a
// point of odds near even money on each of its outcomes.
func overroundTolerance(m feed.Market) float64 {
	return float64(len(m.Outcomes()))*0.5*100/(200*200) + 1e-9
}

// TestQuotesAreValidWithEachProvidersMargin: every provider quotes every
// market of its games (moneyline or three-way by sport, spread, total),
// each valid and with the provider's margin, whatever the state of the
// game.
func TestQuotesAreValidWithEachProvidersMargin(t *testing.T) {
	e := NewEngine(Config{Providers: DefaultProviders, Games: 10, Rate: 60, LiveFor: time.Minute, Seed: 1, QuietEvery: -1})
	n := 0
	type pm struct {
		provider string
		market   feed.Market
	}
	sum, count := map[pm]float64{}, map[pm]int{}
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
				m := o.Market.Or()
				if got := o.Overround(); math.Abs(got-pr.Margin) > overroundTolerance(m) {
					t.Errorf("%s's %s quote %+v has an overround of %.4f, want %.3f", pr.Name, m, o, got, pr.Margin)
				}
				sum[pm{pr.Name, m}] += o.Overround()
				count[pm{pr.Name, m}]++
			}
		}
	}
	for _, pr := range DefaultProviders {
		for _, m := range feed.Markets {
			k := pm{pr.Name, m}
			if count[k] < 100 {
				t.Errorf("%s quoted %s %d times", pr.Name, m, count[k])
				continue
			}
			t.Logf("%s %s: %d quotes, mean overround %.4f", pr.Name, m, count[k], sum[k]/float64(count[k]))
		}
	}
	// 60 odds/s for 5 minutes, give or take the randomness of the
	// intervals, less the quotes not made during bet stops.
	if n < 60*300*6/10 || n > 60*300*12/10 {
		t.Errorf("%d odds in 5 minutes at 60/s", n)
	}
}

// TestTrueProbabilities: the markets' true probabilities are
// probabilities, favour the stronger side and the side ahead, and their
// lines follow the score: the spread gives the favourite points, the total
// is above the points scored and moves up as they are scored.
func TestTrueProbabilities(t *testing.T) {
	for _, s := range Sports {
		for _, played := range []float64{0, 0.3, 0.7, 0.95, 1} {
			for x := -maxLogOdds; x <= maxLogOdds; x += 0.25 {
				for _, score := range [][2]int{{0, 0}, {1, 0}, {0, 2}, {3, 3}, {2 * int(s.Total), int(s.Total)}} {
					st := state{x: x, home: score[0], away: score[1], played: played}
					tr := s.truth(st)
					sum3 := tr.threeWay[0] + tr.threeWay[1] + tr.threeWay[2]
					ok := math.Abs(sum3-1) < 1e-9 && math.Abs(tr.moneyline[0]+tr.moneyline[1]-1) < 1e-9
					for _, p := range append(tr.threeWay[:], tr.moneyline[0], tr.moneyline[1], tr.cover, tr.over) {
						ok = ok && p >= minProb3-1e-12 && p <= 1-minProb3+1e-12
					}
					if !ok {
						t.Fatalf("%s %+v: %+v", s.Name, st, tr)
					}
					if tr.line <= float64(st.home+st.away) || tr.line*2 != math.Trunc(tr.line*2) {
						t.Errorf("%s %+v: total line %v", s.Name, st, tr.line)
					}
					if o := (feed.Odds{HomeSpread: tr.homeSpread, AwaySpread: -tr.homeSpread}); o.Validate(t0) != nil && tr.homeSpread*2 != math.Trunc(tr.homeSpread*2) {
						t.Errorf("%s %+v: spread %v", s.Name, st, tr.homeSpread)
					}
				}
				if x > 0.3 && played == 0 {
					if tr := s.truth(state{x: x}); tr.moneyline[0] <= 0.5 || tr.homeSpread >= 0 || tr.threeWay[0] <= tr.threeWay[2] {
						t.Errorf("%s x=%.2f: the stronger home side is not the favourite: %+v", s.Name, x, tr)
					}
				}
			}
			if played < 1 {
				ahead := s.truth(state{home: 2 * s.Points[0], played: played})
				level := s.truth(state{played: played})
				if ahead.moneyline[0] <= level.moneyline[0] || ahead.threeWay[0] <= level.threeWay[0] || ahead.line <= level.line {
					t.Errorf("%s at %.2f: ahead %+v, level %+v", s.Name, played, ahead, level)
				}
			}
		}
		// Near the end, the side ahead is all but certain to win.
		if tr := s.truth(state{home: 2 * s.Points[0], played: 0.999}); tr.moneyline[0] < 0.95 {
			t.Errorf("%s: ahead at the end, moneyline %v", s.Name, tr.moneyline)
		}
	}
}

// TestWithMarginManyOutcomes: the power method over three outcomes sums to
// 1+margin and keeps the order of the outcomes.
func TestWithMarginManyOutcomes(t *testing.T) {
	for _, ps := range [][]float64{{0.45, 0.28, 0.27}, {0.8, 0.15, 0.05}, {1.0 / 3, 1.0 / 3, 1.0 / 3}} {
		for _, m := range []float64{0.045, 0.06, 0.08} {
			q := withMargin(ps, m)
			if s := q[0] + q[1] + q[2]; math.Abs(s-1-m) > 1e-9 {
				t.Errorf("%v with %v: %v sums to %v", ps, m, q, s)
			}
			for i := range q {
				if q[i] < ps[i] || q[i] >= 1 {
					t.Errorf("%v with %v: %v", ps, m, q)
				}
			}
		}
	}
}

// TestProvidersMoveTogether: each provider's implied probability of the
// home side winning (margin removed) over a live game follows the one true
// state.
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
				if o.GameID == game && o.Market == feed.MarketThreeWay && (latest[p].GameID == "" || o.Newer(latest[p])) {
					latest[p] = o
				}
			}
		}
		if latest[0].GameID == "" || latest[1].GameID == "" || latest[2].GameID == "" {
			continue
		}
		for p, o := range latest {
			series[p] = append(series[p], feed.ImpliedProbability(o.HomeOdds)/(1+o.Overround()))
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

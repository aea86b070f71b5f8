package simulate

import (
	"math"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// state is a game's true state at one instant: what every market's price
// derives from.
type state struct {
	x          float64 // the home side's strength, in log-odds (expected margin x*PerLogit points)
	home, away int     // the score
	played     float64 // the share of the game played: 0 before kick-off, 1 at the end
}

// truth is the true probabilities of a game's markets in one state, with
// the lines of the spread and the total.
type truth struct {
	moneyline  [2]float64 // home, away (a level game goes to overtime)
	threeWay   [3]float64 // home, draw, away
	homeSpread float64    // the spread's line, for the home side
	cover      float64    // the home side covers the spread (given no push)
	line       float64    // the total's line
	over       float64    // the total goes over the line (given no push)
}

// The bounds of a true probability as quoted: a bookmaker offers no
// longer odds than about 1/33, and never a certainty.
const (
	minProb    = 0.03
	minProb3   = 0.02 // of one outcome of three
	maxPoisson = 25   // goals per side beyond which the Poisson tail is dropped
)

// lowScoring sports are modelled by Poisson goals, the others by a normal
// margin and total.
func (s *Sport) lowScoring() bool { return s.Total < 10 }

// plays is the expected number of scoring plays in a game.
func (s *Sport) plays() float64 { return s.Total / s.meanPoints() }

func (s *Sport) meanPoints() float64 {
	sum := 0
	for _, p := range s.Points {
		sum += p
	}
	return float64(sum) / float64(len(s.Points))
}

// sigma is the standard deviation of a full game's margin (and total) that
// its scoring plays make: each play adds its points to one side, so the
// variance is the plays times the mean square of a play's points.
func (s *Sport) sigma() float64 {
	sq := 0.0
	for _, p := range s.Points {
		sq += float64(p * p)
	}
	return math.Sqrt(s.plays() * sq / float64(len(s.Points)))
}

// edge is the home side's expected margin over a full game for strength
// x, bounded so that both sides are expected to score.
func (s *Sport) edge(x float64) float64 {
	return math.Max(-0.9*s.Total, math.Min(0.9*s.Total, x*s.PerLogit))
}

// homeShare is the share of scoring plays the home side makes.
func (s *Sport) homeShare(x float64) float64 {
	return math.Max(0.05, math.Min(0.95, (s.Total+s.edge(x))/(2*s.Total)))
}

// truth is the true probabilities of the markets of a game of sport s in
// state st.
func (s *Sport) truth(st state) truth {
	rem := math.Max(0.01, 1-st.played)
	d0, t0 := float64(st.home-st.away), float64(st.home+st.away)
	var t truth
	if s.lowScoring() {
		t = s.poissonTruth(st, rem)
	} else {
		sd := s.sigma() * math.Sqrt(rem)
		mD, mT := d0+s.edge(st.x)*rem, t0+s.Total*rem
		t.moneyline[0] = phi(mD / sd)
		t.threeWay = [3]float64{phi((mD - 0.5) / sd), 0, phi((-mD - 0.5) / sd)}
		t.homeSpread = Spread(mD, 1)
		t.cover = phi((mD + t.homeSpread) / sd)
		t.line = totalLine(mT, t0)
		t.over = 1 - phi((t.line-mT)/sd)
	}
	t.moneyline[0] = clampProb(t.moneyline[0])
	t.moneyline[1] = 1 - t.moneyline[0]
	t.threeWay[1] = 1 - t.threeWay[0] - t.threeWay[2]
	t.threeWay = clamp3(t.threeWay)
	t.cover, t.over = clampProb(t.cover), clampProb(t.over)
	return t
}

// poissonTruth: the goals each side still scores are Poisson, with means
// splitting the rest of the game's expected total by the strength.
func (s *Sport) poissonTruth(st state, rem float64) truth {
	e := s.edge(st.x)
	lh, la := (s.Total+e)/2*rem, (s.Total-e)/2*rem
	ph, pa := poissonPMF(lh), poissonPMF(la)
	d0, t0 := st.home-st.away, st.home+st.away
	// margin[k+maxPoisson] and total[n]: the final margin and total.
	margin := make([]float64, 2*maxPoisson+1)
	total := make([]float64, 2*maxPoisson+1)
	for i, pi := range ph {
		for j, pj := range pa {
			margin[i-j+maxPoisson] += pi * pj
			total[i+j] += pi * pj
		}
	}
	var t truth
	for k, p := range margin {
		switch m := d0 + k - maxPoisson; {
		case m > 0:
			t.threeWay[0] += p
		case m < 0:
			t.threeWay[2] += p
		}
	}
	draw := 1 - t.threeWay[0] - t.threeWay[2]
	t.moneyline[0] = t.threeWay[0] + draw*lh/(lh+la)
	t.homeSpread = Spread(float64(d0)+lh-la, 1)
	var win, lose float64
	for k, p := range margin {
		switch v := float64(d0+k-maxPoisson) + t.homeSpread; {
		case v > 0:
			win += p
		case v < 0:
			lose += p
		}
	}
	t.cover = win / (win + lose)
	t.line = totalLine(float64(t0)+lh+la, float64(t0))
	var over, under float64
	for n, p := range total {
		switch v := float64(t0 + n); {
		case v > t.line:
			over += p
		case v < t.line:
			under += p
		}
	}
	t.over = over / (over + under)
	return t
}

// totalLine is a total's line: the expected final total to the half point,
// above the points scored already (a line the game has passed is no bet).
func totalLine(expected, scored float64) float64 {
	return math.Min(feed.MaxTotal, math.Max(scored+0.5, math.Round(expected*2)/2))
}

// poissonPMF is P(k) for k = 0..maxPoisson of a Poisson mean, the tail
// folded into the last.
func poissonPMF(mean float64) []float64 {
	p := make([]float64, maxPoisson+1)
	v, sum := math.Exp(-mean), 0.0
	for k := range maxPoisson {
		p[k] = v
		sum += v
		v *= mean / float64(k+1)
	}
	p[maxPoisson] = math.Max(0, 1-sum)
	return p
}

func phi(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

func clampProb(p float64) float64 {
	if math.IsNaN(p) {
		return 0.5
	}
	return math.Max(minProb, math.Min(1-minProb, p))
}

// clamp3 raises the outcomes below minProb3 to it and takes the difference
// from the others, in proportion.
func clamp3(p [3]float64) [3]float64 {
	for range 3 {
		low, rest := 0.0, 0.0
		for _, v := range p {
			if v <= minProb3 {
				low += minProb3
			} else {
				rest += v
			}
		}
		if low == 0 || rest == 0 {
			return p
		}
		for i, v := range p {
			if v <= minProb3 {
				p[i] = minProb3
			} else {
				p[i] = v * (1 - low) / rest
			}
		}
	}
	return p
}

// quotes are provider p's quotes of every market of g, observed at at,
// seeing the state st: one truth, each market with the provider's margin.
func (e *Engine) quotes(g *game, p int, at time.Time, st state) []feed.Odds {
	pr := e.cfg.Providers[p]
	t := g.sport.truth(st)
	out := make([]feed.Odds, 0, 3)
	for _, m := range g.sport.Markets() {
		o := feed.Odds{GameID: g.ID, Provider: pr.Name, ObservedAt: at, Market: m}
		switch m {
		case feed.MarketMoneyline:
			h, a := WithMargin(t.moneyline[0], pr.Margin)
			o.HomeOdds, o.AwayOdds = American(h), American(a)
		case feed.MarketThreeWay:
			q := withMargin(t.threeWay[:], pr.Margin)
			o.HomeOdds, o.DrawOdds, o.AwayOdds = American(q[0]), American(q[1]), American(q[2])
		case feed.MarketSpread:
			h, a := WithMargin(t.cover, pr.Margin)
			o.Market = "" // the full-game spread of the AWS reference: no market on the wire
			o.HomeSpread, o.AwaySpread, o.HomeOdds, o.AwayOdds = t.homeSpread, 0-t.homeSpread, American(h), American(a)
		case feed.MarketTotal:
			ov, un := WithMargin(t.over, pr.Margin)
			o.Line, o.OverOdds, o.UnderOdds = t.line, American(ov), American(un)
		}
		out = append(out, o)
	}
	return out
}

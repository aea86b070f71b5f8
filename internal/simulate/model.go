package simulate

import (
	"math"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// The price model. Each game has one true state: the home side's strength x
// (log-odds; the home side is expected to win the game by x*PerLogit
// points), the score and the share of the game played. x walks by a
// mean-reverting random walk (Ornstein-Uhlenbeck towards mu); a live game
// scores (scoring plays of its sport's Points, the stronger side more
// often), and in sports whose scores are not events, jumps at its events
// (runs, breaks). From the state, the distribution of the final score
// (Poisson goals for low-scoring sports, a normal margin and total for the
// others, see markets.go) gives the true probability of every outcome of
// every market: moneyline or three-way, spread and total, whose lines move
// with the game. Every provider quotes that one state as it saw it Latency
// ago, with a small error of its own (Noise) and its own margin on every
// market (power method), so all providers' prices move together with a
// margin between them.
//
// Around the game's events providers stop bets (events.go); a closed game's
// markets are closed and settled from the final score (settle.go); one
// provider goes quiet now and then and the others send heartbeats when they
// have nothing to post (liveness.go).

// Provider is a simulated odds provider.
type Provider struct {
	Name    string        // its principal name (the server takes the odds' provider from Key)
	Key     string        // its API key
	Margin  float64       // overround: its implied probabilities sum to 1+Margin
	Latency time.Duration // it quotes the line as it was this long ago (its observedAt is then)
	Noise   float64       // standard deviation of its error, in log-odds
	// Decimal is the share of its quotes it posts in decimal odds
	// (oddsFormat "decimal") rather than American.
	Decimal float64
}

// DefaultProviders are the demo's providers (without keys): a sharp one with
// a thin margin, a middling one and a slow one with a fat margin.
var DefaultProviders = []Provider{
	{Name: "meridian", Margin: 0.045, Latency: 150 * time.Millisecond, Noise: 0.02},
	{Name: "kestrel", Margin: 0.06, Latency: 400 * time.Millisecond, Noise: 0.03},
	{Name: "harbor", Margin: 0.08, Latency: 900 * time.Millisecond, Noise: 0.04, Decimal: 0.2},
}

// ProviderProfile returns the default profile of a provider name (one of
// DefaultProviders), else a middling one, named name.
func ProviderProfile(name string) Provider {
	for _, p := range DefaultProviders {
		if p.Name == name {
			return p
		}
	}
	return Provider{Name: name, Margin: 0.05, Latency: 300 * time.Millisecond, Noise: 0.03}
}

// maxLogOdds bounds the true line: p stays within about 3%..97%.
const maxLogOdds = 3.5

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func clampLogOdds(x float64) float64 { return math.Max(-maxLogOdds, math.Min(maxLogOdds, x)) }

// WithMargin spreads margin m over the two sides of a true probability p
// (home) by the power method: q = p^k, k in (0, 1] such that the two sum to
// 1+m. Each stays below 1, and the longshot carries more of the margin, as
// bookmakers price it.
func WithMargin(p, m float64) (home, away float64) {
	q := withMargin([]float64{p, 1 - p}, m)
	return q[0], q[1]
}

// withMargin is WithMargin over any number of outcomes whose true
// probabilities ps sum to 1.
func withMargin(ps []float64, m float64) []float64 {
	sum := func(k float64) float64 {
		s := 0.0
		for _, p := range ps {
			s += math.Pow(p, k)
		}
		return s
	}
	lo, hi := 0.0, 1.0
	for range 60 {
		if k := (lo + hi) / 2; sum(k) > 1+m {
			lo = k
		} else {
			hi = k
		}
	}
	k := (lo + hi) / 2
	q := make([]float64, len(ps))
	for i, p := range ps {
		q[i] = math.Pow(p, k)
	}
	return q
}

// American converts an implied probability (0..1) to American odds: at least
// +100 for an underdog, at most -100 for a favourite (feed.ValidateAmerican).
func American(q float64) int {
	q = math.Max(0.001, math.Min(0.999, q))
	if q >= 0.5 {
		return min(-100, -int(math.Round(100*q/(1-q))))
	}
	return max(100, int(math.Round(100*(1-q)/q)))
}

// Spread is the home side's point spread for log-odds x in a sport: a
// favourite gives points (negative), in steps of 0.5, perLogit points per
// unit of log-odds.
func Spread(x, perLogit float64) float64 {
	s := -math.Round(x*perLogit*2) / 2
	if s == 0 {
		return 0 // never -0
	}
	return math.Max(-feed.MaxSpread, math.Min(feed.MaxSpread, s))
}

// price is a provider's quote of log-odds x in a sport.
func price(x, margin, perLogit float64) (homeOdds, awayOdds int, homeSpread float64) {
	h, a := WithMargin(logistic(x), margin)
	return American(h), American(a), Spread(x, perLogit)
}

package feed

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

// MaxFutureSkew is how far in the future an observation may be stamped
// before it is refused: providers' clocks drift, but not by minutes.
const MaxFutureSkew = 5 * time.Minute

// MaxSpread bounds a point spread in absolute value.
const MaxSpread = 1000

// MaxAmerican bounds American odds in absolute value (+100000 is 1000/1).
const MaxAmerican = 100000

// Odds is one provider's quote for one market of a game at one instant: a
// price per outcome in American format, and the market's line. The zero
// Market and Period are the full-game spread, the AWS reference's odds: the
// point spread for each side and the price of each side.
//
//	market      line              prices
//	spread      AwaySpread, HomeSpread  AwayOdds, HomeOdds
//	moneyline   -                 AwayOdds, HomeOdds
//	three_way   -                 HomeOdds, DrawOdds, AwayOdds
//	total       Line (points)     OverOdds, UnderOdds
//
// The key of an odds item is (GameID, Provider, ObservedAt, Market,
// Period): the same key posted twice with the same prices is stored once;
// with other prices it is a correction, stored as the next version of the
// item (see MaxOddsVersions).
type Odds struct {
	GameID     string    `json:"gameId"`
	Provider   string    `json:"provider"`
	ObservedAt time.Time `json:"observedAt"`
	// Market and Period: "" is a spread on the full game.
	Market     Market  `json:"market,omitempty"`
	Period     Period  `json:"period,omitempty"`
	AwaySpread float64 `json:"awaySpread"`
	HomeSpread float64 `json:"homeSpread"`
	AwayOdds   int     `json:"awayOdds"`
	HomeOdds   int     `json:"homeOdds"`
	// DrawOdds prices the draw of a three-way market.
	DrawOdds int `json:"drawOdds,omitempty"`
	// Line is a total's points; OverOdds and UnderOdds its prices.
	Line      float64 `json:"line,omitempty"`
	OverOdds  int     `json:"overOdds,omitempty"`
	UnderOdds int     `json:"underOdds,omitempty"`
	// ReceivedAt is stamped by the server when the request arrives.
	ReceivedAt time.Time `json:"receivedAt"`
	// Version is set by the store: 1 when first stored, +1 per correction.
	Version int64 `json:"version"`
}

// MaxOddsVersions bounds the versions of one odds item: a provider may
// correct its price for one instant this many times less one. A version
// beyond it is refused, so no client can grow an item without bound.
const MaxOddsVersions = 32

// Newer reports whether o supersedes p as a provider's current price: it
// was observed later, or it is a later version of the same observation.
func (o Odds) Newer(p Odds) bool {
	if c := o.ObservedAt.Compare(p.ObservedAt); c != 0 {
		return c > 0
	}
	return o.Version > p.Version
}

// Validate checks an odds item as a provider sends it. now is the server's
// clock, used to refuse observations stamped too far in the future.
func (o Odds) Validate(now time.Time) FieldErrors {
	var errs FieldErrors
	if err := ValidateID(o.GameID); err != "" {
		errs = append(errs, FieldError{Field: "gameId", Reason: err})
	}
	if err := ValidateID(o.Provider); err != "" {
		errs = append(errs, FieldError{Field: "provider", Reason: err})
	}
	switch {
	case o.ObservedAt.IsZero():
		errs = append(errs, FieldError{Field: "observedAt", Reason: "is required"})
	case o.ObservedAt.After(now.Add(MaxFutureSkew)):
		errs = append(errs, FieldError{Field: "observedAt", Reason: "is more than 5m in the future"})
	case o.ObservedAt.Year() < 2000:
		errs = append(errs, FieldError{Field: "observedAt", Reason: "is before the year 2000"})
	}
	return append(errs, o.validateMarket()...)
}

// ValidateAmerican checks a price in American format: -100 or below, or
// +100 or above (-99..+99 do not exist in that format). It returns "" when
// valid, else the reason.
func ValidateAmerican(v int) string {
	if v > -100 && v < 100 {
		return "American odds must be <= -100 or >= +100"
	}
	if v > MaxAmerican || v < -MaxAmerican {
		return "American odds must be within ±100000"
	}
	return ""
}

func validateSpread(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "must be a finite number"
	}
	if math.Abs(v) > MaxSpread {
		return "must be within ±1000"
	}
	if v*2 != math.Trunc(v*2) {
		return "must be a multiple of 0.5"
	}
	return ""
}

// ImpliedProbability converts American odds to the bookmaker's implied
// probability of that side winning (0..1).
func ImpliedProbability(american int) float64 {
	if american < 0 {
		a := float64(-american)
		return a / (a + 100)
	}
	return 100 / (float64(american) + 100)
}

// ContentHash is a short digest of o's quote (lines and prices): an odds
// item keeps those of its earlier versions (AttrPrior), so that re-posting
// any of them is known as a duplicate.
func (o Odds) ContentHash() string {
	h := fnv.New64a()
	var b [96]byte
	buf := b[:0]
	buf = strconv.AppendFloat(buf, unsignedZero(o.AwaySpread), 'g', -1, 64)
	buf = append(buf, '|')
	buf = strconv.AppendFloat(buf, unsignedZero(o.HomeSpread), 'g', -1, 64)
	buf = append(buf, '|')
	buf = strconv.AppendInt(buf, int64(o.AwayOdds), 10)
	buf = append(buf, '|')
	buf = strconv.AppendInt(buf, int64(o.HomeOdds), 10)
	if !o.IsFullGameSpread() || o.DrawOdds != 0 || o.Line != 0 || o.OverOdds != 0 || o.UnderOdds != 0 {
		// Only quotes of other markets hash these, so the hashes of the
		// spreads stored before markets existed stay what they were.
		buf = append(buf, '|')
		buf = append(buf, o.Market.Or()...)
		buf = append(buf, '|')
		buf = append(buf, o.Period.Or()...)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, int64(o.DrawOdds), 10)
		buf = append(buf, '|')
		buf = strconv.AppendFloat(buf, unsignedZero(o.Line), 'g', -1, 64)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, int64(o.OverOdds), 10)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, int64(o.UnderOdds), 10)
	}
	_, _ = h.Write(buf)
	return strconv.FormatUint(h.Sum64(), 36)
}

// unsignedZero maps -0 to 0: they are the same spread (SameContent says so),
// and DynamoDB stores the number -0 as 0, so a hash of one must be the hash
// of the other.
func unsignedZero(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}

// SameContent reports whether two odds items carry the same quote, ignoring
// ReceivedAt and Version, which the server sets.
func (o Odds) SameContent(p Odds) bool {
	return o.GameID == p.GameID && o.Provider == p.Provider && o.ObservedAt.Equal(p.ObservedAt) &&
		o.AwaySpread == p.AwaySpread && o.HomeSpread == p.HomeSpread &&
		o.AwayOdds == p.AwayOdds && o.HomeOdds == p.HomeOdds &&
		o.Market.Or() == p.Market.Or() && o.Period.Or() == p.Period.Or() && o.DrawOdds == p.DrawOdds &&
		o.Line == p.Line && o.OverOdds == p.OverOdds && o.UnderOdds == p.UnderOdds
}

// Normalize stores the defaults as zero: a spread and the full game are
// "" (so a spread posted as "spread"/"full" is keyed, hashed and stored as
// one posted without them).
func (o *Odds) Normalize() {
	if o.Market == MarketSpread {
		o.Market = ""
	}
	if o.Period == PeriodFull {
		o.Period = ""
	}
}

// QuoteID names the series a quote belongs to: its game, provider and
// MarketID. The hub keeps the newest quote per QuoteID; late quotes are late
// within it.
func (o Odds) QuoteID() string {
	return o.GameID + "|" + o.Provider + "|" + MarketID(o.Market, o.Period)
}

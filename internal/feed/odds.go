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

// Odds is one provider's quote for a game at one instant: the point spread
// for each side and the price of each side in American format.
//
// The key of an odds item is (GameID, Provider, ObservedAt): the same key
// posted twice with the same prices is stored once; with other prices it
// is a correction, stored as the next version of the item (see
// MaxOddsVersions).
type Odds struct {
	GameID     string    `json:"gameId"`
	Provider   string    `json:"provider"`
	ObservedAt time.Time `json:"observedAt"`
	AwaySpread float64   `json:"awaySpread"`
	HomeSpread float64   `json:"homeSpread"`
	AwayOdds   int       `json:"awayOdds"`
	HomeOdds   int       `json:"homeOdds"`
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
	if r := validateSpread(o.AwaySpread); r != "" {
		errs = append(errs, FieldError{Field: "awaySpread", Reason: r})
	}
	if r := validateSpread(o.HomeSpread); r != "" {
		errs = append(errs, FieldError{Field: "homeSpread", Reason: r})
	}
	if r := ValidateAmerican(o.AwayOdds); r != "" {
		errs = append(errs, FieldError{Field: "awayOdds", Reason: r})
	}
	if r := ValidateAmerican(o.HomeOdds); r != "" {
		errs = append(errs, FieldError{Field: "homeOdds", Reason: r})
	}
	return errs
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

// ContentHash is a short digest of o's quote (spreads and prices): an odds
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
		o.AwayOdds == p.AwayOdds && o.HomeOdds == p.HomeOdds
}

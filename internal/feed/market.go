package feed

import (
	"fmt"
	"math"
	"slices"
)

// Market is a kind of bet on a game. Every Odds is a quote for one market
// (and one period) of its game; the zero Market is MarketSpread, so the odds
// of the AWS reference — a spread with two prices — are spread quotes and
// keep their keys.
type Market string

// The market types. Adding one is a constant here, its outcomes in
// Outcomes, and its rule in Odds.validateMarket.
const (
	MarketSpread    Market = "spread"    // home/away with a handicap (HomeSpread, AwaySpread)
	MarketMoneyline Market = "moneyline" // home/away, no draw (a draw voids or goes to extra time)
	MarketThreeWay  Market = "three_way" // home/draw/away: the normal soccer market
	MarketTotal     Market = "total"     // over/under a number of points (Line)
)

// Markets lists the market types in the order the board shows them.
var Markets = []Market{MarketMoneyline, MarketThreeWay, MarketSpread, MarketTotal}

// Or returns m, or MarketSpread when m is empty.
func (m Market) Or() Market {
	if m == "" {
		return MarketSpread
	}
	return m
}

// Valid reports whether m is a known market type ("" is spread).
func (m Market) Valid() bool { return m == "" || slices.Contains(Markets, m) }

// Period is the part of a game a market is on. The zero Period is PeriodFull.
type Period string

// The periods. More can be added: a period is part of the key of its
// quotes and statuses, and validation is the only list of them.
const (
	PeriodFull       Period = "full"
	PeriodFirstHalf  Period = "1h"
	PeriodSecondHalf Period = "2h"
)

// Periods lists the known periods.
var Periods = []Period{PeriodFull, PeriodFirstHalf, PeriodSecondHalf}

// Or returns p, or PeriodFull when p is empty.
func (p Period) Or() Period {
	if p == "" {
		return PeriodFull
	}
	return p
}

// Valid reports whether p is a known period ("" is full).
func (p Period) Valid() bool { return p == "" || slices.Contains(Periods, p) }

// Outcome is one result a market's bets can be on.
type Outcome string

// The outcomes.
const (
	OutcomeHome  Outcome = "home"
	OutcomeAway  Outcome = "away"
	OutcomeDraw  Outcome = "draw"
	OutcomeOver  Outcome = "over"
	OutcomeUnder Outcome = "under"
)

// Outcomes returns the outcomes of a market type, in display order.
func (m Market) Outcomes() []Outcome {
	switch m.Or() {
	case MarketThreeWay:
		return []Outcome{OutcomeHome, OutcomeDraw, OutcomeAway}
	case MarketTotal:
		return []Outcome{OutcomeOver, OutcomeUnder}
	}
	return []Outcome{OutcomeHome, OutcomeAway}
}

// HasOutcome reports whether o is an outcome of m.
func (m Market) HasOutcome(o Outcome) bool { return slices.Contains(m.Outcomes(), o) }

// MarketID names one market of a game: its type and period, as
// "<market>/<period>" (for example "total/1h").
func MarketID(m Market, p Period) string { return string(m.Or()) + "/" + string(p.Or()) }

// Price returns the quote's American price of outcome o (0 when o is not
// an outcome of its market).
func (o Odds) Price(out Outcome) int {
	switch out {
	case OutcomeHome:
		return o.HomeOdds
	case OutcomeAway:
		return o.AwayOdds
	case OutcomeDraw:
		return o.DrawOdds
	case OutcomeOver:
		return o.OverOdds
	case OutcomeUnder:
		return o.UnderOdds
	}
	return 0
}

// Overround is the bookmaker's margin of a quote: the sum of the implied
// probabilities of its outcomes, less one (0.045 is a 4.5% margin).
func (o Odds) Overround() float64 {
	sum := 0.0
	for _, out := range o.Market.Outcomes() {
		sum += ImpliedProbability(o.Price(out))
	}
	return sum - 1
}

// validateMarket checks the fields a quote's market calls for: a spread
// has two handicaps and two prices; a moneyline two prices; a three-way
// three; a total a line and over/under. Fields a market does not use must
// be absent (zero), so a quote cannot carry a price nobody can read.
func (o Odds) validateMarket() FieldErrors {
	var errs FieldErrors
	add := func(field, reason string) { errs = append(errs, FieldError{Field: field, Reason: reason}) }
	if !o.Market.Valid() {
		add("market", "must be one of moneyline, three_way, spread, total")
		return errs
	}
	if !o.Period.Valid() {
		add("period", "must be one of full, 1h, 2h")
	}
	m := o.Market.Or()
	uses := map[string]bool{}
	for _, out := range m.Outcomes() {
		uses[string(out)+"Odds"] = true
	}
	if m == MarketSpread {
		if r := validateSpread(o.AwaySpread); r != "" {
			add("awaySpread", r)
		}
		if r := validateSpread(o.HomeSpread); r != "" {
			add("homeSpread", r)
		}
	} else {
		if o.AwaySpread != 0 {
			add("awaySpread", fmt.Sprintf("is not part of a %s market", m))
		}
		if o.HomeSpread != 0 {
			add("homeSpread", fmt.Sprintf("is not part of a %s market", m))
		}
	}
	prices := []struct {
		field string
		v     int
	}{{"awayOdds", o.AwayOdds}, {"homeOdds", o.HomeOdds}, {"drawOdds", o.DrawOdds}, {"overOdds", o.OverOdds}, {"underOdds", o.UnderOdds}}
	for _, p := range prices {
		switch {
		case uses[p.field]:
			if r := ValidateAmerican(p.v); r != "" {
				add(p.field, r)
			}
		case p.v != 0:
			add(p.field, fmt.Sprintf("is not a price of a %s market", m))
		}
	}
	switch {
	case m == MarketTotal:
		if r := validateTotal(o.Line); r != "" {
			add("line", r)
		}
	case o.Line != 0:
		add("line", fmt.Sprintf("is not part of a %s market (a spread's line is homeSpread)", m))
	}
	return errs
}

// MaxTotal bounds the line of a totals market.
const MaxTotal = 1000

func validateTotal(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "must be a finite number"
	case v <= 0:
		return "is required: the points the total is over or under, above 0"
	case v > MaxTotal:
		return "must be at most 1000"
	case v*2 != math.Trunc(v*2):
		return "must be a multiple of 0.5"
	}
	return ""
}

// DecimalToAmerican converts a decimal price (the stake returned per unit,
// above 1) to American odds, rounded to the nearest integer: 2.5 is +150,
// 1.5 is -200. ok is false when d is not a decimal price (d <= 1, or so
// close to 1 or so large that the American price is out of range).
func DecimalToAmerican(d float64) (american int, ok bool) {
	if math.IsNaN(d) || math.IsInf(d, 0) || d <= 1 {
		return 0, false
	}
	var a float64
	if d >= 2 {
		a = math.Round((d - 1) * 100)
	} else {
		a = -math.Round(100 / (d - 1))
	}
	if a > MaxAmerican || a < -MaxAmerican {
		return 0, false
	}
	return int(a), true
}

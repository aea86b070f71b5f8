package feed

import (
	"errors"
	"fmt"
	"maps"
	"time"
)

// MarketState is where the book's market stands.
type MarketState string

// The states of a market.
const (
	MarketOpen      MarketState = "open"      // taking bets
	MarketSuspended MarketState = "suspended" // briefly not: a bet stop, a trader's call (Reason says)
	MarketClosed    MarketState = "closed"    // no more bets; waiting for its result
	MarketSettled   MarketState = "settled"   // resulted: Results holds one per outcome
	MarketCancelled MarketState = "cancelled" // void: every bet is returned
)

// Suspension reasons. Reason is free text within MaxTextLen otherwise.
const (
	ReasonBetStop      = "bet_stop"      // a provider's bet stop (a goal, a red card, ...)
	ReasonTrader       = "trader"        // a trader's call
	ReasonProviderDown = "provider_down" // a provider's quotes while it is silent (ProviderStatus)
)

// Result is how one outcome of a settled market paid.
type Result string

// The results of an outcome.
const (
	ResultWin      Result = "win"
	ResultLose     Result = "lose"
	ResultVoid     Result = "void"
	ResultPush     Result = "push"
	ResultHalfWin  Result = "half_win"
	ResultHalfLose Result = "half_lose"
)

// Valid reports whether r is a known result.
func (r Result) Valid() bool {
	switch r {
	case ResultWin, ResultLose, ResultVoid, ResultPush, ResultHalfWin, ResultHalfLose:
		return true
	}
	return false
}

// MarketStatus is the book's state of one market (type and period) of a
// game. It is its own item (MarketKey), versioned like a game: each change
// that takes effect is the next version.
type MarketStatus struct {
	GameID string      `json:"gameId"`
	Market Market      `json:"market"`
	Period Period      `json:"period"`
	State  MarketState `json:"status"`
	// Reason says why a market is suspended (ReasonBetStop, ReasonTrader,
	// or a provider's own word); "" in other states.
	Reason string `json:"reason,omitempty"`
	// Note is free text from whoever made the last change.
	Note string `json:"note,omitempty"`
	// Results has one result per outcome of a settled market.
	Results map[Outcome]Result `json:"results,omitempty"`
	// Prev is the state before a settlement or cancellation: a rollback
	// returns the market to it.
	Prev MarketState `json:"prev,omitempty"`
	// By is the principal that made the last change; ByTrader says it did
	// so as a trader (or admin), not as a provider.
	By       string `json:"by,omitempty"`
	ByTrader bool   `json:"byTrader,omitempty"`
	// At is when the last change was made, by its sender's clock: changes
	// apply in At order, whatever order they arrive in.
	At time.Time `json:"at"`
	// Version is set by the store: 1 on creation, +1 per change.
	Version int64 `json:"version"`
	// UpdatedAt is set by the store on every write.
	UpdatedAt time.Time `json:"updatedAt"`
}

// ID is the status's MarketID.
func (s MarketStatus) ID() string { return MarketID(s.Market, s.Period) }

// MarketAction is what a MarketChange does.
type MarketAction string

// The actions on a market.
const (
	ActionOpen     MarketAction = "open"
	ActionSuspend  MarketAction = "suspend"
	ActionResume   MarketAction = "resume"
	ActionClose    MarketAction = "close"
	ActionSettle   MarketAction = "settle"
	ActionCancel   MarketAction = "cancel"
	ActionRollback MarketAction = "rollback"
)

// MarketChange is one change a provider or a trader asks of a market.
type MarketChange struct {
	GameID  string             `json:"gameId"`
	Market  Market             `json:"market"`
	Period  Period             `json:"period,omitempty"`
	Action  MarketAction       `json:"action"`
	Reason  string             `json:"reason,omitempty"`
	Note    string             `json:"note,omitempty"`
	Results map[Outcome]Result `json:"results,omitempty"`
	// At is when the sender made the change (a provider's clock; the
	// server's for a trader).
	At time.Time `json:"at"`
	// By and ByTrader are set by the server from the principal.
	By       string `json:"-"`
	ByTrader bool   `json:"-"`
}

// Validate checks a change as a sender posts it. now is the server's clock.
func (c MarketChange) Validate(now time.Time) FieldErrors {
	var errs FieldErrors
	add := func(field, reason string) { errs = append(errs, FieldError{Field: field, Reason: reason}) }
	if r := ValidateID(c.GameID); r != "" {
		add("gameId", r)
	}
	if c.Market == "" || !c.Market.Valid() {
		add("market", "must be one of moneyline, three_way, spread, total")
	}
	if !c.Period.Valid() {
		add("period", "must be one of full, 1h, 2h")
	}
	switch c.Action {
	case ActionOpen, ActionSuspend, ActionResume, ActionClose, ActionCancel, ActionRollback:
		if len(c.Results) > 0 {
			add("results", "are only for action settle")
		}
	case ActionSettle:
		errs = append(errs, c.validateResults()...)
	default:
		add("action", "must be one of open, suspend, resume, close, settle, cancel, rollback")
	}
	if r := validateName(c.Reason, MaxIDLen, false); r != "" {
		add("reason", r)
	}
	if r := validateName(c.Note, MaxTextLen, false); r != "" {
		add("note", r)
	}
	switch {
	case c.At.IsZero():
		add("at", "is required")
	case c.At.After(now.Add(MaxFutureSkew)):
		add("at", "is more than 5m in the future")
	case c.At.Year() < 2000:
		add("at", "is before the year 2000")
	}
	return errs
}

func (c MarketChange) validateResults() FieldErrors {
	var errs FieldErrors
	if !c.Market.Valid() || c.Market == "" {
		return nil
	}
	for out, r := range c.Results {
		switch {
		case !c.Market.HasOutcome(out):
			errs = append(errs, FieldError{Field: "results." + string(out), Reason: fmt.Sprintf("is not an outcome of a %s market", c.Market)})
		case !r.Valid():
			errs = append(errs, FieldError{Field: "results." + string(out), Reason: "must be one of win, lose, void, push, half_win, half_lose"})
		}
	}
	for _, out := range c.Market.Outcomes() {
		if _, ok := c.Results[out]; !ok {
			errs = append(errs, FieldError{Field: "results." + string(out), Reason: "is required to settle"})
		}
	}
	return errs
}

// Errors of ApplyMarketChange.
var (
	// ErrTransition: the change does not apply to the market's state (a
	// settled market cannot be suspended, a rollback needs a settlement).
	ErrTransition = errors.New("the market's status does not allow this change")
	// ErrTraderSuspension: a provider may not re-open a market a trader
	// suspended.
	ErrTraderSuspension = errors.New("the market was suspended by a trader: only a trader may re-open it")
)

// ChangeEffect is what became of a MarketChange.
type ChangeEffect uint8

// The effects of a change.
const (
	// Applied: the change is the market's next version.
	Applied ChangeEffect = iota + 1
	// Repeated: the same change (same At, same outcome) was applied
	// already; nothing changed.
	Repeated
	// Superseded: a change made later (by At) was applied already; this one
	// arrived out of order and changes nothing.
	Superseded
)

func (e ChangeEffect) String() string {
	switch e {
	case Applied:
		return "applied"
	case Repeated:
		return "duplicate"
	case Superseded:
		return "superseded"
	}
	return "none"
}

// ApplyMarketChange is the rule both store adapters write market statuses
// by: what c does to the status standing (found: one stands). next is the
// status to store (Version bumped, UpdatedAt left to the adapter) when
// effect is Applied; else next is cur. The error wraps ErrTransition or
// ErrTraderSuspension; nothing is written then.
//
// Changes apply in At order: one older than the standing status is
// Superseded, so reordering and duplicates are harmless. A market that
// does not exist yet is created by any change but a rollback.
func ApplyMarketChange(cur MarketStatus, found bool, c MarketChange) (next MarketStatus, effect ChangeEffect, err error) {
	if found && c.At.Before(cur.At) {
		return cur, Superseded, nil
	}
	from := cur.State
	if !found {
		from = MarketOpen
	}
	next = MarketStatus{GameID: c.GameID, Market: c.Market.Or(), Period: c.Period.Or(), Prev: cur.Prev,
		Note: c.Note, By: c.By, ByTrader: c.ByTrader, At: c.At, Version: cur.Version + 1}
	bad := func() (MarketStatus, ChangeEffect, error) {
		return cur, 0, fmt.Errorf("%w: cannot %s a %s market", ErrTransition, c.Action, from)
	}
	switch c.Action {
	case ActionOpen, ActionResume:
		if from == MarketSettled || from == MarketCancelled {
			return bad()
		}
		if found && from == MarketSuspended && cur.ByTrader && !c.ByTrader {
			return cur, 0, ErrTraderSuspension
		}
		next.State = MarketOpen
	case ActionSuspend:
		if from != MarketOpen && from != MarketSuspended {
			return bad()
		}
		next.State, next.Reason = MarketSuspended, c.Reason
		if next.Reason == "" {
			next.Reason = ReasonBetStop
			if c.ByTrader {
				next.Reason = ReasonTrader
			}
		}
		if found && from == MarketSuspended && cur.ByTrader && !c.ByTrader {
			// A provider's bet stop does not take over a trader's
			// suspension: only a trader lifts it.
			next.Reason, next.By, next.ByTrader = cur.Reason, cur.By, true
		}
	case ActionClose:
		if from == MarketSettled || from == MarketCancelled {
			return bad()
		}
		next.State = MarketClosed
	case ActionSettle:
		if from == MarketSettled || from == MarketCancelled {
			return bad()
		}
		next.State, next.Prev, next.Results = MarketSettled, from, maps.Clone(c.Results)
	case ActionCancel:
		if from == MarketCancelled {
			return bad()
		}
		next.State, next.Prev = MarketCancelled, from
		if from == MarketSettled {
			next.Prev = cur.Prev
		}
	case ActionRollback:
		if !found || (from != MarketSettled && from != MarketCancelled) {
			return bad()
		}
		next.State, next.Prev = cur.Prev, ""
		if next.State == "" {
			next.State = MarketClosed
		}
		if next.State == MarketSuspended {
			next.Reason = cur.Reason
		}
	default:
		return bad()
	}
	if found && c.At.Equal(cur.At) && next.sameState(cur) {
		return cur, Repeated, nil
	}
	return next, Applied, nil
}

// sameState reports whether s and t say the same about their market.
func (s MarketStatus) sameState(t MarketStatus) bool {
	return s.State == t.State && s.Reason == t.Reason && s.Note == t.Note && s.Prev == t.Prev &&
		s.ByTrader == t.ByTrader && maps.Equal(s.Results, t.Results)
}

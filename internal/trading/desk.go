// Package trading is the trader's desk: suspending and re-opening a
// market, or every market of a game, with a reason. The one place the
// rule lives; the HTTP API (POST /v1/games/{id}/suspend|resume, Handler)
// and the dashboard both call Desk.
package trading

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Store is what the desk needs of the feed store (a subset of
// store.FeedStore).
type Store interface {
	GetGame(ctx context.Context, id string) (feed.Game, error)
	Markets(ctx context.Context, gameID string) ([]feed.MarketStatus, error)
	LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error)
	PutMarketChange(ctx context.Context, c feed.MarketChange) (feed.MarketStatus, feed.ChangeEffect, error)
}

// ErrNotTrader: only traders and admins may suspend and re-open markets.
var ErrNotTrader = errors.New("only a trader or an admin may suspend or re-open markets")

// Desk suspends and re-opens markets as a trader.
type Desk struct {
	s   Store
	now func() time.Time
}

// New returns a Desk over s; now is its clock (nil: time.Now).
func New(s Store, now func() time.Time) *Desk {
	if now == nil {
		now = time.Now
	}
	return &Desk{s: s, now: now}
}

// Suspend suspends market m (period per) of game gameID as p, a trader or
// admin, with a reason (default feed.ReasonTrader) and a note. m "" is the
// whole game: every market with a status or a quote that is open or
// suspended (per "" then means every period, else that period's). A
// trader's suspension stands over a provider's bet stop: only a trader
// lifts it. It returns the statuses of the markets acted on, as stored.
//
// Errors: ErrNotTrader; feed.FieldErrors (a bad market, period, reason or
// note); store.ErrNotFound (no such game); for one market,
// feed.ErrTransition (it is closed, settled or cancelled).
func (d *Desk) Suspend(ctx context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error) {
	return d.act(ctx, p, gameID, m, per, feed.ActionSuspend, reason, note)
}

// Resume re-opens market m (period per) of game gameID as p, as Suspend
// does: m "" is every suspended market of the game (of period per, when
// given). A provider's bet stop is lifted too.
func (d *Desk) Resume(ctx context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period, reason, note string) ([]feed.MarketStatus, error) {
	return d.act(ctx, p, gameID, m, per, feed.ActionResume, reason, note)
}

func (d *Desk) act(ctx context.Context, p auth.Principal, gameID string, m feed.Market, per feed.Period,
	action feed.MarketAction, reason, note string) ([]feed.MarketStatus, error) {
	if p.Role != auth.RoleTrader && p.Role != auth.RoleAdmin {
		return nil, ErrNotTrader
	}
	now := d.now().UTC()
	c := feed.MarketChange{GameID: gameID, Market: m.Or(), Period: per, Action: action, Reason: reason, Note: note,
		At: now, By: p.Name, ByTrader: true}
	if action == feed.ActionResume {
		c.Reason = "" // a reason is a suspension's
	}
	if errs := c.Validate(now); len(errs) > 0 {
		return nil, errs
	}
	if _, err := d.s.GetGame(ctx, gameID); err != nil {
		return nil, fmt.Errorf("%s game %s: %w", action, gameID, err)
	}
	statuses, err := d.s.Markets(ctx, gameID)
	if err != nil {
		return nil, fmt.Errorf("%s game %s: markets: %w", action, gameID, err)
	}
	if m != "" {
		c.Period = per.Or()
		cur, _ := find(statuses, c.Market, c.Period)
		st, err := d.apply(ctx, c, cur)
		if err != nil {
			return nil, err
		}
		return []feed.MarketStatus{st}, nil
	}
	targets, err := d.gameMarkets(ctx, gameID, statuses, per)
	if err != nil {
		return nil, err
	}
	out := []feed.MarketStatus{}
	for _, t := range targets {
		cur, found := find(statuses, t.market, t.period)
		if !acts(action, cur, found) {
			continue
		}
		c.Market, c.Period = t.market, t.period
		st, err := d.apply(ctx, c, cur)
		switch {
		case errors.Is(err, feed.ErrTransition):
			continue // changed since it was read (a settlement): not the trader's to suspend
		case err != nil:
			return out, err
		}
		out = append(out, st)
	}
	return out, nil
}

// apply writes c over cur, the status last read: at the server's clock,
// or cur's At when a provider's clock is ahead of it, so the trader's call
// is never taken for an older one.
func (d *Desk) apply(ctx context.Context, c feed.MarketChange, cur feed.MarketStatus) (feed.MarketStatus, error) {
	if cur.At.After(c.At) {
		c.At = cur.At
	}
	st, _, err := d.s.PutMarketChange(ctx, c)
	if err != nil {
		return feed.MarketStatus{}, fmt.Errorf("%s %s of game %s: %w", c.Action, feed.MarketID(c.Market, c.Period), c.GameID, err)
	}
	return st, nil
}

// acts reports whether a whole-game action applies to a market: suspend
// one open or suspended (or without a status: open), resume one suspended.
func acts(action feed.MarketAction, cur feed.MarketStatus, found bool) bool {
	if action == feed.ActionResume {
		return found && cur.State == feed.MarketSuspended
	}
	return !found || cur.State == feed.MarketOpen || cur.State == feed.MarketSuspended
}

type marketKey struct {
	market feed.Market
	period feed.Period
}

// gameMarkets lists the markets of a game (of period per, when given):
// those with a status and those quoted, in board order (feed.Markets,
// then feed.Periods).
func (d *Desk) gameMarkets(ctx context.Context, gameID string, statuses []feed.MarketStatus, per feed.Period) ([]marketKey, error) {
	quotes, err := d.s.LatestQuotes(ctx, gameID)
	if err != nil {
		return nil, fmt.Errorf("game %s: latest quotes: %w", gameID, err)
	}
	var keys []marketKey
	add := func(m feed.Market, p feed.Period) {
		k := marketKey{m.Or(), p.Or()}
		if (per == "" || k.period == per.Or()) && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, s := range statuses {
		add(s.Market, s.Period)
	}
	for _, q := range quotes {
		add(q.Market, q.Period)
	}
	slices.SortFunc(keys, func(a, b marketKey) int {
		if c := order(feed.Markets, a.market) - order(feed.Markets, b.market); c != 0 {
			return c
		}
		return order(feed.Periods, a.period) - order(feed.Periods, b.period)
	})
	return keys, nil
}

// order is v's place in list (past the end when absent).
func order[T comparable](list []T, v T) int {
	if i := slices.Index(list, v); i >= 0 {
		return i
	}
	return len(list)
}

// find returns the status of market m, period p, among statuses.
func find(statuses []feed.MarketStatus, m feed.Market, p feed.Period) (feed.MarketStatus, bool) {
	for _, s := range statuses {
		if s.Market.Or() == m.Or() && s.Period.Or() == p.Or() {
			return s, true
		}
	}
	return feed.MarketStatus{}, false
}

var _ Store = store.FeedStore(nil)

package simulate

import (
	"slices"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Liveness. The server marks a provider down when it hears nothing from it
// (odds or heartbeats) for its timeout. One provider (Config.QuietProvider)
// goes quiet for QuietFor every QuietEvery, the first time half a
// QuietEvery after the start: while quiet it posts nothing, and its market
// changes (its games' openings, closes and settlements) wait until it is
// back. Every other provider that has posted no odds for HeartbeatEvery
// sends a heartbeat.

// Quiet reports whether provider p is quiet at t.
func (e *Engine) Quiet(p int, t time.Time) bool {
	if p != e.quiet || e.start.IsZero() {
		return false
	}
	since := t.Sub(e.start) - e.cfg.QuietEvery/2
	return since >= 0 && since%e.cfg.QuietEvery < e.cfg.QuietFor
}

// QuietProvider is the index of the provider that goes quiet (-1: none).
func (e *Engine) QuietProvider() int { return e.quiet }

// emit adds to t the market changes whose time has come, in the order of
// their At per provider (a quiet provider's wait), and the heartbeats of
// the providers that have posted nothing for a while.
func (e *Engine) emit(now time.Time, t *Tick) {
	keep := e.changes[:0]
	for _, c := range e.changes {
		if now.Before(c.change.At) || e.Quiet(c.provider, now) {
			keep = append(keep, c)
			continue
		}
		t.Changes[c.provider] = append(t.Changes[c.provider], c.change)
	}
	e.changes = keep
	for _, cs := range t.Changes {
		slices.SortStableFunc(cs, func(a, b feed.MarketChange) int { return a.At.Compare(b.At) })
	}
	for p := range e.cfg.Providers {
		switch {
		case e.Quiet(p, now):
		case len(t.Odds[p]) > 0:
			e.lastPosted[p] = now
		case now.Sub(e.lastPosted[p]) >= e.cfg.HeartbeatEvery:
			t.Heartbeats[p] = true
			e.lastPosted[p] = now
		}
	}
}

package broadcast

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Historian lists a game's stored odds; the feed store implements it. When
// the Snapshotter given to New also implements Historian, a client that
// resumes with sinceTime gets the odds it missed even across a restart.
type Historian interface {
	// ListOdds returns odds of a game in a time range, newest first, paged
	// (store.FeedStore.ListOdds).
	ListOdds(ctx context.Context, r store.OddsRange) (store.OddsPage, error)
}

// How a reset snapshot's missed odds are made without gap or duplicate.
//
// The store read is I/O, so it is not done under Hub.mu (publishes never
// wait on it). Instead, under the lock and before the read, an oddsWatch is
// registered for the game: from then on every odds the hub publishes for it
// is also collected there. Then:
//
//   - odds published before the watch are durable in the store (a change is
//     only published after its write, and the store reads are consistent), so
//     the read sees them;
//   - odds published between the watch and the snapshot are in the watch;
//   - odds published after the snapshot (which is queued under the lock that
//     also adds the client to the fan-out index) go to the client live.
//
// So missed = store read ∪ watch (deduplicated by provider, observedAt and
// version) leaves no gap. The read may however also hold odds the hub
// has not published yet (the change stream lags the store, or replays the
// writes made while the server was down): those would reach the client a
// second time live. Rather than guessing which ones, the client keeps, for
// Options.DedupeWindow, the keys of the missed odds that were not seen in
// the watch, and fanoutLocked withholds a live odds whose key is there
// (once), and sends that client a "seen" frame with its seq instead, so its
// seq stays dense.
// Odds seen in the watch were published already and need no such entry.

// itemKey identifies one version of one item of a game: odds are keyed by
// provider, market, period and observation time, and a correction is a
// later version; a market status by its market and period (no provider,
// no time) and its version.
type itemKey struct {
	provider string
	market   feed.Market
	period   feed.Period
	at       int64 // ObservedAt, Unix nanoseconds
	version  int64
}

func keyOf(o *feed.Odds) itemKey {
	return itemKey{o.Provider, o.Market.Or(), o.Period.Or(), o.ObservedAt.UnixNano(), o.Version}
}

func statusKeyOf(s *feed.MarketStatus) itemKey {
	return itemKey{market: s.Market.Or(), period: s.Period.Or(), version: s.Version}
}

// key is the itemKey of the odds or market status m carries; ok is false
// for other messages.
func (m *message) key() (k itemKey, ok bool) {
	switch {
	case m.od != nil:
		return keyOf(m.od), true
	case m.ms != nil:
		return statusKeyOf(m.ms), true
	}
	return itemKey{}, false
}

// oddsWatch collects the odds of a game published while a subscriber reads
// what it missed. Guarded by Hub.mu.
type oddsWatch struct {
	odds []feed.Odds
	over bool // more than the limit were published; the oldest were dropped
}

func (w *oddsWatch) add(o feed.Odds, limit int) {
	if len(w.odds) >= limit {
		w.odds, w.over = w.odds[1:], true
	}
	w.odds = append(w.odds, o)
}

// resume is one game a subscription resumes from a time: what the store and
// the watch say it missed.
type resume struct {
	id    string
	after time.Time
	watch *oddsWatch
	odds  []feed.Odds // read from the store, newer than after, oldest first
	more  bool        // the store had more than MissedLimit
	err   error
}

// skipSet is the keys of odds a client got as missed and must not get again
// live, until a deadline.
type skipSet struct {
	keys  map[itemKey]struct{}
	until time.Time
}

// replayableLocked reports whether the ring still holds every message of
// game id after the client's since.
func (h *Hub) replayableLocked(gs *gameState, id string, req *request) bool {
	s, ok := req.Since[id]
	if !ok || req.Epoch != h.epoch || gs == nil {
		return false
	}
	_, ok = gs.since(s)
	return ok
}

// planResumesLocked registers a watch for every game of req.SinceTime that
// the topics newly cover and whose since cannot be replayed from the ring.
// The caller must unwatchLocked them.
func (h *Hub) planResumesLocked(c *client, topics []topic, req *request) map[string]*resume {
	if h.hist == nil || c.ref || len(req.SinceTime) == 0 {
		return nil
	}
	var out map[string]*resume
	for id, at := range req.SinceTime {
		gs := h.games[id]
		if c.coversLocked(id, gs) || !coveredBy(topics, id, gs) || h.replayableLocked(gs, id, req) {
			continue
		}
		r := &resume{id: id, after: at, watch: &oddsWatch{}}
		set := h.watches[id]
		if set == nil {
			set = map[*oddsWatch]struct{}{}
			h.watches[id] = set
		}
		set[r.watch] = struct{}{}
		if out == nil {
			out = map[string]*resume{}
		}
		out[id] = r
	}
	return out
}

// coveredBy reports whether one of topics delivers game id. A game whose
// sport the hub does not know is covered by all and game:<id> only.
func coveredBy(topics []topic, id string, gs *gameState) bool {
	for _, t := range topics {
		switch {
		case t.kind == topicAll,
			t.kind == topicGame && t.name == id,
			t.kind == topicSport && gs != nil && gs.sport != "" && gs.sport == t.name:
			return true
		}
	}
	return false
}

func (h *Hub) unwatchLocked(r *resume) {
	if set := h.watches[r.id]; set != nil {
		delete(set, r.watch)
		if len(set) == 0 {
			delete(h.watches, r.id)
		}
	}
}

// readMissed reads from the store the odds (quotes of every market and
// period) of game id observed after `after`: at most MissedLimit, the newest ones, returned oldest first;
// more is true when there were more, or b ran out of reads first.
func (h *Hub) readMissed(ctx context.Context, id string, after time.Time, b *budget) (odds []feed.Odds, more bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
	defer cancel()
	limit := h.o.MissedLimit
	r := store.OddsRange{GameID: id, From: after, AllMarkets: true} // From is inclusive
	for {
		if !b.read() {
			more = true
			break
		}
		r.Limit = min(store.MaxLimit, limit+1-len(odds))
		page, err := h.hist.ListOdds(ctx, r)
		if err != nil {
			return nil, false, fmt.Errorf("list odds of game %s missed since %s: %w", id, after.Format(time.RFC3339Nano), err)
		}
		for _, o := range page.Odds {
			if o.ObservedAt.After(after) {
				odds = append(odds, o)
			}
		}
		if len(odds) > limit {
			odds, more = odds[:limit], true
			break
		}
		if page.NextCursor == "" {
			break
		}
		r.Cursor = page.NextCursor
	}
	slices.Reverse(odds)
	return odds, more, nil
}

// missedLocked merges what the store read and the watch of r collected into
// the missed odds of a snapshot, oldest first, and returns the keys to
// withhold live from its client when it is sent (addSkipLocked). truncated
// is true when missed is not complete.
func (h *Hub) missedLocked(r *resume) (missed []feed.Odds, truncated bool, skip map[itemKey]struct{}) {
	published := make(map[itemKey]struct{}, len(r.watch.odds))
	missed = make([]feed.Odds, 0, len(r.odds)+len(r.watch.odds))
	for _, o := range r.watch.odds {
		k := keyOf(&o)
		if _, dup := published[k]; dup || !o.ObservedAt.After(r.after) {
			continue
		}
		published[k] = struct{}{}
		missed = append(missed, o)
	}
	for _, o := range r.odds {
		if _, dup := published[keyOf(&o)]; !dup {
			missed = append(missed, o)
		}
	}
	slices.SortFunc(missed, func(a, b feed.Odds) int {
		return cmp.Or(a.ObservedAt.Compare(b.ObservedAt), cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Market.Or(), b.Market.Or()), cmp.Compare(a.Period.Or(), b.Period.Or()))
	})
	truncated = r.more || r.watch.over || r.err != nil
	if n := h.o.MissedLimit; len(missed) > n {
		missed, truncated = missed[len(missed)-n:], true
	}
	for i := range missed {
		k := keyOf(&missed[i])
		if _, ok := published[k]; ok {
			continue
		}
		if skip == nil {
			skip = make(map[itemKey]struct{}, len(missed)-i)
		}
		skip[k] = struct{}{}
	}
	return missed, truncated, skip
}

// addSkipLocked records keys of game id to withhold from c until `until`,
// and forgets expired sets.
func (c *client) addSkipLocked(id string, keys map[itemKey]struct{}, until time.Time) {
	now := time.Now()
	for g, s := range c.skip {
		if now.After(s.until) {
			delete(c.skip, g)
		}
	}
	if c.skip == nil {
		c.skip = map[string]*skipSet{}
	}
	if s := c.skip[id]; s != nil {
		for k := range keys {
			s.keys[k] = struct{}{}
		}
		s.until = until
		return
	}
	c.skip[id] = &skipSet{keys: keys, until: until}
}

// skipLocked reports whether the odds or market status of live message m
// was already sent to c (as missed, or in a snapshot read from the store),
// and forgets it. *now is read from the clock on first use.
func (c *client) skipLocked(m *message, now *time.Time) bool {
	s := c.skip[m.gameID]
	if s == nil {
		return false
	}
	k, keyed := m.key()
	if !keyed {
		return false
	}
	if now.IsZero() {
		*now = time.Now()
	}
	_, ok := s.keys[k]
	if ok {
		delete(s.keys, k)
	}
	if len(s.keys) == 0 || now.After(s.until) {
		delete(c.skip, m.gameID)
		if len(c.skip) == 0 {
			c.skip = nil
		}
	}
	return ok && !now.After(s.until)
}

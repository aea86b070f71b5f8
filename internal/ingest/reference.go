package ingest

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// refIn is one item of the AWS reference design's PUT /feeds body:
//
//	{"summary":"UEFA European Championship @ Wembley","gameId":"ftge2gq-4g6daf1",
//	 "gameDate":"2021-11-20 16:00","type":"game-soccer","isOpen":true,"away":3,"home":-3,
//	 "awayOdds":-110,"homeOdds":-110,"date":"2021-11-20 20:30:15.238"}
type refIn struct {
	Summary  textMember `json:"summary"`
	GameID   textMember `json:"gameId"`
	GameDate timeMember `json:"gameDate"`
	Type     textMember `json:"type"`
	IsOpen   boolMember `json:"isOpen"`
	Away     numMember  `json:"away"`
	Home     numMember  `json:"home"`
	AwayOdds numMember  `json:"awayOdds"`
	HomeOdds numMember  `json:"homeOdds"`
	Date     timeMember `json:"date"`
}

// refSuccess is the reference's 200 body, a JSON string.
const refSuccess = "Feeds Added Successfully"

// refField names a domain field as the reference form calls it.
func refField(f string) string {
	switch f {
	case "id":
		return "gameId"
	case "observedAt":
		return "date"
	case "awaySpread":
		return "away"
	case "homeSpread":
		return "home"
	case "sport":
		return "type"
	case "venue":
		return "summary"
	case "status":
		return "isOpen"
	}
	return f
}

// putFeeds serves PUT and POST /feeds, the reference form: each item
// creates or refreshes its game and carries one odds quote of the
// authenticated provider. The games of a request are written in one
// PutGames call, each game once, with the content its last item gives it
// (written only when that differs from the stored game). An item that would
// change a game another provider owns is refused; when every refused item
// is refused for that, and nothing was stored, the answer is 403.
func (h *Handler) putFeeds(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	env, ok := h.readEnvelope(w, r)
	if !ok {
		return
	}
	if !h.allow(w, r, p.Name, len(env.Odds)) {
		return
	}
	now := h.o.Now().UTC()
	if p.Role == auth.RoleProvider {
		h.noteHeard(r.Context(), p.Name, now) // a provider's odds say it is alive
	}
	b := newBatch(len(env.Odds), refField)
	var (
		items   []refItem                 // the valid items, in order
		pending = map[string]*gameWrite{} // the game of this request, by id: its last item's
		order   []string                  // the ids of pending, in order of first item
	)
	for i, raw := range env.Odds {
		var in refIn
		if errs := decodeItem(raw, &in); errs != nil {
			b.failAll(i, errs)
			continue
		}
		c := checker{name: refField}
		o := in.odds(&c, p.Name, now)
		base, found := feed.Game{}, false
		if len(c.errs) == 0 { // a refused item costs no read: its game's errors do not depend on the stored game
			var err error
			if base, found, err = h.baseGame(r, o.GameID, pending); err != nil {
				h.storeFailed(w, r, "get game", err)
				return
			}
		}
		g, create := in.game(&c, base, found, o.ObservedAt, now)
		if len(c.errs) > 0 {
			b.failAll(i, c.errs)
			continue
		}
		gw := pending[g.ID]
		if gw == nil {
			gw = &gameWrite{createOnly: create}
			pending[g.ID] = gw
			order = append(order, g.ID)
		}
		// Made up from quotes alone until an item gives the game date.
		gw.g, gw.createOnly = g, gw.createOnly && !in.GameDate.set
		items = append(items, refItem{i: i, o: o, g: g})
	}
	// Games first, so no odds are stored for a game that does not exist.
	standing, err := h.writeGames(r, writer(p), pending, order)
	if err != nil {
		h.finish(w, r, b, nil, err, nil)
		return
	}
	forbidden := 0
	for _, it := range items {
		if st, ok := standing[it.g.ID]; ok && !st.SameContent(it.g) {
			b.fail(it.i, "gameId", notOwnerReason)
			forbidden++
			continue
		}
		b.add(it.i, it.o)
	}
	if forbidden > 0 && len(b.odds) == 0 && len(b.errs) == forbidden {
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeForbidden, Status: http.StatusForbidden,
			Detail: "nothing was stored: " + notOwnerReason, Errors: b.errs})
		return
	}
	var outcomes []store.Outcome
	if len(b.odds) > 0 {
		outcomes, err = h.s.PutOdds(r.Context(), b.odds)
	}
	h.finish(w, r, b, outcomes, err, func(report) { httpx.WriteJSON(w, http.StatusOK, refSuccess) })
}

// notOwnerReason is the error of an item that would change a game another
// provider owns.
var notOwnerReason = store.ErrNotOwner.Error() +
	"; send its odds without summary, gameDate, type and isOpen, or as the game stands"

// refItem is a valid item of /feeds: its index, quote and game.
type refItem struct {
	i int
	o feed.Odds
	g feed.Game
}

// gameWrite is the game of a request's items. createOnly marks a game made
// up from quotes alone (see refIn.game): it is written only when the game
// still does not exist, never over one.
type gameWrite struct {
	g          feed.Game
	createOnly bool
}

// writeGames writes the games of a request (those not already stored with
// this content) in one call, in order, and returns the games it was
// refused, as they stand (another provider's).
func (h *Handler) writeGames(r *http.Request, as store.As, games map[string]*gameWrite, order []string) (map[string]feed.Game, error) {
	writes := make([]store.GameWrite, 0, len(order))
	for _, id := range order {
		gw := games[id]
		if cached, ok := h.games.get(id); ok && (gw.createOnly || cached.SameContent(gw.g)) {
			continue
		}
		writes = append(writes, store.GameWrite{Game: gw.g, CreateOnly: gw.createOnly})
	}
	if len(writes) == 0 {
		return nil, nil
	}
	results, err := h.s.PutGames(r.Context(), writes, as)
	if err != nil {
		return nil, err
	}
	refused := map[string]feed.Game{}
	for _, res := range results {
		h.games.put(res.Game)
		if errors.Is(res.Err, store.ErrNotOwner) {
			refused[res.Game.ID] = res.Game
		} else if res.Err != nil {
			return nil, res.Err
		}
	}
	return refused, nil
}

// baseGame returns the current content of a game: from this request, the
// cache, or the store (once per game while the cache is fresh).
func (h *Handler) baseGame(r *http.Request, id string, pending map[string]*gameWrite) (feed.Game, bool, error) {
	if gw, ok := pending[id]; ok {
		return gw.g, true, nil
	}
	if g, ok := h.games.get(id); ok {
		return g, true, nil
	}
	if feed.ValidateID(id) != "" {
		return feed.Game{}, false, nil
	}
	return h.storedGame(r, id)
}

// storedGame reads a game from the store, caching it when found.
func (h *Handler) storedGame(r *http.Request, id string) (feed.Game, bool, error) {
	g, err := h.s.GetGame(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return feed.Game{}, false, nil
	case err != nil:
		return feed.Game{}, false, err
	}
	h.games.put(g)
	return g, true, nil
}

// odds maps an item's quote: away and home are the spreads, date the
// observation time. Errors are named by domain field (refField renames
// them).
func (in refIn) odds(c *checker, provider string, now time.Time) feed.Odds {
	o := feed.Odds{Provider: provider, ReceivedAt: now}
	if c.usable("gameId", in.GameID.member, false) {
		o.GameID = in.GameID.v
	}
	o.ObservedAt, _ = c.time("observedAt", in.Date, parseRefTime,
		"must be a time like 2021-11-20 20:30:15.238 (UTC) or RFC 3339")
	c.quote(&o, in.Away, in.Home, in.AwayOdds, in.HomeOdds)
	c.validated(o.Validate(now))
	return o
}

// game derives the game an item describes from its current content (base,
// when found): sport from type ("game-soccer" is soccer), venue from the
// summary's text after " @ ", status from isOpen and the game date. Fields
// the item leaves out keep their current value; teams are kept.
//
// A game not found whose item has no gameDate (the reference's minimal
// six-field quote) is made up from the quote: sport from type or
// "unknown", summary the game id, game date the quote's date, status live
// (closed when isOpen is false). create is then true: such a game is only
// ever created, never written over an existing one.
func (in refIn) game(c *checker, base feed.Game, found bool, observedAt, now time.Time) (g feed.Game, create bool) {
	g = base
	g.ID = in.GameID.v
	create = !found && !in.GameDate.set
	if !found {
		g.Sport = "unknown"
	}
	if c.usable("sport", in.Type.member, false) {
		g.Sport = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(in.Type.v)), "game-")
		if g.Sport == "" {
			g.Sport = "unknown"
		}
	}
	if c.usable("summary", in.Summary.member, false) {
		g.Summary = in.Summary.v
		if _, venue, ok := strings.Cut(g.Summary, " @ "); ok {
			g.Venue = strings.TrimSpace(venue)
		}
	} else if create {
		g.Summary = g.ID
	}
	if t, ok := c.time("gameDate", in.GameDate, parseRefTime, "must be a time like 2021-11-20 16:00 (UTC) or RFC 3339"); ok {
		g.GameDate = t
	} else if create {
		g.GameDate = observedAt
	}
	open := c.usable("status", in.IsOpen.member, false)
	switch {
	case open && !in.IsOpen.v:
		g.Status = feed.StatusClosed
	case create:
		g.Status = feed.StatusLive
	case open || !found:
		g.Status = feed.StatusScheduled
		if !g.GameDate.After(now) {
			g.Status = feed.StatusLive
		}
	}
	for _, e := range g.Validate() {
		if e.Field == "gameDate" && create && c.failed("observedAt") {
			continue // the game date is the quote's, whose error says it all
		}
		c.fail(e.Field, e.Reason)
	}
	return g, create
}

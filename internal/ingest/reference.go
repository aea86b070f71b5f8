package ingest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

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
	Summary  *string `json:"summary"`
	GameID   string  `json:"gameId"`
	GameDate *string `json:"gameDate"`
	Type     *string `json:"type"`
	IsOpen   *bool   `json:"isOpen"`
	Away     float64 `json:"away"`
	Home     float64 `json:"home"`
	AwayOdds int     `json:"awayOdds"`
	HomeOdds int     `json:"homeOdds"`
	Date     string  `json:"date"`
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
// creates or refreshes its game (written only when its content changed) and
// carries one odds quote of the authenticated provider.
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
	b := newBatch(len(env.Odds), refField)
	games := make([]feed.Game, 0, len(env.Odds)) // games[i] is the game of b.odds[i]
	pending := map[string]feed.Game{}            // latest game content of this request, by id
	for i, raw := range env.Odds {
		in, errs := decodeRef(raw)
		if len(errs) > 0 {
			b.failAll(i, errs)
			continue
		}
		base, found, err := h.baseGame(r, in.GameID, pending)
		if err != nil {
			h.storeFailed(w, r, "get game", err)
			return
		}
		g, gerrs := refGame(in, base, found, now)
		o, oerrs := refOdds(in, p.Name, now)
		if errs := append(gerrs, oerrs...); len(errs) > 0 {
			b.failAll(i, dedupe(errs))
			continue
		}
		pending[g.ID] = g
		games = append(games, g)
		b.add(i, o)
	}
	// Games first, so no odds are stored for a game that does not exist.
	for _, g := range games {
		if cached, ok := h.games.get(g.ID); ok && cached.SameContent(g) {
			continue
		}
		stored, _, err := h.s.PutGame(r.Context(), g)
		if err != nil {
			h.finish(w, r, b, nil, err, nil)
			return
		}
		h.games.put(stored)
	}
	var outcomes []store.Outcome
	var err error
	if len(b.odds) > 0 {
		outcomes, err = h.s.PutOdds(r.Context(), b.odds)
	}
	h.finish(w, r, b, outcomes, err, func(report) { httpx.WriteJSON(w, http.StatusOK, refSuccess) })
}

// baseGame returns the current content of a game: from this request, the
// cache, or the store (once per game while the cache is fresh).
func (h *Handler) baseGame(r *http.Request, id string, pending map[string]feed.Game) (feed.Game, bool, error) {
	if g, ok := pending[id]; ok {
		return g, true, nil
	}
	if g, ok := h.games.get(id); ok {
		return g, true, nil
	}
	if feed.ValidateID(id) != "" {
		return feed.Game{}, false, nil
	}
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

func decodeRef(raw json.RawMessage) (refIn, feed.FieldErrors) {
	if isNull(raw) {
		return refIn{}, feed.FieldErrors{{Field: "", Reason: "must be an object"}}
	}
	in := refIn{Away: missingFloat, Home: missingFloat, AwayOdds: missingInt, HomeOdds: missingInt}
	var errs feed.FieldErrors
	if err := json.Unmarshal(raw, &in); err != nil {
		f, reason := itemDecodeError(err)
		errs = append(errs, feed.FieldError{Field: f, Reason: reason})
		if f == "" {
			return in, errs
		}
	}
	for _, m := range []struct {
		name   string
		absent bool
	}{{"away", isMissingFloat(in.Away)}, {"home", isMissingFloat(in.Home)},
		{"awayOdds", in.AwayOdds == missingInt}, {"homeOdds", in.HomeOdds == missingInt}} {
		if m.absent && !hasField(errs, m.name) {
			errs = append(errs, feed.FieldError{Field: m.name, Reason: "is required"})
		}
	}
	return in, errs
}

// refGame derives the game an item describes from its current content
// (base, when found): sport from type ("game-soccer" is soccer), venue from
// the summary's text after " @ ", status from isOpen and the game date.
// Fields the item leaves out keep their current value; teams are kept.
func refGame(in refIn, base feed.Game, found bool, now time.Time) (feed.Game, feed.FieldErrors) {
	g := base
	g.ID = in.GameID
	if !found {
		g.Sport = "unknown"
	}
	var errs feed.FieldErrors
	if in.Type != nil {
		g.Sport = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(*in.Type)), "game-")
		if g.Sport == "" {
			g.Sport = "unknown"
		}
	}
	if in.Summary != nil {
		g.Summary = *in.Summary
		if _, venue, ok := strings.Cut(g.Summary, " @ "); ok {
			g.Venue = strings.TrimSpace(venue)
		}
	}
	dateOK := true
	if in.GameDate != nil {
		t, ok := parseRefTime(*in.GameDate)
		if !ok {
			dateOK = false
			errs = append(errs, feed.FieldError{Field: "gameDate", Reason: "must be a time like 2021-11-20 16:00 (UTC) or RFC 3339"})
		}
		g.GameDate = t
	}
	switch {
	case in.IsOpen != nil && !*in.IsOpen:
		g.Status = feed.StatusClosed
	case in.IsOpen != nil || !found:
		g.Status = feed.StatusScheduled
		if !g.GameDate.After(now) {
			g.Status = feed.StatusLive
		}
	}
	for _, e := range g.Validate() {
		if e.Field == "gameDate" && !dateOK {
			continue
		}
		errs = append(errs, e)
	}
	return g, errs
}

// refOdds maps an item's quote: away and home are the spreads, date the
// observation time.
func refOdds(in refIn, provider string, now time.Time) (feed.Odds, feed.FieldErrors) {
	o := feed.Odds{GameID: in.GameID, Provider: provider, AwaySpread: in.Away, HomeSpread: in.Home,
		AwayOdds: in.AwayOdds, HomeOdds: in.HomeOdds, ReceivedAt: now}
	var errs feed.FieldErrors
	if in.Date != "" {
		t, ok := parseRefTime(in.Date)
		if !ok {
			errs = append(errs, feed.FieldError{Field: "observedAt", Reason: "must be a time like 2021-11-20 20:30:15.238 (UTC) or RFC 3339"})
		}
		o.ObservedAt = t
	}
	for _, e := range o.Validate(now) {
		if !hasField(errs, e.Field) && e.Field != "gameId" {
			errs = append(errs, e)
		}
	}
	return o, errs
}

// dedupe drops repeated field errors (a bad game id is both the game's and
// the quote's).
func dedupe(errs feed.FieldErrors) feed.FieldErrors {
	out := errs[:0]
	for _, e := range errs {
		if !hasField(out, refField(e.Field)) && !hasField(out, e.Field) {
			out = append(out, e)
		}
	}
	return out
}

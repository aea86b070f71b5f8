package ingest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// oddsIn is one item of POST /v1/odds: a quote of one market of a game
// (market and period absent: the full-game spread of the first API).
type oddsIn struct {
	GameID     textMember `json:"gameId"`
	Provider   textMember `json:"provider"`
	ObservedAt timeMember `json:"observedAt"`
	Market     textMember `json:"market"`
	Period     textMember `json:"period"`
	OddsFormat textMember `json:"oddsFormat"`
	AwaySpread numMember  `json:"awaySpread"`
	HomeSpread numMember  `json:"homeSpread"`
	AwayOdds   numMember  `json:"awayOdds"`
	HomeOdds   numMember  `json:"homeOdds"`
	DrawOdds   numMember  `json:"drawOdds"`
	Line       numMember  `json:"line"`
	OverOdds   numMember  `json:"overOdds"`
	UnderOdds  numMember  `json:"underOdds"`
}

func sameName(s string) string { return s }

// postOdds serves POST /v1/odds.
func (h *Handler) postOdds(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	env, ok := h.readEnvelope(w, r)
	if !ok {
		return
	}
	provider := p.Name
	if env.Provider != nil && *env.Provider != provider {
		if p.Role != auth.RoleAdmin {
			httpx.Invalid(w, r, http.StatusUnprocessableEntity, "nothing was stored",
				httpx.ParamError("provider", "must be the authenticated provider "+p.Name))
			return
		}
		provider = *env.Provider // admins may write on a provider's behalf
	}
	if !h.allow(w, r, p.Name, len(env.Odds)) {
		return
	}
	now := h.o.Now().UTC()
	if p.Role == auth.RoleProvider {
		h.noteHeard(r.Context(), p.Name, now) // a provider's odds say it is alive
	}
	b := newBatch(len(env.Odds), sameName)
	for i, raw := range env.Odds {
		o, errs := decodeOdds(raw, provider, p.Role == auth.RoleAdmin, now)
		if len(errs) > 0 {
			b.failAll(i, errs)
			continue
		}
		b.add(i, o)
	}
	if !h.checkGames(w, r, b) {
		return
	}
	var outcomes []store.Outcome
	var err error
	if len(b.odds) > 0 {
		outcomes, err = h.s.PutOdds(r.Context(), b.odds)
	}
	h.finish(w, r, b, outcomes, err, func(rep report) { httpx.WriteJSON(w, http.StatusOK, rep.result()) })
}

// decodeOdds decodes and validates one item. provider is the authenticated
// provider; an item naming another one is refused unless admin is set.
func decodeOdds(raw json.RawMessage, provider string, admin bool, now time.Time) (feed.Odds, feed.FieldErrors) {
	var in oddsIn
	if errs := decodeItem(raw, &in); errs != nil {
		return feed.Odds{}, errs
	}
	var c checker
	o := feed.Odds{Provider: provider, ReceivedAt: now}
	if c.usable("gameId", in.GameID.member, false) {
		o.GameID = in.GameID.v
	}
	if c.usable("provider", in.Provider.member, false) && in.Provider.v != provider {
		if admin {
			o.Provider = in.Provider.v // admins may write on a provider's behalf
		} else {
			c.fail("provider", "must be the authenticated provider "+provider)
		}
	}
	o.ObservedAt, _ = c.time("observedAt", in.ObservedAt, parseRFC3339,
		"must be an RFC 3339 time such as 2026-11-20T20:30:15.238Z")
	c.marketQuote(&o, in)
	c.validated(o.Validate(now))
	o.Normalize()
	return o, c.errs
}

// marketQuote fills o's market, period, lines and prices from an item. The
// members its market uses are required; the others are read when present,
// so that Validate names those a market has no use for. With oddsFormat
// decimal every price is decimal, converted to American.
func (c *checker) marketQuote(o *feed.Odds, in oddsIn) {
	if c.usable("market", in.Market.member, false) {
		o.Market = feed.Market(in.Market.v)
	}
	if c.usable("period", in.Period.member, false) {
		o.Period = feed.Period(in.Period.v)
	}
	decimal := false
	if c.usable("oddsFormat", in.OddsFormat.member, false) {
		switch in.OddsFormat.v {
		case "american":
		case "decimal":
			decimal = true
		default:
			c.fail("oddsFormat", "must be american or decimal")
		}
	}
	// An unknown (or unreadable) market requires nothing: its one error says it all.
	known := o.Market.Valid() && in.Market.bad == ""
	uses := func(out feed.Outcome) bool { return known && o.Market.HasOutcome(out) }
	spread, total := known && o.Market.Or() == feed.MarketSpread, known && o.Market.Or() == feed.MarketTotal
	o.AwaySpread = c.number("awaySpread", in.AwaySpread, spread)
	o.HomeSpread = c.number("homeSpread", in.HomeSpread, spread)
	o.AwayOdds = c.price("awayOdds", in.AwayOdds, uses(feed.OutcomeAway), decimal)
	o.HomeOdds = c.price("homeOdds", in.HomeOdds, uses(feed.OutcomeHome), decimal)
	o.DrawOdds = c.price("drawOdds", in.DrawOdds, uses(feed.OutcomeDraw), decimal)
	o.Line = c.number("line", in.Line, total)
	o.OverOdds = c.price("overOdds", in.OverOdds, uses(feed.OutcomeOver), decimal)
	o.UnderOdds = c.price("underOdds", in.UnderOdds, uses(feed.OutcomeUnder), decimal)
}

func parseRFC3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

// checkGames refuses the valid items of b whose game does not exist. Known
// ids are cached (games are never deleted), so a steady stream of batches
// costs no reads. It writes 503 and returns false when the store fails.
func (h *Handler) checkGames(w http.ResponseWriter, r *http.Request, b *batch) bool {
	var ask []string
	seen := map[string]struct{}{}
	for _, o := range b.odds {
		if _, dup := seen[o.GameID]; dup {
			continue
		}
		seen[o.GameID] = struct{}{}
		if !h.games.isKnown(o.GameID) {
			ask = append(ask, o.GameID)
		}
	}
	if len(ask) == 0 {
		return true
	}
	exist, err := h.s.GamesExist(r.Context(), ask)
	if err != nil {
		h.storeFailed(w, r, "check games exist", err)
		return false
	}
	var known []string
	unknown := map[string]struct{}{}
	for _, id := range ask {
		if exist[id] {
			known = append(known, id)
		} else {
			unknown[id] = struct{}{}
		}
	}
	h.games.addKnown(known...)
	if len(unknown) == 0 {
		return true
	}
	isUnknown := func(o feed.Odds) bool { _, u := unknown[o.GameID]; return u }
	for i, o := range b.odds {
		if isUnknown(o) {
			b.fail(b.index[i], "gameId", "unknown game "+o.GameID)
		}
	}
	b.drop(isUnknown)
	return true
}

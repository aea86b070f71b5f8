package feed

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Attr is one attribute of a stored item, in DynamoDB's two scalar types:
// a string (S) or a number (N, in decimal text). Adapters translate it to
// their own representation; the change decoder builds it from DynamoDB JSON.
type Attr struct {
	S   string
	N   string
	IsN bool
}

// S makes a string attribute; N a number attribute.
func S(s string) Attr { return Attr{S: s} }

// N makes a number attribute from its decimal text.
func N(n string) Attr { return Attr{N: n, IsN: true} }

// Item is a stored item: attribute name -> value.
type Item map[string]Attr

// Attribute names. Odds keep the AWS reference's names (AWAY, HOME,
// AWAYODDS, HOMEODDS, CREATED, EXPIRE) so tools written for it still read
// our table.
const (
	AttrPK         = "PK"
	AttrSK         = "SK"
	AttrType       = "TYPE"
	AttrVersion    = "VERSION"
	AttrGSI1PK     = "GSI1PK"
	AttrGSI1SK     = "GSI1SK"
	AttrGSI2PK     = "GSI2PK"
	AttrGSI2SK     = "GSI2SK"
	AttrLSI1SK     = "LSI1SK"
	AttrExpire     = "EXPIRE"
	AttrGameID     = "GAME_ID"
	AttrSport      = "SPORT"
	AttrSummary    = "SUMMARY"
	AttrVenue      = "VENUE"
	AttrGameDate   = "GAME_DATE"
	AttrStatus     = "STATUS"
	AttrHomeTeam   = "HOME_TEAM"
	AttrAwayTeam   = "AWAY_TEAM"
	AttrUpdatedAt  = "UPDATED_AT"
	AttrOwner      = "OWNER" // a game's Game.Owner; absent when it has none
	AttrProvider   = "PROVIDER"
	AttrObservedAt = "OBSERVED_AT"
	AttrReceivedAt = "RECEIVED_AT"
	AttrAway       = "AWAY"
	AttrHome       = "HOME"
	AttrAwayOdds   = "AWAYODDS"
	AttrHomeOdds   = "HOMEODDS"
	AttrCreated    = "CREATED"
	// AttrPrior holds, on an odds item corrected at least once, the content
	// hashes (Odds.ContentHash) of its earlier versions, oldest first,
	// separated by spaces.
	AttrPrior = "PRIOR"
	// A quote of another market than the full-game spread has these; a
	// full-game spread has none of them.
	AttrMarket    = "MARKET"
	AttrPeriod    = "PERIOD"
	AttrLine      = "LINE"
	AttrDrawOdds  = "DRAWODDS"
	AttrOverOdds  = "OVERODDS"
	AttrUnderOdds = "UNDERODDS"
	// Market status, provider liveness and lease items (statusitem.go).
	AttrReason       = "REASON"
	AttrNote         = "NOTE"
	AttrResults      = "RESULTS"
	AttrPrev         = "PREV"
	AttrBy           = "BY"
	AttrByTrader     = "BY_TRADER"
	AttrAt           = "AT"
	AttrLastHeard    = "LAST_HEARD"
	AttrDownAt       = "DOWN_AT"
	AttrDecidedBy    = "DECIDED_BY"
	AttrName         = "NAME"
	AttrHolder       = "HOLDER"
	AttrLeaseExpires = "LEASE_EXPIRES"
)

// Item types, in the TYPE attribute.
const (
	TypeGame     = "GAME"
	TypeOdds     = "ODDS"
	TypeMarket   = "MARKET"
	TypeProvider = "PROVIDER"
	// TypeLease items coordinate replicas; no consumer of the change
	// stream reads them.
	TypeLease = "LEASE"
)

// GameItem maps a game to its stored item, with the sparse index keys that
// its status calls for.
func GameItem(g Game) Item {
	it := Item{
		AttrPK:        S(GamePK(g.ID)),
		AttrSK:        S(MetaSK),
		AttrType:      S(TypeGame),
		AttrVersion:   N(strconv.FormatInt(g.Version, 10)),
		AttrGameID:    S(g.ID),
		AttrSport:     S(g.Sport),
		AttrGameDate:  S(KeyTime(g.GameDate)),
		AttrStatus:    S(string(g.Status)),
		AttrUpdatedAt: S(KeyTime(g.UpdatedAt)),
	}
	putOpt(it, AttrSummary, g.Summary)
	putOpt(it, AttrVenue, g.Venue)
	putOpt(it, AttrHomeTeam, g.HomeTeam)
	putOpt(it, AttrAwayTeam, g.AwayTeam)
	putOpt(it, AttrOwner, g.Owner)
	switch g.Status {
	case StatusScheduled:
		it[AttrGSI1PK] = S(GSI1PKValue)
		it[AttrGSI1SK] = S(StatusIndexKey(g))
	case StatusLive:
		it[AttrGSI2PK] = S(GSI2PKValue)
		it[AttrGSI2SK] = S(StatusIndexKey(g))
	}
	return it
}

func putOpt(it Item, name, v string) {
	if v != "" {
		it[name] = S(v)
	}
}

// OddsItem maps odds to their stored item. expire is when the item's TTL
// runs out (zero: never).
func OddsItem(o Odds, expire time.Time) Item {
	it := Item{
		AttrPK:         S(GamePK(o.GameID)),
		AttrSK:         S(o.Key().SK),
		AttrType:       S(TypeOdds),
		AttrVersion:    N(strconv.FormatInt(o.Version, 10)),
		AttrLSI1SK:     S(o.LSI1SK()),
		AttrGameID:     S(o.GameID),
		AttrProvider:   S(o.Provider),
		AttrObservedAt: S(KeyTime(o.ObservedAt)),
		AttrReceivedAt: S(KeyTime(o.ReceivedAt)),
		AttrAway:       N(strconv.FormatFloat(o.AwaySpread, 'f', -1, 64)),
		AttrHome:       N(strconv.FormatFloat(o.HomeSpread, 'f', -1, 64)),
		AttrAwayOdds:   N(strconv.Itoa(o.AwayOdds)),
		AttrHomeOdds:   N(strconv.Itoa(o.HomeOdds)),
		AttrCreated:    N(strconv.FormatInt(o.ReceivedAt.Unix(), 10)),
	}
	if !expire.IsZero() {
		it[AttrExpire] = N(strconv.FormatInt(expire.Unix(), 10))
	}
	if !o.IsFullGameSpread() {
		it[AttrMarket] = S(string(o.Market.Or()))
		it[AttrPeriod] = S(string(o.Period.Or()))
	}
	putOptNum(it, AttrLine, strconv.FormatFloat(o.Line, 'f', -1, 64), o.Line != 0)
	putOptNum(it, AttrDrawOdds, strconv.Itoa(o.DrawOdds), o.DrawOdds != 0)
	putOptNum(it, AttrOverOdds, strconv.Itoa(o.OverOdds), o.OverOdds != 0)
	putOptNum(it, AttrUnderOdds, strconv.Itoa(o.UnderOdds), o.UnderOdds != 0)
	return it
}

func putOptNum(it Item, name, v string, present bool) {
	if present {
		it[name] = N(v)
	}
}

// OddsItemVersion maps a version of odds to its stored item: OddsItem with
// the content hashes of the earlier versions (prior, "" for the first).
func OddsItemVersion(o Odds, expire time.Time, prior string) Item {
	it := OddsItem(o, expire)
	if prior != "" {
		it[AttrPrior] = S(prior)
	}
	return it
}

// ErrUnknownItemType is returned by DecodeItem for an item that is neither
// a game nor odds.
var ErrUnknownItemType = errors.New("unknown item type")

// Type returns the item's TYPE attribute.
func (it Item) Type() string { return it[AttrType].S }

// Key returns the item's primary key.
func (it Item) Key() Key { return Key{PK: it[AttrPK].S, SK: it[AttrSK].S} }

// Version returns the item's VERSION attribute, 0 when absent.
func (it Item) Version() int64 {
	v, _ := strconv.ParseInt(it[AttrVersion].N, 10, 64)
	return v
}

// DecodeGame maps a stored game item back to a Game.
func DecodeGame(it Item) (Game, error) {
	if t := it.Type(); t != TypeGame {
		return Game{}, fmt.Errorf("decode game: %w %q", ErrUnknownItemType, t)
	}
	d := decoder{it: it}
	g := Game{
		ID:        d.str(AttrGameID),
		Sport:     d.str(AttrSport),
		Summary:   it[AttrSummary].S,
		Venue:     it[AttrVenue].S,
		GameDate:  d.time(AttrGameDate),
		Status:    GameStatus(d.str(AttrStatus)),
		HomeTeam:  it[AttrHomeTeam].S,
		AwayTeam:  it[AttrAwayTeam].S,
		Version:   d.int(AttrVersion),
		UpdatedAt: d.time(AttrUpdatedAt),
		Owner:     it[AttrOwner].S,
	}
	if d.err != nil {
		return Game{}, fmt.Errorf("decode game %s: %w", it[AttrPK].S, d.err)
	}
	return g, nil
}

// DecodeOdds maps a stored odds item back to Odds.
func DecodeOdds(it Item) (Odds, error) {
	if t := it.Type(); t != TypeOdds {
		return Odds{}, fmt.Errorf("decode odds: %w %q", ErrUnknownItemType, t)
	}
	d := decoder{it: it}
	o := Odds{
		GameID:     d.str(AttrGameID),
		Provider:   d.str(AttrProvider),
		ObservedAt: d.time(AttrObservedAt),
		ReceivedAt: d.time(AttrReceivedAt),
		AwaySpread: d.float(AttrAway),
		HomeSpread: d.float(AttrHome),
		AwayOdds:   int(d.int(AttrAwayOdds)),
		HomeOdds:   int(d.int(AttrHomeOdds)),
		Version:    d.int(AttrVersion),
		Market:     Market(it[AttrMarket].S),
		Period:     Period(it[AttrPeriod].S),
		DrawOdds:   int(d.optInt(AttrDrawOdds)),
		Line:       d.optFloat(AttrLine),
		OverOdds:   int(d.optInt(AttrOverOdds)),
		UnderOdds:  int(d.optInt(AttrUnderOdds)),
	}
	o.Normalize()
	if d.err != nil {
		return Odds{}, fmt.Errorf("decode odds %s %s: %w", it[AttrPK].S, it[AttrSK].S, d.err)
	}
	return o, nil
}

// decoder reads attributes, keeping the first error.
type decoder struct {
	it  Item
	err error
}

func (d *decoder) fail(name, why string) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: %s", name, why)
	}
}

func (d *decoder) str(name string) string {
	a, ok := d.it[name]
	if !ok || a.IsN || a.S == "" {
		d.fail(name, "missing string")
	}
	return a.S
}

func (d *decoder) time(name string) time.Time {
	s := d.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := ParseKeyTime(s)
	if err != nil {
		d.fail(name, "bad time "+strconv.Quote(s))
	}
	return t
}

func (d *decoder) int(name string) int64 {
	a, ok := d.it[name]
	if !ok || !a.IsN {
		d.fail(name, "missing number")
		return 0
	}
	v, err := strconv.ParseInt(a.N, 10, 64)
	if err != nil {
		d.fail(name, "bad integer "+strconv.Quote(a.N))
	}
	return v
}

// optInt and optFloat read a number that may be absent (0).
func (d *decoder) optInt(name string) int64 {
	if _, ok := d.it[name]; !ok {
		return 0
	}
	return d.int(name)
}

func (d *decoder) optFloat(name string) float64 {
	if _, ok := d.it[name]; !ok {
		return 0
	}
	return d.float(name)
}

func (d *decoder) float(name string) float64 {
	a, ok := d.it[name]
	if !ok || !a.IsN {
		d.fail(name, "missing number")
		return 0
	}
	v, err := strconv.ParseFloat(a.N, 64)
	if err != nil {
		d.fail(name, "bad number "+strconv.Quote(a.N))
	}
	return v
}

package feed

import (
	"fmt"
	"strings"
	"time"
)

// The single-table key scheme. Every adapter stores games and odds under
// these keys so that the stores, the change decoder and the reports agree.
//
//	item   PK              SK                                  secondary keys
//	game   GAME#<gameId>   META                                GSI1 while scheduled, GSI2 while live
//	odds   GAME#<gameId>   ODDS#<observedAt>#<provider>        LSI1SK = ODDS#<provider>#<observedAt>
//	quote  GAME#<gameId>   ODDS#<observedAt>#<provider>#<market>#<period>
//	                                                           LSI1SK = QUOTE#<provider>#<market>#<period>#<observedAt>
//	market GAME#<gameId>   MARKET#<market>#<period>            (the book's status of that market)
//	provider PROVIDERS     PROVIDER#<provider>                 (its liveness; one partition lists all)
//	lease  LEASES          LEASE#<name>                        (which replica does a job; no consumer reads it)
//
// A quote is an odds item of another market than the full-game spread: a
// spread quote for the full game is keyed as the AWS reference keys its
// odds, so every item stored before markets existed is one.
//
// observedAt is written in a fixed-width UTC form (KeyTime) so that string
// order is time order.
const (
	GamePrefix = "GAME#"
	MetaSK     = "META"
	OddsPrefix = "ODDS#"
	// QuotePrefix starts the LSI1 sort key of a quote (not a full-game
	// spread), so the spread's per-provider queries (ODDS#<provider>#)
	// never meet one.
	QuotePrefix    = "QUOTE#"
	MarketPrefix   = "MARKET#"
	ProvidersPK    = "PROVIDERS"
	ProviderPrefix = "PROVIDER#"
	LeasesPK       = "LEASES"
	LeasePrefix    = "LEASE#"

	// GSI1 (sparse) lists scheduled games by date; GSI2 (sparse) live ones.
	GSI1Name      = "GSI1"
	GSI2Name      = "GSI2"
	GSI1PKValue   = "SCHEDULED"
	GSI2PKValue   = "LIVE"
	LSI1Name      = "LSI1"
	keyTimeLayout = "2006-01-02T15:04:05.000000000Z"
)

// Key is the primary key of a stored item.
type Key struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

// KeyTime formats t for use inside a key: UTC, fixed width, nanoseconds.
func KeyTime(t time.Time) string { return t.UTC().Format(keyTimeLayout) }

// ParseKeyTime parses a time written by KeyTime, and only that form: a key
// that is not in it (time.Parse also takes "0" for "00", or a comma before
// the fraction) would not sort as the time it names.
func ParseKeyTime(s string) (time.Time, error) {
	t, err := time.Parse(keyTimeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	if KeyTime(t) != s {
		return time.Time{}, fmt.Errorf("parse key time %q: not in the form %s", s, keyTimeLayout)
	}
	return t, nil
}

// GamePK is the partition key of a game and of its odds.
func GamePK(gameID string) string { return GamePrefix + gameID }

// GameKey is the key of a game item.
func GameKey(gameID string) Key { return Key{PK: GamePK(gameID), SK: MetaSK} }

// OddsSK is the sort key of a full-game spread's odds item.
func OddsSK(observedAt time.Time, provider string) string {
	return OddsPrefix + KeyTime(observedAt) + "#" + provider
}

// QuoteSK is the sort key of an odds item of any market and period: a
// full-game spread's is OddsSK.
func QuoteSK(observedAt time.Time, provider string, m Market, p Period) string {
	if o := (Odds{Market: m, Period: p}); o.IsFullGameSpread() {
		return OddsSK(observedAt, provider)
	}
	return OddsSK(observedAt, provider) + "#" + string(m.Or()) + "#" + string(p.Or())
}

// IsFullGameSpread reports whether o is a spread on the full game: the AWS
// reference's odds, keyed as it keys them.
func (o Odds) IsFullGameSpread() bool {
	return o.Market.Or() == MarketSpread && o.Period.Or() == PeriodFull
}

// Key is the key of an odds item.
func (o Odds) Key() Key {
	return Key{PK: GamePK(o.GameID), SK: QuoteSK(o.ObservedAt, o.Provider, o.Market, o.Period)}
}

// LSI1SK is the LSI1 sort key of an odds item: ProviderSK for a full-game
// spread, QuoteProviderSK for any other.
func (o Odds) LSI1SK() string {
	if o.IsFullGameSpread() {
		return ProviderSK(o.Provider, o.ObservedAt)
	}
	return QuoteProviderSK(o.Provider, o.Market, o.Period, o.ObservedAt)
}

// QuoteProviderSK is the LSI1 sort key of a quote that is not a full-game
// spread: provider, market and period first, so the newest quote of each
// is one query.
func QuoteProviderSK(provider string, m Market, p Period, observedAt time.Time) string {
	return QuotePrefix + provider + "#" + string(m.Or()) + "#" + string(p.Or()) + "#" + KeyTime(observedAt)
}

// MarketSK is the sort key of a market status item.
func MarketSK(m Market, p Period) string {
	return MarketPrefix + string(m.Or()) + "#" + string(p.Or())
}

// MarketKey is the key of the status item of a game's market.
func MarketKey(gameID string, m Market, p Period) Key {
	return Key{PK: GamePK(gameID), SK: MarketSK(m, p)}
}

// Key is the key of a market status item.
func (s MarketStatus) Key() Key { return MarketKey(s.GameID, s.Market, s.Period) }

// ProviderKey is the key of a provider's liveness item.
func ProviderKey(provider string) Key { return Key{PK: ProvidersPK, SK: ProviderPrefix + provider} }

// Key is the key of a provider's liveness item.
func (s ProviderStatus) Key() Key { return ProviderKey(s.Provider) }

// LeaseKey is the key of a lease item.
func LeaseKey(name string) Key { return Key{PK: LeasesPK, SK: LeasePrefix + name} }

// Key is the key of a game item.
func (g Game) Key() Key { return GameKey(g.ID) }

// ProviderSK is the LSI1 sort key of an odds item: provider first, so the
// latest odds of one provider is one query.
func ProviderSK(provider string, observedAt time.Time) string {
	return OddsPrefix + provider + "#" + KeyTime(observedAt)
}

// GameIDFromPK returns the game id of a partition key, or "" when pk is not
// a game partition.
func GameIDFromPK(pk string) string {
	if id, ok := strings.CutPrefix(pk, GamePrefix); ok {
		return id
	}
	return ""
}

// StatusIndexKey is the GSI sort key of a game: date first, then id.
func StatusIndexKey(g Game) string { return KeyTime(g.GameDate) + "#" + g.ID }

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
//
// observedAt is written in a fixed-width UTC form (KeyTime) so that string
// order is time order.
const (
	GamePrefix = "GAME#"
	MetaSK     = "META"
	OddsPrefix = "ODDS#"

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

// OddsSK is the sort key of an odds item.
func OddsSK(observedAt time.Time, provider string) string {
	return OddsPrefix + KeyTime(observedAt) + "#" + provider
}

// OddsKey is the key of an odds item.
func (o Odds) Key() Key { return Key{PK: GamePK(o.GameID), SK: OddsSK(o.ObservedAt, o.Provider)} }

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

package feed

import "time"

// ChangeKind says what happened to an item.
type ChangeKind string

// The kinds of change, as DynamoDB names them.
const (
	ChangeInsert ChangeKind = "INSERT"
	ChangeModify ChangeKind = "MODIFY"
	ChangeRemove ChangeKind = "REMOVE"
)

// Change is one change to one stored item, as change data capture reports
// it: from the embedded store's change log or from a Kinesis record.
type Change struct {
	Kind ChangeKind `json:"kind"`
	Key  Key        `json:"key"`
	// ItemType is TypeGame, TypeOdds, TypeMarket, TypeProvider or
	// TypeLease (from the image), or "" when unknown.
	ItemType string `json:"itemType"`
	// Version of the item after the change (of the old image for a REMOVE).
	Version int64 `json:"version"`
	// New and Old images; nil where the kind has none.
	NewGame *Game `json:"newGame,omitempty"`
	OldGame *Game `json:"oldGame,omitempty"`
	NewOdds *Odds `json:"newOdds,omitempty"`
	OldOdds *Odds `json:"oldOdds,omitempty"`
	// Market status and provider liveness images (TypeMarket,
	// TypeProvider). A TypeLease change has no images: consumers skip it.
	NewMarket   *MarketStatus   `json:"newMarket,omitempty"`
	OldMarket   *MarketStatus   `json:"oldMarket,omitempty"`
	NewProvider *ProviderStatus `json:"newProvider,omitempty"`
	OldProvider *ProviderStatus `json:"oldProvider,omitempty"`
	// Expired is true for a REMOVE done by the TTL service, not by a user:
	// it is not a deletion of business data.
	Expired bool `json:"expired,omitempty"`
	// At is the approximate creation time of the change.
	At time.Time `json:"at"`
	// Source names the partition of the stream (shard id, "log" for the
	// embedded log) and Position the change's place in it.
	Source   string `json:"source"`
	Position string `json:"position"`
}

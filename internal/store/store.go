// Package store declares the FeedStore port that every feed store adapter
// (store/dynamo, store/embedded) implements, and the types it speaks in.
// The conformance suite in store/storetest runs the same cases against each
// adapter so they cannot drift.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Errors every adapter returns (wrapped) for the same conditions.
var (
	// ErrNotFound: the game (or odds) asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrBadCursor: a page cursor was not made by this store for this query.
	ErrBadCursor = errors.New("bad cursor")
	// ErrUnavailable: the store is throttling or unreachable; retry later.
	ErrUnavailable = errors.New("store unavailable")
)

// Outcome is what became of one odds item of a PutOdds call.
type Outcome uint8

// The outcomes of one item.
const (
	// NotStored: the item is not known to be durable (the call failed before
	// it was written); the caller may retry it.
	NotStored Outcome = iota
	// Stored: the item is new and now durable.
	Stored
	// Duplicate: an item with the same key and the same content was already
	// stored; nothing changed.
	Duplicate
	// Corrected: an item with the same key but content different from every
	// version stored: it is stored as the next version of that odds (a
	// provider's correction of its price at that instant).
	Corrected
	// Refused: the odds already has feed.MaxOddsVersions versions; nothing
	// was written.
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Duplicate:
		return "duplicate"
	case Corrected:
		return "corrected"
	case Refused:
		return "refused"
	}
	return "not_stored"
}

// ClassifyOdds says what o is to stored, the version standing at its key
// whose earlier versions' content hashes are prior (feed.AttrPrior): a
// Duplicate of any stored version, Refused past feed.MaxOddsVersions, or
// else Corrected; then next is o as the next version and nextPrior the
// hashes to store with it. Both adapters write corrections by this rule.
func ClassifyOdds(o, stored feed.Odds, prior string) (out Outcome, next feed.Odds, nextPrior string) {
	if o.SameContent(stored) {
		return Duplicate, stored, prior
	}
	h := o.ContentHash()
	for p := range strings.FieldsSeq(prior) {
		if p == h {
			return Duplicate, stored, prior
		}
	}
	if stored.Version >= feed.MaxOddsVersions {
		return Refused, stored, prior
	}
	next = o
	next.Version = stored.Version + 1
	nextPrior = stored.ContentHash()
	if prior != "" {
		nextPrior = prior + " " + nextPrior
	}
	return Corrected, next, nextPrior
}

// Page asks for one page of a listing.
type Page struct {
	// Limit is the most items to return; adapters cap it at MaxLimit and use
	// DefaultLimit when it is 0.
	Limit int
	// Cursor is "" for the first page, else the NextCursor of the previous
	// page of the same query.
	Cursor string
}

// Paging limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// OddsRange selects odds of one game by observation time, newest first.
type OddsRange struct {
	GameID string
	// From and To bound ObservedAt inclusively; zero means unbounded.
	From, To time.Time
	Page
}

// GamePage is one page of games.
type GamePage struct {
	Games      []feed.Game
	NextCursor string // "" on the last page
}

// OddsPage is one page of odds, newest first.
type OddsPage struct {
	Odds       []feed.Odds
	NextCursor string // "" on the last page
}

// FeedStore is the feed store port.
//
// Every write stamps the item's Version (games: 1 on creation, +1 per change;
// odds: 1 when first stored, +1 per correction, see ClassifyOdds) and, on the embedded adapter, appends
// the change to its change log in the same transaction.
type FeedStore interface {
	// PutGame creates or updates a game. When the stored game already has the
	// same content, nothing is written and the stored game is returned with
	// changed=false. Otherwise the version is bumped and UpdatedAt set.
	PutGame(ctx context.Context, g feed.Game) (stored feed.Game, changed bool, err error)
	// GetGame returns a game or ErrNotFound.
	GetGame(ctx context.Context, id string) (feed.Game, error)
	// GamesExist reports which of ids are known games.
	GamesExist(ctx context.Context, ids []string) (map[string]bool, error)
	// ListGames lists games with the given status (scheduled or live; these
	// are the sparse indexes) ordered by game date then id.
	ListGames(ctx context.Context, status feed.GameStatus, p Page) (GamePage, error)

	// PutOdds stores odds durably. outcomes[i] says what became of odds[i].
	// On error, outcomes still tell which items are durable (Stored or
	// Duplicate) so the caller can report them. The caller has validated the
	// items and checked their games exist; ReceivedAt is set by the caller.
	PutOdds(ctx context.Context, odds []feed.Odds) (outcomes []Outcome, err error)
	// LatestOdds returns the newest odds of a game overall (provider "") or of
	// one provider, or ErrNotFound when there are none.
	LatestOdds(ctx context.Context, gameID, provider string) (feed.Odds, error)
	// LatestOddsByProvider returns the newest odds of each provider of a game,
	// ordered by provider.
	LatestOddsByProvider(ctx context.Context, gameID string) ([]feed.Odds, error)
	// ListOdds returns odds of a game in a time range, newest first.
	ListOdds(ctx context.Context, r OddsRange) (OddsPage, error)

	// Close releases the store's resources.
	Close() error
}

// EffectiveLimit returns the page size to use for p.
func (p Page) EffectiveLimit() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

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
	// ErrNotOwner: the game belongs to another provider; only its owner or
	// an admin may change it (see As).
	ErrNotOwner = errors.New("the game is owned by another provider: only the provider that created it, or an admin, may change it")
)

// As is who writes games: a provider, or an admin.
type As struct {
	// Principal names the writer; a game it creates is owned by it.
	Principal string
	// Admin may change every game; the game keeps its owner.
	Admin bool
}

// System writes games as the server itself (seeding, tools, tests): an
// admin without a name, so the games it creates have no owner.
var System = As{Admin: true}

// MayChange reports whether as may change g: an admin, g's owner, or
// anyone when g has no owner (who then claims it, see PlanGameWrite).
func (as As) MayChange(g feed.Game) bool {
	return as.Admin || g.Owner == "" || g.Owner == as.Principal
}

// GameWrite is one game of a PutGames call.
type GameWrite struct {
	Game feed.Game
	// CreateOnly writes the game only when it does not exist: an existing
	// game is left as it is (not an error, whoever owns it).
	CreateOnly bool
}

// GameResult is what became of one GameWrite.
type GameResult struct {
	// Game is the game as stored: as written, or, when nothing was
	// written, as it stands.
	Game feed.Game
	// Changed: the write created or changed the game.
	Changed bool
	// Err is nil, or wraps ErrNotOwner: nothing was written.
	Err error
}

// PutOneGame is PutGame made of an adapter's PutGames: one write, whose
// ErrNotOwner is the call's error.
func PutOneGame(ctx context.Context, putGames func(context.Context, []GameWrite, As) ([]GameResult, error),
	g feed.Game, as As) (feed.Game, bool, error) {
	res, err := putGames(ctx, []GameWrite{{Game: g}}, as)
	switch {
	case err != nil:
		return feed.Game{}, false, err
	case res[0].Err != nil:
		return feed.Game{}, false, res[0].Err
	}
	return res[0].Game, res[0].Changed, nil
}

// PlanGameWrite says what w, written by as, does to the game standing
// (found: one stands): next is the game to store (its Version and Owner
// set, UpdatedAt left to the adapter) when write is true; else next is cur
// and err is nil (nothing to change: the same content, or CreateOnly over
// an existing game) or ErrNotOwner. A new game is owned by its writer; a
// change keeps the owner, except that a game without one (created before
// games had owners, or by System) is claimed by the first provider that
// changes it. Both adapters write games by this rule, as one conditional
// write (the version and owner they read still standing).
func PlanGameWrite(w GameWrite, as As, cur feed.Game, found bool) (next feed.Game, write bool, err error) {
	next = w.Game
	if !found {
		next.Version, next.Owner = 1, as.Principal
		return next, true, nil
	}
	switch {
	case w.CreateOnly || cur.SameContent(w.Game):
		return cur, false, nil
	case !as.MayChange(cur):
		return cur, false, ErrNotOwner
	}
	next.Version, next.Owner = cur.Version+1, cur.Owner
	if next.Owner == "" && !as.Admin {
		next.Owner = as.Principal
	}
	return next, true, nil
}

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

// OddsRange selects odds of one game by observation time, newest first:
// the quotes of one market and period (the zero values: the full-game
// spread, the AWS reference's odds), or of all (AllMarkets).
type OddsRange struct {
	GameID     string
	Market     feed.Market
	Period     feed.Period
	AllMarkets bool
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
	// PutGame creates or updates a game, written by as (PlanGameWrite).
	// When the stored game already has the same content, nothing is
	// written and the stored game is returned with changed=false.
	// Otherwise the version is bumped and UpdatedAt set. A change as may
	// not make fails with ErrNotOwner, atomically: the owner checked is the
	// owner overwritten.
	PutGame(ctx context.Context, g feed.Game, as As) (stored feed.Game, changed bool, err error)
	// PutGames writes several games, written by as, as PutGame each, in
	// order (a game repeated is written in turn): results[i] is what
	// became of writes[i]. The embedded store writes them in one
	// transaction; DynamoDB in parallel conditional writes, one per game.
	// On error (the store failed) some writes may have been made.
	PutGames(ctx context.Context, writes []GameWrite, as As) (results []GameResult, err error)
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
	// LatestOdds returns the newest full-game spread of a game overall
	// (provider "") or of one provider, or ErrNotFound when there are none.
	LatestOdds(ctx context.Context, gameID, provider string) (feed.Odds, error)
	// LatestOddsByProvider returns the newest full-game spread of each
	// provider of a game, ordered by provider.
	LatestOddsByProvider(ctx context.Context, gameID string) ([]feed.Odds, error)
	// LatestQuotes returns the newest quote of each provider, market and
	// period of a game (full-game spreads included), ordered by provider,
	// then market, then period (CompareQuotes); none: an empty slice.
	LatestQuotes(ctx context.Context, gameID string) ([]feed.Odds, error)
	// ListOdds returns odds of a game in a time range, newest first.
	ListOdds(ctx context.Context, r OddsRange) (OddsPage, error)

	MarketStore
	ProviderStore

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

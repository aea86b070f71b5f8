package feed

import (
	"strings"
	"time"
)

// GameStatus is where a game is in its life.
type GameStatus string

// The statuses a game can have.
const (
	StatusScheduled GameStatus = "scheduled"
	StatusLive      GameStatus = "live"
	StatusClosed    GameStatus = "closed"
)

// Valid reports whether s is one of the known statuses.
func (s GameStatus) Valid() bool {
	switch s {
	case StatusScheduled, StatusLive, StatusClosed:
		return true
	}
	return false
}

// Game is a sporting event odds are quoted on.
type Game struct {
	ID       string     `json:"id"`
	Sport    string     `json:"sport"`
	Summary  string     `json:"summary"`
	Venue    string     `json:"venue,omitempty"`
	GameDate time.Time  `json:"gameDate"`
	Status   GameStatus `json:"status"`
	HomeTeam string     `json:"homeTeam,omitempty"`
	AwayTeam string     `json:"awayTeam,omitempty"`
	// Version is set by the store: 1 on creation, +1 on every change.
	Version int64 `json:"version"`
	// UpdatedAt is set by the store on every write.
	UpdatedAt time.Time `json:"updatedAt"`
	// Owner is set by the store: the provider that created the game (or
	// claimed it, see store.PlanGameWrite); "" for a game created by the
	// server itself or before games had owners. Only the owner and admins
	// may change a game.
	Owner string `json:"owner,omitempty"`
}

// Validate checks a game as a provider sends it (Version, UpdatedAt and
// Owner are the store's). It returns one FieldError per bad field, nil when valid.
func (g Game) Validate() FieldErrors {
	var errs FieldErrors
	if err := ValidateID(g.ID); err != "" {
		errs = append(errs, FieldError{Field: "id", Reason: err})
	}
	if err := validateName(g.Sport, MaxNameLen, true); err != "" {
		errs = append(errs, FieldError{Field: "sport", Reason: err})
	} else if g.Sport != strings.ToLower(g.Sport) || strings.ContainsAny(g.Sport, " :#") {
		errs = append(errs, FieldError{Field: "sport", Reason: "must be lower case without spaces, ':' or '#'"})
	}
	if err := validateName(g.Summary, MaxTextLen, false); err != "" {
		errs = append(errs, FieldError{Field: "summary", Reason: err})
	}
	if err := validateName(g.Venue, MaxTextLen, false); err != "" {
		errs = append(errs, FieldError{Field: "venue", Reason: err})
	}
	if err := validateName(g.HomeTeam, MaxNameLen, false); err != "" {
		errs = append(errs, FieldError{Field: "homeTeam", Reason: err})
	}
	if err := validateName(g.AwayTeam, MaxNameLen, false); err != "" {
		errs = append(errs, FieldError{Field: "awayTeam", Reason: err})
	}
	if g.GameDate.IsZero() {
		errs = append(errs, FieldError{Field: "gameDate", Reason: "is required"})
	} else if y := g.GameDate.Year(); y < 2000 || y > 2100 {
		errs = append(errs, FieldError{Field: "gameDate", Reason: "must be between the years 2000 and 2100"})
	}
	if !g.Status.Valid() {
		errs = append(errs, FieldError{Field: "status", Reason: "must be one of scheduled, live, closed"})
	}
	return errs
}

// SameContent reports whether two games carry the same provider-visible
// content, ignoring the store's Version, UpdatedAt and Owner.
func (g Game) SameContent(o Game) bool {
	return g.ID == o.ID && g.Sport == o.Sport && g.Summary == o.Summary && g.Venue == o.Venue &&
		g.GameDate.Equal(o.GameDate) && g.Status == o.Status && g.HomeTeam == o.HomeTeam && g.AwayTeam == o.AwayTeam
}

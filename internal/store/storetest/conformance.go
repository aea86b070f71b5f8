// Package storetest is the conformance suite of the store.FeedStore port, in
// the style of gocloud.dev's drivertest: every adapter's tests call
// RunConformance with a constructor of fresh, empty stores, and the same cases
// run against each adapter so they cannot drift.
package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// NewStore returns a fresh, empty store for one case. It registers its own
// clean-up (closing the store, dropping its table) with t.Cleanup.
type NewStore func(t *testing.T) store.FeedStore

// testCase is one case of the suite.
type testCase struct {
	name string
	run  func(t *testing.T, s store.FeedStore)
}

// RunConformance runs every case of the suite as a subtest of t, each on its
// own store made by newStore.
func RunConformance(t *testing.T, newStore func(t *testing.T) store.FeedStore) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Games", gameCases()},
		{"ListGames", listGameCases()},
		{"Ownership", ownershipCases()},
		{"PutGames", putGamesCases()},
		{"PutOdds", putOddsCases()},
		{"LatestOdds", latestOddsCases()},
		{"ListOdds", listOddsCases()},
		{"Quotes", quoteCases()},
		{"Markets", marketCases()},
		{"Providers", providerCases()},
		{"Leases", leaseCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

// t0 is the base time of the fixtures: well in the past, so no clock skew
// rule or TTL gets in the way, with a sub-second part to check precision.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// newGame returns a valid game as a provider would send it.
func newGame(id string, status feed.GameStatus, date time.Time) feed.Game {
	return feed.Game{
		ID:       id,
		Sport:    "nfl",
		Summary:  "Away @ Home " + id,
		Venue:    "Stadium",
		GameDate: date,
		Status:   status,
		HomeTeam: "Home",
		AwayTeam: "Away",
	}
}

// newOdds returns valid odds of a game; n varies the prices.
func newOdds(gameID, provider string, observedAt time.Time, n int) feed.Odds {
	return feed.Odds{
		GameID:     gameID,
		Provider:   provider,
		ObservedAt: observedAt,
		AwaySpread: 3.5,
		HomeSpread: -3.5,
		AwayOdds:   100 + n,
		HomeOdds:   -(110 + n),
		ReceivedAt: observedAt.Add(50 * time.Millisecond),
	}
}

// mustPutGame stores a game and fails the test on error.
func mustPutGame(t *testing.T, s store.FeedStore, g feed.Game) feed.Game {
	t.Helper()
	stored, _, err := s.PutGame(t.Context(), g, store.System)
	if err != nil {
		t.Fatalf("PutGame(%s): %v", g.ID, err)
	}
	return stored
}

// mustPutOdds stores odds, fails the test on error, and checks every
// outcome is want.
func mustPutOdds(t *testing.T, s store.FeedStore, odds []feed.Odds, want store.Outcome) {
	t.Helper()
	out, err := s.PutOdds(t.Context(), odds)
	if err != nil {
		t.Fatalf("PutOdds(%d items): %v", len(odds), err)
	}
	if len(out) != len(odds) {
		t.Fatalf("PutOdds(%d items): %d outcomes", len(odds), len(out))
	}
	for i, o := range out {
		if o != want {
			t.Fatalf("PutOdds: outcome[%d] = %v, want %v", i, o, want)
		}
	}
}

// checkGame fails the test when got does not match want's content, version,
// and (when non-zero) UpdatedAt.
func checkGame(t *testing.T, what string, got, want feed.Game) {
	t.Helper()
	if !got.SameContent(want) {
		t.Fatalf("%s: got %+v, want content %+v", what, got, want)
	}
	if got.Version != want.Version {
		t.Fatalf("%s: version %d, want %d", what, got.Version, want.Version)
	}
	if !want.UpdatedAt.IsZero() && !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("%s: updatedAt %v, want %v", what, got.UpdatedAt, want.UpdatedAt)
	}
}

// checkOdds fails the test when got is not want as stored (version 1).
func checkOdds(t *testing.T, what string, got, want feed.Odds) {
	t.Helper()
	if !got.SameContent(want) || !got.ReceivedAt.Equal(want.ReceivedAt) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
	if v := max(want.Version, 1); got.Version != v {
		t.Fatalf("%s: version %d, want %d", what, got.Version, v)
	}
}

// oddsID names odds by their key, for messages and sets.
func oddsID(o feed.Odds) string {
	id := fmt.Sprintf("%s/%s/%s", o.GameID, feed.KeyTime(o.ObservedAt), o.Provider)
	if !o.IsFullGameSpread() {
		id += "/" + feed.MarketID(o.Market, o.Period)
	}
	return id
}

// checkOddsList fails the test when got is not exactly want, in order.
func checkOddsList(t *testing.T, what string, got, want []feed.Odds) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d odds, want %d (first got: %v)", what, len(got), len(want), firstIDs(got, 5))
	}
	for i := range want {
		if oddsID(got[i]) != oddsID(want[i]) {
			t.Fatalf("%s: [%d] = %s, want %s", what, i, oddsID(got[i]), oddsID(want[i]))
		}
		checkOdds(t, fmt.Sprintf("%s [%d]", what, i), got[i], want[i])
	}
}

func firstIDs(odds []feed.Odds, n int) []string {
	var ids []string
	for i := 0; i < len(odds) && i < n; i++ {
		ids = append(ids, oddsID(odds[i]))
	}
	return ids
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

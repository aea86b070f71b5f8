package simulate

import (
	"fmt"
	"strings"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Sport is a simulated sport: invented but plausible teams and venues, and
// how its line moves.
type Sport struct {
	Name   string   // the API's sport (lower case)
	League string   // shown in a game's summary
	Teams  []string // teams or players
	// Venues: when as many as Teams, venue i is team i's home ground;
	// otherwise a game is played at any of them.
	Venues    []string
	PerLogit  float64 // expected margin (points) per unit of a game's strength x (log-odds)
	Favourite float64 // standard deviation of the opening strength: how uneven matches are
	// Total is the expected points of a game; a scoring play is worth one
	// of Points (each as likely).
	Total  float64
	Points []int
	// Draws: a game can end level, and its result market is three-way;
	// otherwise it is a moneyline, and a game level at the end goes to
	// overtime (one more scoring play).
	Draws bool
	// Event names what makes providers stop bets (a goal, a break of
	// serve). When ScoresAreEvents every scoring play is one; otherwise
	// Events of them happen in a game, each a jump of the strength by Jump
	// (log-odds): a run, a break, a momentum swing.
	Event           string
	ScoresAreEvents bool
	Events          float64
	Jump            float64
}

// Sports are the simulated sports.
var Sports = []Sport{
	{
		Name: "soccer", League: "Coastal Premier League",
		Teams: []string{"Riverside Rovers", "Northbridge Athletic", "Port Ellis", "Ashford Town", "Kingsmere United", "Lowland Wanderers",
			"Harrowgate City", "Saltmarsh Albion", "Eastholm Rangers", "Fenwick Villa", "Castlebrook FC", "Westerly Athletic"},
		Venues: []string{"Riverside Park", "The Bridge Ground", "Ellis Quay", "Ashford Lane", "Kingsmere Stadium", "Lowland Road",
			"Harrowgate Arena", "Marsh Park", "Eastholm Field", "Fenwick Grove", "Brook Street", "Westerly Meadow"},
		PerLogit: 1, Favourite: 0.6, Total: 2.7, Points: []int{1}, Draws: true, Event: "goal", ScoresAreEvents: true,
	},
	{
		Name: "basketball", League: "Continental Basketball League",
		Teams: []string{"Bayport Breakers", "Summit City Peaks", "Redwood Lumberjacks", "Granite Falls Rockets", "Lakeview Herons",
			"Capitol Senators", "Mesa Vipers", "Ironbridge Forge", "Coral Bay Sharks", "Prairie Storm"},
		Venues: []string{"Harbor Center", "Summit Arena", "Timber Hall", "Falls Fieldhouse", "Lakeview Coliseum",
			"Capitol Dome", "Mesa Arena", "Forge Pavilion", "Coral Bay Arena", "Prairie Center"},
		PerLogit: 6.5, Favourite: 1.2, Total: 210, Points: []int{2, 2, 3}, Event: "run", Events: 8, Jump: 0.25,
	},
	{
		Name: "american-football", League: "National Gridiron Conference",
		Teams: []string{"Cedar Rapids Pioneers", "Bay City Mariners", "Iron Valley Miners", "Great Plains Bison", "Harbor Town Anchors",
			"Blue Ridge Mountaineers", "Sun Coast Pelicans", "Foundry City Smiths", "Northern Lights Aurora", "Canyon State Coyotes"},
		Venues: []string{"Pioneer Field", "Mariners Stadium", "Valley Bowl", "Bison Park", "Anchor Stadium",
			"Ridge Memorial Stadium", "Pelican Field", "Foundry Park", "Aurora Dome", "Coyote Stadium"},
		PerLogit: 6, Favourite: 0.9, Total: 45, Points: []int{7, 7, 3}, Event: "score", ScoresAreEvents: true,
	},
	{
		Name: "tennis", League: "Lakeside Open",
		Teams: []string{"A. Moreau", "L. Brandt", "K. Sato", "M. Oliveira", "T. Lindqvist", "R. Castellano",
			"J. Novak", "D. Okafor", "S. Marchetti", "E. Halvorsen", "P. Kowal", "I. Duarte"},
		Venues:   []string{"Centre Court, Lakeside Tennis Club", "Court 1, Lakeside Tennis Club", "Court 2, Lakeside Tennis Club"},
		PerLogit: 3.5, Favourite: 0.8, Total: 22, Points: []int{1}, Event: "break", Events: 5, Jump: 0.4,
	},
	{
		Name: "ice-hockey", League: "Northern Hockey League",
		Teams: []string{"Glacier Bay Huskies", "Timberline Wolves", "Frostburg Blizzard", "North Shore Icebreakers", "Pine Ridge Loggers",
			"Silver Lake Loons", "Copper Hill Miners", "Aurora Falls Lynx", "Cold Harbor Whalers", "Red River Rapids"},
		Venues: []string{"Glacier Arena", "Timberline Center", "Frostburg Ice Palace", "Icebreaker Arena", "Pine Ridge Rink",
			"Loon Lake Arena", "Copper Dome", "Lynx Arena", "Harbor Ice Center", "Rapids Coliseum"},
		PerLogit: 1.2, Favourite: 0.5, Total: 5.5, Points: []int{1}, Event: "goal", ScoresAreEvents: true,
	},
}

// SportsNamed returns the sports of a comma-separated list of names ("" or
// "all": every sport).
func SportsNamed(names string) ([]Sport, error) {
	if names == "" || names == "all" {
		return Sports, nil
	}
	var out []Sport
next:
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		for _, s := range Sports {
			if s.Name == n {
				out = append(out, s)
				continue next
			}
		}
		known := make([]string, len(Sports))
		for i, s := range Sports {
			known[i] = s.Name
		}
		return nil, fmt.Errorf("unknown sport %q (known: %s)", n, strings.Join(known, ", "))
	}
	return out, nil
}

// summary is a game's summary line: "League: Home v Away".
func (s *Sport) summary(home, away string) string {
	return s.League + ": " + home + " v " + away
}

// Markets are the full-game markets of a sport's games, in the board's
// order: the result (three-way where a game can end level, else the
// moneyline), the spread and the total.
func (s *Sport) Markets() []feed.Market {
	if s.Draws {
		return []feed.Market{feed.MarketThreeWay, feed.MarketSpread, feed.MarketTotal}
	}
	return []feed.Market{feed.MarketMoneyline, feed.MarketSpread, feed.MarketTotal}
}

package simulate

import (
	"fmt"
	"strings"
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
	PerLogit  float64 // points of spread per unit of log-odds
	Events    float64 // expected scoring events in a game, each a jump of the line
	Jump      float64 // an event's jump, in log-odds
	Favourite float64 // standard deviation of the opening log-odds: how uneven matches are
}

// Sports are the simulated sports.
var Sports = []Sport{
	{
		Name: "soccer", League: "Coastal Premier League",
		Teams: []string{"Riverside Rovers", "Northbridge Athletic", "Port Ellis", "Ashford Town", "Kingsmere United", "Lowland Wanderers",
			"Harrowgate City", "Saltmarsh Albion", "Eastholm Rangers", "Fenwick Villa", "Castlebrook FC", "Westerly Athletic"},
		Venues: []string{"Riverside Park", "The Bridge Ground", "Ellis Quay", "Ashford Lane", "Kingsmere Stadium", "Lowland Road",
			"Harrowgate Arena", "Marsh Park", "Eastholm Field", "Fenwick Grove", "Brook Street", "Westerly Meadow"},
		PerLogit: 1, Events: 2.7, Jump: 0.9, Favourite: 0.6,
	},
	{
		Name: "basketball", League: "Continental Basketball League",
		Teams: []string{"Bayport Breakers", "Summit City Peaks", "Redwood Lumberjacks", "Granite Falls Rockets", "Lakeview Herons",
			"Capitol Senators", "Mesa Vipers", "Ironbridge Forge", "Coral Bay Sharks", "Prairie Storm"},
		Venues: []string{"Harbor Center", "Summit Arena", "Timber Hall", "Falls Fieldhouse", "Lakeview Coliseum",
			"Capitol Dome", "Mesa Arena", "Forge Pavilion", "Coral Bay Arena", "Prairie Center"},
		PerLogit: 6.5, Events: 12, Jump: 0.2, Favourite: 0.8,
	},
	{
		Name: "american-football", League: "National Gridiron Conference",
		Teams: []string{"Cedar Rapids Pioneers", "Bay City Mariners", "Iron Valley Miners", "Great Plains Bison", "Harbor Town Anchors",
			"Blue Ridge Mountaineers", "Sun Coast Pelicans", "Foundry City Smiths", "Northern Lights Aurora", "Canyon State Coyotes"},
		Venues: []string{"Pioneer Field", "Mariners Stadium", "Valley Bowl", "Bison Park", "Anchor Stadium",
			"Ridge Memorial Stadium", "Pelican Field", "Foundry Park", "Aurora Dome", "Coyote Stadium"},
		PerLogit: 6, Events: 8, Jump: 0.4, Favourite: 0.7,
	},
	{
		Name: "tennis", League: "Lakeside Open",
		Teams: []string{"A. Moreau", "L. Brandt", "K. Sato", "M. Oliveira", "T. Lindqvist", "R. Castellano",
			"J. Novak", "D. Okafor", "S. Marchetti", "E. Halvorsen", "P. Kowal", "I. Duarte"},
		Venues:   []string{"Centre Court, Lakeside Tennis Club", "Court 1, Lakeside Tennis Club", "Court 2, Lakeside Tennis Club"},
		PerLogit: 3.5, Events: 5, Jump: 0.4, Favourite: 0.8,
	},
	{
		Name: "ice-hockey", League: "Northern Hockey League",
		Teams: []string{"Glacier Bay Huskies", "Timberline Wolves", "Frostburg Blizzard", "North Shore Icebreakers", "Pine Ridge Loggers",
			"Silver Lake Loons", "Copper Hill Miners", "Aurora Falls Lynx", "Cold Harbor Whalers", "Red River Rapids"},
		Venues: []string{"Glacier Arena", "Timberline Center", "Frostburg Ice Palace", "Icebreaker Arena", "Pine Ridge Rink",
			"Loon Lake Arena", "Copper Dome", "Lynx Arena", "Harbor Ice Center", "Rapids Coliseum"},
		PerLogit: 1.2, Events: 5.5, Jump: 0.6, Favourite: 0.5,
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

package feed

// ReferenceDateLayout is how the AWS reference design writes odds times:
// UTC, milliseconds, no zone ("2021-11-20 20:30:15.238").
const ReferenceDateLayout = "2006-01-02 15:04:05.000"

// ReferenceOdds is an odds item in the AWS reference design's wire shape,
// which its ReadFeeds API and its WebSocket clients expect: the spreads are
// "away" and "home", the observation time "date".
type ReferenceOdds struct {
	GameID   string  `json:"gameId"`
	Away     float64 `json:"away"`
	Home     float64 `json:"home"`
	AwayOdds int     `json:"awayOdds"`
	HomeOdds int     `json:"homeOdds"`
	Date     string  `json:"date"`
}

// Reference returns o in the reference design's shape.
func (o Odds) Reference() ReferenceOdds {
	return ReferenceOdds{GameID: o.GameID, Away: o.AwaySpread, Home: o.HomeSpread, AwayOdds: o.AwayOdds, HomeOdds: o.HomeOdds,
		Date: o.ObservedAt.UTC().Format(ReferenceDateLayout)}
}

// ReferencePush is an odds change as the reference design's StreamConsumer
// pushed it to its WebSocket clients: the spreads are "away" and "home",
// and "date" is the item's CREATED attribute (epoch seconds of when the
// server received it, a number), not the observation time.
type ReferencePush struct {
	GameID   string  `json:"gameId"`
	Away     float64 `json:"away"`
	Home     float64 `json:"home"`
	AwayOdds int     `json:"awayOdds"`
	HomeOdds int     `json:"homeOdds"`
	Date     int64   `json:"date"`
}

// ReferencePush returns o as the reference's StreamConsumer pushed it.
func (o Odds) ReferencePush() ReferencePush {
	return ReferencePush{GameID: o.GameID, Away: o.AwaySpread, Home: o.HomeSpread, AwayOdds: o.AwayOdds, HomeOdds: o.HomeOdds,
		Date: o.ReceivedAt.Unix()}
}

package reporting

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// errBadChange marks a change that cannot be applied whatever the database
// holds (no image, unknown item type): it goes straight to dead letters.
var errBadChange = errors.New("change cannot be applied")

// checkChange reports why c cannot be applied, or nil.
func checkChange(c feed.Change) error {
	if c.Kind != feed.ChangeInsert && c.Kind != feed.ChangeModify && c.Kind != feed.ChangeRemove {
		return fmt.Errorf("%w: unknown kind %q", errBadChange, c.Kind)
	}
	remove := c.Kind == feed.ChangeRemove
	switch c.ItemType {
	case feed.TypeGame:
		if (remove && c.OldGame == nil) || (!remove && c.NewGame == nil) {
			return fmt.Errorf("%w: %s of a game without its image", errBadChange, c.Kind)
		}
	case feed.TypeOdds:
		o := c.NewOdds
		if remove {
			o = c.OldOdds
		}
		if o == nil {
			return fmt.Errorf("%w: %s of odds without their image", errBadChange, c.Kind)
		}
		if y := o.ObservedAt.Year(); y < 2000 || y > 2200 {
			return fmt.Errorf("%w: odds observed in the year %d", errBadChange, y)
		}
		if !o.Market.Valid() || !o.Period.Valid() {
			return fmt.Errorf("%w: odds of market %q period %q", errBadChange, o.Market, o.Period)
		}
	case feed.TypeMarket, feed.TypeProvider:
		return checkStatusChange(c)
	case feed.TypeLease:
		// A replica's lease: no report row; skipped.
	default:
		return fmt.Errorf("%w: unknown item type %q of %s/%s", errBadChange, c.ItemType, c.Key.PK, c.Key.SK)
	}
	return nil
}

// rowSet is a set of changes as the arrays of the set-based writes.
type rowSet struct {
	odds    db.InsertOddsTicksParams
	latest  db.UpsertLatestOddsParams // newest of odds per game and provider
	games   db.UpsertGamesParams
	delOdds db.DeleteOddsTicksParams
	status  statusRows
}

// oddsDays returns the times of the odds to insert, for partition upkeep.
func (r *rowSet) oddsDays() []time.Time { return r.odds.ObservedAts }

func (r *rowSet) empty() bool {
	return len(r.odds.GameIds) == 0 && len(r.games.GameIds) == 0 && len(r.delOdds.GameIds) == 0 && r.status.empty()
}

// splitTime splits t into Postgres's microseconds and the nanoseconds past
// them.
func splitTime(t time.Time) (time.Time, int16) {
	t = t.UTC()
	return t.Truncate(time.Microsecond), int16(t.Nanosecond() % 1000)
}

// buildRows turns changes (already checked) into rows. TTL expiries are
// left out: they do not delete report rows; so are leases. Market statuses
// and provider liveness become the rows of statusRows. Within the set, a game keeps its
// newest change (a REMOVE wins over a change of the same version); an odds
// item keeps one row per version (a correction is a version of its own) and
// a REMOVE drops the versions before it (they are deleted, with all stored
// ones; applyRows deletes before it inserts, so versions written after a
// REMOVE survive it). So no statement touches a row twice.
func buildRows(changes []feed.Change) *rowSet {
	r := &rowSet{}
	games := map[string]int{} // game id -> index into chosen
	var chosen []feed.Change
	var ov oddsVersions
	var ss statusSet
	for _, c := range changes {
		if c.Expired || checkChange(c) != nil {
			continue
		}
		switch c.ItemType {
		case feed.TypeGame:
			g := gameOf(c)
			if i, ok := games[g.ID]; ok {
				cur := chosen[i]
				if c.Version > cur.Version || (c.Version == cur.Version && c.Kind == feed.ChangeRemove) {
					chosen[i] = c
				}
				continue
			}
			games[g.ID] = len(chosen)
			chosen = append(chosen, c)
		case feed.TypeOdds:
			ov.add(c)
		case feed.TypeMarket, feed.TypeProvider:
			ss.add(c)
		}
	}
	r.status = ss.rows()
	for _, c := range chosen {
		g := gameOf(c)
		p := &r.games
		p.GameIds = append(p.GameIds, g.ID)
		p.Sports = append(p.Sports, g.Sport)
		p.Summaries = append(p.Summaries, g.Summary)
		p.Venues = append(p.Venues, g.Venue)
		p.GameDates = append(p.GameDates, g.GameDate.UTC())
		p.Statuses = append(p.Statuses, string(g.Status))
		p.HomeTeams = append(p.HomeTeams, g.HomeTeam)
		p.AwayTeams = append(p.AwayTeams, g.AwayTeam)
		p.Versions = append(p.Versions, max(g.Version, c.Version))
		p.UpdatedAts = append(p.UpdatedAts, g.UpdatedAt.UTC())
		p.Deleted = append(p.Deleted, c.Kind == feed.ChangeRemove)
	}
	for _, o := range ov.removed {
		at, ns := splitTime(o.ObservedAt)
		d := &r.delOdds
		d.GameIds = append(d.GameIds, o.GameID)
		d.Providers = append(d.Providers, o.Provider)
		d.ObservedAts = append(d.ObservedAts, at)
		d.ObservedNs = append(d.ObservedNs, ns)
		d.Markets = append(d.Markets, string(o.Market.Or()))
		d.Periods = append(d.Periods, string(o.Period.Or()))
	}
	for i, o := range ov.rows {
		if !ov.dropped[i] {
			at, ns := splitTime(o.ObservedAt)
			r.addOdds(o, at, ns)
		}
	}
	r.pickLatest()
	return r
}

// oddsVersion is one version of an odds item: one row of odds_ticks.
type oddsVersion struct {
	key     feed.Key
	version int64
}

// oddsVersions collects the odds rows to write and the items to remove of
// a set of changes, in their order.
type oddsVersions struct {
	rows    []feed.Odds // one per version; later duplicates replace earlier
	dropped []bool      // rows[i] was removed later in the set
	index   map[oddsVersion]int
	byKey   map[feed.Key][]int
	removed []feed.Odds // images of removed items, one per key
	gone    map[feed.Key]bool
}

func (v *oddsVersions) add(c feed.Change) {
	if v.index == nil {
		v.index, v.byKey, v.gone = map[oddsVersion]int{}, map[feed.Key][]int{}, map[feed.Key]bool{}
	}
	o := oddsOf(c)
	k := o.Key()
	if c.Kind == feed.ChangeRemove {
		for _, i := range v.byKey[k] {
			v.dropped[i] = true
			delete(v.index, oddsVersion{k, v.rows[i].Version})
		}
		delete(v.byKey, k)
		if !v.gone[k] {
			v.gone[k] = true
			v.removed = append(v.removed, o)
		}
		return
	}
	// The item's version; the change's for an image without one.
	o.Version = max(o.Version, c.Version)
	ovk := oddsVersion{k, o.Version}
	if i, ok := v.index[ovk]; ok {
		v.rows[i] = o
		return
	}
	v.index[ovk] = len(v.rows)
	v.byKey[k] = append(v.byKey[k], len(v.rows))
	v.rows = append(v.rows, o)
	v.dropped = append(v.dropped, false)
}

func (r *rowSet) addOdds(o feed.Odds, at time.Time, ns int16) {
	p := &r.odds
	p.GameIds = append(p.GameIds, o.GameID)
	p.Providers = append(p.Providers, o.Provider)
	p.ObservedAts = append(p.ObservedAts, at)
	p.ObservedNs = append(p.ObservedNs, ns)
	p.Markets = append(p.Markets, string(o.Market.Or()))
	p.Periods = append(p.Periods, string(o.Period.Or()))
	p.AwaySpreads = append(p.AwaySpreads, o.AwaySpread)
	p.HomeSpreads = append(p.HomeSpreads, o.HomeSpread)
	p.AwayOdds = append(p.AwayOdds, int32(o.AwayOdds))
	p.HomeOdds = append(p.HomeOdds, int32(o.HomeOdds))
	p.Lines = append(p.Lines, o.Line)
	p.DrawOdds = append(p.DrawOdds, int32(o.DrawOdds))
	p.OverOdds = append(p.OverOdds, int32(o.OverOdds))
	p.UnderOdds = append(p.UnderOdds, int32(o.UnderOdds))
	p.Versions = append(p.Versions, o.Version)
	p.ReceivedAts = append(p.ReceivedAts, o.ReceivedAt.UTC())
}

// pickLatest fills r.latest with the newest odds of each game, provider,
// market and period among r.odds.
func (r *rowSet) pickLatest() {
	p := &r.odds
	newest := map[[4]string]int{} // (game, provider, market, period) -> index into p
	var order []int
	for i := range p.GameIds {
		k := [4]string{p.GameIds[i], p.Providers[i], p.Markets[i], p.Periods[i]}
		j, ok := newest[k]
		if !ok {
			newest[k] = i
			order = append(order, i)
			continue
		}
		if newer(p.ObservedAts[i], p.ObservedNs[i], p.Versions[i], p.ObservedAts[j], p.ObservedNs[j], p.Versions[j]) {
			newest[k] = i
		}
	}
	l := &r.latest
	for _, first := range order {
		i := newest[[4]string{p.GameIds[first], p.Providers[first], p.Markets[first], p.Periods[first]}]
		l.GameIds = append(l.GameIds, p.GameIds[i])
		l.Providers = append(l.Providers, p.Providers[i])
		l.ObservedAts = append(l.ObservedAts, p.ObservedAts[i])
		l.ObservedNs = append(l.ObservedNs, p.ObservedNs[i])
		l.Markets = append(l.Markets, p.Markets[i])
		l.Periods = append(l.Periods, p.Periods[i])
		l.AwaySpreads = append(l.AwaySpreads, p.AwaySpreads[i])
		l.HomeSpreads = append(l.HomeSpreads, p.HomeSpreads[i])
		l.AwayOdds = append(l.AwayOdds, p.AwayOdds[i])
		l.HomeOdds = append(l.HomeOdds, p.HomeOdds[i])
		l.Lines = append(l.Lines, p.Lines[i])
		l.DrawOdds = append(l.DrawOdds, p.DrawOdds[i])
		l.OverOdds = append(l.OverOdds, p.OverOdds[i])
		l.UnderOdds = append(l.UnderOdds, p.UnderOdds[i])
		l.Versions = append(l.Versions, p.Versions[i])
		l.ReceivedAts = append(l.ReceivedAts, p.ReceivedAts[i])
	}
}

// newer orders odds of one game, provider, market and period as
// latest_odds does.
func newer(at time.Time, ns int16, v int64, at2 time.Time, ns2 int16, v2 int64) bool {
	if !at.Equal(at2) {
		return at.After(at2)
	}
	if ns != ns2 {
		return ns > ns2
	}
	return v > v2
}

func gameOf(c feed.Change) feed.Game {
	if c.Kind == feed.ChangeRemove {
		return *c.OldGame
	}
	return *c.NewGame
}

func oddsOf(c feed.Change) feed.Odds {
	if c.Kind == feed.ChangeRemove {
		return *c.OldOdds
	}
	return *c.NewOdds
}

// isRecordError reports whether err is due to the data of the records
// being applied (so isolating and parking them helps), not to the database
// being unreachable or broken (so retrying later helps).
func isRecordError(err error) bool {
	if errors.Is(err, errBadChange) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || isNoPartition(err) || isDuplicateTick(err) {
		return false
	}
	switch pe.Code[:2] {
	case "22", // data exception: bad encoding, out of range
		"23", // integrity constraint violation
		"54", // program limit exceeded: row or value too large
		"P0": // raised by a trigger
		return true
	}
	return false
}

// isDuplicateTick reports whether err is the fast path's insert meeting a
// tick that is stored already (then the safe insert is used).
func isDuplicateTick(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && strings.HasPrefix(pe.TableName, "odds_ticks")
}

// isDeadlock reports whether err is a transaction Postgres aborted to
// break a deadlock (or a serialization failure): running it again helps.
func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// isNoPartition reports whether err is an insert that found no partition
// for its row (another replica dropped it since we checked).
func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition of relation")
}

// cmpPosition compares two stream positions, decimal numbers of any length
// (Kinesis sequence numbers, log seqs): -1, 0 or +1. "" is before anything.
func cmpPosition(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return strings.Compare(a, b)
}

// validPosition reports whether p is a decimal position.
func validPosition(p string) bool {
	if p == "" || len(p) > 128 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

package reporting

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// statusRows are the rows of a set of TYPE=MARKET and TYPE=PROVIDER
// changes (see markets.sql): one per key in each array, in key order.
type statusRows struct {
	markets     db.UpsertMarketsParams
	history     db.InsertMarketHistoryParams
	settlements db.InsertSettlementsParams
	ended       db.EndSettlementsParams // markets whose settlements a version may have ended
	downs       db.InsertOutageDownsParams
	ups         db.UpsertOutageUpsParams
}

func (s *statusRows) empty() bool {
	return len(s.markets.GameIds) == 0 && len(s.history.GameIds) == 0 && len(s.downs.Providers) == 0 && len(s.ups.Providers) == 0
}

// checkStatusChange reports why a TYPE=MARKET or TYPE=PROVIDER change
// cannot be applied, or nil.
func checkStatusChange(c feed.Change) error {
	remove := c.Kind == feed.ChangeRemove
	switch c.ItemType {
	case feed.TypeMarket:
		m := c.NewMarket
		if remove {
			m = c.OldMarket
		}
		if m == nil {
			return fmt.Errorf("%w: %s of a market status without its image", errBadChange, c.Kind)
		}
		if m.GameID == "" || !m.Market.Valid() || !m.Period.Valid() {
			return fmt.Errorf("%w: market status %q %q/%q", errBadChange, m.GameID, m.Market, m.Period)
		}
	case feed.TypeProvider:
		// A removal of a liveness item changes no report: it is skipped.
		if !remove && c.NewProvider == nil {
			return fmt.Errorf("%w: %s of a provider status without its image", errBadChange, c.Kind)
		}
		if !remove && c.NewProvider.Provider == "" {
			return fmt.Errorf("%w: provider status without a provider", errBadChange)
		}
	}
	return nil
}

// marketKey names one market of a game.
type marketKey struct{ game, market, period string }

func keyOfMarket(s feed.MarketStatus) marketKey {
	return marketKey{s.GameID, string(s.Market.Or()), string(s.Period.Or())}
}

func cmpMarketKey(a, b marketKey) int {
	return cmp.Or(cmp.Compare(a.game, b.game), cmp.Compare(a.market, b.market), cmp.Compare(a.period, b.period))
}

// marketVersion is one version of a market status.
type marketVersion struct {
	key     marketKey
	version int64
}

// outageKey is one outage: a provider and when it was marked down.
type outageKey struct {
	provider string
	downAt   time.Time // to the microsecond, as Postgres keeps it
}

// statusSet collects the market and provider changes of a set.
type statusSet struct {
	current map[marketKey]feed.Change // newest change of each market
	history map[marketVersion]feed.MarketStatus
	downs   map[outageKey]feed.ProviderStatus
	ups     map[outageKey]time.Time // earliest last heard after the down
}

func (s *statusSet) add(c feed.Change) {
	if s.current == nil {
		s.current, s.history = map[marketKey]feed.Change{}, map[marketVersion]feed.MarketStatus{}
		s.downs, s.ups = map[outageKey]feed.ProviderStatus{}, map[outageKey]time.Time{}
	}
	switch c.ItemType {
	case feed.TypeMarket:
		s.addMarket(c)
	case feed.TypeProvider:
		if c.Kind != feed.ChangeRemove {
			s.addProvider(*c.NewProvider)
		}
	}
}

func (s *statusSet) addMarket(c feed.Change) {
	m := marketOf(c)
	k := keyOfMarket(m)
	if cur, ok := s.current[k]; !ok || c.Version > cur.Version || (c.Version == cur.Version && c.Kind == feed.ChangeRemove) {
		s.current[k] = c
	}
	if c.Kind != feed.ChangeRemove {
		s.history[marketVersion{k, m.Version}] = m
	}
}

func (s *statusSet) addProvider(p feed.ProviderStatus) {
	if p.DownAt.IsZero() {
		return // never down
	}
	k := outageKey{p.Provider, p.DownAt.UTC().Truncate(time.Microsecond)}
	switch p.State {
	case feed.ProviderDown:
		if cur, ok := s.downs[k]; !ok || p.Version > cur.Version {
			s.downs[k] = p
		}
	case feed.ProviderUp:
		// Every version after the down carries its DownAt; the earliest
		// LastHeard among them is when the provider was heard again.
		if p.LastHeard.Before(p.DownAt) {
			return
		}
		if t, ok := s.ups[k]; !ok || p.LastHeard.Before(t) {
			s.ups[k] = p.LastHeard
		}
	}
}

// marketOf returns the change's image with the item's version (the
// change's for an image without one).
func marketOf(c feed.Change) feed.MarketStatus {
	var m feed.MarketStatus
	if c.Kind == feed.ChangeRemove {
		m = *c.OldMarket
	} else {
		m = *c.NewMarket
	}
	m.Version = max(m.Version, c.Version)
	return m
}

// rows turns the set into the arrays of markets.sql.
func (s *statusSet) rows() statusRows {
	var r statusRows
	for _, k := range sortedKeys(s.current, cmpMarketKey) {
		c := s.current[k]
		m := marketOf(c)
		p := &r.markets
		p.GameIds = append(p.GameIds, k.game)
		p.Markets = append(p.Markets, k.market)
		p.Periods = append(p.Periods, k.period)
		p.Statuses = append(p.Statuses, string(m.State))
		p.Reasons = append(p.Reasons, m.Reason)
		p.Notes = append(p.Notes, m.Note)
		p.Results = append(p.Results, resultsJSON(m.Results))
		p.Prevs = append(p.Prevs, string(m.Prev))
		p.ChangedBys = append(p.ChangedBys, m.By)
		p.ByTraders = append(p.ByTraders, m.ByTrader)
		p.Ats = append(p.Ats, m.At.UTC())
		p.Versions = append(p.Versions, m.Version)
		p.UpdatedAts = append(p.UpdatedAts, m.UpdatedAt.UTC())
		p.Deleted = append(p.Deleted, c.Kind == feed.ChangeRemove)
		if c.Kind != feed.ChangeRemove {
			e := &r.ended
			e.GameIds = append(e.GameIds, k.game)
			e.Markets = append(e.Markets, k.market)
			e.Periods = append(e.Periods, k.period)
		}
	}
	for _, v := range sortedKeys(s.history, func(a, b marketVersion) int {
		return cmp.Or(cmpMarketKey(a.key, b.key), cmp.Compare(a.version, b.version))
	}) {
		m := s.history[v]
		h := &r.history
		h.GameIds = append(h.GameIds, v.key.game)
		h.Markets = append(h.Markets, v.key.market)
		h.Periods = append(h.Periods, v.key.period)
		h.Versions = append(h.Versions, v.version)
		h.Statuses = append(h.Statuses, string(m.State))
		h.Reasons = append(h.Reasons, m.Reason)
		h.Notes = append(h.Notes, m.Note)
		h.Results = append(h.Results, resultsJSON(m.Results))
		h.Prevs = append(h.Prevs, string(m.Prev))
		h.ChangedBys = append(h.ChangedBys, m.By)
		h.ByTraders = append(h.ByTraders, m.ByTrader)
		h.Ats = append(h.Ats, m.At.UTC())
		h.UpdatedAts = append(h.UpdatedAts, m.UpdatedAt.UTC())
		if m.State == feed.MarketSettled || m.State == feed.MarketCancelled {
			st := &r.settlements
			st.GameIds = append(st.GameIds, v.key.game)
			st.Markets = append(st.Markets, v.key.market)
			st.Periods = append(st.Periods, v.key.period)
			st.Versions = append(st.Versions, v.version)
			st.Kinds = append(st.Kinds, string(m.State))
			st.Results = append(st.Results, resultsJSON(m.Results))
			st.ChangedBys = append(st.ChangedBys, m.By)
			st.ByTraders = append(st.ByTraders, m.ByTrader)
			st.Ats = append(st.Ats, m.At.UTC())
		}
	}
	cmpOutage := func(a, b outageKey) int {
		return cmp.Or(cmp.Compare(a.provider, b.provider), a.downAt.Compare(b.downAt))
	}
	for _, k := range sortedKeys(s.downs, cmpOutage) {
		p := s.downs[k]
		d := &r.downs
		d.Providers = append(d.Providers, k.provider)
		d.DownAts = append(d.DownAts, k.downAt)
		d.DownVersions = append(d.DownVersions, p.Version)
		d.SilentSinces = append(d.SilentSinces, p.LastHeard.UTC())
		d.DecidedBys = append(d.DecidedBys, p.DecidedBy)
	}
	for _, k := range sortedKeys(s.ups, cmpOutage) {
		u := &r.ups
		u.Providers = append(u.Providers, k.provider)
		u.DownAts = append(u.DownAts, k.downAt)
		u.HeardAts = append(u.HeardAts, s.ups[k].UTC())
	}
	return r
}

// sortedKeys returns the keys of m in the order of cmpKey.
func sortedKeys[K comparable, V any](m map[K]V, cmpKey func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpKey)
	return keys
}

// resultsJSON is a market's results as the jsonb the tables keep
// ({"home":"win",...}; {} for none).
func resultsJSON(r map[feed.Outcome]feed.Result) string {
	if len(r) == 0 {
		return "{}"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "{}" // a map of strings always marshals
	}
	return string(b)
}

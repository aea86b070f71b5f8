package feed

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MarketItem maps a market status to its stored item.
func MarketItem(s MarketStatus) Item {
	it := Item{
		AttrPK:        S(GamePK(s.GameID)),
		AttrSK:        S(MarketSK(s.Market, s.Period)),
		AttrType:      S(TypeMarket),
		AttrVersion:   N(strconv.FormatInt(s.Version, 10)),
		AttrGameID:    S(s.GameID),
		AttrMarket:    S(string(s.Market.Or())),
		AttrPeriod:    S(string(s.Period.Or())),
		AttrStatus:    S(string(s.State)),
		AttrAt:        S(KeyTime(s.At)),
		AttrUpdatedAt: S(KeyTime(s.UpdatedAt)),
	}
	putOpt(it, AttrReason, s.Reason)
	putOpt(it, AttrNote, s.Note)
	putOpt(it, AttrResults, EncodeResults(s.Results))
	putOpt(it, AttrPrev, string(s.Prev))
	putOpt(it, AttrBy, s.By)
	putOptNum(it, AttrByTrader, "1", s.ByTrader)
	return it
}

// DecodeMarket maps a stored market status item back to a MarketStatus.
func DecodeMarket(it Item) (MarketStatus, error) {
	if t := it.Type(); t != TypeMarket {
		return MarketStatus{}, fmt.Errorf("decode market: %w %q", ErrUnknownItemType, t)
	}
	d := decoder{it: it}
	s := MarketStatus{
		GameID:    d.str(AttrGameID),
		Market:    Market(d.str(AttrMarket)),
		Period:    Period(d.str(AttrPeriod)),
		State:     MarketState(d.str(AttrStatus)),
		Reason:    it[AttrReason].S,
		Note:      it[AttrNote].S,
		Prev:      MarketState(it[AttrPrev].S),
		By:        it[AttrBy].S,
		ByTrader:  d.optInt(AttrByTrader) == 1,
		At:        d.time(AttrAt),
		Version:   d.int(AttrVersion),
		UpdatedAt: d.time(AttrUpdatedAt),
	}
	if r := it[AttrResults].S; r != "" {
		res, err := DecodeResults(r)
		if err != nil {
			d.fail(AttrResults, err.Error())
		}
		s.Results = res
	}
	if d.err != nil {
		return MarketStatus{}, fmt.Errorf("decode market %s %s: %w", it[AttrPK].S, it[AttrSK].S, d.err)
	}
	return s, nil
}

// EncodeResults writes results as "outcome=result" pairs in outcome order,
// separated by spaces ("" for none).
func EncodeResults(r map[Outcome]Result) string {
	if len(r) == 0 {
		return ""
	}
	parts := make([]string, 0, len(r))
	for out, res := range r {
		parts = append(parts, string(out)+"="+string(res))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// DecodeResults reads what EncodeResults wrote.
func DecodeResults(s string) (map[Outcome]Result, error) {
	r := map[Outcome]Result{}
	for p := range strings.FieldsSeq(s) {
		out, res, ok := strings.Cut(p, "=")
		if !ok || out == "" || !Result(res).Valid() {
			return nil, fmt.Errorf("bad result %q", p)
		}
		r[Outcome(out)] = Result(res)
	}
	return r, nil
}

// ProviderItem maps a provider's liveness to its stored item.
func ProviderItem(s ProviderStatus) Item {
	it := Item{
		AttrPK:        S(ProvidersPK),
		AttrSK:        S(ProviderPrefix + s.Provider),
		AttrType:      S(TypeProvider),
		AttrVersion:   N(strconv.FormatInt(s.Version, 10)),
		AttrProvider:  S(s.Provider),
		AttrStatus:    S(string(s.State)),
		AttrLastHeard: S(KeyTime(s.LastHeard)),
	}
	if !s.DownAt.IsZero() {
		it[AttrDownAt] = S(KeyTime(s.DownAt))
	}
	putOpt(it, AttrDecidedBy, s.DecidedBy)
	return it
}

// DecodeProvider maps a stored liveness item back to a ProviderStatus.
func DecodeProvider(it Item) (ProviderStatus, error) {
	if t := it.Type(); t != TypeProvider {
		return ProviderStatus{}, fmt.Errorf("decode provider: %w %q", ErrUnknownItemType, t)
	}
	d := decoder{it: it}
	s := ProviderStatus{
		Provider:  d.str(AttrProvider),
		State:     ProviderState(d.str(AttrStatus)),
		LastHeard: d.time(AttrLastHeard),
		DecidedBy: it[AttrDecidedBy].S,
		Version:   d.int(AttrVersion),
	}
	if _, ok := it[AttrDownAt]; ok {
		s.DownAt = d.time(AttrDownAt)
	}
	if d.err != nil {
		return ProviderStatus{}, fmt.Errorf("decode provider %s: %w", it[AttrSK].S, d.err)
	}
	return s, nil
}

// LeaseItem maps a lease to its stored item.
func LeaseItem(l Lease) Item {
	return Item{
		AttrPK:           S(LeasesPK),
		AttrSK:           S(LeasePrefix + l.Name),
		AttrType:         S(TypeLease),
		AttrVersion:      N("1"),
		AttrName:         S(l.Name),
		AttrHolder:       S(l.Holder),
		AttrLeaseExpires: S(KeyTime(l.Expires)),
	}
}

// DecodeLease maps a stored lease item back to a Lease.
func DecodeLease(it Item) (Lease, error) {
	if t := it.Type(); t != TypeLease {
		return Lease{}, fmt.Errorf("decode lease: %w %q", ErrUnknownItemType, t)
	}
	d := decoder{it: it}
	l := Lease{Name: d.str(AttrName), Holder: d.str(AttrHolder), Expires: d.time(AttrLeaseExpires)}
	if d.err != nil {
		return Lease{}, fmt.Errorf("decode lease %s: %w", it[AttrSK].S, d.err)
	}
	return l, nil
}

// LeaseFree reports whether holder may take (or keep) lease cur at now:
// none stands, it has expired, or holder holds it.
func LeaseFree(cur Lease, found bool, holder string, now time.Time) bool {
	return !found || cur.Holder == holder || !now.Before(cur.Expires)
}

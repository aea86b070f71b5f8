package embedded

import (
	"bytes"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

var fuzzTime = time.Date(2026, 11, 23, 17, 31, 2, 120e6, time.UTC)

func fuzzOdds() feed.Odds {
	return feed.Odds{GameID: "g1", Provider: "acme", ObservedAt: fuzzTime, AwaySpread: 0.5, HomeSpread: -0.5,
		AwayOdds: -110, HomeOdds: 105, ReceivedAt: fuzzTime.Add(time.Second), Version: 2}
}

// fuzzQuote is a quote of a three-way market on the first half.
func fuzzQuote() feed.Odds {
	o := fuzzOdds()
	o.Market, o.Period, o.AwaySpread, o.HomeSpread, o.DrawOdds = feed.MarketThreeWay, feed.PeriodFirstHalf, 0, 0, 240
	return o
}

// fuzzStatusItems are a market status, a provider's liveness and a lease.
func fuzzStatusItems() []feed.Item {
	settled := feed.MarketStatus{GameID: "g1", Market: feed.MarketTotal, Period: feed.PeriodFull, State: feed.MarketSettled,
		Prev: feed.MarketClosed, By: "p1", At: fuzzTime, Version: 4, UpdatedAt: fuzzTime}
	settled.Results = map[feed.Outcome]feed.Result{feed.OutcomeOver: feed.ResultWin, feed.OutcomeUnder: feed.ResultLose}
	return []feed.Item{
		feed.MarketItem(settled),
		feed.ProviderItem(feed.ProviderStatus{Provider: "p1", State: feed.ProviderDown, LastHeard: fuzzTime, DownAt: fuzzTime,
			DecidedBy: "r1", Version: 2}),
		feed.LeaseItem(feed.Lease{Name: "liveness", Holder: "r1", Expires: fuzzTime}),
	}
}

func fuzzGame() feed.Game {
	return feed.Game{ID: "g1", Sport: "soccer", Summary: "A v B", GameDate: fuzzTime, Status: feed.StatusLive, Version: 3, UpdatedAt: fuzzTime}
}

// FuzzDecodeItem: bytes read from the store file decode to an error
// wrapping errCorrupt or to an item whose encoding decodes to it again.
func FuzzDecodeItem(f *testing.F) {
	o := fuzzOdds()
	enc := newOddsEncoder(&o)
	f.Add(enc.appendItem(nil, fuzzTime.Add(time.Hour), "abc def"))
	f.Add(appendItem(nil, feed.GameItem(fuzzGame())))
	for _, it := range fuzzStatusItems() {
		f.Add(appendItem(nil, it))
	}
	q := fuzzQuote()
	qenc := newOddsEncoder(&q)
	f.Add(qenc.appendItem(nil, fuzzTime, ""))
	f.Add(appendItem(nil, feed.Item{"custom": feed.N("1"), feed.AttrPK: feed.S("")}))
	f.Add([]byte{itemFormat, 0x7f, 0})       // unknown code
	f.Add([]byte{itemFormat, 1, 0xff, 0xff}) // bad length
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeItem(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		again, err := decodeItem(appendItem(nil, it))
		if err != nil || !maps.Equal(again, it) {
			t.Fatalf("re-encoded item: %v, %v; want %v", again, err, it)
		}
		// The typed decoders take any item without a panic.
		_, _ = feed.DecodeGame(it)
		_, _ = feed.DecodeOdds(it)
		_, _ = feed.DecodeMarket(it)
		_, _ = feed.DecodeProvider(it)
		_, _ = feed.DecodeLease(it)
	})
}

// FuzzDecodeEntry: a change-log entry read from the store file decodes to
// an error wrapping errCorrupt or to an entry that encodes back to the same
// entry; mapping it to a Change never panics, and a Change has a kind.
func FuzzDecodeEntry(f *testing.F) {
	o := fuzzOdds()
	enc := newOddsEncoder(&o)
	oddsItem := enc.appendItem(nil, time.Time{}, "")
	sk := feed.OddsSK(o.ObservedAt, o.Provider)
	f.Add(append(appendEntryHead(nil, kindInsert, fuzzTime, "GAME#g1", sk, nil), oddsItem...))
	f.Add(append(appendEntryHead(nil, kindModify, fuzzTime, "GAME#g1", sk, oddsItem), oddsItem...))
	gameItem := appendItem(nil, feed.GameItem(fuzzGame()))
	rm := appendEntryHead(nil, kindRemove, fuzzTime, "GAME#g1", feed.MetaSK, gameItem)
	rm[2] |= flagExpired
	f.Add(rm)
	for _, it := range fuzzStatusItems() {
		k, item := it.Key(), appendItem(nil, it)
		f.Add(append(appendEntryHead(nil, kindModify, fuzzTime, k.PK, k.SK, item), item...))
	}
	q := fuzzQuote()
	qenc := newOddsEncoder(&q)
	f.Add(append(appendEntryHead(nil, kindInsert, fuzzTime, "GAME#g1", q.Key().SK, nil), qenc.appendItem(nil, time.Time{}, "")...))
	f.Add(appendEntryHead(nil, 'X', time.Unix(0, -1), "", "", nil))
	f.Add([]byte{entryFormat, kindInsert, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decodeEntry(v)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		re := append(appendEntryHead(nil, e.kind, e.at, e.pk, e.sk, e.old), e.new...)
		if e.expired {
			re[2] |= flagExpired
		}
		again, err := decodeEntry(re)
		if err != nil || again.kind != e.kind || again.expired != e.expired || !again.at.Equal(e.at) || again.pk != e.pk ||
			again.sk != e.sk || !bytes.Equal(again.old, e.old) || !bytes.Equal(again.new, e.new) {
			t.Fatalf("re-encoded entry: %+v, %v; want %+v", again, err, e)
		}
		c, err := e.change(7)
		if err != nil {
			return
		}
		switch c.Kind {
		case feed.ChangeInsert, feed.ChangeModify, feed.ChangeRemove:
		default:
			t.Fatalf("change of kind %q", c.Kind)
		}
		if c.Key.PK != e.pk || c.Key.SK != e.sk || c.Position != "7" {
			t.Fatalf("change %+v of entry %+v", c, e)
		}
	})
}

// FuzzDecodeCursor: a client's page cursor is ErrBadCursor or the non-empty
// last key of a cursor of the same query, which encodes back to a cursor
// decoding to it; a cursor is never accepted for another query.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(oddsCursorTag, "g1", feed.OddsSK(fuzzTime, "acme")), "g1", uint8(0))
	f.Add(encodeCursor(gameCursorTag, "live", "2026-11-23T17:00:00.000000000Z#g1"), "live", uint8(1))
	f.Add(encodeCursor(scanCursorTag, "1/4", "GAME#g1\x00META"), "1/4", uint8(2))
	f.Add(encodeCursor(oddsCursorTag, "g1", ""), "g1", uint8(0))
	f.Add("Tw", "", uint8(0))
	f.Add("!", "g1", uint8(1))
	tags := []byte{oddsCursorTag, gameCursorTag, scanCursorTag}
	f.Fuzz(func(t *testing.T, cursor, query string, which uint8) {
		tag := tags[int(which)%len(tags)]
		last, err := decodeCursor(cursor, tag, query)
		if err != nil {
			if !errors.Is(err, store.ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
		} else {
			if last == "" {
				t.Fatal("accepted a cursor without a last key")
			}
			again, err := decodeCursor(encodeCursor(tag, query, last), tag, query)
			if err != nil || again != last {
				t.Fatalf("re-encoded cursor: %q, %v; want %q", again, err, last)
			}
		}
		// A cursor made for this query is not one of another tag.
		if last == "" {
			last = "x"
		}
		c := encodeCursor(tag, query, last)
		if got, err := decodeCursor(c, tag, query); err != nil || got != last {
			t.Fatalf("own cursor: %q, %v; want %q", got, err, last)
		}
		if _, err := decodeCursor(c, tags[(int(which)+1)%len(tags)], query); err == nil {
			t.Fatalf("cursor of tag %c accepted for another tag", tag)
		}
	})
}

package embedded

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// The hot path of PutOdds encodes odds straight into the transaction's
// arena, without building a feed.Item map: it writes exactly the item that
// feed.OddsItem maps odds to (TestOddsEncodingMatchesFeed holds it to that),
// in the encoding appendItem writes.

// keyTimeLayout is feed.KeyTime's layout, for appending without allocating.
const keyTimeLayout = "2006-01-02T15:04:05.000000000Z"

// oddsEncoder formats the parts of one odds item once.
type oddsEncoder struct {
	o        *feed.Odds
	observed string // KeyTime(ObservedAt)
}

func newOddsEncoder(o *feed.Odds) oddsEncoder {
	return oddsEncoder{o: o, observed: feed.KeyTime(o.ObservedAt)}
}

// pkLen is the length of the item's PK.
func (e *oddsEncoder) pkLen() int { return len(feed.GamePrefix) + len(e.o.GameID) }

// appendPK appends GamePK(GameID).
func (e *oddsEncoder) appendPK(dst []byte) []byte {
	return append(append(dst, feed.GamePrefix...), e.o.GameID...)
}

// appendSK appends the odds' SK: OddsSK(ObservedAt, Provider) for a
// full-game spread, QuoteSK for a quote of another market.
func (e *oddsEncoder) appendSK(dst []byte) []byte {
	dst = append(append(dst, feed.OddsPrefix...), e.observed...)
	dst = append(append(dst, '#'), e.o.Provider...)
	if !e.o.IsFullGameSpread() {
		dst = e.appendMarket(append(dst, '#'))
	}
	return dst
}

// appendMarket appends <market>#<period>.
func (e *oddsEncoder) appendMarket(dst []byte) []byte {
	return append(append(append(dst, e.o.Market.Or()...), '#'), e.o.Period.Or()...)
}

// appendLSI1SK appends the odds' LSI1SK: ProviderSK(Provider, ObservedAt)
// for a full-game spread, QuoteProviderSK for a quote of another market.
func (e *oddsEncoder) appendLSI1SK(dst []byte) []byte {
	if e.o.IsFullGameSpread() {
		dst = append(append(dst, feed.OddsPrefix...), e.o.Provider...)
	} else {
		dst = append(append(dst, feed.QuotePrefix...), e.o.Provider...)
		dst = e.appendMarket(append(dst, '#'))
	}
	return append(append(dst, '#'), e.observed...)
}

// appendKey appends the bbolt key of the item: PK \x00 SK.
func (e *oddsEncoder) appendKey(dst []byte) []byte {
	return e.appendSK(append(e.appendPK(dst), 0))
}

// appendItem appends the encoding of feed.OddsItemVersion(*o, expire, prior).
func (e *oddsEncoder) appendItem(dst []byte, expire time.Time, prior string) []byte {
	o := e.o
	dst = append(dst, itemFormat)
	dst = appendAttr(dst, feed.AttrPK, false, e.appendPK)
	dst = appendAttr(dst, feed.AttrSK, false, e.appendSK)
	dst = appendAttr(dst, feed.AttrType, false, func(b []byte) []byte { return append(b, feed.TypeOdds...) })
	dst = appendAttr(dst, feed.AttrVersion, true, func(b []byte) []byte { return strconv.AppendInt(b, o.Version, 10) })
	dst = appendAttr(dst, feed.AttrLSI1SK, false, e.appendLSI1SK)
	dst = appendAttr(dst, feed.AttrGameID, false, func(b []byte) []byte { return append(b, o.GameID...) })
	dst = appendAttr(dst, feed.AttrProvider, false, func(b []byte) []byte { return append(b, o.Provider...) })
	dst = appendAttr(dst, feed.AttrObservedAt, false, func(b []byte) []byte { return append(b, e.observed...) })
	dst = appendAttr(dst, feed.AttrReceivedAt, false, func(b []byte) []byte {
		return o.ReceivedAt.UTC().AppendFormat(b, keyTimeLayout)
	})
	dst = appendAttr(dst, feed.AttrAway, true, func(b []byte) []byte { return strconv.AppendFloat(b, o.AwaySpread, 'f', -1, 64) })
	dst = appendAttr(dst, feed.AttrHome, true, func(b []byte) []byte { return strconv.AppendFloat(b, o.HomeSpread, 'f', -1, 64) })
	dst = appendAttr(dst, feed.AttrAwayOdds, true, func(b []byte) []byte { return strconv.AppendInt(b, int64(o.AwayOdds), 10) })
	dst = appendAttr(dst, feed.AttrHomeOdds, true, func(b []byte) []byte { return strconv.AppendInt(b, int64(o.HomeOdds), 10) })
	dst = appendAttr(dst, feed.AttrCreated, true, func(b []byte) []byte { return strconv.AppendInt(b, o.ReceivedAt.Unix(), 10) })
	if !expire.IsZero() {
		dst = appendAttr(dst, feed.AttrExpire, true, func(b []byte) []byte { return strconv.AppendInt(b, expire.Unix(), 10) })
	}
	if prior != "" {
		dst = appendAttr(dst, feed.AttrPrior, false, func(b []byte) []byte { return append(b, prior...) })
	}
	if !o.IsFullGameSpread() {
		dst = appendAttr(dst, feed.AttrMarket, false, func(b []byte) []byte { return append(b, o.Market.Or()...) })
		dst = appendAttr(dst, feed.AttrPeriod, false, func(b []byte) []byte { return append(b, o.Period.Or()...) })
	}
	if o.Line != 0 {
		dst = appendAttr(dst, feed.AttrLine, true, func(b []byte) []byte { return strconv.AppendFloat(b, o.Line, 'f', -1, 64) })
	}
	for _, p := range [...]struct {
		name string
		v    int
	}{{feed.AttrDrawOdds, o.DrawOdds}, {feed.AttrOverOdds, o.OverOdds}, {feed.AttrUnderOdds, o.UnderOdds}} {
		if p.v != 0 {
			dst = appendAttr(dst, p.name, true, func(b []byte) []byte { return strconv.AppendInt(b, int64(p.v), 10) })
		}
	}
	return dst
}

// appendAttr appends one well-known attribute whose value value appends.
// The length is reserved as one byte and fixed up after (values under 128
// bytes, which ids of at most 64 characters guarantee, need no move).
func appendAttr(dst []byte, name string, number bool, value func([]byte) []byte) []byte {
	code := attrCodes[name]
	if number {
		code |= numberFlag
	}
	dst = append(dst, code, 0)
	start := len(dst)
	dst = value(dst)
	n := len(dst) - start
	if n < 0x80 {
		dst[start-1] = byte(n)
		return dst
	}
	// Rare: a longer value needs a multi-byte length.
	v := append([]byte(nil), dst[start:]...)
	dst = dst[:start-1]
	dst = binary.AppendUvarint(dst, uint64(n))
	return append(dst, v...)
}

package embedded

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// Item encoding: a format byte, then per attribute a head byte, the value
// length (uvarint) and the value. The head's low 7 bits name a well-known
// attribute (1..len(attrNames)); 0 means the name follows (uvarint length,
// bytes). Bit 7 set marks a number (feed.N), clear a string (feed.S).
const (
	itemFormat  = 1
	numberFlag  = 0x80
	customAttr  = 0
	entryFormat = 1
)

// attrNames are the attributes with a one-byte code: index+1. Append only:
// codes are stored on disk.
var attrNames = [...]string{
	feed.AttrPK, feed.AttrSK, feed.AttrType, feed.AttrVersion,
	feed.AttrGSI1PK, feed.AttrGSI1SK, feed.AttrGSI2PK, feed.AttrGSI2SK, feed.AttrLSI1SK,
	feed.AttrExpire, feed.AttrGameID, feed.AttrSport, feed.AttrSummary, feed.AttrVenue,
	feed.AttrGameDate, feed.AttrStatus, feed.AttrHomeTeam, feed.AttrAwayTeam, feed.AttrUpdatedAt,
	feed.AttrProvider, feed.AttrObservedAt, feed.AttrReceivedAt, feed.AttrAway, feed.AttrHome,
	feed.AttrAwayOdds, feed.AttrHomeOdds, feed.AttrCreated, feed.AttrPrior,
	// quotes of other markets than the full-game spread
	feed.AttrMarket, feed.AttrPeriod, feed.AttrLine, feed.AttrDrawOdds, feed.AttrOverOdds, feed.AttrUnderOdds,
	// market status, provider liveness and lease items
	feed.AttrReason, feed.AttrNote, feed.AttrResults, feed.AttrPrev, feed.AttrBy, feed.AttrByTrader,
	feed.AttrAt, feed.AttrLastHeard, feed.AttrDownAt, feed.AttrDecidedBy, feed.AttrName, feed.AttrHolder,
	feed.AttrLeaseExpires,
}

// attrCodes maps a well-known attribute name to its code.
var attrCodes = func() map[string]byte {
	m := make(map[string]byte, len(attrNames))
	for i, n := range attrNames {
		m[n] = byte(i + 1)
	}
	return m
}()

// errCorrupt is returned for bytes this package did not write.
var errCorrupt = errors.New("corrupt record")

// appendItem appends the encoding of it to dst.
func appendItem(dst []byte, it feed.Item) []byte {
	dst = append(dst, itemFormat)
	for name, a := range it {
		code, known := attrCodes[name]
		if !known {
			code = customAttr
		}
		v := a.S
		if a.IsN {
			code |= numberFlag
			v = a.N
		}
		dst = append(dst, code)
		if !known {
			dst = binary.AppendUvarint(dst, uint64(len(name)))
			dst = append(dst, name...)
		}
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// decodeItem decodes an item written by appendItem. It copies: b may be
// memory of a finished transaction's pages.
func decodeItem(b []byte) (feed.Item, error) {
	if len(b) == 0 || b[0] != itemFormat {
		return nil, fmt.Errorf("decode item: %w: format", errCorrupt)
	}
	it := make(feed.Item, 16)
	r := reader{b: b[1:]}
	for len(r.b) > 0 && r.err == nil {
		head := r.byte()
		var name string
		if code := head &^ numberFlag; code == customAttr {
			name = string(r.bytes())
		} else if int(code) <= len(attrNames) {
			name = attrNames[code-1]
		} else {
			return nil, fmt.Errorf("decode item: %w: attribute code %d", errCorrupt, code)
		}
		v := string(r.bytes())
		if head&numberFlag != 0 {
			it[name] = feed.N(v)
		} else {
			it[name] = feed.S(v)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode item: %w", r.err)
	}
	return it, nil
}

// reader reads the pieces of an encoding, keeping the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.err = fmt.Errorf("%w: truncated", errCorrupt)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes() []byte {
	n, w := binary.Uvarint(r.b)
	if w <= 0 || uint64(len(r.b)-w) < n {
		r.err = fmt.Errorf("%w: bad length", errCorrupt)
		r.b = nil
		return nil
	}
	v := r.b[w : w+int(n)]
	r.b = r.b[w+int(n):]
	return v
}

// Change-log entry encoding: format byte, kind byte, flags byte, the change
// time (unix ns, 8 bytes big-endian), PK, SK and the old image (each uvarint
// length + bytes; an empty old image means none), then the new image up to
// the end (empty: none). The new image comes last so that the item bucket
// stores a sub-slice of the entry: each item is encoded once.
const (
	kindInsert = 'I'
	kindModify = 'M'
	kindRemove = 'R'

	flagExpired = 1
)

// appendEntryHead appends an entry up to (not including) its new image.
func appendEntryHead[T string | []byte](dst []byte, kind byte, at time.Time, pk, sk T, old []byte) []byte {
	dst = append(dst, entryFormat, kind, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(at.UnixNano()))
	dst = binary.AppendUvarint(dst, uint64(len(pk)))
	dst = append(dst, pk...)
	dst = binary.AppendUvarint(dst, uint64(len(sk)))
	dst = append(dst, sk...)
	dst = binary.AppendUvarint(dst, uint64(len(old)))
	return append(dst, old...)
}

// entry is a decoded change-log entry; the images are still encoded.
type entry struct {
	kind     byte
	expired  bool
	at       time.Time
	pk, sk   string
	old, new []byte
}

// entryTime reads only the time of an encoded entry.
func entryTime(v []byte) (time.Time, error) {
	if len(v) < 11 || v[0] != entryFormat {
		return time.Time{}, fmt.Errorf("decode log entry: %w", errCorrupt)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[3:11]))).UTC(), nil
}

// decodeEntry decodes an entry; the images alias v.
func decodeEntry(v []byte) (entry, error) {
	at, err := entryTime(v)
	if err != nil {
		return entry{}, err
	}
	e := entry{kind: v[1], expired: v[2]&flagExpired != 0, at: at}
	r := reader{b: v[11:]}
	e.pk = string(r.bytes())
	e.sk = string(r.bytes())
	e.old = r.bytes()
	e.new = r.b
	if r.err != nil {
		return entry{}, fmt.Errorf("decode log entry: %w", r.err)
	}
	return e, nil
}

// change maps a log entry at sequence seq to a feed.Change.
func (e entry) change(seq uint64) (feed.Change, error) {
	c := feed.Change{
		Key:      feed.Key{PK: e.pk, SK: e.sk},
		Expired:  e.expired,
		At:       e.at,
		Source:   logSource,
		Position: strconv.FormatUint(seq, 10),
	}
	switch e.kind {
	case kindInsert:
		c.Kind = feed.ChangeInsert
	case kindModify:
		c.Kind = feed.ChangeModify
	case kindRemove:
		c.Kind = feed.ChangeRemove
	default:
		return feed.Change{}, fmt.Errorf("log entry %d: %w: kind %q", seq, errCorrupt, e.kind)
	}
	for _, img := range []struct {
		b   []byte
		old bool
	}{{e.old, true}, {e.new, false}} {
		if len(img.b) == 0 {
			continue
		}
		it, err := decodeItem(img.b)
		if err != nil {
			return feed.Change{}, fmt.Errorf("log entry %d: %w", seq, err)
		}
		if _, err := c.SetImage(it, img.old); err != nil {
			return feed.Change{}, fmt.Errorf("log entry %d: %w", seq, err)
		}
		if !img.old || c.Kind == feed.ChangeRemove {
			c.ItemType = it.Type()
			c.Version = it.Version()
		}
	}
	return c, nil
}

// Cursors: base64url of a tag byte, the query's identity and the last key
// returned. A cursor of another query or store fails with ErrBadCursor.
const (
	gameCursorTag = 'G'
	oddsCursorTag = 'O'
)

func encodeCursor(tag byte, query, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(tag) + query + "\x00" + last))
}

// decodeCursor returns the last key of a cursor made by encodeCursor with
// the same tag and query.
func decodeCursor(cursor string, tag byte, query string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", fmt.Errorf("%w: %v", store.ErrBadCursor, err)
	}
	last, ok := strings.CutPrefix(string(b), string(tag)+query+"\x00")
	if !ok || last == "" {
		return "", store.ErrBadCursor
	}
	return last, nil
}

package dynamo

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// cursorQuery is one query shape whose cursors the store decodes.
type cursorQuery struct {
	names []string
	fixed map[string]string
}

// cursorQueries are the shapes ListOdds and ListGames pass to decodeCursor.
var cursorQueries = []cursorQuery{
	{tableKeyNames, map[string]string{feed.AttrPK: feed.GamePK("g1")}},
	{[]string{feed.AttrPK, feed.AttrSK, feed.AttrGSI1PK, feed.AttrGSI1SK}, map[string]string{feed.AttrGSI1PK: feed.GSI1PKValue, feed.AttrSK: feed.MetaSK}},
	{[]string{feed.AttrPK, feed.AttrSK, feed.AttrGSI2PK, feed.AttrGSI2SK}, map[string]string{feed.AttrGSI2PK: feed.GSI2PKValue, feed.AttrSK: feed.MetaSK}},
}

// flat returns the string attributes of a start key.
func flat(t *testing.T, m map[string]types.AttributeValue) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			t.Fatalf("attribute %s is %T, not a string", k, v)
		}
		out[k] = s.Value
	}
	return out
}

// FuzzDecodeCursor: a client's page cursor (ListOdds, ListGames, and
// ScanSegment's) is ErrBadCursor or a start key holding exactly the
// query's key attributes, non-empty, with the fixed ones at their values;
// and the cursor made from that key decodes to the same key.
func FuzzDecodeCursor(f *testing.F) {
	sk := feed.OddsSK(time.Date(2026, 11, 23, 17, 31, 2, 120e6, time.UTC), "acme")
	f.Add(encodeCursor(map[string]types.AttributeValue{feed.AttrPK: sAV(feed.GamePK("g1")), feed.AttrSK: sAV(sk)}), uint8(0))
	f.Add(encodeCursor(map[string]types.AttributeValue{feed.AttrPK: sAV(feed.GamePK("g2")), feed.AttrSK: sAV(feed.MetaSK),
		feed.AttrGSI2PK: sAV(feed.GSI2PKValue), feed.AttrGSI2SK: sAV("2026-11-23T17:00:00.000000000Z#g2")}), uint8(2))
	f.Add(encodeScanCursor(map[string]types.AttributeValue{feed.AttrPK: sAV("GAME#g1"), feed.AttrSK: sAV(sk)}, 1, 4), uint8(3))
	f.Add("eyJQSyI6IkdBTUUjZzEiLCJQSyI6IngifQ", uint8(0)) // {"PK":"GAME#g1","PK":"x"}
	f.Add("e30", uint8(1))                                // {}
	f.Add("bnVsbA", uint8(3))                             // null
	f.Add("!!", uint8(0))
	f.Fuzz(func(t *testing.T, cursor string, which uint8) {
		if int(which)%(len(cursorQueries)+1) == len(cursorQueries) {
			checkScanCursor(t, cursor)
			return
		}
		q := cursorQueries[int(which)%(len(cursorQueries)+1)]
		m, err := decodeCursor(cursor, q.names, q.fixed)
		if err != nil {
			if !errors.Is(err, store.ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		if cursor == "" {
			if m != nil {
				t.Fatalf("empty cursor decoded to %v", m)
			}
			return
		}
		got := flat(t, m)
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(slices.Values(q.names))) {
			t.Fatalf("start key %v, want exactly %v", got, q.names)
		}
		for k, v := range got {
			if v == "" {
				t.Fatalf("empty %s in %v", k, got)
			}
			if want, ok := q.fixed[k]; ok && v != want {
				t.Fatalf("%s = %q, want %q", k, v, want)
			}
		}
		again, err := decodeCursor(encodeCursor(m), q.names, q.fixed)
		if err != nil || !maps.Equal(flat(t, again), got) {
			t.Fatalf("re-encoded cursor: %v, %v; want %v", again, err, got)
		}
	})
}

// checkScanCursor: the same for a cursor of segment 1 of 4.
func checkScanCursor(t *testing.T, cursor string) {
	m, err := decodeScanCursor(cursor, 1, 4)
	if err != nil {
		if !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("error %v is not ErrBadCursor", err)
		}
		return
	}
	if cursor == "" {
		return
	}
	got := flat(t, m)
	if len(got) != 2 || got[feed.AttrPK] == "" || got[feed.AttrSK] == "" {
		t.Fatalf("scan start key %v", got)
	}
	if _, err := decodeScanCursor(cursor, 2, 4); err == nil {
		t.Fatal("a cursor of segment 1 decoded for segment 2")
	}
	again, err := decodeScanCursor(encodeScanCursor(m, 1, 4), 1, 4)
	if err != nil || !maps.Equal(flat(t, again), got) {
		t.Fatalf("re-encoded scan cursor: %v, %v; want %v", again, err, got)
	}
}

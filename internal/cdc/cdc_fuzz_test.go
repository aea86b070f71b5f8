package cdc

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// FuzzRecordRoundTrip holds DecodeRecord (FuzzDecodeRecord only checks it
// does not panic) to more than not panicking on a Kinesis record's bytes:
// an error wraps ErrMalformedRecord or ErrUnknownItemType; a Change is
// consistent (its images are of its item type and key, its version is
// its image's), and writing it back with EncodeRecord and decoding that
// gives the same Change.
func FuzzRecordRoundTrip(f *testing.F) {
	for _, name := range []string{"insert_odds.json", "modify_game.json", "remove_ttl_millis.json", "remove_ttl_micros.json",
		"remove_ttl_dynamodb_local.json", "remove_user.json", "unknown_type.json", "missing_keys.json", "malformed.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeRecord(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedRecord) && !errors.Is(err, ErrUnknownItemType) {
				t.Fatalf("error %v wraps neither ErrMalformedRecord nor ErrUnknownItemType", err)
			}
			return
		}
		in := checkChange(t, c)
		b, err := EncodeRecord(in)
		if err != nil {
			t.Fatalf("encode %+v: %v", in, err)
		}
		again, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("decode the re-encoded %s: %v", b, err)
		}
		if got, want := changeString(again), changeString(c); got != want {
			t.Fatalf("round trip:\n got %s\nwant %s", got, want)
		}
		// At is written in microseconds: it survives unless it is beyond
		// what int64 microseconds hold (±292,000 years; AWS sends now).
		if time.UnixMicro(c.At.UnixMicro()).Equal(c.At) && !again.At.Equal(c.At) {
			t.Fatalf("At %v came back as %v", c.At, again.At)
		}
	})
}

// checkChange checks c's consistency and returns it as EncodeRecord's input.
func checkChange(t *testing.T, c feed.Change) RecordInput {
	t.Helper()
	in := RecordInput{EventName: c.Kind, Keys: c.Key, At: c.At, TTL: c.Expired, EventID: "e1"}
	if c.Expired && c.Kind != feed.ChangeRemove {
		t.Fatalf("an expired %s", c.Kind)
	}
	for _, im := range []struct {
		game *feed.Game
		odds *feed.Odds
		item *feed.Item
	}{{c.NewGame, c.NewOdds, &in.NewImage}, {c.OldGame, c.OldOdds, &in.OldImage}} {
		var key feed.Key
		var version int64
		switch {
		case im.game != nil && im.odds != nil:
			t.Fatalf("an image both game and odds: %+v", c)
		case im.game != nil:
			*im.item, key, version = feed.GameItem(*im.game), im.game.Key(), im.game.Version
		case im.odds != nil:
			*im.item, key, version = feed.OddsItem(*im.odds, time.Time{}), im.odds.Key(), im.odds.Version
		default:
			continue
		}
		if im.item.Type() != c.ItemType {
			t.Fatalf("a %s image in a change of type %q", im.item.Type(), c.ItemType)
		}
		if key != c.Key {
			t.Fatalf("an image of key %v in a change of key %v", key, c.Key)
		}
		if (im.item == &in.NewImage) == (c.Kind != feed.ChangeRemove) && version != c.Version {
			t.Fatalf("version %d, its image's %d", c.Version, version)
		}
	}
	return in
}

// changeString prints c without its pointers' addresses and without At
// (compared with Equal).
func changeString(c feed.Change) string {
	deref := func(g *feed.Game, o *feed.Odds) string {
		switch {
		case g != nil:
			return fmt.Sprintf("%+v", *g)
		case o != nil:
			return fmt.Sprintf("%+v", *o)
		}
		return "-"
	}
	return fmt.Sprintf("%s %v %s v%d expired=%v new=%s old=%s", c.Kind, c.Key, c.ItemType, c.Version, c.Expired,
		deref(c.NewGame, c.NewOdds), deref(c.OldGame, c.OldOdds))
}

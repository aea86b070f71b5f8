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
		"remove_ttl_dynamodb_local.json", "remove_user.json", "unknown_type.json", "missing_keys.json", "malformed.json",
		"insert_quote.json", "modify_market.json", "modify_provider.json", "modify_lease.json"} {
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
		if c.ItemType == feed.TypeLease {
			return // decoded with no images: nothing to write back
		}
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
	if c.ItemType == feed.TypeLease {
		if c.NewGame != nil || c.OldGame != nil || c.NewOdds != nil || c.OldOdds != nil ||
			c.NewMarket != nil || c.OldMarket != nil || c.NewProvider != nil || c.OldProvider != nil {
			t.Fatalf("a lease change with an image: %s", changeString(c))
		}
		return in
	}
	for _, im := range []struct {
		game     *feed.Game
		odds     *feed.Odds
		market   *feed.MarketStatus
		provider *feed.ProviderStatus
		item     *feed.Item
	}{{c.NewGame, c.NewOdds, c.NewMarket, c.NewProvider, &in.NewImage}, {c.OldGame, c.OldOdds, c.OldMarket, c.OldProvider, &in.OldImage}} {
		var key feed.Key
		var version int64
		n := 0
		if im.game != nil {
			n++
			*im.item, key, version = feed.GameItem(*im.game), im.game.Key(), im.game.Version
		}
		if im.odds != nil {
			n++
			*im.item, key, version = feed.OddsItem(*im.odds, time.Time{}), im.odds.Key(), im.odds.Version
		}
		if im.market != nil {
			n++
			*im.item, key, version = feed.MarketItem(*im.market), im.market.Key(), im.market.Version
		}
		if im.provider != nil {
			n++
			*im.item, key, version = feed.ProviderItem(*im.provider), im.provider.Key(), im.provider.Version
		}
		switch n {
		case 0:
			continue
		case 1:
		default:
			t.Fatalf("an image of %d types: %s", n, changeString(c))
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
	image := func(g *feed.Game, o *feed.Odds, m *feed.MarketStatus, p *feed.ProviderStatus) string {
		switch {
		case g != nil:
			return fmt.Sprintf("%+v", *g)
		case o != nil:
			return fmt.Sprintf("%+v", *o)
		case m != nil:
			return fmt.Sprintf("%+v", *m)
		case p != nil:
			return fmt.Sprintf("%+v", *p)
		}
		return "-"
	}
	return fmt.Sprintf("%s %v %s v%d expired=%v new=%s old=%s", c.Kind, c.Key, c.ItemType, c.Version, c.Expired,
		image(c.NewGame, c.NewOdds, c.NewMarket, c.NewProvider), image(c.OldGame, c.OldOdds, c.OldMarket, c.OldProvider))
}

package feed

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestItemRoundTrip(t *testing.T) {
	o := goodOdds()
	o.ObservedAt = time.Date(2026, 11, 23, 11, 59, 59, 123456789, time.UTC)
	o.ReceivedAt = now
	o.AwaySpread = 2.5
	o.Version = 1
	it := OddsItem(o, now.Add(time.Hour))
	if it[AttrExpire].N != "1795438800" {
		t.Errorf("EXPIRE = %q", it[AttrExpire].N)
	}
	got, err := DecodeOdds(it)
	if err != nil {
		t.Fatal(err)
	}
	if got != o {
		t.Fatalf("odds round trip:\n got %+v\nwant %+v", got, o)
	}

	g := goodGame()
	g.Version, g.UpdatedAt = 3, now
	gi := GameItem(g)
	if gi[AttrGSI1PK].S != GSI1PKValue || gi[AttrGSI2PK].S != "" {
		t.Errorf("scheduled game index keys: %+v", gi)
	}
	gg, err := DecodeGame(gi)
	if err != nil {
		t.Fatal(err)
	}
	if gg != g {
		t.Fatalf("game round trip:\n got %+v\nwant %+v", gg, g)
	}
	g.Status = StatusLive
	if gi := GameItem(g); gi[AttrGSI2PK].S != GSI2PKValue || gi[AttrGSI1PK].S != "" {
		t.Errorf("live game index keys: %+v", gi)
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := DecodeOdds(Item{AttrType: S("BET")}); !errors.Is(err, ErrUnknownItemType) {
		t.Errorf("unknown type: %v", err)
	}
	it := OddsItem(goodOdds(), time.Time{})
	it[AttrAwayOdds] = S("x")
	if _, err := DecodeOdds(it); err == nil {
		t.Error("string where number expected: no error")
	}
}

func TestKeyOrder(t *testing.T) {
	a := OddsSK(time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC), "p")
	b := OddsSK(time.Date(2026, 1, 1, 0, 0, 0, 40, time.UTC), "p")
	c := OddsSK(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), "p")
	if !(a < b && b < c) {
		t.Fatalf("keys not in time order: %s %s %s", a, b, c)
	}
	if GameIDFromPK(GamePK("x-1")) != "x-1" || GameIDFromPK("OTHER") != "" {
		t.Fatal("GameIDFromPK")
	}
}

func TestContentHash(t *testing.T) {
	o := goodOdds()
	p := o
	p.AwaySpread, o.AwaySpread = math.Copysign(0, -1), 0
	if !o.SameContent(p) || o.ContentHash() != p.ContentHash() {
		t.Fatalf("-0 and 0 spreads: same content %v, hashes %s %s", o.SameContent(p), o.ContentHash(), p.ContentHash())
	}
	p.HomeOdds++
	if o.ContentHash() == p.ContentHash() {
		t.Fatal("different prices, same hash")
	}
}

package ingest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// fuzzNow is the clock of the fuzz targets; the seeds' times are before it.
var fuzzNow = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

var itemSeeds = []string{
	`{"gameId":"g1","observedAt":"2026-11-23T17:31:02.120Z","awaySpread":0.5,"homeSpread":-0.5,"awayOdds":-110,"homeOdds":105}`,
	`{"gameId":"g1","observedAt":"2026-11-23T17:31:02Z","awaySpread":"0.5","homeSpread":"-0.5","awayOdds":"-110.0","homeOdds":1e2}`,
	`{"summary":"UEFA European Championship @ Wembley","gameId":"ftge2gq-4g6daf1","gameDate":"2021-11-20 16:00","type":"game-soccer",` +
		`"isOpen":true,"away":3,"home":-3,"awayOdds":-110,"homeOdds":-110,"date":"2021-11-20 20:30:15.238"}`,
	`{"gameId":"g1","away":"3","home":"-3.5","awayOdds":"-110","homeOdds":"-110","date":1637440215,"isOpen":"false"}`,
	`{"gameId":5,"observedAt":{},"awaySpread":true,"homeSpread":"NaN","awayOdds":-110.5,"homeOdds":[1],"date":"x"}`,
	`{"awayOdds":1e400,"homeOdds":"1e999","away":null,"AWAYODDS":"0x10","type":"","summary":7}`,
	`{"gameId":"g1","observedAt":"2026-11-23T17:31:02Z","market":"three_way","oddsFormat":"decimal","homeOdds":2.2,"drawOdds":"3.3","awayOdds":3.5}`,
	`{"gameId":"g1","observedAt":"2026-11-23T17:31:02Z","market":"total","period":"1h","line":2.5,"overOdds":-110,"underOdds":-110}`,
	`{"gameId":"g1","observedAt":"2026-11-23T17:31:02Z","market":"moneyline","period":"full","awayOdds":150,"homeOdds":-170,"drawOdds":0}`,
	`{"gameId":"g1","observedAt":"2026-11-23T17:31:02Z","market":"spread","oddsFormat":"american","awaySpread":1,"homeSpread":-1,"awayOdds":-110,"homeOdds":-110,"line":0}`,
	`{"market":7,"period":[],"oddsFormat":"decimal","line":"NaN","drawOdds":1,"overOdds":1e309,"underOdds":0.5}`,
	`null`, `[]`, `"x"`, `5`, `{}`,
}

// checkOneErrorPerField fails when a field (as the request names it) has
// two errors.
func checkOneErrorPerField(t *testing.T, errs feed.FieldErrors, name func(string) string) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range errs {
		if n := name(e.Field); seen[n] {
			t.Fatalf("two errors for %q: %v", n, errs)
		} else {
			seen[n] = true
		}
		if e.Reason == "" {
			t.Fatalf("an error without a reason: %v", errs)
		}
	}
}

// FuzzDecodeOdds: any item of POST /v1/odds decodes without a panic, gets
// at most one error per field, and is valid when it has none.
func FuzzDecodeOdds(f *testing.F) {
	for _, s := range itemSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // the batch was decoded first: its items are valid JSON
		}
		o, errs := decodeOdds(raw, "acme", false, fuzzNow)
		checkOneErrorPerField(t, errs, sameName)
		if len(errs) == 0 {
			if v := o.Validate(fuzzNow); v != nil {
				t.Fatalf("accepted an invalid item: %v", v)
			}
		}
	})
}

// FuzzDecodeRef: the same for an item of /feeds, its quote and its game.
func FuzzDecodeRef(f *testing.F) {
	for _, s := range itemSeeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, found bool) {
		if !json.Valid(raw) {
			return
		}
		var in refIn
		if errs := decodeItem(raw, &in); errs != nil {
			checkOneErrorPerField(t, errs, refField)
			return
		}
		c := checker{name: refField}
		o := in.odds(&c, "acme", fuzzNow)
		base := feed.Game{}
		if found {
			base = feed.Game{ID: o.GameID, Sport: "soccer", Summary: "A v B", GameDate: fuzzNow, Status: feed.StatusLive}
		}
		g, _ := in.game(&c, base, found, o.ObservedAt, fuzzNow)
		checkOneErrorPerField(t, c.errs, refField)
		if len(c.errs) == 0 {
			if v := append(o.Validate(fuzzNow), g.Validate()...); v != nil {
				t.Fatalf("accepted an invalid item: %v", v)
			}
		}
	})
}

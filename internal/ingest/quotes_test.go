package ingest_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// quotes lists every stored quote of a game (every market), newest first.
func (e *env) quotes(gameID string) []feed.Odds {
	e.t.Helper()
	page, err := e.store.ListOdds(context.Background(), store.OddsRange{GameID: gameID, AllMarkets: true, Page: store.Page{Limit: store.MaxLimit}})
	if err != nil {
		e.t.Fatalf("list odds: %v", err)
	}
	return page.Odds
}

// quoteJSON is a POST /v1/odds item of game g1 at observedAt with extra
// members (a JSON object's inside, without braces).
func quoteJSON(at time.Time, members string) string {
	return `{"gameId":"g1","observedAt":"` + at.UTC().Format(time.RFC3339Nano) + `",` + members + `}`
}

// TestQuotesOfEveryMarket posts one quote of each market type (and a
// first-half one, and decimal prices) and reads them back as stored.
func TestQuotesOfEveryMarket(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	tests := []struct {
		name    string
		members string
		want    feed.Odds // quote fields only
	}{
		{"spread named", `"market":"spread","period":"full","awaySpread":1.5,"homeSpread":-1.5,"awayOdds":-110,"homeOdds":-110`,
			feed.Odds{AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: -110, HomeOdds: -110}},
		{"moneyline", `"market":"moneyline","awayOdds":150,"homeOdds":-170`,
			feed.Odds{Market: feed.MarketMoneyline, AwayOdds: 150, HomeOdds: -170}},
		{"three-way", `"market":"three_way","homeOdds":120,"drawOdds":230,"awayOdds":250`,
			feed.Odds{Market: feed.MarketThreeWay, HomeOdds: 120, DrawOdds: 230, AwayOdds: 250}},
		{"total", `"market":"total","line":2.5,"overOdds":-120,"underOdds":100`,
			feed.Odds{Market: feed.MarketTotal, Line: 2.5, OverOdds: -120, UnderOdds: 100}},
		{"first-half total", `"market":"total","period":"1h","line":1,"overOdds":"-105","underOdds":-115`,
			feed.Odds{Market: feed.MarketTotal, Period: feed.PeriodFirstHalf, Line: 1, OverOdds: -105, UnderOdds: -115}},
		{"three-way in decimal", `"market":"three_way","oddsFormat":"decimal","homeOdds":2.2,"drawOdds":3.3,"awayOdds":3.5`,
			feed.Odds{Market: feed.MarketThreeWay, HomeOdds: 120, DrawOdds: 230, AwayOdds: 250}},
		{"total in decimal", `"market":"total","period":"2h","oddsFormat":"decimal","line":45.5,"overOdds":1.91,"underOdds":"1.5"`,
			feed.Odds{Market: feed.MarketTotal, Period: feed.PeriodSecondHalf, Line: 45.5, OverOdds: -110, UnderOdds: -200}},
		{"spread in decimal", `"oddsFormat":"decimal","awaySpread":3,"homeSpread":-3,"awayOdds":2.5,"homeOdds":1.5`,
			feed.Odds{AwaySpread: 3, HomeSpread: -3, AwayOdds: 150, HomeOdds: -200}},
		{"american named", `"market":"moneyline","oddsFormat":"american","awayOdds":100,"homeOdds":-120`,
			feed.Odds{Market: feed.MarketMoneyline, AwayOdds: 100, HomeOdds: -120}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := at.Add(time.Duration(i) * time.Second)
			rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(quoteJSON(obs, tt.members)))
			if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"stored":1,"duplicates":0,"corrected":0}` {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			var got *feed.Odds
			for _, q := range e.quotes("g1") {
				if q.ObservedAt.Equal(obs) {
					got = &q
				}
			}
			if got == nil {
				t.Fatalf("quote at %v not stored: %+v", obs, e.quotes("g1"))
			}
			want := tt.want
			want.GameID, want.Provider, want.ObservedAt = "g1", "acme", obs
			if !got.SameContent(want) || got.Market != want.Market || got.Period != want.Period {
				t.Fatalf("stored %+v\nwant   %+v", *got, want)
			}
		})
	}
	// The spread posted as market "spread", period "full" is the full-game
	// spread of the first API: GET /feeds has it.
	if o, err := e.store.LatestOdds(context.Background(), "g1", "acme"); err != nil || o.AwaySpread != 3 || o.AwayOdds != 150 {
		t.Fatalf("latest full-game spread %+v %v", o, err)
	}
}

// TestQuotesRefused: a quote missing what its market needs, or carrying
// what it has no use for, is refused naming the field and its index; the
// good items of the batch are stored.
func TestQuotesRefused(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	good := quoteJSON(base, `"market":"moneyline","awayOdds":150,"homeOdds":-170`)
	tests := []struct {
		name    string
		members string
		fields  []string
		reason  string
	}{
		{"three-way without draw", `"market":"three_way","homeOdds":120,"awayOdds":250`, []string{"1.drawOdds"}, "is required"},
		{"total without line", `"market":"total","overOdds":-110,"underOdds":-110`, []string{"1.line"}, "is required"},
		{"total line not a half", `"market":"total","line":2.25,"overOdds":-110,"underOdds":-110`, []string{"1.line"}, "multiple of 0.5"},
		{"total without under", `"market":"total","line":2.5,"overOdds":-110`, []string{"1.underOdds"}, "is required"},
		{"total with home price", `"market":"total","line":2.5,"overOdds":-110,"underOdds":-110,"homeOdds":-110`,
			[]string{"1.homeOdds"}, "is not a price of a total market"},
		{"moneyline with spread", `"market":"moneyline","awayOdds":150,"homeOdds":-170,"awaySpread":1.5`,
			[]string{"1.awaySpread"}, "is not part of a moneyline market"},
		{"moneyline with draw", `"market":"moneyline","awayOdds":150,"homeOdds":-170,"drawOdds":300`,
			[]string{"1.drawOdds"}, "is not a price of a moneyline market"},
		{"spread with line", `"awaySpread":1,"homeSpread":-1,"awayOdds":-110,"homeOdds":-110,"line":2`, []string{"1.line"}, "homeSpread"},
		{"spread without spreads", `"market":"spread","awayOdds":-110,"homeOdds":-110`, []string{"1.awaySpread", "1.homeSpread"}, "is required"},
		{"unknown market", `"market":"corners","awayOdds":-110`, []string{"1.market"}, "must be one of"},
		{"market not a string", `"market":5,"awayOdds":150,"homeOdds":-170`, []string{"1.market"}, "must be a string"},
		{"unknown period", `"market":"moneyline","period":"3q","awayOdds":150,"homeOdds":-170`, []string{"1.period"}, "must be one of"},
		{"unknown odds format", `"market":"moneyline","oddsFormat":"fractional","awayOdds":150,"homeOdds":-170`,
			[]string{"1.oddsFormat"}, "american or decimal"},
		{"decimal price of 1", `"market":"moneyline","oddsFormat":"decimal","awayOdds":1,"homeOdds":2`, []string{"1.awayOdds"}, "decimal price"},
		{"decimal price out of range", `"market":"moneyline","oddsFormat":"decimal","awayOdds":1.5,"homeOdds":5000`, []string{"1.homeOdds"}, "decimal price"},
		{"American price in decimal form", `"market":"moneyline","awayOdds":1.5,"homeOdds":-170`, []string{"1.awayOdds"}, "must be an integer"},
		{"three-way bad draw and away", `"market":"three_way","homeOdds":120,"drawOdds":50,"awayOdds":"x"`,
			[]string{"1.awayOdds", "1.drawOdds"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := quoteJSON(base.Add(time.Duration(i+1)*time.Second), tt.members)
			p := decodeProblem(t, e.do(http.MethodPost, "/v1/odds", e.provider, batch(good, bad)), 422)
			got := p.fields()
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v: %+v", got, tt.fields, p.Errors)
			}
			if tt.reason != "" && !strings.Contains(p.Errors[0].Reason, tt.reason) {
				t.Fatalf("reason %q, want it to contain %q", p.Errors[0].Reason, tt.reason)
			}
			if !slices.Equal(p.DuplicateIndices, []int{0}) && !slices.Equal(p.StoredIndices, []int{0}) {
				t.Fatalf("the good item was not stored: %+v", p)
			}
		})
	}
	if n := len(e.quotes("g1")); n != 1 {
		t.Fatalf("%d quotes stored, want the good one only", n)
	}
}

// TestDecimalToAmericanAtIngest: decimal prices become the American price
// a provider quoting American would have sent.
func TestDecimalToAmericanAtIngest(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	for i, tt := range []struct {
		away, home         string
		wantAway, wantHome int
	}{
		{"2.0", "2", 100, 100}, {"1.909", "1.5", -110, -200}, {"3.25", "1.4", 225, -250}, {"1.001", "1001", -100000, 100000},
	} {
		obs := at.Add(time.Duration(i) * time.Second)
		rec := e.do(http.MethodPost, "/v1/odds", e.provider,
			batch(quoteJSON(obs, `"market":"moneyline","oddsFormat":"decimal","awayOdds":`+tt.away+`,"homeOdds":`+tt.home)))
		if rec.Code != 200 {
			t.Fatalf("%s/%s: %d %s", tt.away, tt.home, rec.Code, rec.Body)
		}
		q := e.quotes("g1")[0]
		if q.AwayOdds != tt.wantAway || q.HomeOdds != tt.wantHome {
			t.Fatalf("%s/%s became %d/%d, want %d/%d", tt.away, tt.home, q.AwayOdds, q.HomeOdds, tt.wantAway, tt.wantHome)
		}
	}
}

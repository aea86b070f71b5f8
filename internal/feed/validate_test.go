package feed

import (
	"math"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func goodOdds() Odds {
	return Odds{GameID: "g1", Provider: "acme", ObservedAt: now.Add(-time.Second), AwaySpread: 3, HomeSpread: -3, AwayOdds: -110, HomeOdds: 120}
}

func goodGame() Game {
	return Game{ID: "g1", Sport: "soccer", Summary: "A v B", GameDate: now, Status: StatusScheduled, HomeTeam: "A", AwayTeam: "B"}
}

func fields(errs FieldErrors) string {
	var f []string
	for _, e := range errs {
		f = append(f, e.Field)
	}
	return strings.Join(f, ",")
}

func TestOddsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Odds)
		want   string // fields in error, "" = valid
	}{
		{"valid", func(*Odds) {}, ""},
		{"american -100 ok", func(o *Odds) { o.AwayOdds = -100 }, ""},
		{"american +100 ok", func(o *Odds) { o.HomeOdds = 100 }, ""},
		{"american -99 bad", func(o *Odds) { o.AwayOdds = -99 }, "awayOdds"},
		{"american +99 bad", func(o *Odds) { o.HomeOdds = 99 }, "homeOdds"},
		{"american 0 bad", func(o *Odds) { o.HomeOdds = 0 }, "homeOdds"},
		{"american too large", func(o *Odds) { o.HomeOdds = 100001 }, "homeOdds"},
		{"missing game", func(o *Odds) { o.GameID = "" }, "gameId"},
		{"game id charset", func(o *Odds) { o.GameID = "GAME#1" }, "gameId"},
		{"game id leading dash", func(o *Odds) { o.GameID = "-g" }, "gameId"},
		{"game id too long", func(o *Odds) { o.GameID = strings.Repeat("a", MaxIDLen+1) }, "gameId"},
		{"game id max length ok", func(o *Odds) { o.GameID = strings.Repeat("a", MaxIDLen) }, ""},
		{"provider charset", func(o *Odds) { o.Provider = "a b" }, "provider"},
		{"missing observedAt", func(o *Odds) { o.ObservedAt = time.Time{} }, "observedAt"},
		{"future observedAt", func(o *Odds) { o.ObservedAt = now.Add(MaxFutureSkew + time.Second) }, "observedAt"},
		{"slightly future ok", func(o *Odds) { o.ObservedAt = now.Add(MaxFutureSkew - time.Second) }, ""},
		{"ancient observedAt", func(o *Odds) { o.ObservedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, "observedAt"},
		{"spread not half point", func(o *Odds) { o.AwaySpread = 3.25 }, "awaySpread"},
		{"spread NaN", func(o *Odds) { o.HomeSpread = math.NaN() }, "homeSpread"},
		{"spread huge", func(o *Odds) { o.HomeSpread = 5000 }, "homeSpread"},
		{"several", func(o *Odds) { o.AwayOdds = 5; o.HomeOdds = 5 }, "awayOdds,homeOdds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := goodOdds()
			tt.mutate(&o)
			if got := fields(o.Validate(now)); got != tt.want {
				t.Fatalf("fields = %q, want %q (%v)", got, tt.want, o.Validate(now))
			}
		})
	}
}

func TestGameValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Game)
		want   string
	}{
		{"valid", func(*Game) {}, ""},
		{"bad id", func(g *Game) { g.ID = "a/b" }, "id"},
		{"no sport", func(g *Game) { g.Sport = "" }, "sport"},
		{"sport upper", func(g *Game) { g.Sport = "Soccer" }, "sport"},
		{"sport colon", func(g *Game) { g.Sport = "a:b" }, "sport"},
		{"summary control char", func(g *Game) { g.Summary = "a\x00b" }, "summary"},
		{"summary too long", func(g *Game) { g.Summary = strings.Repeat("x", MaxTextLen+1) }, "summary"},
		{"team too long", func(g *Game) { g.HomeTeam = strings.Repeat("x", MaxNameLen+1) }, "homeTeam"},
		{"no date", func(g *Game) { g.GameDate = time.Time{} }, "gameDate"},
		{"date out of range", func(g *Game) { g.GameDate = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) }, "gameDate"},
		{"bad status", func(g *Game) { g.Status = "open" }, "status"},
		{"live ok", func(g *Game) { g.Status = StatusLive }, ""},
		{"closed ok", func(g *Game) { g.Status = StatusClosed }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := goodGame()
			tt.mutate(&g)
			if got := fields(g.Validate()); got != tt.want {
				t.Fatalf("fields = %q, want %q (%v)", got, tt.want, g.Validate())
			}
		})
	}
}

func TestImpliedProbability(t *testing.T) {
	for _, tt := range []struct {
		odds int
		want float64
	}{{-110, 110.0 / 210}, {100, 0.5}, {-100, 0.5}, {300, 0.25}} {
		if got := ImpliedProbability(tt.odds); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ImpliedProbability(%d) = %v, want %v", tt.odds, got, tt.want)
		}
	}
}

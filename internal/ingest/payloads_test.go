package ingest_test

// The AWS reference's payloads, all of them: what its WriteFeeds took
// (numbers through toString(), so strings too; any number for a price; the
// six fields its StreamConsumer pushes, for a game never described) must
// be stored, on both write forms, and compressed bodies too.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// quoteOf is the stored quote of a game at one instant, or fails.
func (e *env) quoteOf(gameID string, at time.Time) feed.Odds {
	e.t.Helper()
	for _, o := range e.odds(gameID) {
		if o.ObservedAt.Equal(at) {
			return o
		}
	}
	e.t.Fatalf("no odds of %s at %s in %+v", gameID, at, e.odds(gameID))
	return feed.Odds{}
}

// sameQuote reports whether o has these spreads and prices.
func sameQuote(o feed.Odds, away, home float64, awayOdds, homeOdds int) bool {
	return o.AwaySpread == away && o.HomeSpread == home && o.AwayOdds == awayOdds && o.HomeOdds == homeOdds
}

func TestNumbersAsStrings(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)

	rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(fmt.Sprintf(
		`{"gameId":"g1","observedAt":%q,"awaySpread":"0.5","homeSpread":"-0.5","awayOdds":"-110","homeOdds":"+105"}`,
		at.Format(time.RFC3339Nano))))
	if rec.Code != 200 {
		t.Fatalf("/v1/odds: %d %s", rec.Code, rec.Body)
	}
	if o := e.quoteOf("g1", at); !sameQuote(o, 0.5, -0.5, -110, 105) {
		t.Fatalf("/v1/odds stored %+v", o)
	}

	at2 := at.Add(time.Second)
	rec = e.do(http.MethodPut, "/feeds", e.provider, batch(fmt.Sprintf(
		`{"summary":"A @ B","gameId":"g1","gameDate":"2021-11-20 16:00","type":"game-soccer","isOpen":"false",`+
			`"away":"3","home":"-3.5","awayOdds":"-110","homeOdds":"-110","date":%q}`, at2.Format(refLayout))))
	if rec.Code != 200 {
		t.Fatalf("/feeds: %d %s", rec.Code, rec.Body)
	}
	if o := e.quoteOf("g1", at2); !sameQuote(o, 3, -3.5, -110, -110) {
		t.Fatalf("/feeds stored %+v", o)
	}
	if g, _ := e.store.GetGame(context.Background(), "g1"); g.Status != feed.StatusClosed {
		t.Fatalf(`isOpen "false" gave status %q`, g.Status)
	}
}

func TestIntegralFloatOdds(t *testing.T) {
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	native := func(awayOdds, homeOdds string) string {
		return batch(fmt.Sprintf(`{"gameId":"g1","observedAt":%q,"awaySpread":3,"homeSpread":-3,"awayOdds":%s,"homeOdds":%s}`,
			at.Format(time.RFC3339Nano), awayOdds, homeOdds))
	}
	ref := func(awayOdds, homeOdds string) string {
		return batch(fmt.Sprintf(`{"gameId":"g1","away":3,"home":-3,"awayOdds":%s,"homeOdds":%s,"date":%q}`,
			awayOdds, homeOdds, at.Format(refLayout)))
	}
	tests := []struct {
		awayOdds, homeOdds string
		wantAway, wantHome int    // when accepted
		badField           string // when refused
	}{
		{awayOdds: `1e2`, homeOdds: `-110.0`, wantAway: 100, wantHome: -110},
		{awayOdds: `"-110.0"`, homeOdds: `"1E2"`, wantAway: -110, wantHome: 100},
		{awayOdds: `-1.1e2`, homeOdds: `250.000`, wantAway: -110, wantHome: 250},
		{awayOdds: `-110.5`, homeOdds: `-110`, badField: "awayOdds"},
		{awayOdds: `-110`, homeOdds: `"-110.5"`, badField: "homeOdds"},
		{awayOdds: `1e300`, homeOdds: `-110`, badField: "awayOdds"},
	}
	for _, form := range []struct {
		name, method, path string
		body               func(a, h string) string
	}{{"native", http.MethodPost, "/v1/odds", native}, {"reference", http.MethodPut, "/feeds", ref}} {
		for _, tt := range tests {
			t.Run(form.name+" "+tt.awayOdds+" "+tt.homeOdds, func(t *testing.T) {
				e := newEnv(t, envOpt{})
				e.putGame("g1")
				rec := e.do(form.method, form.path, e.provider, form.body(tt.awayOdds, tt.homeOdds))
				if tt.badField == "" {
					if rec.Code != 200 {
						t.Fatalf("%d %s", rec.Code, rec.Body)
					}
					if o := e.quoteOf("g1", at); o.AwayOdds != tt.wantAway || o.HomeOdds != tt.wantHome {
						t.Fatalf("stored %+v", o)
					}
					return
				}
				p := decodeProblem(t, rec, 422)
				if got := p.fields(); !slices.Equal(got, []string{"0." + tt.badField}) {
					t.Fatalf("errors %+v", p.Errors)
				}
			})
		}
	}
}

// gzipped compresses s.
func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// doEncoded sends a body with a Content-Encoding.
func (e *env) doEncoded(method, path, encoding string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Encoding", encoding)
	r.Header.Set("Authorization", "Bearer "+e.provider)
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, r)
	return rec
}

func TestGzipBodies(t *testing.T) {
	const limit = 4096
	e := newEnv(t, envOpt{opts: ingest.Options{MaxBodyBytes: limit}})
	e.putGame("g1")
	at := time.Now().Add(-time.Hour)
	routes := []struct {
		method, path string
		body         func(i int) string // a valid body, different for each i
		status       int
	}{
		{http.MethodPost, "/v1/odds", func(i int) string { return batch(goodItem("g1", at.Add(time.Duration(i)*time.Second)).json()) }, 200},
		{http.MethodPut, "/feeds", func(i int) string {
			return batch(refItem("g1", at, at.Add(time.Duration(100+i)*time.Second), true, -110))
		}, 200},
		{http.MethodPost, "/feeds", func(i int) string {
			return batch(refItem("g1", at, at.Add(time.Duration(200+i)*time.Second), true, -110))
		}, 200},
		{http.MethodPut, "/v1/games/g2", func(i int) string {
			return fmt.Sprintf(`{"sport":"soccer","summary":"v%d","gameDate":"2026-11-23T17:30:00Z","status":"scheduled"}`, i)
		}, 0},
	}
	// 8 MiB of spaces inside a valid body: about 8 KiB compressed.
	bomb := gzipped(t, `{"odds":[`+strings.Repeat(" ", 8<<20)+`]}`)
	for i, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			rec := e.doEncoded(rt.method, rt.path, "gzip", gzipped(t, rt.body(i)))
			if rec.Code/100 != 2 {
				t.Fatalf("gzip body: %d %s", rec.Code, rec.Body)
			}
			p := decodeProblem(t, e.doEncoded(rt.method, rt.path, "gzip", bomb), 413)
			if !strings.Contains(p.Detail, "decompressed") {
				t.Fatalf("413 detail %q", p.Detail)
			}
			valid := gzipped(t, rt.body(i+10))
			p = decodeProblem(t, e.doEncoded(rt.method, rt.path, "gzip", valid[:len(valid)/2]), 400)
			if !strings.Contains(p.Detail, "not a valid gzip stream") {
				t.Fatalf("400 detail %q", p.Detail)
			}
			decodeProblem(t, e.doEncoded(rt.method, rt.path, "gzip", []byte(rt.body(i+20))), 400)
			rec = e.doEncoded(rt.method, rt.path, "br", valid)
			decodeProblem(t, rec, 415)
			if rec.Header().Get("Accept-Encoding") != "gzip" {
				t.Fatal("415 without Accept-Encoding: gzip")
			}
		})
	}
	// Only the gzip bodies were stored: one odds per odds route.
	if n := len(e.odds("g1")); n != 3 {
		t.Fatalf("%d odds stored, want 3", n)
	}
}

// hidingStore hides one game from GetGame once, as if it were created by
// another request between the read and the write of an item's game.
type hidingStore struct {
	*embedded.Store
	hide   string
	hidden atomic.Bool
}

func (s *hidingStore) GetGame(ctx context.Context, id string) (feed.Game, error) {
	if id == s.hide && s.hidden.CompareAndSwap(false, true) {
		return feed.Game{}, fmt.Errorf("get game: %w", store.ErrNotFound)
	}
	return s.Store.GetGame(ctx, id)
}

func TestReferenceSixFieldsOfAnUnknownGame(t *testing.T) {
	e := newEnv(t, envOpt{wrap: func(s *embedded.Store) ingest.Store { return &hidingStore{Store: s, hide: "raced"} }})
	date := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	six := func(id string, extra string) string {
		return fmt.Sprintf(`{"gameId":%q,"away":3,"home":-3,"awayOdds":-110,"homeOdds":-110,"date":%q%s}`,
			id, date.Format(refLayout), extra)
	}
	rec := e.do(http.MethodPut, "/feeds", e.provider, batch(six("new1", ""), six("new2", `,"type":"game-cricket","isOpen":false`)))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for _, want := range []feed.Game{
		{ID: "new1", Sport: "unknown", Summary: "new1", GameDate: date, Status: feed.StatusLive},
		{ID: "new2", Sport: "cricket", Summary: "new2", GameDate: date, Status: feed.StatusClosed},
	} {
		g, err := e.store.GetGame(context.Background(), want.ID)
		if err != nil || !g.SameContent(want) {
			t.Fatalf("game %+v (%v), want %+v", g, err, want)
		}
		if o := e.quoteOf(want.ID, date); !sameQuote(o, 3, -3, -110, -110) {
			t.Fatalf("odds %+v", o)
		}
	}

	// A known game is never changed by six fields, not even one created
	// after the item's game was read.
	for _, id := range []string{"known", "raced"} {
		known := e.putGame(id)
		if rec := e.do(http.MethodPost, "/feeds", e.provider, batch(six(id, ""))); rec.Code != 200 {
			t.Fatalf("%s: %d %s", id, rec.Code, rec.Body)
		}
		if g, _ := e.store.GetGame(context.Background(), id); g.Version != 1 || !g.SameContent(known) {
			t.Fatalf("%s: game %+v, want %+v", id, g, known)
		}
		e.quoteOf(id, date)
	}

	// The reference's stream records stamp date as Unix seconds.
	unix := date.Add(time.Second).Truncate(time.Second)
	rec = e.do(http.MethodPut, "/feeds", e.provider, batch(
		fmt.Sprintf(`{"gameId":"new3","away":3,"home":-3,"awayOdds":-110,"homeOdds":-110,"date":%d}`, unix.Unix())))
	if rec.Code != 200 {
		t.Fatalf("Unix date: %d %s", rec.Code, rec.Body)
	}
	e.quoteOf("new3", unix)
}

// TestPreciseFieldErrors: each bad field gets one accurate error, and the
// fields present and valid get none, whatever the order of the members.
func TestPreciseFieldErrors(t *testing.T) {
	at := time.Now().Add(-time.Minute).UTC()
	tests := []struct {
		name, path, item string
		want             []string // field: reason
	}{
		{"native, one string for a number", "/v1/odds",
			fmt.Sprintf(`{"awayOdds":"abc","gameId":"g1","observedAt":%q,"awaySpread":3,"homeSpread":-3,"homeOdds":-110}`, at.Format(time.RFC3339)),
			[]string{"awayOdds: must be a number"}},
		{"native, wrong type first of all", "/v1/odds",
			fmt.Sprintf(`{"gameId":5,"observedAt":%q,"awaySpread":3,"homeSpread":-3,"awayOdds":-110,"homeOdds":-110}`, at.Format(time.RFC3339)),
			[]string{"gameId: must be a string"}},
		{"native, every field of the wrong type", "/v1/odds",
			`{"gameId":[],"observedAt":{},"awaySpread":true,"homeSpread":"x","awayOdds":{},"homeOdds":[1]}`,
			[]string{"gameId: must be a string", "observedAt: must be a string", "awaySpread: must be a number",
				"homeSpread: must be a number", "awayOdds: must be a number", "homeOdds: must be a number"}},
		{"reference, one string for a number", "/feeds",
			fmt.Sprintf(`{"home":"minus three","summary":"A @ B","gameId":"g1","gameDate":"2021-11-20 16:00","type":"game-soccer",`+
				`"isOpen":true,"away":3,"awayOdds":-110,"homeOdds":-110,"date":%q}`, at.Format(refLayout)),
			[]string{"home: must be a number"}},
		{"reference, two bad fields", "/feeds",
			fmt.Sprintf(`{"gameId":"g1","isOpen":1,"away":3,"home":-3,"awayOdds":-110,"homeOdds":null,"date":%q}`, at.Format(refLayout)),
			[]string{"isOpen: must be true or false", "homeOdds: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpt{})
			e.putGame("g1")
			p := decodeProblem(t, e.do(http.MethodPost, tt.path, e.provider, batch(tt.item)), 422)
			var got []string
			for _, pe := range p.Errors {
				if pe.Index == nil || *pe.Index != 0 {
					t.Fatalf("error without the item's index: %+v", pe)
				}
				got = append(got, pe.Field+": "+pe.Reason)
			}
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

// outcomeStore answers PutOdds with set outcomes, as a store would.
type outcomeStore struct {
	*embedded.Store
	outcomes []store.Outcome
	err      error
}

func (s *outcomeStore) PutOdds(_ context.Context, odds []feed.Odds) ([]store.Outcome, error) {
	return s.outcomes[:len(odds)], s.err
}

// TestOutcomes checks how each store outcome is reported: corrections are
// successes, a refused correction an error of the item's observedAt.
func TestOutcomes(t *testing.T) {
	at := time.Now().Add(-time.Minute)
	body := batch(goodItem("g1", at).json(), goodItem("g1", at.Add(time.Second)).json(), goodItem("g1", at.Add(2*time.Second)).json())
	os := &outcomeStore{}
	e := newEnv(t, envOpt{wrap: func(s *embedded.Store) ingest.Store { os.Store = s; return os }})
	e.putGame("g1")

	os.outcomes = []store.Outcome{store.Corrected, store.Stored, store.Duplicate}
	rec := e.do(http.MethodPost, "/v1/odds", e.provider, body)
	want := `{"stored":1,"duplicates":1,"corrected":1,"results":[{"index":0,"outcome":"corrected"},{"index":2,"outcome":"duplicate"}]}`
	if got := strings.TrimSpace(rec.Body.String()); rec.Code != 200 || got != want {
		t.Fatalf("%d %s, want %s", rec.Code, got, want)
	}
	if rec := e.do(http.MethodPut, "/feeds", e.provider, batch(refItem("g1", at, at, true, -110))); rec.Code != 200 {
		t.Fatalf("/feeds correction: %d %s", rec.Code, rec.Body)
	}

	os.outcomes = []store.Outcome{store.Stored, store.Refused, store.Corrected}
	p := decodeProblem(t, e.do(http.MethodPost, "/v1/odds", e.provider, body), 422)
	if len(p.Errors) != 1 || p.fields()[0] != "1.observedAt" || !strings.Contains(p.Errors[0].Reason, "no more versions are kept") {
		t.Fatalf("errors %+v", p.Errors)
	}
	if p.Stored != 1 || p.Corrected != 1 || p.Invalid != 1 || !slices.Equal(p.CorrectedIndices, []int{2}) {
		t.Fatalf("counts %+v", p)
	}
	if strings.Contains(rec.Body.String(), "conflict") {
		t.Fatalf("conflicts are gone: %s", rec.Body)
	}
	p = decodeProblem(t, e.do(http.MethodPut, "/feeds", e.provider, batch(refItem("g1", at, at, true, -110), refItem("g1", at, at, true, -110))), 422)
	if got := p.fields(); !slices.Equal(got, []string{"1.date"}) {
		t.Fatalf("/feeds refused: %q", got)
	}

	os.outcomes, os.err = []store.Outcome{store.Corrected, store.NotStored, store.NotStored}, errors.New("disk gone")
	p = decodeProblem(t, e.do(http.MethodPost, "/v1/odds", e.provider, body), 503)
	if !slices.Equal(p.CorrectedIndices, []int{0}) || !slices.Equal(p.NotStoredIndices, []int{1, 2}) {
		t.Fatalf("503 %+v", p)
	}
}

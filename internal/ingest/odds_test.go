package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// TestPostOddsBadInput checks each kind of bad input: the status, the
// fields named, that the good items of the same request are stored and
// readable, and that what was stored before is unchanged.
func TestPostOddsBadInput(t *testing.T) {
	base := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Millisecond)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	good := func(i int) string { return goodItem("g1", at(i)).json() }
	with := func(i int, change func(m map[string]any)) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(good(i)), &m)
		change(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	many := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = good(i)
		}
		return batch(items...)
	}
	tests := []struct {
		name    string
		body    string
		status  int
		fields  []string // "index.field" of each error, or "field"
		reason  string   // a reason some error must contain
		stored  []int    // request indices that must be stored
		typeURN string
	}{
		{name: "malformed JSON", body: `{"odds":[` + good(0), status: 400, typeURN: "urn:oddsfeed:problem:malformed-json"},
		{name: "too big", body: `{"odds":[` + good(0) + `],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, status: 413,
			typeURN: "urn:oddsfeed:problem:too-large"},
		{name: "more than 500 items", body: many(501), status: 422, fields: []string{"odds"}, reason: "at most 500 items"},
		{name: "empty batch", body: `{"odds":[]}`, status: 422, fields: []string{"odds"}},
		{name: "no odds member", body: `{"games":[]}`, status: 422, fields: []string{"odds"}, reason: "is required"},
		{name: "odds not an array", body: `{"odds":{}}`, status: 422, fields: []string{"odds"}, reason: "must be an array"},
		{name: "body not an object", body: `[1]`, status: 422},
		{name: "wrong type", body: batch(good(0), with(1, func(m map[string]any) { m["awayOdds"] = "x" }), good(2)),
			status: 422, fields: []string{"1.awayOdds"}, reason: "must be a number", stored: []int{0, 2}},
		{name: "fractional American odds", body: batch(good(0), with(1, func(m map[string]any) { m["homeOdds"] = -110.5 })),
			status: 422, fields: []string{"1.homeOdds"}, reason: "must be an integer", stored: []int{0}},
		{name: "game id not a string", body: batch(with(0, func(m map[string]any) { m["gameId"] = 5 }), good(1)),
			status: 422, fields: []string{"0.gameId"}, reason: "must be a string", stored: []int{1}},
		{name: "odds between -100 and 100", body: batch(good(0), with(1, func(m map[string]any) { m["awayOdds"] = -50 }), good(2)),
			status: 422, fields: []string{"1.awayOdds"}, reason: "<= -100", stored: []int{0, 2}},
		{name: "unknown game", body: batch(good(0), with(1, func(m map[string]any) { m["gameId"] = "nope" })),
			status: 422, fields: []string{"1.gameId"}, reason: "unknown game nope", stored: []int{0}},
		{name: "future observedAt", body: batch(with(0, func(m map[string]any) { m["observedAt"] = time.Now().Add(10 * time.Minute) }), good(1)),
			status: 422, fields: []string{"0.observedAt"}, reason: "future", stored: []int{1}},
		{name: "observedAt not RFC 3339", body: batch(good(0), with(1, func(m map[string]any) { m["observedAt"] = "2021-11-20 20:30" })),
			status: 422, fields: []string{"1.observedAt"}, reason: "RFC 3339", stored: []int{0}},
		{name: "bad id charset", body: batch(good(0), with(1, func(m map[string]any) { m["gameId"] = "bad#id" })),
			status: 422, fields: []string{"1.gameId"}, reason: "only letters", stored: []int{0}},
		{name: "missing field", body: batch(with(0, func(m map[string]any) { delete(m, "homeOdds") }), good(1)),
			status: 422, fields: []string{"0.homeOdds"}, reason: "is required", stored: []int{1}},
		{name: "spread not a multiple of 0.5", body: batch(good(0), with(1, func(m map[string]any) { m["awaySpread"] = 0.25 })),
			status: 422, fields: []string{"1.awaySpread"}, stored: []int{0}},
		{name: "two bad fields", body: batch(with(0, func(m map[string]any) { m["awayOdds"] = 5; m["homeSpread"] = 0.3 }), good(1)),
			status: 422, fields: []string{"0.homeSpread", "0.awayOdds"}, stored: []int{1}},
		{name: "wrong type and other errors", body: batch(with(0, func(m map[string]any) { m["awayOdds"] = true; m["observedAt"] = "x"; delete(m, "homeOdds") }), good(1)),
			status: 422, fields: []string{"0.observedAt", "0.awayOdds", "0.homeOdds"}, reason: "must be a number", stored: []int{1}},
		{name: "number not a number in a string", body: batch(good(0), with(1, func(m map[string]any) { m["homeSpread"] = "NaN" })),
			status: 422, fields: []string{"1.homeSpread"}, reason: "must be a number", stored: []int{0}},
		{name: "number out of range", body: batch(good(0), `{"gameId":"g1","observedAt":"2026-01-01T00:00:00Z","awaySpread":1e400,"homeSpread":-3,"awayOdds":-110,"homeOdds":-110}`),
			status: 422, fields: []string{"1.awaySpread"}, reason: "out of range", stored: []int{0}},
		{name: "null item", body: batch(good(0), `null`, good(2)), status: 422, fields: []string{"1."}, reason: "must be an object", stored: []int{0, 2}},
		{name: "item of another provider", body: batch(good(0), with(1, func(m map[string]any) { m["provider"] = "other" })),
			status: 422, fields: []string{"1.provider"}, stored: []int{0}},
		{name: "batch of another provider", body: `{"provider":"other","odds":[` + good(0) + `]}`, status: 422, fields: []string{"provider"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpt{})
			e.putGame("g1")
			before := goodItem("g1", base.Add(-time.Minute))
			if rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(before.json())); rec.Code != 200 {
				t.Fatalf("baseline: %d %s", rec.Code, rec.Body)
			}

			p := decodeProblem(t, e.do(http.MethodPost, "/v1/odds", e.provider, tt.body), tt.status)
			if got := p.fields(); !slices.Equal(got, tt.fields) && !(len(got) == 0 && len(tt.fields) == 0) {
				t.Errorf("fields %q, want %q: %+v", got, tt.fields, p)
			}
			if tt.reason != "" && !strings.Contains(p.Detail+fmtReasons(p), tt.reason) {
				t.Errorf("no reason contains %q: %+v", tt.reason, p)
			}
			if tt.typeURN != "" && p.Type != tt.typeURN {
				t.Errorf("type %q, want %q", p.Type, tt.typeURN)
			}
			if tt.status == 422 && tt.stored != nil && !slices.Equal(p.StoredIndices, tt.stored) {
				t.Errorf("storedIndices %v, want %v", p.StoredIndices, tt.stored)
			}
			if p.Stored != len(tt.stored) {
				t.Errorf("stored %d, want %d", p.Stored, len(tt.stored))
			}

			// Exactly the baseline and the good items are stored, unchanged.
			got := e.odds("g1")
			if len(got) != 1+len(tt.stored) {
				t.Fatalf("%d odds stored, want %d", len(got), 1+len(tt.stored))
			}
			want := map[time.Time]bool{before.ObservedAt: true}
			for _, i := range tt.stored {
				want[at(i)] = true
			}
			for _, o := range got {
				if !want[o.ObservedAt] || o.Provider != "acme" || o.AwayOdds != -110 || o.AwaySpread != 3 {
					t.Errorf("unexpected stored odds %+v", o)
				}
			}
		})
	}
}

func fmtReasons(p problem) string {
	var b strings.Builder
	for _, e := range p.Errors {
		b.WriteString(e.Reason + "|")
	}
	return b.String()
}

func TestPostOddsSuccess(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	e.putGame("g2")
	now := time.Now().Add(-time.Minute)
	rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(goodItem("g1", now).json(), goodItem("g2", now).json()))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := strings.TrimSpace(rec.Body.String()); got != `{"stored":2,"duplicates":0,"corrected":0}` {
		t.Fatalf("body %s", got)
	}
	o := e.odds("g2")
	if len(o) != 1 || !o[0].ObservedAt.Equal(now.UTC()) || o[0].Provider != "acme" || o[0].ReceivedAt.IsZero() || o[0].Version != 1 {
		t.Fatalf("stored %+v", o)
	}
}

func TestPostOddsDuplicateAndCorrection(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	at := time.Now().Add(-time.Minute)
	first := goodItem("g1", at)
	other := goodItem("g1", at.Add(time.Second))
	if rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(first.json())); rec.Code != 200 {
		t.Fatalf("first: %d %s", rec.Code, rec.Body)
	}

	t.Run("duplicate", func(t *testing.T) {
		rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(other.json(), first.json()))
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		want := `{"stored":1,"duplicates":1,"corrected":0,"results":[{"index":1,"outcome":"duplicate"}]}`
		if got := strings.TrimSpace(rec.Body.String()); got != want {
			t.Fatalf("body %s, want %s", got, want)
		}
		if n := len(e.odds("g1")); n != 2 {
			t.Fatalf("%d odds stored, want 2", n)
		}
	})

	// A different value for a recorded key is a correction: a success, and
	// posting any version again exactly is a duplicate. (The versions
	// themselves are the store's; see storetest.)
	t.Run("correction", func(t *testing.T) {
		changed := first
		changed.AwayOdds = +120
		fresh := goodItem("g1", at.Add(2*time.Second))
		rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(fresh.json(), changed.json()))
		want := `{"stored":1,"duplicates":0,"corrected":1,"results":[{"index":1,"outcome":"corrected"}]}`
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != 200 || got != want {
			t.Fatalf("%d %s, want %s", rec.Code, got, want)
		}
		rec = e.do(http.MethodPost, "/v1/odds", e.provider, batch(changed.json(), first.json()))
		want = `{"stored":0,"duplicates":2,"corrected":0,"results":[{"index":0,"outcome":"duplicate"},{"index":1,"outcome":"duplicate"}]}`
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != 200 || got != want {
			t.Fatalf("re-post of both versions: %d %s, want %s", rec.Code, got, want)
		}
	})
}

func TestPostOddsAuth(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	body := batch(goodItem("g1", time.Now().Add(-time.Minute)).json())
	badKey := "not-a-key-at-all-but-long-enough-to-look-like-one"
	tests := []struct {
		name      string
		key       string
		status    int
		challenge bool
	}{
		{"no key", "", 401, true},
		{"bad key", badKey, 401, true},
		{"analyst may not write", e.analyst, 403, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(http.MethodPost, "/v1/odds", tt.key, body)
			decodeProblem(t, rec, tt.status)
			if got := rec.Header().Get("WWW-Authenticate"); tt.challenge != strings.HasPrefix(got, "Bearer") {
				t.Fatalf("WWW-Authenticate %q", got)
			}
			if n := len(e.odds("g1")); n != 0 {
				t.Fatalf("%d odds stored", n)
			}
		})
	}
	t.Run("admin writes for a provider", func(t *testing.T) {
		rec := e.do(http.MethodPost, "/v1/odds", e.admin, `{"provider":"acme","odds":[`+goodItem("g1", time.Now().Add(-time.Minute)).json()+`]}`)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if o := e.odds("g1"); len(o) != 1 || o[0].Provider != "acme" {
			t.Fatalf("stored %+v", o)
		}
	})
}

func TestPostOddsRateLimit(t *testing.T) {
	clk := harness.NewClock(time.Now())
	e := newEnv(t, envOpt{opts: ingest.Options{Rate: 1, Burst: 3, Now: clk.Now}})
	e.putGame("g1")
	at := time.Now().Add(-time.Hour)
	items := func(from, n int) string {
		var s []string
		for i := range n {
			s = append(s, goodItem("g1", at.Add(time.Duration(from+i)*time.Second)).json())
		}
		return batch(s...)
	}
	if rec := e.do(http.MethodPost, "/v1/odds", e.provider, items(0, 3)); rec.Code != 200 {
		t.Fatalf("within burst: %d %s", rec.Code, rec.Body)
	}
	rec := e.do(http.MethodPost, "/v1/odds", e.provider, items(3, 2))
	p := decodeProblem(t, rec, 429)
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After %q, want 2 (2 items at 1/s)", ra)
	}
	if p.Type != "urn:oddsfeed:problem:rate-limited" {
		t.Fatalf("type %q", p.Type)
	}
	if n := len(e.odds("g1")); n != 3 {
		t.Fatalf("%d odds stored after 429, want 3", n)
	}
	clk.Add(2 * time.Second)
	if rec := e.do(http.MethodPost, "/v1/odds", e.provider, items(3, 2)); rec.Code != 200 {
		t.Fatalf("after waiting: %d %s", rec.Code, rec.Body)
	}
	if n := len(e.odds("g1")); n != 5 {
		t.Fatalf("%d odds stored, want 5", n)
	}
}

// halfFailing stores the first half of each PutOdds batch in the real store,
// then fails, as a store that dies mid-batch would.
type halfFailing struct {
	*embedded.Store
	calls atomic.Int32
}

var errDiskGone = errors.New("disk gone")

func (s *halfFailing) PutOdds(ctx context.Context, odds []feed.Odds) ([]store.Outcome, error) {
	s.calls.Add(1)
	half := len(odds) / 2
	first, err := s.Store.PutOdds(ctx, odds[:half])
	if err != nil {
		return nil, err
	}
	out := make([]store.Outcome, len(odds))
	copy(out, first)
	return out, errDiskGone
}

func TestPostOddsStoreFailure(t *testing.T) {
	var hf *halfFailing
	e := newEnv(t, envOpt{wrap: func(s *embedded.Store) ingest.Store { hf = &halfFailing{Store: s}; return hf }})
	e.putGame("g1")
	at := time.Now().Add(-time.Hour)
	var items []string
	for i := range 4 {
		items = append(items, goodItem("g1", at.Add(time.Duration(i)*time.Second)).json())
	}
	bad := goodItem("g1", at.Add(10*time.Second))
	bad.AwayOdds = 0
	items = append(items[:2], append([]string{bad.json()}, items[2:]...)...) // index 2 is invalid

	rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(items...))
	p := decodeProblem(t, rec, 503)
	if rec.Header().Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	if !slices.Equal(p.StoredIndices, []int{0, 1}) || !slices.Equal(p.NotStoredIndices, []int{3, 4}) || p.Stored != 2 {
		t.Fatalf("stored %v not stored %v: %+v", p.StoredIndices, p.NotStoredIndices, p)
	}
	if got := p.fields(); !slices.Equal(got, []string{"2.awayOdds"}) {
		t.Fatalf("errors %q", got)
	}
	if strings.Contains(rec.Body.String(), errDiskGone.Error()) {
		t.Fatal("the store's error leaks to the client")
	}
	o := e.odds("g1")
	if len(o) != 2 || !o[1].ObservedAt.Equal(at.UTC()) || !o[0].ObservedAt.Equal(at.Add(time.Second).UTC()) {
		t.Fatalf("stored %+v", o)
	}
}

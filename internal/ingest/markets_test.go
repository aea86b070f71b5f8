package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// changeJSON is one change of POST /v1/markets of game g1 at at, with
// extra members (a JSON object's inside, without braces).
func changeJSON(at time.Time, members string) string {
	return `{"gameId":"g1","at":"` + at.UTC().Format(time.RFC3339Nano) + `",` + members + `}`
}

type changeResults struct {
	Results []struct {
		Index  int               `json:"index"`
		GameID string            `json:"gameId"`
		Market feed.Market       `json:"market"`
		Period feed.Period       `json:"period"`
		Effect string            `json:"effect"`
		Status feed.MarketStatus `json:"status"`
	} `json:"results"`
}

// postChanges posts a body to /v1/markets and decodes a 200.
func (e *env) postChanges(key, body string) changeResults {
	e.t.Helper()
	rec := e.do(http.MethodPost, "/v1/markets", key, body)
	if rec.Code != 200 {
		e.t.Fatalf("POST /v1/markets: %d %s", rec.Code, rec.Body)
	}
	var res changeResults
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

// ownedGame has provider acme create game g1 (so acme owns it).
func (e *env) ownedGame() {
	e.t.Helper()
	rec := e.do(http.MethodPut, "/v1/games/g1", e.provider,
		`{"sport":"soccer","summary":"A v B","gameDate":"2026-12-01T16:00:00Z","status":"live"}`)
	if rec.Code != 201 {
		e.t.Fatalf("create game: %d %s", rec.Code, rec.Body)
	}
}

// TestMarketLifecycle walks a total through the provider's life cycle:
// bet stop, duplicate, resume, settle, refused changes, rollback, cancel;
// an admin's suspension only a trader (or admin) lifts.
func TestMarketLifecycle(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.ownedGame()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	step := func(i int) time.Time { return at.Add(time.Duration(i) * time.Second) }

	res := e.postChanges(e.provider, changeJSON(step(1), `"market":"total","action":"suspend","reason":"goal"`))
	r := res.Results[0]
	if r.Effect != "applied" || r.Market != feed.MarketTotal || r.Period != feed.PeriodFull || r.Status.State != feed.MarketSuspended ||
		r.Status.Reason != "goal" || r.Status.By != "acme" || r.Status.ByTrader || r.Status.Version != 1 {
		t.Fatalf("suspend: %+v", r)
	}
	if r := e.postChanges(e.provider, changeJSON(step(1), `"market":"total","action":"suspend","reason":"goal"`)).Results[0]; r.Effect != "duplicate" || r.Status.Version != 1 {
		t.Fatalf("duplicate: %+v", r)
	}
	// Any provider may post a bet stop and lift it; an older change is superseded.
	if r := e.postChanges(e.other, changeJSON(step(2), `"market":"total","period":"full","action":"resume"`)).Results[0]; r.Effect != "applied" || r.Status.State != feed.MarketOpen {
		t.Fatalf("resume by another provider: %+v", r)
	}
	if r := e.postChanges(e.provider, changeJSON(step(0), `"market":"total","action":"suspend"`)).Results[0]; r.Effect != "superseded" || r.Status.State != feed.MarketOpen {
		t.Fatalf("older change: %+v", r)
	}
	// Only the owner settles.
	settle := changeJSON(step(3), `"market":"total","action":"settle","results":{"over":"win","under":"lose"}`)
	p := decodeProblem(t, e.do(http.MethodPost, "/v1/markets", e.other, settle), 403)
	if !slices.Equal(p.fields(), []string{"action"}) {
		t.Fatalf("settle by another provider: %+v", p)
	}
	r = e.postChanges(e.provider, settle).Results[0]
	if r.Status.State != feed.MarketSettled || r.Status.Results[feed.OutcomeOver] != feed.ResultWin || r.Status.Prev != feed.MarketOpen {
		t.Fatalf("settle: %+v", r)
	}
	// A settled market cannot be suspended: 409.
	p = decodeProblem(t, e.do(http.MethodPost, "/v1/markets", e.other, changeJSON(step(4), `"market":"total","action":"suspend"`)), 409)
	if p.Type != "urn:oddsfeed:problem:conflict" || !slices.Equal(p.fields(), []string{"action"}) {
		t.Fatalf("suspend a settled market: %+v", p)
	}
	r = e.postChanges(e.provider, changeJSON(step(5), `"market":"total","action":"rollback","note":"wrong result"`)).Results[0]
	if r.Status.State != feed.MarketOpen || len(r.Status.Results) != 0 || r.Status.Note != "wrong result" {
		t.Fatalf("rollback: %+v", r)
	}
	// An admin's suspension is a trader's: a provider's resume is refused (403).
	if r := e.postChanges(e.admin, changeJSON(step(6), `"market":"total","action":"suspend"`)).Results[0]; !r.Status.ByTrader || r.Status.Reason != feed.ReasonTrader {
		t.Fatalf("admin suspend: %+v", r)
	}
	p = decodeProblem(t, e.do(http.MethodPost, "/v1/markets", e.provider, changeJSON(step(7), `"market":"total","action":"resume"`)), 403)
	if !strings.Contains(p.Errors[0].Reason, "trader") {
		t.Fatalf("provider resume of a trader's suspension: %+v", p)
	}
	stored, err := e.store.Markets(context.Background(), "g1")
	if err != nil || len(stored) != 1 || stored[0].State != feed.MarketSuspended || stored[0].Version != 5 {
		t.Fatalf("stored %+v %v", stored, err)
	}
}

// TestMarketsBatch: a batch applies in order; one refused change is
// listed (409) and the others take effect.
func TestMarketsBatch(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.ownedGame()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	body := `{"changes":[` + strings.Join([]string{
		changeJSON(at, `"market":"moneyline","action":"suspend"`),
		changeJSON(at, `"market":"three_way","period":"1h","action":"close"`),
		changeJSON(at.Add(time.Second), `"market":"three_way","period":"1h","action":"settle","results":{"home":"win","draw":"lose","away":"lose"}`),
	}, ",") + `]}`
	res := e.postChanges(e.provider, body)
	if len(res.Results) != 3 || res.Results[2].Index != 2 || res.Results[2].Status.State != feed.MarketSettled || res.Results[2].Status.Prev != feed.MarketClosed {
		t.Fatalf("batch: %+v", res)
	}
	body = `{"changes":[` + changeJSON(at.Add(2*time.Second), `"market":"three_way","period":"1h","action":"cancel"`) + `,` +
		changeJSON(at.Add(2*time.Second), `"market":"moneyline","action":"settle","results":{"home":"win","away":"lose"}`) + `,` +
		changeJSON(at.Add(3*time.Second), `"market":"three_way","period":"1h","action":"cancel"`) + `]}`
	rec := e.do(http.MethodPost, "/v1/markets", e.provider, body)
	p := decodeProblem(t, rec, 409)
	if !slices.Equal(p.fields(), []string{"changes[2].action"}) {
		t.Fatalf("refused: %+v", p)
	}
	var applied changeResults
	_ = json.Unmarshal(rec.Body.Bytes(), &applied)
	if len(applied.Results) != 2 || applied.Results[1].Status.State != feed.MarketSettled {
		t.Fatalf("applied alongside the refused one: %s", rec.Body)
	}
}

// TestMarketsBadInput: each refused body, its status and the fields it
// names; nothing is changed.
func TestMarketsBadInput(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.ownedGame()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	ok := changeJSON(at, `"market":"total","action":"suspend"`)
	many := make([]string, 501)
	for i := range many {
		many[i] = ok
	}
	tests := []struct {
		name   string
		body   string
		status int
		fields []string
	}{
		{"not JSON", `{"gameId":`, 400, nil},
		{"not an object", `[1]`, 400, nil},
		{"changes not an array", `{"changes":{}}`, 400, []string{"changes"}},
		{"no changes", `{"changes":[]}`, 400, []string{"changes"}},
		{"too many changes", `{"changes":[` + strings.Join(many, ",") + `]}`, 400, []string{"changes"}},
		{"missing everything", `{}`, 400, []string{"action", "at", "gameId", "market"}},
		{"unknown action", changeJSON(at, `"market":"total","action":"void"`), 400, []string{"action"}},
		{"settle without results", changeJSON(at, `"market":"total","action":"settle"`), 400, []string{"results.over", "results.under"}},
		{"results of a suspend", changeJSON(at, `"market":"total","action":"suspend","results":{"over":"win"}`), 400, []string{"results"}},
		{"bad results in a batch", `{"changes":[` + ok + `,` + ok + `,` +
			changeJSON(at, `"market":"three_way","action":"settle","results":{"home":"win","away":"lose","draw":"maybe","over":"win"}`) + `]}`,
			400, []string{"changes[2].results.draw", "changes[2].results.over"}},
		{"result not a string", changeJSON(at, `"market":"moneyline","action":"settle","results":{"home":1,"away":"lose"}`), 400, []string{"results.home"}},
		{"item not an object", `{"changes":[` + ok + `,5]}`, 400, []string{"changes[1]"}},
		{"unknown game", `{"changes":[` + ok + `,` + strings.Replace(ok, `"g1"`, `"nope"`, 1) + `]}`, 400, []string{"changes[1].gameId"}},
		{"future at", changeJSON(time.Now().Add(time.Hour), `"market":"total","action":"suspend"`), 400, []string{"at"}},
		{"at not a time", `{"gameId":"g1","market":"total","action":"suspend","at":"yesterday"}`, 400, []string{"at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decodeProblem(t, e.do(http.MethodPost, "/v1/markets", e.provider, tt.body), tt.status)
			got := p.fields()
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v: %+v", got, tt.fields, p)
			}
		})
	}
	if ms, err := e.store.Markets(context.Background(), "g1"); err != nil || len(ms) != 0 {
		t.Fatalf("changed: %+v %v", ms, err)
	}
	if rec := e.do(http.MethodPost, "/v1/markets", e.analyst, ok); rec.Code != 403 {
		t.Fatalf("analyst: %d", rec.Code)
	}
}

// heardCounting counts the store's liveness writes.
type heardCounting struct {
	*embedded.Store
	calls atomic.Int32
}

func (s *heardCounting) Heard(ctx context.Context, provider string, at time.Time) (feed.ProviderStatus, bool, error) {
	s.calls.Add(1)
	return s.Store.Heard(ctx, provider, at)
}

// TestHeartbeatAndOddsRecordLiveness: a heartbeat and a provider's odds
// record it heard, at most once per feed.HeardGranularity from this
// replica; an admin's heartbeat names its provider.
func TestHeartbeatAndOddsRecordLiveness(t *testing.T) {
	clk := harness.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	var hs *heardCounting
	e := newEnv(t, envOpt{opts: ingest.Options{Now: clk.Now},
		wrap: func(s *embedded.Store) ingest.Store { hs = &heardCounting{Store: s}; return hs }})
	e.putGame("g1")
	type beat struct {
		Provider feed.ProviderStatus `json:"provider"`
	}
	heartbeat := func(key, body string) feed.ProviderStatus {
		t.Helper()
		rec := e.do(http.MethodPost, "/v1/heartbeat", key, body)
		if rec.Code != 200 {
			t.Fatalf("heartbeat: %d %s", rec.Code, rec.Body)
		}
		var b beat
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		return b.Provider
	}
	first := clk.Now()
	if st := heartbeat(e.provider, ""); st.Provider != "acme" || st.State != feed.ProviderUp || !st.LastHeard.Equal(first) || st.Version != 1 {
		t.Fatalf("first heartbeat: %+v", st)
	}
	clk.Add(300 * time.Millisecond)
	if st := heartbeat(e.provider, `{}`); st.Version != 1 || hs.calls.Load() != 1 {
		t.Fatalf("throttled heartbeat: %+v, %d store calls", st, hs.calls.Load())
	}
	for i := range 5 { // odds within the granularity: no write
		rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(goodItem("g1", first.Add(-time.Duration(i+1)*time.Second)).json()))
		if rec.Code != 200 {
			t.Fatalf("odds: %d %s", rec.Code, rec.Body)
		}
	}
	if n := hs.calls.Load(); n != 1 {
		t.Fatalf("%d liveness writes within %v, want 1", n, feed.HeardGranularity)
	}
	clk.Add(feed.HeardGranularity)
	if rec := e.do(http.MethodPost, "/v1/odds", e.provider, batch(goodItem("g1", first.Add(-time.Minute)).json())); rec.Code != 200 {
		t.Fatalf("odds: %d %s", rec.Code, rec.Body)
	}
	ps, err := e.store.Providers(context.Background())
	if err != nil || len(ps) != 1 || ps[0].Version != 2 || !ps[0].LastHeard.Equal(clk.Now()) {
		t.Fatalf("after odds a second later: %+v %v", ps, err)
	}
	// An admin's heartbeat is for a provider it names; an admin's odds
	// are no provider's sign of life.
	if st := heartbeat(e.admin, `{"provider":"beta"}`); st.Provider != "beta" || st.Version != 1 {
		t.Fatalf("admin heartbeat for beta: %+v", st)
	}
	for _, tt := range []struct{ key, body, field string }{
		{e.admin, ``, "provider"}, {e.provider, `{"provider":"beta"}`, "provider"}, {e.provider, `{"provider":7}`, "provider"},
		{e.provider, `[]`, ""}, {e.provider, `{"provider":`, ""},
	} {
		p := decodeProblem(t, e.do(http.MethodPost, "/v1/heartbeat", tt.key, tt.body), 400)
		if got := strings.Join(p.fields(), ","); got != tt.field {
			t.Fatalf("%s: fields %q, want %q", tt.body, got, tt.field)
		}
	}
	if rec := e.do(http.MethodPost, "/v1/heartbeat", e.analyst, ""); rec.Code != 403 {
		t.Fatalf("analyst heartbeat: %d", rec.Code)
	}
	if ps, _ := e.store.Providers(context.Background()); len(ps) != 2 {
		t.Fatalf("providers %s", fmt.Sprint(ps))
	}
}

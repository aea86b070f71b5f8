package app_test

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// marketJSON is a market status as the API and the stream carry it.
type marketJSON struct {
	GameID   string            `json:"gameId"`
	Market   string            `json:"market"`
	Period   string            `json:"period"`
	Status   string            `json:"status"`
	Reason   string            `json:"reason"`
	Results  map[string]string `json:"results"`
	ByTrader bool              `json:"byTrader"`
	Version  int64             `json:"version"`
}

// providerJSON is a provider's liveness as the API and the stream carry it.
type providerJSON struct {
	Provider  string    `json:"provider"`
	Status    string    `json:"status"`
	LastHeard time.Time `json:"lastHeard"`
	DownAt    time.Time `json:"downAt"`
	DecidedBy string    `json:"decidedBy"`
	Version   int64     `json:"version"`
}

// liveFrame is any frame of the native stream.
type liveFrame struct {
	Type      string          `json:"type"`
	GameID    string          `json:"gameId"`
	Seq       uint64          `json:"seq"`
	Odds      json.RawMessage `json:"odds"`
	Market    *marketJSON     `json:"market"`
	Markets   []marketJSON    `json:"markets"`
	Provider  *providerJSON   `json:"provider"`
	Providers []providerJSON  `json:"providers"`
}

// readUntil reads frames of c until match holds for one, which it returns,
// failing after timeout.
func readUntil(t *testing.T, c *websocket.Conn, timeout time.Duration, what string, match func(liveFrame) bool) liveFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var f liveFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if match(f) {
			return f
		}
	}
}

// marketIs matches the market frame of one market in one status.
func marketIs(market, status string) func(liveFrame) bool {
	return func(f liveFrame) bool {
		return f.Type == "market" && f.Market != nil && f.Market.Market == market && f.Market.Status == status
	}
}

type marketResult struct {
	Effect string     `json:"effect"`
	Status marketJSON `json:"status"`
}

// change posts one market change and returns its result.
func change(c client, status int, ch map[string]any) marketResult {
	c.t.Helper()
	var res struct{ Results []marketResult }
	c.want(status, "POST", "/v1/markets", ch, &res)
	if status != 200 {
		return marketResult{}
	}
	if len(res.Results) != 1 {
		c.t.Fatalf("POST /v1/markets %v: %d results", ch, len(res.Results))
	}
	return res.Results[0]
}

// TestMarketsEndToEnd quotes every market type, suspends markets as a
// provider (bet stop) and as a trader, resumes, settles, cancels and rolls
// back, on both back ends; a client on the stream sees each status, and
// the API reads them back.
func TestMarketsEndToEnd(t *testing.T) {
	k := newKeys()
	for name, vars := range backends(t, k) {
		t.Run(name, func(t *testing.T) {
			if name == "aws" {
				provisionStream(t, vars)
			}
			base := serve(t, vars)
			prov := client{t, base, k.provider}
			trader := client{t, base, k.trader}
			ana := client{t, base, k.analyst}
			now := time.Now().UTC().Truncate(time.Millisecond)
			prov.want(201, "PUT", "/v1/games/m1", map[string]any{"sport": "soccer", "gameDate": now, "status": "live",
				"homeTeam": "Arsenal", "awayTeam": "Chelsea"}, nil)
			quotes := []map[string]any{
				{"gameId": "m1", "observedAt": now.Add(-5 * time.Second), "market": "moneyline", "homeOdds": -150, "awayOdds": 130},
				{"gameId": "m1", "observedAt": now.Add(-5 * time.Second), "market": "three_way", "homeOdds": 120, "drawOdds": 240, "awayOdds": 210},
				{"gameId": "m1", "observedAt": now.Add(-5 * time.Second), "market": "spread", "homeSpread": -0.5, "awaySpread": 0.5, "homeOdds": -110, "awayOdds": -110},
				{"gameId": "m1", "observedAt": now.Add(-5 * time.Second), "market": "total", "line": 2.5, "overOdds": -105, "underOdds": -115},
				{"gameId": "m1", "observedAt": now.Add(-5 * time.Second), "market": "total", "period": "1h", "line": 1.5, "overOdds": 2.1, "underOdds": 1.8, "oddsFormat": "decimal"},
			}
			var stored struct{ Stored int }
			prov.want(200, "POST", "/v1/odds", map[string]any{"odds": quotes}, &stored)
			if stored.Stored != len(quotes) {
				t.Fatalf("stored %d quotes, want %d", stored.Stored, len(quotes))
			}
			// A three-way quote without its draw is refused, naming the field.
			var problem struct {
				Errors []struct {
					Index int
					Field string
				} `json:"errors"`
			}
			prov.want(422, "POST", "/v1/odds", map[string]any{"odds": []map[string]any{{"gameId": "m1", "observedAt": now, "market": "three_way", "homeOdds": 120, "awayOdds": 210}}}, &problem)
			if len(problem.Errors) != 1 || problem.Errors[0].Index != 0 || problem.Errors[0].Field != "drawOdds" {
				t.Fatalf("three-way without a draw: %+v", problem)
			}

			c := dial(t, base, "", k.analyst)
			first := readUntil(t, c, 10*time.Second, "the providers frame", func(liveFrame) bool { return true })
			if first.Type != "providers" || len(first.Providers) != 1 || first.Providers[0].Provider != "acme" || first.Providers[0].Status != "up" {
				t.Fatalf("first frame = %+v", first)
			}
			send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:m1"}})
			snap := readUntil(t, c, 10*time.Second, "the snapshot", func(f liveFrame) bool { return f.Type == "snapshot" })
			var snapQuotes []struct{ Market, Period string }
			if err := json.Unmarshal(snap.Odds, &snapQuotes); err != nil || len(snapQuotes) != len(quotes) {
				t.Fatalf("snapshot quotes = %s (%v), want %d", snap.Odds, err, len(quotes))
			}

			at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
			// A provider's bet stop, repeated, then an older one: applied once.
			if r := change(prov, 200, map[string]any{"gameId": "m1", "market": "three_way", "action": "suspend", "at": at(1)}); r.Effect != "applied" || r.Status.Status != "suspended" || r.Status.Reason != "bet_stop" {
				t.Fatalf("bet stop: %+v", r)
			}
			readUntil(t, c, 10*time.Second, "three_way suspended", marketIs("three_way", "suspended"))
			if r := change(prov, 200, map[string]any{"gameId": "m1", "market": "three_way", "action": "suspend", "at": at(1)}); r.Effect != "duplicate" {
				t.Fatalf("repeated bet stop: %+v", r)
			}
			if r := change(prov, 200, map[string]any{"gameId": "m1", "market": "three_way", "action": "resume", "at": at(0)}); r.Effect != "superseded" || r.Status.Status != "suspended" {
				t.Fatalf("older resume: %+v", r)
			}
			if r := change(prov, 200, map[string]any{"gameId": "m1", "market": "three_way", "action": "resume", "at": at(2)}); r.Status.Status != "open" {
				t.Fatalf("resume: %+v", r)
			}
			readUntil(t, c, 10*time.Second, "three_way open", marketIs("three_way", "open"))

			// A trader suspends the total; the provider may not re-open it.
			var tr struct{ Markets []marketJSON }
			ana.want(403, "POST", "/v1/games/m1/suspend", map[string]any{"market": "total", "reason": "injury check"}, nil)
			prov.want(403, "POST", "/v1/games/m1/suspend", map[string]any{"market": "total", "reason": "injury check"}, nil)
			trader.want(200, "POST", "/v1/games/m1/suspend", map[string]any{"market": "total", "reason": "injury check"}, &tr)
			if len(tr.Markets) != 1 || tr.Markets[0].Status != "suspended" || !tr.Markets[0].ByTrader {
				t.Fatalf("trader suspend: %+v", tr)
			}
			readUntil(t, c, 10*time.Second, "total suspended by the trader", marketIs("total", "suspended"))
			change(prov, 403, map[string]any{"gameId": "m1", "market": "total", "action": "resume", "at": time.Now().UTC()})
			trader.want(200, "POST", "/v1/games/m1/resume", map[string]any{"market": "total"}, &tr)
			readUntil(t, c, 10*time.Second, "total re-opened", marketIs("total", "open"))
			// The whole game at once.
			trader.want(200, "POST", "/v1/games/m1/suspend", map[string]any{"reason": "pitch invasion"}, &tr)
			if len(tr.Markets) != len(quotes) {
				t.Fatalf("suspending the game suspended %d markets, want %d: %+v", len(tr.Markets), len(quotes), tr.Markets)
			}
			trader.want(200, "POST", "/v1/games/m1/resume", map[string]any{}, &tr)

			// Settle, roll back, settle again; cancel and roll back.
			t0 := time.Now().UTC()
			change(prov, 200, map[string]any{"gameId": "m1", "market": "moneyline", "action": "close", "at": t0})
			change(prov, 409, map[string]any{"gameId": "m1", "market": "moneyline", "action": "rollback", "at": t0.Add(time.Millisecond)})
			r := change(prov, 200, map[string]any{"gameId": "m1", "market": "moneyline", "action": "settle", "at": t0.Add(2 * time.Millisecond),
				"results": map[string]string{"home": "win", "away": "lose"}})
			if r.Status.Status != "settled" || r.Status.Results["home"] != "win" {
				t.Fatalf("settle: %+v", r)
			}
			readUntil(t, c, 10*time.Second, "moneyline settled", marketIs("moneyline", "settled"))
			if r := change(prov, 200, map[string]any{"gameId": "m1", "market": "moneyline", "action": "rollback", "at": t0.Add(3 * time.Millisecond)}); r.Status.Status != "closed" || len(r.Status.Results) != 0 {
				t.Fatalf("rollback of the settlement: %+v", r)
			}
			readUntil(t, c, 10*time.Second, "moneyline back to closed", marketIs("moneyline", "closed"))
			change(prov, 200, map[string]any{"gameId": "m1", "market": "moneyline", "action": "settle", "at": t0.Add(4 * time.Millisecond),
				"results": map[string]string{"home": "lose", "away": "win"}})
			change(prov, 200, map[string]any{"gameId": "m1", "market": "spread", "action": "cancel", "at": t0})
			readUntil(t, c, 10*time.Second, "spread cancelled", marketIs("spread", "cancelled"))
			if r := change(prov, 200, map[string]any{"gameId": "m1", "market": "spread", "action": "rollback", "at": t0.Add(time.Millisecond)}); r.Status.Status != "open" {
				t.Fatalf("rollback of the cancellation: %+v", r)
			}

			// Every market type is settled and rolled back, and settled again.
			results := map[string]map[string]string{
				"three_way": {"home": "win", "draw": "lose", "away": "lose"},
				"spread":    {"home": "win", "away": "lose"},
				"total":     {"over": "push", "under": "push"},
			}
			t1 := now.Add(10 * time.Second) // after every change above (the bet stops were stamped now+2s)
			for i, m := range []struct{ market, period string }{{"three_way", "full"}, {"spread", "full"}, {"total", "full"}, {"total", "1h"}} {
				at := func(n int) time.Time { return t1.Add(time.Duration(10*i+n) * time.Millisecond) }
				ch := func(action string, n int) map[string]any {
					return map[string]any{"gameId": "m1", "market": m.market, "period": m.period, "action": action, "at": at(n)}
				}
				change(prov, 200, ch("close", 0))
				settle := ch("settle", 1)
				settle["results"] = results[m.market]
				if r := change(prov, 200, settle); r.Status.Status != "settled" || len(r.Status.Results) != len(results[m.market]) {
					t.Fatalf("settle %v: %+v", m, r)
				}
				readUntil(t, c, 10*time.Second, m.market+" settled", marketIs(m.market, "settled"))
				if r := change(prov, 200, ch("rollback", 2)); r.Status.Status != "closed" || len(r.Status.Results) != 0 {
					t.Fatalf("rollback %v: %+v", m, r)
				}
				readUntil(t, c, 10*time.Second, m.market+" rolled back", marketIs(m.market, "closed"))
				settle["at"] = at(3)
				change(prov, 200, settle)
			}

			// The API reads the same.
			var got struct {
				Markets []marketJSON
				Quotes  []json.RawMessage
			}
			ana.want(200, "GET", "/v1/games/m1/markets", nil, &got)
			want := map[string]string{"moneyline/full": "settled", "three_way/full": "settled", "spread/full": "settled", "total/full": "settled", "total/1h": "settled"}
			have := map[string]string{}
			for _, m := range got.Markets {
				have[m.Market+"/"+m.Period] = m.Status
			}
			if !maps.Equal(have, want) || len(got.Quotes) != len(quotes) {
				t.Fatalf("GET markets = %v (%d quotes), want %v", have, len(got.Quotes), want)
			}
		})
	}
}

// TestProviderDownEndToEnd: a provider that goes silent is marked down, and
// a client is told within a second of the timeout; its quotes stay
// suspended until it quotes again.
func TestProviderDownEndToEnd(t *testing.T) {
	k := newKeys()
	for name, vars := range backends(t, k) {
		t.Run(name, func(t *testing.T) {
			if name == "aws" {
				provisionStream(t, vars)
			}
			vars["ODDSFEED_PROVIDER_TIMEOUT"] = "1s"
			base := serve(t, vars)
			prov := client{t, base, k.provider}
			now := time.Now().UTC()
			prov.want(201, "PUT", "/v1/games/p1", map[string]any{"sport": "tennis", "gameDate": now, "status": "live"}, nil)
			c := dial(t, base, "", k.analyst)
			readUntil(t, c, 10*time.Second, "the providers frame", func(f liveFrame) bool { return f.Type == "providers" })
			prov.want(200, "POST", "/v1/odds", map[string]any{"odds": []map[string]any{{"gameId": "p1", "observedAt": now, "market": "moneyline", "homeOdds": -120, "awayOdds": 100}}}, nil)
			var lastHeard time.Time
			up := readUntil(t, c, 10*time.Second, "acme up", func(f liveFrame) bool {
				return f.Type == "provider" && f.Provider.Provider == "acme" && f.Provider.Status == "up"
			})
			lastHeard = up.Provider.LastHeard
			down := readUntil(t, c, 10*time.Second, "acme down", func(f liveFrame) bool {
				return f.Type == "provider" && f.Provider.Status == "down"
			})
			told := time.Now()
			if late := told.Sub(lastHeard.Add(time.Second)); late > time.Second {
				t.Fatalf("told %v after the timeout, want within 1s", late)
			}
			t.Logf("down decided by %s, told %v after the timeout", down.Provider.DecidedBy, told.Sub(lastHeard.Add(time.Second)))
			// Heard again (a heartbeat): up, but the quote stays suspended.
			prov.want(200, "POST", "/v1/heartbeat", nil, nil)
			back := readUntil(t, c, 10*time.Second, "acme up again", func(f liveFrame) bool {
				return f.Type == "provider" && f.Provider.Status == "up"
			})
			if back.Provider.DownAt.IsZero() {
				t.Fatalf("provider back up without its downAt: %+v", back.Provider)
			}
			var got struct {
				Quotes []struct {
					ReceivedAt time.Time `json:"receivedAt"`
				}
			}
			client{t, base, k.analyst}.want(200, "GET", "/v1/games/p1/markets", nil, &got)
			if len(got.Quotes) != 1 || !got.Quotes[0].ReceivedAt.Before(back.Provider.DownAt) {
				t.Fatalf("the quote from before the outage is not suspended: %+v, downAt %v", got.Quotes, back.Provider.DownAt)
			}
		})
	}
}

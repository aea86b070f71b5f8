package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// What Live posts: quotes (POST /v1/odds, each with only the fields its
// market uses, in American or decimal odds), market changes (POST
// /v1/markets) and heartbeats (POST /v1/heartbeat).

// wireQuote is quote o as an item of POST /v1/odds; decimal: its prices in
// decimal odds (oddsFormat "decimal").
func wireQuote(o feed.Odds, decimal bool) map[string]any {
	w := map[string]any{"gameId": o.GameID, "observedAt": o.ObservedAt}
	price := func(field string, v int) {
		if decimal {
			w[field] = Decimal(v)
		} else {
			w[field] = v
		}
	}
	if decimal {
		w["oddsFormat"] = "decimal"
	}
	if o.Market != "" {
		w["market"] = o.Market
	}
	if o.Period != "" {
		w["period"] = o.Period
	}
	switch o.Market.Or() {
	case feed.MarketSpread:
		w["awaySpread"], w["homeSpread"] = o.AwaySpread, o.HomeSpread
		price("awayOdds", o.AwayOdds)
		price("homeOdds", o.HomeOdds)
	case feed.MarketMoneyline:
		price("awayOdds", o.AwayOdds)
		price("homeOdds", o.HomeOdds)
	case feed.MarketThreeWay:
		price("awayOdds", o.AwayOdds)
		price("homeOdds", o.HomeOdds)
		price("drawOdds", o.DrawOdds)
	case feed.MarketTotal:
		w["line"] = o.Line
		price("overOdds", o.OverOdds)
		price("underOdds", o.UnderOdds)
	}
	return w
}

// Decimal converts American odds to decimal odds (the stake returned per
// unit), to six places: feed.DecimalToAmerican gives american back.
func Decimal(american int) float64 {
	var d float64
	if american > 0 {
		d = 1 + float64(american)/100
	} else {
		d = 1 + 100/float64(-american)
	}
	return math.Round(d*1e6) / 1e6
}

// postJSON posts body to path with key; it returns the status and, on 2xx,
// decodes the answer into out (when not nil).
func (o *Options) postJSON(ctx context.Context, path, key string, body any, out any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	resp, err := o.do(ctx, http.MethodPost, path, key, b)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return resp.StatusCode, fmt.Errorf("simulate: POST %s: %s: %s", path, resp.Status, msg)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("simulate: POST %s: %w", path, err)
		}
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, nil
}

// postQuotes posts a batch of quotes and returns the status and the quotes
// acknowledged.
func (o *Options) postQuotes(ctx context.Context, key string, items []map[string]any) (int, int, error) {
	var out struct {
		Stored     int `json:"stored"`
		Duplicates int `json:"duplicates"`
		Corrected  int `json:"corrected"`
	}
	status, err := o.postJSON(ctx, "/v1/odds", key, map[string]any{"odds": items}, &out)
	return status, out.Stored + out.Duplicates + out.Corrected, err
}

// maxChanges is the most market changes of one POST /v1/markets.
const maxChanges = 500

// postChanges posts market changes and returns the status and how many the
// server took (applied, duplicate or superseded).
func (o *Options) postChanges(ctx context.Context, key string, cs []feed.MarketChange) (int, int, error) {
	var out struct {
		Results []struct {
			Effect string `json:"effect"`
		} `json:"results"`
	}
	status, err := o.postJSON(ctx, "/v1/markets", key, map[string]any{"changes": cs}, &out)
	return status, len(out.Results), err
}

// postHeartbeat tells the server the provider of key is alive.
func (o *Options) postHeartbeat(ctx context.Context, key string) (int, error) {
	return o.postJSON(ctx, "/v1/heartbeat", key, struct{}{}, nil)
}

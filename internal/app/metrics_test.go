package app_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// scrape reads /metrics with key and returns the value of the first sample
// matching the metric name and label text.
func scrape(t *testing.T, base, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics = %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func sample(t *testing.T, text, series string) float64 {
	t.Helper()
	v, ok := sampleOK(text, series)
	if !ok {
		t.Fatalf("no sample %s in /metrics", series)
	}
	return v
}

// sampleOK is sample for a series that may be missing (ok false).
func sampleOK(text, series string) (v float64, ok bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	v, _ = strconv.ParseFloat(m[1], 64)
	return v, true
}

func TestMetricsMove(t *testing.T) {
	k := newKeys()
	base := serve(t, map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec})
	client{t, base, ""}.want(401, "GET", "/metrics", nil, nil)
	client{t, base, k.analyst}.want(403, "GET", "/metrics", nil, nil)
	before := scrape(t, base, k.admin)
	if v := sample(t, before, `oddsfeed_websocket_clients`); v != 0 {
		t.Fatalf("clients before = %v", v)
	}

	prov := client{t, base, k.provider}
	prov.want(201, "PUT", "/v1/games/m1", map[string]any{"sport": "golf", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	ws := dial(t, base, "", k.analyst)
	send(t, ws, map[string]any{"type": "subscribe", "topics": []string{"all"}})
	at := time.Now().UTC().Add(-time.Minute)
	items := []oddsJSON{{GameID: "m1", ObservedAt: at, AwaySpread: 1, HomeSpread: -1, AwayOdds: 120, HomeOdds: -140},
		{GameID: "m1", ObservedAt: at.Add(time.Second), AwaySpread: 1, HomeSpread: -1, AwayOdds: 125, HomeOdds: -145}}
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": items}, nil)
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": items[:1]}, nil)
	prov.want(422, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{{GameID: "m1", ObservedAt: at, AwayOdds: 5, HomeOdds: 5}}}, nil)
	for f := read[frame](t, ws); f.Type != "odds" || f.Seq < 3; f = read[frame](t, ws) {
	}

	after := scrape(t, base, k.admin)
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`oddsfeed_odds_written_total{outcome="stored"}`, 2},
		{`oddsfeed_odds_written_total{outcome="duplicate"}`, 1},
		{`oddsfeed_http_requests_total{method="POST",route="/v1/odds",status="200"}`, 2},
		{`oddsfeed_http_requests_total{method="POST",route="/v1/odds",status="422"}`, 1},
		{`oddsfeed_websocket_clients`, 1},
		// The game, two odds, and the provider's liveness (its odds say it
		// is alive: heard once, before the first odds are stored).
		{`oddsfeed_cdc_changes_total{consumer="broadcast"}`, 4},
	} {
		if got := sample(t, after, c.series); got != c.want {
			t.Errorf("%s = %v, want %v", c.series, got, c.want)
		}
	}
	if sample(t, after, `oddsfeed_websocket_messages_sent_total`) < 2 {
		t.Error("no WebSocket messages counted")
	}
	// Request durations: the histogram of the route counts and sums every
	// request, each in its bucket (the largest bound holds them all).
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`oddsfeed_http_request_duration_seconds_count{route="/v1/odds",status="200"}`, 2},
		{`oddsfeed_http_request_duration_seconds_bucket{route="/v1/odds",status="200",le="+Inf"}`, 2},
		{`oddsfeed_http_request_duration_seconds_bucket{route="/v1/odds",status="422",le="+Inf"}`, 1},
	} {
		if got := sample(t, after, c.series); got != c.want {
			t.Errorf("%s = %v, want %v", c.series, got, c.want)
		}
	}
	if v := sample(t, after, `oddsfeed_http_request_duration_seconds_sum{route="/v1/odds",status="200"}`); v <= 0 {
		t.Errorf("request durations sum %v, want > 0", v)
	}
	if v, ok := sampleOK(before, `oddsfeed_http_request_duration_seconds_count{route="/v1/odds",status="200"}`); ok {
		t.Errorf("request durations of /v1/odds before any: %v", v)
	}
	if v := sample(t, after, `oddsfeed_cdc_batches_total{consumer="broadcast"}`); v < 1 || v > 3 {
		t.Errorf("oddsfeed_cdc_batches_total{consumer=\"broadcast\"} = %v, want 1 to 3 (the game and two posts)", v)
	}

	// Health: alive and ready (embedded: the store is all there is).
	client{t, base, ""}.want(200, "GET", "/healthz", nil, nil)
	var ready map[string]string
	client{t, base, ""}.want(200, "GET", "/readyz", nil, &ready)
	if ready["store"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
}

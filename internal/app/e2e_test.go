package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

// keys are one API key per role, and the configuration that accepts them.
type keys struct {
	provider, analyst, admin, trader string
	spec                             string
}

func newKeys() keys {
	var k keys
	var spec []string
	for _, r := range []struct {
		dst  *string
		name string
		role auth.Role
	}{{&k.provider, "acme", auth.RoleProvider}, {&k.analyst, "alice", auth.RoleAnalyst}, {&k.admin, "root", auth.RoleAdmin}, {&k.trader, "tess", auth.RoleTrader}} {
		key, hash := auth.NewKey()
		*r.dst = key
		spec = append(spec, fmt.Sprintf("%s:%s:%s", r.name, r.role, hash))
	}
	k.spec = strings.Join(spec, ",")
	return k
}

var tableSeq atomic.Int64

// backends returns the server configuration of each back end: embedded in
// a temporary directory, and aws on DynamoDB Local with a fresh table.
func backends(t *testing.T, k keys) map[string]map[string]string {
	t.Helper()
	table := fmt.Sprintf("e2e_%d_%d", time.Now().UnixNano(), tableSeq.Add(1))
	o := awsclient.Options{Region: harness.Region, DynamoDBEndpoint: env.DynamoDB.URL, AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTable(context.Background(), awsclient.DynamoDB(cfg, o), table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return map[string]map[string]string{
		"embedded": {
			"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec,
		},
		"aws": {
			"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_BACKEND": "aws", "ODDSFEED_TABLE": table,
			"ODDSFEED_DYNAMODB_ENDPOINT": env.DynamoDB.URL, "ODDSFEED_KINESIS_ENDPOINT": env.Kinesis.URL,
			"AWS_REGION": harness.Region, "AWS_ACCESS_KEY_ID": harness.AccessKey, "AWS_SECRET_ACCESS_KEY": harness.SecretKey,
			"ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATA_DIR": t.TempDir(),
		},
	}
}

// client calls the API with one key.
type client struct {
	t    *testing.T
	base string
	key  string
}

// do sends a request and decodes a JSON answer into out (when not nil); it
// returns the status.
func (c client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %d: decode %q: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func (c client) want(status int, method, path string, body any, out any) {
	c.t.Helper()
	var raw json.RawMessage
	got := c.do(method, path, body, &raw)
	if got != status {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, got, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

type oddsJSON struct {
	GameID     string    `json:"gameId"`
	Provider   string    `json:"provider,omitempty"`
	ObservedAt time.Time `json:"observedAt"`
	AwaySpread float64   `json:"awaySpread"`
	HomeSpread float64   `json:"homeSpread"`
	AwayOdds   int       `json:"awayOdds"`
	HomeOdds   int       `json:"homeOdds"`
}

func TestEndToEnd(t *testing.T) {
	k := newKeys()
	for name, vars := range backends(t, k) {
		t.Run(name, func(t *testing.T) {
			base := serve(t, vars)
			prov := client{t, base, k.provider}
			ana := client{t, base, k.analyst}
			start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

			// Games: create (201), repeat (200, same version), then a second one.
			game := map[string]any{"sport": "soccer", "summary": "Arsenal v Chelsea", "venue": "Emirates",
				"gameDate": start.Add(48 * time.Hour), "status": "scheduled", "homeTeam": "Arsenal", "awayTeam": "Chelsea"}
			var g1 struct{ Version int64 }
			prov.want(201, "PUT", "/v1/games/g1", game, &g1)
			prov.want(200, "PUT", "/v1/games/g1", game, &g1)
			if g1.Version != 1 {
				t.Fatalf("version after a no-op put = %d, want 1", g1.Version)
			}
			prov.want(201, "PUT", "/v1/games/g10", game, nil)

			// Odds in our form.
			var batch []oddsJSON
			for i := range 5 {
				batch = append(batch, oddsJSON{GameID: "g1", ObservedAt: start.Add(time.Duration(i) * time.Second),
					AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: -110 - i, HomeOdds: 100 + i})
			}
			var res struct{ Stored, Duplicates int }
			prov.want(200, "POST", "/v1/odds", map[string]any{"odds": batch}, &res)
			if res.Stored != 5 || res.Duplicates != 0 {
				t.Fatalf("post odds: %+v", res)
			}
			prov.want(200, "POST", "/v1/odds", map[string]any{"odds": batch[:2]}, &res)
			if res.Stored != 0 || res.Duplicates != 2 {
				t.Fatalf("repost: %+v, want 2 duplicates", res)
			}

			// Odds in the AWS reference form, which also creates the game.
			ref := `{"odds":[{"summary":"UEFA European Championship @ Wembley","gameId":"ftge2gq-4g6daf1","gameDate":"2021-11-20 16:00","type":"game-soccer","isOpen":true,"away":3,"home":-3,"awayOdds":-110,"homeOdds":-110,"date":"2021-11-20 20:30:15.238"}]}`
			var msg string
			prov.want(200, "PUT", "/feeds", ref, &msg)
			if msg != "Feeds Added Successfully" {
				t.Fatalf("PUT /feeds answered %q", msg)
			}
			ref2 := strings.Replace(ref, "20:30:15.238", "20:31:00.000", 1)
			prov.want(200, "POST", "/feeds", strings.Replace(ref2, `"awayOdds":-110`, `"awayOdds":-120`, 1), &msg)
			var feeds struct {
				Odds []struct {
					GameID   string  `json:"gameId"`
					Away     float64 `json:"away"`
					AwayOdds int     `json:"awayOdds"`
					Date     string  `json:"date"`
				}
			}
			ana.want(200, "GET", "/feeds?game=ftge2gq-4g6daf1", nil, &feeds)
			if len(feeds.Odds) != 1 || feeds.Odds[0].AwayOdds != -120 || feeds.Odds[0].Date != "2021-11-20 20:31:00.000" || feeds.Odds[0].Away != 3 {
				t.Fatalf("GET /feeds = %+v", feeds)
			}
			var refGame struct {
				Sport, Summary, Venue, Status string
			}
			ana.want(200, "GET", "/v1/games/ftge2gq-4g6daf1", nil, &refGame)
			if refGame.Sport != "soccer" || refGame.Status != "live" || refGame.Venue != "Wembley" {
				t.Fatalf("reference game = %+v", refGame)
			}

			// Reads.
			var latest struct {
				Latest     *oddsJSON  `json:"latest"`
				ByProvider []oddsJSON `json:"byProvider"`
			}
			ana.want(200, "GET", "/v1/games/g1/odds/latest", nil, &latest)
			if latest.Latest == nil || !latest.Latest.ObservedAt.Equal(start.Add(4*time.Second)) || latest.Latest.AwayOdds != -114 {
				t.Fatalf("latest = %+v", latest.Latest)
			}
			if len(latest.ByProvider) != 1 || latest.ByProvider[0].Provider != "acme" {
				t.Fatalf("byProvider = %+v", latest.ByProvider)
			}
			var page struct {
				Odds       []oddsJSON `json:"odds"`
				NextCursor string     `json:"nextCursor"`
			}
			var seen []time.Time
			path := "/v1/games/g1/odds?limit=2&from=" + start.Add(time.Second).Format(time.RFC3339Nano)
			for range 5 {
				ana.want(200, "GET", path, nil, &page)
				for _, o := range page.Odds {
					seen = append(seen, o.ObservedAt)
				}
				if page.NextCursor == "" {
					break
				}
				path = "/v1/games/g1/odds?limit=2&from=" + start.Add(time.Second).Format(time.RFC3339Nano) + "&cursor=" + page.NextCursor
				page.NextCursor = ""
			}
			if len(seen) != 4 || !seen[0].Equal(start.Add(4*time.Second)) || !seen[3].Equal(start.Add(time.Second)) {
				t.Fatalf("range newest first = %v", seen)
			}
			var games struct {
				Games []struct{ ID string } `json:"games"`
			}
			ana.want(200, "GET", "/v1/games?status=scheduled", nil, &games)
			if len(games.Games) != 2 || games.Games[0].ID != "g1" || games.Games[1].ID != "g10" {
				t.Fatalf("scheduled games = %+v", games)
			}
			ana.want(404, "GET", "/v1/games/nope", nil, nil)
			ana.want(404, "GET", "/v1/games/nope/odds", nil, nil)

			// Roles.
			client{t, base, ""}.want(401, "GET", "/v1/games/g1", nil, nil)
			client{t, base, "not-a-key"}.want(401, "POST", "/v1/odds", `{"odds":[]}`, nil)
			prov.want(403, "GET", "/v1/games/g1", nil, nil)
			ana.want(403, "POST", "/v1/odds", map[string]any{"odds": batch}, nil)
			client{t, base, k.admin}.want(200, "GET", "/v1/games/g1", nil, nil)
		})
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func newJSONRequest(method, url string, body any, key string) (*http.Request, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

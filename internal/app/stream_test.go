package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

type frame struct {
	Type   string          `json:"type"`
	Epoch  string          `json:"epoch"`
	GameID string          `json:"gameId"`
	Seq    uint64          `json:"seq"`
	Reset  bool            `json:"reset"`
	Odds   json.RawMessage `json:"odds"`
	// Late and Correction flag odds frames (docs/protocol.md).
	Late       bool `json:"late"`
	Correction bool `json:"correction"`
}

// dial opens the live stream with an API key (header) or a full URL query.
func dial(t *testing.T, base, query, key string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	c, resp, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/v1/stream"+query, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// read reads the next frame, past the providers' liveness frames
// ("providers" first on every connection, "provider" at any time): these
// tests are about games.
func read[T any](t *testing.T, c *websocket.Conn) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	for err == nil {
		var kind struct{ Type string }
		if json.Unmarshal(b, &kind) != nil || (kind.Type != "providers" && kind.Type != "provider") {
			break
		}
		_, b, err = c.Read(ctx)
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// streamCase runs the WebSocket end-to-end checks against a running server.
func streamCase(t *testing.T, base string, k keys) {
	prov := client{t, base, k.provider}
	prov.want(201, "PUT", "/v1/games/ws1", map[string]any{"sport": "tennis", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	start := time.Now().UTC().Add(-time.Minute)
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{{GameID: "ws1", ObservedAt: start, AwaySpread: 1, HomeSpread: -1, AwayOdds: 150, HomeOdds: -170}}}, nil)

	// An analyst with a key subscribes and gets a snapshot with that odds.
	c := dial(t, base, "", k.analyst)
	send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:ws1"}})
	snap := read[frame](t, c)
	for snap.Type == "game" { // a game change may be queued before the snapshot
		snap = read[frame](t, c)
	}
	if snap.Type != "snapshot" || snap.GameID != "ws1" || !strings.Contains(string(snap.Odds), `"awayOdds":150`) {
		t.Fatalf("first frame = %+v %s", snap, snap.Odds)
	}
	// A browser-style client with a stream token, and an AWS reference client.
	var tok struct{ Token string }
	client{t, base, k.analyst}.want(200, "POST", "/v1/stream/token", nil, &tok)
	tc := dial(t, base, "?token="+tok.Token, "")
	send(t, tc, map[string]any{"type": "subscribe", "topics": []string{"game:ws1"}})
	for f := read[frame](t, tc); f.Type != "snapshot"; f = read[frame](t, tc) {
	}
	rc := dial(t, base, "?client=wscat-1", k.analyst)
	// The reference client is subscribed to all when the hub registers it,
	// which may follow the handshake: wait until the hub counts 3 clients.
	eventually(t, 10*time.Second, "the reference client to be registered", func() bool {
		return strings.Contains(scrape(t, base, k.admin), "\noddsfeed_websocket_clients 3\n")
	})

	// Providers post; every client receives each change once, with a dense
	// seq. The store writes a request's items concurrently, so the stream
	// may carry them in any order: the ones older than one already pushed
	// come marked late.
	var batch []oddsJSON
	for i := range 5 {
		batch = append(batch, oddsJSON{GameID: "ws1", ObservedAt: start.Add(time.Duration(i+1) * time.Second), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + i, HomeOdds: -120})
	}
	t0 := time.Now()
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": batch}, nil)
	for _, conn := range []*websocket.Conn{c, tc} {
		seq := snap.Seq
		got := map[int]bool{}
		var newest time.Time
		for i := range 5 {
			f := read[frame](t, conn)
			// The game's own change may arrive late through the stream, and
			// the first odds (in the snapshot) as a seen frame.
			for f.Type == "game" || f.Type == "seen" {
				if f.Type == "seen" && i > 0 && f.Seq != seq+1 {
					t.Fatalf("seen frame seq %d after %d", f.Seq, seq)
				}
				seq = f.Seq
				f = read[frame](t, conn)
			}
			var o oddsJSON
			if f.Type != "odds" || (i > 0 && f.Seq != seq+1) || json.Unmarshal(f.Odds, &o) != nil || o.AwayOdds < 100 || o.AwayOdds > 104 || got[o.AwayOdds] {
				t.Fatalf("change %d = %+v %s (previous seq %d, got %v)", i, f, f.Odds, seq, got)
			}
			if late := o.ObservedAt.Before(newest); f.Late != late {
				t.Fatalf("change %d at %v after %v: late=%v, want %v", i, o.ObservedAt, newest, f.Late, late)
			}
			if !f.Late {
				newest = o.ObservedAt
			}
			got[o.AwayOdds], seq = true, f.Seq
		}
	}
	t.Logf("post -> 5 changes on 2 clients in %v", time.Since(t0))
	refGot, sawFirst := map[float64]bool{}, false
	for i := 0; len(refGot) < 5; i++ {
		ref := read[map[string]any](t, rc)
		price, _ := ref["awayOdds"].(float64)
		if price == 150 && !sawFirst {
			// The first odds, posted before this client came, reaches it when
			// the stream (which lags) delivers it after the client came.
			sawFirst = true
			continue
		}
		if ref["gameId"] != "ws1" || price < 100 || price > 104 || refGot[price] || len(ref) != 6 {
			t.Fatalf("reference frame %d = %v", i, ref)
		}
		if _, ok := ref["date"].(float64); !ok {
			t.Fatalf("reference frame %d: date %v, want epoch seconds (CREATED)", i, ref["date"])
		}
		refGot[price] = true
	}

	// No key: refused.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/v1/stream", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("dial without a key: err %v, resp %v", err, resp)
	}
}

// syncPoint sends a request the hub answers with an error and reads up to
// that answer: requests are handled in order, so the ones sent before (a
// subscribe) have been applied. Nothing may be posted to c's topics yet.
func syncPoint(t *testing.T, c *websocket.Conn) {
	t.Helper()
	send(t, c, map[string]any{"type": "sync"})
	for f := read[frame](t, c); f.Type != "error"; f = read[frame](t, c) {
		if f.Type == "odds" {
			t.Fatalf("odds before the sync point: %s", f.Odds)
		}
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestStreamEndToEnd(t *testing.T) {
	k := newKeys()
	for name, vars := range backends(t, k) {
		t.Run(name, func(t *testing.T) {
			if name == "aws" {
				provisionStream(t, vars)
			}
			streamCase(t, serve(t, vars), k)
		})
	}
}

// TestStreamEndToEndFanOut runs the live stream on the aws back end reading
// Kinesis through an enhanced fan-out consumer instead of polling.
func TestStreamEndToEndFanOut(t *testing.T) {
	k := newKeys()
	vars := backends(t, k)["aws"]
	provisionStream(t, vars)
	vars["ODDSFEED_KINESIS_CONSUMER"] = "oddsfeed-e2e"
	base := serve(t, vars)
	// The broadcast starts at LATEST once the consumer is registered and
	// subscribed: /readyz says "starting" until then, and both shards
	// report their lag once it is ready.
	deadline := time.Now().Add(20 * time.Second)
	for starting := false; ; starting = true {
		var ready map[string]string
		status := client{t, base, ""}.do("GET", "/readyz", nil, &ready)
		if status == 200 {
			// kinesis-mock registers a consumer in about 0.5s and sends a
			// subscription's first event about a second later.
			if !starting {
				t.Fatal("ready at once: /readyz does not wait for the broadcast's first read")
			}
			break
		}
		if status != 503 || ready["stream"] != "starting" || time.Now().After(deadline) {
			t.Fatalf("readyz %d %v, want 503 with the stream starting, then 200", status, ready)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(scrape(t, base, k.admin), `oddsfeed_cdc_lag_milliseconds{consumer="broadcast"`); n < 1 {
		t.Fatal("ready, but the broadcast consumer reported no shard's lag")
	}
	streamCase(t, base, k)
	// It did read through the consumer, registered on the stream.
	o := awsclient.Options{Region: harness.Region, KinesisEndpoint: env.Kinesis.URL, AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	kin := awsclient.Kinesis(cfg, o)
	sum, err := kin.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(vars["ODDSFEED_STREAM"])})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kin.ListStreamConsumers(t.Context(), &kinesis.ListStreamConsumersInput{StreamARN: sum.StreamDescriptionSummary.StreamARN})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs.Consumers {
		names = append(names, aws.ToString(c.ConsumerName))
	}
	if len(names) != 1 || names[0] != "oddsfeed-e2e" {
		t.Fatalf("stream consumers %q, want [oddsfeed-e2e]", names)
	}
}

// provisionStream gives an aws back-end configuration its own Kinesis
// stream and turns on the development bridge from DynamoDB Local's stream.
func provisionStream(t *testing.T, vars map[string]string) {
	t.Helper()
	vars["ODDSFEED_STREAM"] = vars["ODDSFEED_TABLE"] + "-changes"
	vars["ODDSFEED_DEV_BRIDGE"] = "true"
	o := awsclient.Options{Region: harness.Region, DynamoDBEndpoint: env.DynamoDB.URL, KinesisEndpoint: env.Kinesis.URL,
		AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = dynamo.Provision(ctx, awsclient.DynamoDB(cfg, o), awsclient.Kinesis(cfg, o),
		dynamo.ProvisionOptions{Table: vars["ODDSFEED_TABLE"], Stream: vars["ODDSFEED_STREAM"], Shards: 2}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
}

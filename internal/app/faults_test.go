package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/coder/websocket"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// TestStreamFaultsExactlyOnce runs the emulator stack with the bridge
// writing duplicates and reordering records across items, reshards the
// stream in the middle, and slips a malformed record in: every client sees
// every odds change exactly once, with a dense seq per game, and an odds
// older than one it already got of its game marked late.
func TestStreamFaultsExactlyOnce(t *testing.T) {
	k := newKeys()
	vars := backends(t, k)["aws"]
	provisionStream(t, vars)
	vars["ODDSFEED_DEV_BRIDGE_DUPLICATE_EVERY"] = "3"
	vars["ODDSFEED_DEV_BRIDGE_REORDER_WINDOW"] = "8"
	base := serve(t, vars)
	prov := client{t, base, k.provider}

	games := []string{"f1", "f2", "f3", "f4"}
	for _, g := range games {
		prov.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	var clients []*websocket.Conn
	for range 3 {
		c := dial(t, base, "", k.analyst)
		send(t, c, map[string]any{"type": "subscribe", "topics": []string{"all"}})
		syncPoint(t, c) // subscribed before the first post
		clients = append(clients, c)
	}

	kin := kinesisClient(t)
	stream := vars["ODDSFEED_STREAM"]
	start := time.Now().UTC().Add(-time.Hour)
	const batches, per = 10, 20
	for b := range batches {
		var items []oddsJSON
		for i := range per {
			n := b*per + i
			items = append(items, oddsJSON{GameID: games[n%len(games)], ObservedAt: start.Add(time.Duration(n) * time.Millisecond),
				AwaySpread: 0.5, HomeSpread: -0.5, AwayOdds: 100 + n, HomeOdds: -110})
		}
		prov.want(200, "POST", "/v1/odds", map[string]any{"odds": items}, nil)
		switch b {
		case 3:
			_, err := kin.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream),
				PartitionKey: aws.String("GAME#f1"), Data: []byte(`{"eventName":"INSERT","dynamodb":`)})
			if err != nil {
				t.Fatalf("put malformed record: %v", err)
			}
		case 5:
			_, err := kin.UpdateShardCount(context.Background(), &kinesis.UpdateShardCountInput{StreamName: aws.String(stream),
				TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
			if err != nil {
				t.Fatalf("reshard: %v", err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}

	for ci, c := range clients {
		seen := map[string]int{}       // odds key -> times seen
		last := map[string]time.Time{} // game -> newest observedAt seen
		lastSeq := map[string]uint64{} // game -> seq
		deadline := time.Now().Add(45 * time.Second)
		for len(seen) < batches*per && time.Now().Before(deadline) {
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			_, data, err := c.Read(ctx)
			cancel()
			if err != nil {
				break
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			// Every message of a game takes its seq: the game's own change
			// may come through the stream among its odds (a partition key per
			// item puts them on different shards).
			if f.GameID != "" {
				if lastSeq[f.GameID] != 0 && f.Seq != lastSeq[f.GameID]+1 {
					t.Errorf("client %d: game %s %s seq %d after %d", ci, f.GameID, f.Type, f.Seq, lastSeq[f.GameID])
				}
				lastSeq[f.GameID] = f.Seq
			}
			if f.Type != "odds" {
				continue
			}
			var o oddsJSON
			_ = json.Unmarshal(f.Odds, &o)
			key := fmt.Sprintf("%s/%s", o.GameID, o.ObservedAt.Format(time.RFC3339Nano))
			seen[key]++
			if seen[key] > 1 {
				t.Errorf("client %d: %s delivered twice", ci, key)
			}
			if late := o.ObservedAt.Before(last[o.GameID]); f.Late != late {
				t.Errorf("client %d: game %s odds at %v after %v: late=%v, want %v", ci, o.GameID, o.ObservedAt, last[o.GameID], f.Late, late)
			}
			if !f.Late {
				last[o.GameID] = o.ObservedAt
			}
		}
		if len(seen) != batches*per {
			t.Fatalf("client %d received %d of %d odds changes", ci, len(seen), batches*per)
		}
	}
}

func kinesisClient(t *testing.T) *kinesis.Client {
	t.Helper()
	o := awsclient.Options{Region: harness.Region, KinesisEndpoint: env.Kinesis.URL, AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return awsclient.Kinesis(cfg, o)
}

package devbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	dstypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

func eventID(t *testing.T, data []byte) string {
	t.Helper()
	var r struct {
		EventID string `json:"eventID"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("record json: %v", err)
	}
	return r.EventID
}

// TestRelaysChanges writes a game, odds and a game update through the
// DynamoDB store and reads them back from Kinesis with the kinesis Source.
func TestRelaysChanges(t *testing.T) {
	f := newFixture(t, 2, Options{}, dynamo.Options{})
	f.run(t)
	c := f.consume(t)
	ctx := t.Context()
	before := time.Now()
	g1, _, err := f.store.PutGame(ctx, game("g1", feed.StatusScheduled), store.System)
	if err != nil {
		t.Fatalf("put game: %v", err)
	}
	odds := oddsOf("g1", "bookie", 3)
	if _, err := f.store.PutOdds(ctx, odds); err != nil {
		t.Fatalf("put odds: %v", err)
	}
	g2, _, err := f.store.PutGame(ctx, game("g1", feed.StatusLive), store.System)
	if err != nil {
		t.Fatalf("update game: %v", err)
	}
	got := c.wait(t, 5)
	if len(got) != 5 {
		t.Fatalf("got %d changes, want 5: %+v", len(got), got)
	}
	// One PK: one shard, in write order (the store writes one request's
	// odds concurrently: those in any order among themselves).
	first := got[0]
	if first.Kind != feed.ChangeInsert || first.NewGame == nil || *first.NewGame != g1 || first.OldGame != nil {
		t.Errorf("change 0 = %+v, want INSERT of %+v", first, g1)
	}
	inserted := map[feed.Key]feed.Odds{}
	for i, ch := range got[1:4] {
		if ch.Kind != feed.ChangeInsert || ch.NewOdds == nil || ch.ItemType != feed.TypeOdds {
			t.Errorf("change %d = %+v, want an INSERT of odds", 1+i, ch)
			continue
		}
		inserted[ch.Key] = *ch.NewOdds
	}
	for _, o := range odds {
		if got, ok := inserted[o.Key()]; !ok || got != stored(t, o) {
			t.Errorf("odds %v: inserted %+v, want %+v", o.Key(), got, stored(t, o))
		}
	}
	last := got[4]
	if last.Kind != feed.ChangeModify || last.NewGame == nil || *last.NewGame != g2 || last.OldGame == nil || *last.OldGame != g1 || last.Version != 2 {
		t.Errorf("change 4 = %+v, want MODIFY %+v -> %+v", last, g1, g2)
	}
	for i, ch := range got {
		if ch.Source != got[0].Source || ch.Key.PK != feed.GamePK("g1") || ch.Expired {
			t.Errorf("change %d: source %s key %v expired %v", i, ch.Source, ch.Key, ch.Expired)
		}
		// Stamped by the bridge at read time, microseconds, increasing.
		if ch.At.Before(before.Add(-time.Millisecond)) || ch.At.After(time.Now()) || ch.At.Nanosecond()%1000 != 0 {
			t.Errorf("change %d At %v: want the bridge's read time in microseconds", i, ch.At)
		}
		if i > 0 && !ch.At.After(got[i-1].At) {
			t.Errorf("change %d At %v not after the previous %v", i, ch.At, got[i-1].At)
		}
	}
	for _, r := range f.rawRecords(t) {
		if r.pk != r.change.Key.PK {
			t.Errorf("record partition key %q, want the item's PK %q", r.pk, r.change.Key.PK)
		}
	}
	if s := f.bridge.Stats(); s.Relayed != 5 || s.Duplicates != 0 {
		t.Errorf("stats %+v, want 5 relayed", s)
	}
}

// TestDuplicatesAndReorder: the raw stream holds duplicates and cross-key
// reordering, per-key order holds, and a consumer still sees every change.
func TestDuplicatesAndReorder(t *testing.T) {
	f := newFixture(t, 1, Options{DuplicateEvery: 3, ReorderWindow: 10}, dynamo.Options{})
	ctx := t.Context()
	var all []feed.Odds
	for g := range 4 {
		all = append(all, oddsOf(fmt.Sprintf("g%d", g), "p", 10)...)
	}
	// Interleave the games so that the table stream mixes keys.
	slices.SortStableFunc(all, func(a, b feed.Odds) int { return a.ObservedAt.Compare(b.ObservedAt) })
	if _, err := f.store.PutOdds(ctx, all); err != nil {
		t.Fatalf("put odds: %v", err)
	}
	f.run(t) // after the writes: one read, one relay
	c := f.consume(t)
	s := f.bridge.Stats()
	eventually(t, 30*time.Second, "all relayed", func() bool { s = f.bridge.Stats(); return s.Relayed == int64(len(all)) })
	if want := int64(len(all) / 3); s.Duplicates != want {
		t.Errorf("duplicates %d, want %d", s.Duplicates, want)
	}
	got := c.wait(t, len(all)+int(s.Duplicates))
	seen := map[feed.Key]int{}
	for _, ch := range got {
		seen[ch.Key]++
	}
	for _, o := range all {
		if seen[o.Key()] == 0 {
			t.Errorf("odds %v never delivered", o.Key())
		}
	}

	recs := f.rawRecords(t)
	if len(recs) != len(all)+int(s.Duplicates) {
		t.Fatalf("%d raw records, want %d", len(recs), len(all)+int(s.Duplicates))
	}
	ids := map[string]int{}
	lastAt := map[string]time.Time{}
	reordered := false
	for i, r := range recs {
		ids[r.eventID]++
		if r.change.At.Before(lastAt[r.pk]) {
			t.Errorf("record %d of %s at %v is before the key's previous %v", i, r.pk, r.change.At, lastAt[r.pk])
		}
		lastAt[r.pk] = r.change.At
		if i > 0 && r.change.At.Before(recs[i-1].change.At) {
			reordered = true
		}
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	if dups != int(s.Duplicates) || len(ids) != len(all) {
		t.Errorf("raw stream: %d distinct event ids, %d duplicates; want %d and %d", len(ids), dups, len(all), s.Duplicates)
	}
	if !reordered {
		t.Errorf("raw stream is in creation order: no cross-key reordering")
	}
}

// TestReshardMidStream: resharding while changes flow loses and repeats
// nothing, partitioned by game (1 -> 2) or by item (2 -> 4): every change
// once, from the parents and the children.
func TestReshardMidStream(t *testing.T) {
	for _, tc := range []struct {
		name          string
		from, to      int32
		o             Options
		waitBefore    bool // let the first changes through before resharding
		after, shards int
	}{
		{"by game", 1, 2, Options{}, true, 12, 3},
		{"by item", 2, 4, Options{PartitionBy: PartitionByItem}, false, 8, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.from, tc.o, dynamo.Options{})
			f.run(t)
			c := f.consume(t)
			ctx := t.Context()
			var all []feed.Odds
			put := func(g string) {
				o := oddsOf(g, "p", 5)
				if _, err := f.store.PutOdds(ctx, o); err != nil {
					t.Fatalf("put odds: %v", err)
				}
				all = append(all, o...)
			}
			for g := range 4 {
				put(fmt.Sprintf("before%d", g))
			}
			if tc.waitBefore {
				c.wait(t, len(all))
			}
			done := make(chan error, 1)
			go func() { done <- f.bridge.Reshard(ctx, tc.to) }()
			for g := range 4 {
				put(fmt.Sprintf("during%d", g))
			}
			if err := <-done; err != nil {
				t.Fatalf("reshard: %v", err)
			}
			for g := range tc.after {
				put(fmt.Sprintf("after%d", g))
			}
			got := c.wait(t, len(all))
			seen := map[feed.Key]bool{}
			sources := map[string]bool{}
			for _, ch := range got {
				if seen[ch.Key] {
					t.Errorf("change %v delivered twice", ch.Key)
				}
				seen[ch.Key] = true
				sources[ch.Source] = true
			}
			if len(got) != len(all) || len(sources) != tc.shards {
				t.Fatalf("got %d changes from shards %v, want %d from %d parents and %d children", len(got), sources, len(all), tc.from, tc.to)
			}
		})
	}
}

// TestInjectTTLRemove: an injected TTL REMOVE decodes as Expired with its
// old image.
func TestInjectTTLRemove(t *testing.T) {
	f := newFixture(t, 1, Options{}, dynamo.Options{})
	f.run(t)
	c := f.consume(t)
	o := stored(t, oddsOf("g9", "p", 1)[0])
	if err := f.bridge.InjectTTLRemove(t.Context(), feed.OddsItem(o, time.Now().Add(-time.Hour))); err != nil {
		t.Fatalf("inject: %v", err)
	}
	got := c.wait(t, 1)
	ch := got[0]
	if ch.Kind != feed.ChangeRemove || !ch.Expired || ch.OldOdds == nil || *ch.OldOdds != o || ch.NewOdds != nil || ch.Key != o.Key() {
		t.Fatalf("change %+v, want an expired REMOVE of %+v", ch, o)
	}
	if s := f.bridge.Stats(); s.Injected != 1 {
		t.Errorf("stats %+v, want 1 injected", s)
	}
}

// TestRealTTLExpiry: DynamoDB Local really expires an odds item, and its
// stream's TTL delete reaches a Kinesis reader as a REMOVE by the TTL
// service: an expiry with the item's old image, not a deletion. The table
// has no secondary indexes: DynamoDB Local 3.3.1 never expires the items of
// a table that has any (ours has an LSI and two GSIs; an expiry there is
// covered by TestConvert and TestInjectTTLRemove).
func TestRealTTLExpiry(t *testing.T) {
	// EXPIRE an hour ago: the store's clock runs two hours behind, odds
	// live one hour. (More than five years ago would never expire.)
	f := newFixtureTable(t, 1, Options{}, dynamo.Options{OddsTTL: time.Hour, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }},
		createPlainTTLTable)
	f.run(t)
	c := f.consume(t)
	o := oddsOf("g1", "p", 1)[0]
	if _, err := f.store.PutOdds(t.Context(), []feed.Odds{o}); err != nil {
		t.Fatalf("put odds: %v", err)
	}
	got := c.wait(t, 2)
	if len(got) != 2 {
		t.Fatalf("got %d changes, want the insert and the expiry: %+v", len(got), got)
	}
	ins, exp := got[0], got[1]
	if ins.Kind != feed.ChangeInsert || ins.NewOdds == nil {
		t.Fatalf("first change %+v, want the INSERT", ins)
	}
	if exp.Kind != feed.ChangeRemove || !exp.Expired || exp.OldOdds == nil || *exp.OldOdds != *ins.NewOdds || exp.NewOdds != nil || exp.Key != ins.Key {
		t.Fatalf("second change %+v, want a TTL REMOVE of %+v", exp, ins.NewOdds)
	}
	if s := f.bridge.Stats(); s.TTLTranslated != 1 {
		t.Errorf("stats %+v, want 1 TTL delete translated", s)
	}
	t.Logf("expired %v after the insert", exp.At.Sub(ins.At).Round(time.Millisecond))
}

// createPlainTTLTable makes a table of our key schema, stream and TTL
// attribute, without secondary indexes.
func createPlainTTLTable(ctx context.Context, ddb *dynamodb.Client, table string) error {
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str(feed.AttrPK), str(feed.AttrSK)},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(feed.AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(feed.AttrSK), KeyType: types.KeyTypeRange},
		},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		return err
	}
	_, err = ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(feed.AttrExpire), Enabled: aws.Bool(true)}})
	return err
}

// TestConvert covers the translation of table stream records, including
// DynamoDB Local's TTL delete (see TestRealTTLExpiry for a real one).
func TestConvert(t *testing.T) {
	o := stored(t, oddsOf("g5", "p", 1)[0])
	img := func() map[string]dstypes.AttributeValue {
		m := map[string]dstypes.AttributeValue{}
		for k, a := range feed.OddsItem(o, time.Time{}) {
			if a.IsN {
				m[k] = &dstypes.AttributeValueMemberN{Value: a.N}
			} else {
				m[k] = &dstypes.AttributeValueMemberS{Value: a.S}
			}
		}
		return m
	}
	keys := map[string]dstypes.AttributeValue{
		feed.AttrPK: &dstypes.AttributeValueMemberS{Value: o.Key().PK},
		feed.AttrSK: &dstypes.AttributeValueMemberS{Value: o.Key().SK},
	}
	service := &dstypes.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")}
	user := &dstypes.Identity{Type: aws.String("User"), PrincipalId: aws.String("someone")}
	tests := []struct {
		name     string
		rec      dstypes.Record
		wantKind feed.ChangeKind
		expired  bool
		wantErr  bool
	}{
		{"insert", dstypes.Record{EventName: "INSERT", Dynamodb: &dstypes.StreamRecord{Keys: keys, NewImage: img()}}, feed.ChangeInsert, false, false},
		{"user remove", dstypes.Record{EventName: "REMOVE", UserIdentity: user, Dynamodb: &dstypes.StreamRecord{Keys: keys, OldImage: img()}}, feed.ChangeRemove, false, false},
		{"service remove", dstypes.Record{EventName: "REMOVE", UserIdentity: service, Dynamodb: &dstypes.StreamRecord{Keys: keys, OldImage: img()}}, feed.ChangeRemove, true, false},
		{"dynamodb local ttl delete", dstypes.Record{EventName: "UNKNOWN_TO_SDK_VERSION", Dynamodb: &dstypes.StreamRecord{Keys: keys, OldImage: img()}}, feed.ChangeRemove, true, false},
		{"unknown event with a new image", dstypes.Record{EventName: "UNKNOWN_TO_SDK_VERSION", Dynamodb: &dstypes.StreamRecord{Keys: keys, NewImage: img()}}, "", false, true},
		{"no dynamodb section", dstypes.Record{EventName: "INSERT"}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Bridge{o: Options{Table: "feed"}, region: "eu-west-1"}
			r, err := b.convert(tt.rec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("convert gave %s, want an error", r.data)
				}
				return
			}
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			ch, err := cdc.DecodeRecord(r.data)
			if err != nil {
				t.Fatalf("decode %s: %v", r.data, err)
			}
			if ch.Kind != tt.wantKind || ch.Expired != tt.expired || ch.Key != o.Key() || r.pk != o.Key().PK {
				t.Fatalf("change %+v (pk %s), want %s expired=%v of %v", ch, r.pk, tt.wantKind, tt.expired, o.Key())
			}
			var raw struct {
				EventName    string `json:"eventName"`
				AWSRegion    string `json:"awsRegion"`
				TableName    string `json:"tableName"`
				UserIdentity *struct {
					Type        string `json:"type"`
					PrincipalID string `json:"principalId"`
				} `json:"userIdentity"`
			}
			if err := json.Unmarshal(r.data, &raw); err != nil {
				t.Fatal(err)
			}
			if raw.EventName != string(tt.wantKind) || raw.AWSRegion != "eu-west-1" || raw.TableName != "feed" {
				t.Errorf("record %s: want eventName %s, awsRegion eu-west-1, tableName feed", r.data, tt.wantKind)
			}
			if tt.expired != (raw.UserIdentity != nil && raw.UserIdentity.Type == "Service" && raw.UserIdentity.PrincipalID == cdc.TTLPrincipal) {
				t.Errorf("record %s: userIdentity wrong for expired=%v", r.data, tt.expired)
			}
		})
	}
}

func TestReorderKeepsPerKeyOrder(t *testing.T) {
	tests := []struct {
		name   string
		keys   string // one letter per record: its PK
		window int
	}{
		{"mixed", "abcabcabcaabbcc", 5},
		{"one key", "aaaaaa", 4},
		{"window larger than input", "abab", 10},
		{"empty", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []record
			for i, k := range tt.keys {
				in = append(in, record{pk: string(k), data: []byte(fmt.Sprint(i))})
			}
			for range 50 {
				out := reorder(in, tt.window)
				if len(out) != len(in) {
					t.Fatalf("reorder gave %d records, want %d", len(out), len(in))
				}
				next := map[string]int{} // per key: index in `in` of the last seen
				for w := 0; w < len(out); w += tt.window {
					end := min(w+tt.window, len(out))
					for _, r := range out[w:end] {
						var i int
						fmt.Sscan(string(r.data), &i)
						if i < w || i >= end {
							t.Fatalf("record %d left its window [%d,%d)", i, w, end)
						}
						if prev, ok := next[r.pk]; ok && i <= prev {
							t.Fatalf("key %s: record %d after %d", r.pk, i, prev)
						}
						next[r.pk] = i
					}
				}
			}
		})
	}
}

package cdc

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRecordFixtures(t *testing.T) {
	odds := &feed.Odds{
		GameID: "nfl-2025-w12-kc-buf", Provider: "acme",
		ObservedAt: mustTime(t, "2025-11-23T12:13:19.5Z"), ReceivedAt: mustTime(t, "2025-11-23T12:13:20Z"),
		AwaySpread: -2.5, HomeSpread: 2.5, AwayOdds: -110, HomeOdds: 120, Version: 1,
	}
	oddsKey := odds.Key()
	game := func(version int64, status feed.GameStatus, updated string) *feed.Game {
		return &feed.Game{
			ID: "nfl-2025-w12-kc-buf", Sport: "nfl", Summary: "Chiefs at Bills", Venue: "Highmark Stadium",
			GameDate: mustTime(t, "2025-11-23T18:00:00Z"), Status: status, HomeTeam: "Bills", AwayTeam: "Chiefs",
			Version: version, UpdatedAt: mustTime(t, updated),
		}
	}
	removed := func(at string, expired bool) feed.Change {
		return feed.Change{Kind: feed.ChangeRemove, Key: oddsKey, ItemType: feed.TypeOdds, Version: 1,
			OldOdds: odds, Expired: expired, At: mustTime(t, at)}
	}
	// Markets, statuses and liveness (issue 12).
	at := mustTime(t, "2025-11-23T18:40:00.123456Z")
	quote := &feed.Odds{GameID: "nfl-2025-w12-kc-buf", Provider: "acme", ObservedAt: at.Add(-time.Second), ReceivedAt: at,
		Market: feed.MarketTotal, Period: feed.PeriodFirstHalf, Line: 23.5, OverOdds: -110, UnderOdds: -110, Version: 1}
	open := &feed.MarketStatus{GameID: "nfl-2025-w12-kc-buf", Market: feed.MarketTotal, Period: feed.PeriodFull,
		State: feed.MarketOpen, By: "acme", At: at.Add(-time.Minute), Version: 1, UpdatedAt: at.Add(-time.Minute)}
	suspended := &feed.MarketStatus{GameID: "nfl-2025-w12-kc-buf", Market: feed.MarketTotal, Period: feed.PeriodFull,
		State: feed.MarketSuspended, Reason: feed.ReasonTrader, Note: "touchdown review", By: "alice", ByTrader: true,
		At: at, Version: 2, UpdatedAt: at}
	up := &feed.ProviderStatus{Provider: "acme", State: feed.ProviderUp, LastHeard: at.Add(-40 * time.Second), Version: 7}
	down := &feed.ProviderStatus{Provider: "acme", State: feed.ProviderDown, LastHeard: at.Add(-40 * time.Second),
		DownAt: at, DecidedBy: "replica-a", Version: 8}
	tests := []struct {
		file    string
		want    feed.Change
		wantErr error
	}{
		{file: "insert_quote.json", want: feed.Change{Kind: feed.ChangeInsert, Key: quote.Key(), ItemType: feed.TypeOdds,
			Version: 1, NewOdds: quote, At: at}},
		{file: "modify_market.json", want: feed.Change{Kind: feed.ChangeModify, Key: suspended.Key(), ItemType: feed.TypeMarket,
			Version: 2, NewMarket: suspended, OldMarket: open, At: at}},
		{file: "modify_provider.json", want: feed.Change{Kind: feed.ChangeModify, Key: down.Key(), ItemType: feed.TypeProvider,
			Version: 8, NewProvider: down, OldProvider: up, At: at}},
		// A lease decodes with no images: the Tailer skips it.
		{file: "modify_lease.json", want: feed.Change{Kind: feed.ChangeModify, Key: feed.LeaseKey("liveness"), ItemType: feed.TypeLease,
			Version: 1, At: at}},
		{file: "insert_odds.json", want: feed.Change{Kind: feed.ChangeInsert, Key: oddsKey, ItemType: feed.TypeOdds,
			Version: 1, NewOdds: odds, At: mustTime(t, "2025-11-23T12:13:20.123456Z")}},
		{file: "modify_game.json", want: feed.Change{Kind: feed.ChangeModify, Key: feed.GameKey("nfl-2025-w12-kc-buf"),
			ItemType: feed.TypeGame, Version: 3,
			NewGame: game(3, feed.StatusLive, "2025-11-23T18:01:40.456Z"),
			OldGame: game(2, feed.StatusScheduled, "2025-11-22T09:00:00Z"),
			At:      mustTime(t, "2025-11-23T12:15:00.456Z")}},
		{file: "remove_ttl_millis.json", want: removed("2025-11-30T12:15:12.345Z", true)},
		{file: "remove_ttl_micros.json", want: removed("2025-11-30T12:15:12.345678Z", true)},
		{file: "remove_ttl_dynamodb_local.json", want: removed("2025-11-30T12:15:12.345678Z", true)},
		{file: "remove_user.json", want: removed("2025-11-30T12:15:12.345678Z", false)},
		{file: "unknown_type.json", wantErr: ErrUnknownItemType},
		{file: "malformed.json", wantErr: ErrMalformedRecord},
		{file: "missing_keys.json", wantErr: ErrMalformedRecord},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := DecodeRecord(fixture(t, tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	base := func(mut func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(fixture(t, "insert_odds.json"), &m); err != nil {
			t.Fatal(err)
		}
		mut(m)
		b, _ := json.Marshal(m)
		return b
	}
	ddb := func(m map[string]any) map[string]any { return m["dynamodb"].(map[string]any) }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not an object", []byte(`[1,2]`)},
		{"no dynamodb", base(func(m map[string]any) { delete(m, "dynamodb") })},
		{"unknown event", base(func(m map[string]any) { m["eventName"] = "UPSERT" })},
		{"other source", base(func(m map[string]any) { m["eventSource"] = "aws:s3" })},
		{"ion format", base(func(m map[string]any) { m["recordFormat"] = "application/ion" })},
		{"no time", base(func(m map[string]any) { delete(ddb(m), "ApproximateCreationDateTime") })},
		{"bad precision", base(func(m map[string]any) { ddb(m)["ApproximateCreationDateTimePrecision"] = "NANO" })},
		{"insert without image", base(func(m map[string]any) { delete(ddb(m), "NewImage") })},
		{"remove without old image", base(func(m map[string]any) { m["eventName"] = "REMOVE" })},
		{"key mismatch", base(func(m map[string]any) {
			ddb(m)["Keys"] = map[string]any{"PK": map[string]any{"S": "GAME#x"}, "SK": map[string]any{"S": "META"}}
		})},
		{"bad number", base(func(m map[string]any) {
			ddb(m)["NewImage"].(map[string]any)["AWAYODDS"] = map[string]any{"N": "minus ten"}
		})},
		{"missing attribute", base(func(m map[string]any) { delete(ddb(m)["NewImage"].(map[string]any), "PROVIDER") })},
		{"attribute of wrong type", base(func(m map[string]any) {
			ddb(m)["NewImage"].(map[string]any)["PROVIDER"] = map[string]any{"BOOL": true}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecord(tt.data)
			if !errors.Is(err, ErrMalformedRecord) {
				t.Fatalf("err = %v, want ErrMalformedRecord", err)
			}
		})
	}
}

func TestCreationTime(t *testing.T) {
	tests := []struct {
		n, precision string
		want         string
	}{
		{"1763900000123", "MILLISECOND", "2025-11-23T12:13:20.123Z"},
		{"1763900000123456", "MICROSECOND", "2025-11-23T12:13:20.123456Z"},
		{"1763900000123", "", "2025-11-23T12:13:20.123Z"},
		{"1763900000123456", "", "2025-11-23T12:13:20.123456Z"},
		{"1763900000", "", "2025-11-23T12:13:20Z"},
		{"1.763900000123E9", "", "2025-11-23T12:13:20.123Z"},
		{"1763900000123.0", "MILLISECOND", "2025-11-23T12:13:20.123Z"},
	}
	for _, tt := range tests {
		t.Run(tt.n+tt.precision, func(t *testing.T) {
			got, err := creationTime(json.Number(tt.n), tt.precision)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustTime(t, tt.want); !got.Equal(want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestEncodeRecordRoundTrip(t *testing.T) {
	at := mustTime(t, "2025-11-23T12:13:20.123456Z")
	o := feed.Odds{GameID: "g1", Provider: "p1", ObservedAt: at.Add(-time.Second), ReceivedAt: at,
		AwaySpread: 1.5, HomeSpread: -1.5, AwayOdds: 150, HomeOdds: -170, Version: 1}
	g := feed.Game{ID: "g1", Sport: "nba", GameDate: at.Add(time.Hour), Status: feed.StatusScheduled, Version: 1, UpdatedAt: at}
	g2 := g
	g2.Status, g2.Version = feed.StatusLive, 2
	oddsItem := feed.OddsItem(o, at.Add(time.Hour))
	tests := []struct {
		name string
		in   RecordInput
		want feed.Change
	}{
		{"insert odds", RecordInput{EventName: feed.ChangeInsert, NewImage: oddsItem, At: at},
			feed.Change{Kind: feed.ChangeInsert, Key: o.Key(), ItemType: feed.TypeOdds, Version: 1, NewOdds: &o, At: at}},
		{"modify game", RecordInput{EventName: feed.ChangeModify, NewImage: feed.GameItem(g2), OldImage: feed.GameItem(g), At: at},
			feed.Change{Kind: feed.ChangeModify, Key: g.Key(), ItemType: feed.TypeGame, Version: 2, NewGame: &g2, OldGame: &g, At: at}},
		{"ttl remove", RecordInput{EventName: feed.ChangeRemove, OldImage: oddsItem, At: at, TTL: true},
			feed.Change{Kind: feed.ChangeRemove, Key: o.Key(), ItemType: feed.TypeOdds, Version: 1, OldOdds: &o, Expired: true, At: at}},
		{"user remove", RecordInput{EventName: feed.ChangeRemove, OldImage: oddsItem, At: at},
			feed.Change{Kind: feed.ChangeRemove, Key: o.Key(), ItemType: feed.TypeOdds, Version: 1, OldOdds: &o, At: at}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeRecord(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"awsRegion":"us-east-1","eventID":"`, `"recordFormat":"application/json","tableName":"oddsfeed","dynamodb":{"ApproximateCreationDateTime":1763900000123456,"Keys":{`,
				`"ApproximateCreationDateTimePrecision":"MICROSECOND"},"eventSource":"aws:dynamodb"}`} {
				if !bytes.Contains(data, []byte(want)) {
					t.Errorf("record lacks %s:\n%s", want, data)
				}
			}
			wantUser := `"userIdentity":null`
			if tt.in.TTL {
				wantUser = `"userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}`
			}
			if !bytes.Contains(data, []byte(wantUser)) {
				t.Errorf("record lacks %s:\n%s", wantUser, data)
			}
			got, err := DecodeRecord(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEncodeRecordRefuses(t *testing.T) {
	it := feed.GameItem(feed.Game{ID: "g1", Sport: "nba", Status: feed.StatusLive})
	for name, in := range map[string]RecordInput{
		"no event":          {NewImage: it},
		"insert no image":   {EventName: feed.ChangeInsert, OldImage: it},
		"remove no image":   {EventName: feed.ChangeRemove, NewImage: it},
		"ttl on a modify":   {EventName: feed.ChangeModify, NewImage: it, TTL: true},
		"unknown eventName": {EventName: "UPSERT", NewImage: it},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := EncodeRecord(in); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, name := range []string{"insert_odds.json", "modify_game.json", "remove_ttl_millis.json", "malformed.json",
		"insert_quote.json", "modify_market.json", "modify_provider.json", "modify_lease.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeRecord(data) // must not panic
	})
}

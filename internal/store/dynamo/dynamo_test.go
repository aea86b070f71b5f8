package dynamo

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/storetest"
)

// env holds DynamoDB Local and kinesis-mock, started once for the package.
var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.DynamoDB|harness.Kinesis)
}

// clientOptions points clients at the package's emulators.
func clientOptions() awsclient.Options {
	return awsclient.Options{
		Region:           harness.Region,
		DynamoDBEndpoint: env.DynamoDB.URL,
		KinesisEndpoint:  env.Kinesis.URL,
		AccessKeyID:      harness.AccessKey,
		SecretAccessKey:  harness.SecretKey,
	}
}

// clients returns DynamoDB and Kinesis clients of the emulators.
func clients(t *testing.T) (*dynamodb.Client, *kinesis.Client) {
	t.Helper()
	o := clientOptions()
	cfg, err := awsclient.Load(t.Context(), o)
	if err != nil {
		t.Fatalf("load aws config: %v", err)
	}
	return awsclient.DynamoDB(cfg, o), awsclient.Kinesis(cfg, o)
}

var tableSeq atomic.Int64

// newTable creates a fresh table, deleted after t, and returns its name.
func newTable(t *testing.T, ddb *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("feed-%d", tableSeq.Add(1))
	if err := CreateTable(t.Context(), ddb, name); err != nil {
		t.Fatalf("CreateTable(%s): %v", name, err)
	}
	t.Cleanup(func() {
		_, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a store on a fresh table.
func newStore(t *testing.T, o Options) *Store {
	t.Helper()
	ddb, _ := clients(t)
	o.Table = newTable(t, ddb)
	s := New(ddb, o)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.FeedStore {
		return newStore(t, Options{OddsTTL: 24 * time.Hour})
	})
}

// t0 is the base time of the adapter's own fixtures.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// oddsBatch returns n odds of game g from provider p, one millisecond apart.
func oddsBatch(g, p string, n int) []feed.Odds {
	odds := make([]feed.Odds, n)
	for i := range odds {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		odds[i] = feed.Odds{GameID: g, Provider: p, ObservedAt: at, AwaySpread: 3.5, HomeSpread: -3.5,
			AwayOdds: 100 + i, HomeOdds: -110 - i, ReceivedAt: at.Add(time.Second)}
	}
	return odds
}

// storedKeys reads back which odds of game g are in the table.
func storedKeys(t *testing.T, s *Store, g string) map[feed.Key]bool {
	t.Helper()
	got := map[feed.Key]bool{}
	r := store.OddsRange{GameID: g, Page: store.Page{Limit: store.MaxLimit}}
	for {
		page, err := s.ListOdds(t.Context(), r)
		if err != nil {
			t.Fatalf("ListOdds: %v", err)
		}
		for _, o := range page.Odds {
			got[o.Key()] = true
		}
		if page.NextCursor == "" {
			return got
		}
		r.Cursor = page.NextCursor
	}
}

func TestTTLAttribute(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want string // EXPIRE, "" for none
	}{
		{"with ttl", time.Hour, fmt.Sprint(now.Add(time.Hour).Unix())},
		{"without ttl", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, Options{OddsTTL: tc.ttl, Now: func() time.Time { return now }})
			o := oddsBatch("g1", "p1", 1)[0]
			q := feed.Odds{GameID: "g1", Provider: "p1", ObservedAt: t0, ReceivedAt: t0, Market: feed.MarketTotal,
				Line: 40.5, OverOdds: -110, UnderOdds: -110}
			if _, err := s.PutOdds(t.Context(), []feed.Odds{o, q}); err != nil {
				t.Fatalf("PutOdds: %v", err)
			}
			m, _, err := s.PutMarketChange(t.Context(), feed.MarketChange{GameID: "g1", Market: feed.MarketTotal, Action: feed.ActionClose, At: t0})
			if err != nil {
				t.Fatalf("PutMarketChange: %v", err)
			}
			p, _, err := s.Heard(t.Context(), "p1", t0)
			if err != nil {
				t.Fatalf("Heard: %v", err)
			}
			if _, _, err := s.AcquireLease(t.Context(), "l", "r1", t0, time.Minute); err != nil {
				t.Fatalf("AcquireLease: %v", err)
			}
			// Quotes expire as odds do; statuses, providers and leases never.
			for _, c := range []struct {
				k    feed.Key
				want string
			}{{o.Key(), tc.want}, {q.Key(), tc.want}, {m.Key(), ""}, {p.Key(), ""}, {feed.LeaseKey("l"), ""}} {
				out, err := s.db.GetItem(t.Context(), &dynamodb.GetItemInput{
					TableName: aws.String(s.opts.Table), Key: keyAV(c.k), ConsistentRead: aws.Bool(true),
				})
				if err != nil || out.Item == nil {
					t.Fatalf("GetItem(%v): %v, %v", c.k, out, err)
				}
				if got := fromAV(out.Item)[feed.AttrExpire].N; got != c.want {
					t.Fatalf("%v: EXPIRE = %q, want %q", c.k, got, c.want)
				}
			}
		})
	}
}

// TestLatestOddsByProviderPrefixes checks the loose index scan over LSI1
// with provider ids that are prefixes of one another.
func TestLatestOddsByProviderPrefixes(t *testing.T) {
	s := newStore(t, Options{})
	providers := []string{"b", "a-b", "ab", "a", "a.b", "a_b", "a0"}
	var all []feed.Odds
	for _, p := range providers {
		all = append(all, oddsBatch("g1", p, 3)...)
	}
	if _, err := s.PutOdds(t.Context(), all); err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	got, err := s.LatestOddsByProvider(t.Context(), "g1")
	if err != nil {
		t.Fatalf("LatestOddsByProvider: %v", err)
	}
	want := []string{"a", "a-b", "a.b", "a0", "a_b", "ab", "b"}
	if len(got) != len(want) {
		t.Fatalf("%d providers, want %d: %+v", len(got), len(want), got)
	}
	for i, o := range got {
		if o.Provider != want[i] || !o.ObservedAt.Equal(t0.Add(2*time.Millisecond)) {
			t.Fatalf("[%d] = %s at %v, want %s at the newest time", i, o.Provider, o.ObservedAt, want[i])
		}
	}
}

// TestLatestQuotesPrefixes checks the loose index scan over LSI1's quotes
// with provider ids that are prefixes of one another and several markets
// and periods each.
func TestLatestQuotesPrefixes(t *testing.T) {
	s := newStore(t, Options{})
	providers := []string{"b", "a-b", "ab", "a", "a.b", "a0"}
	series := []struct {
		m feed.Market
		p feed.Period
	}{{feed.MarketTotal, ""}, {feed.MarketTotal, feed.PeriodFirstHalf}, {feed.MarketMoneyline, feed.PeriodSecondHalf}, {feed.MarketSpread, feed.PeriodFirstHalf}}
	var all []feed.Odds
	for _, p := range providers {
		for _, o := range oddsBatch("g1", p, 3) {
			for _, sr := range series {
				q := o
				q.Market, q.Period = sr.m, sr.p
				if sr.m != feed.MarketSpread {
					q.AwaySpread, q.HomeSpread = 0, 0
				}
				if sr.m == feed.MarketTotal {
					q.AwayOdds, q.HomeOdds, q.Line, q.OverOdds, q.UnderOdds = 0, 0, 40.5, o.AwayOdds, o.HomeOdds
				}
				all = append(all, q)
			}
		}
	}
	if _, err := s.PutOdds(t.Context(), all); err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	got, err := s.LatestQuotes(t.Context(), "g1")
	if err != nil {
		t.Fatalf("LatestQuotes: %v", err)
	}
	if len(got) != len(providers)*len(series) {
		t.Fatalf("%d quotes, want %d: %+v", len(got), len(providers)*len(series), got)
	}
	if !slices.IsSortedFunc(got, store.CompareQuotes) {
		t.Fatalf("LatestQuotes not in CompareQuotes order: %+v", got)
	}
	for i, o := range got {
		if !o.ObservedAt.Equal(t0.Add(2*time.Millisecond)) || (i > 0 && store.CompareQuotes(got[i-1], o) == 0) {
			t.Fatalf("[%d] = %s %s at %v: want each series once, at the newest time", i, o.Provider, feed.MarketID(o.Market, o.Period), o.ObservedAt)
		}
	}
}

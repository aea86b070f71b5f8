package dynamo

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// faultyPutter wraps the real client's PutItem. before, when set, runs
// before each call is sent and may fail it (throttling) or write first as a
// concurrent writer would.
type faultyPutter struct {
	next   itemPutter
	before func(ctx context.Context, call int, in *dynamodb.PutItemInput) error

	mu    sync.Mutex
	calls int
}

func (p *faultyPutter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	p.mu.Lock()
	call := p.calls
	p.calls++
	p.mu.Unlock()
	if p.before != nil {
		if err := p.before(ctx, call, in); err != nil {
			return nil, err
		}
	}
	return p.next.PutItem(ctx, in, optFns...)
}

// wrap installs p around the store's putter.
func (p *faultyPutter) wrap(s *Store) {
	p.next = s.put
	s.put = p
}

// itemOf is the feed item of a PutItem request.
func itemOf(in *dynamodb.PutItemInput) feed.Item { return fromAV(in.Item) }

// quick are store options with short back-offs.
func quick(attempts int) Options {
	return Options{MaxAttempts: attempts, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestPutOddsRepeatedKeys(t *testing.T) {
	s := newStore(t, quick(0))
	prior := oddsBatch("g1", "p1", 2)
	if _, err := s.PutOdds(t.Context(), prior[:1]); err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	changed := prior[1]
	changed.AwayOdds += 5
	otherStored := prior[0]
	otherStored.HomeOdds -= 5
	// One request may not hold a key twice: the store must write it once.
	batch := []feed.Odds{prior[1], prior[1], changed, prior[0], otherStored}
	want := []store.Outcome{store.Stored, store.Duplicate, store.Corrected, store.Duplicate, store.Corrected}
	out, err := s.PutOdds(t.Context(), batch)
	if err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	if !slices.Equal(out, want) {
		t.Fatalf("outcomes %v, want %v", out, want)
	}
	got, err := s.LatestOdds(t.Context(), "g1", "")
	if err != nil {
		t.Fatalf("LatestOdds: %v", err)
	}
	if !got.SameContent(changed) || got.Version != 2 {
		t.Fatalf("stored %+v, want the correction %+v as version 2", got, changed)
	}
}

func TestPutOddsRetriesThrottled(t *testing.T) {
	s := newStore(t, quick(0))
	// The first write of every odd-numbered item is throttled; the store
	// must send it again.
	throttle := &types.ProvisionedThroughputExceededException{Message: new("injected")}
	held := map[feed.Key]bool{}
	var mu sync.Mutex
	p := &faultyPutter{before: func(_ context.Context, _ int, in *dynamodb.PutItemInput) error {
		mu.Lock()
		defer mu.Unlock()
		it := itemOf(in)
		if n, _ := strconv.Atoi(it[feed.AttrAwayOdds].N); n%2 == 1 && !held[it.Key()] {
			held[it.Key()] = true
			return throttle
		}
		return nil
	}}
	p.wrap(s)
	odds := oddsBatch("g1", "p1", 60)
	out, err := s.PutOdds(t.Context(), odds)
	if err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	for i, o := range out {
		if o != store.Stored {
			t.Fatalf("outcome[%d] = %v, want stored", i, o)
		}
	}
	if len(held) != 30 || p.calls != 90 {
		t.Fatalf("%d items throttled and %d PutItem calls, want 30 and 90", len(held), p.calls)
	}
	if got := storedKeys(t, s, "g1"); len(got) != 60 {
		t.Fatalf("%d odds in the table, want 60", len(got))
	}
}

func TestPutOddsThrottled(t *testing.T) {
	const attempts = 3
	throttle := &types.ProvisionedThroughputExceededException{Message: new("injected")}
	s := newStore(t, quick(attempts))
	p := &faultyPutter{before: func(_ context.Context, _ int, in *dynamodb.PutItemInput) error {
		if itemOf(in)[feed.AttrProvider].S == "slow" {
			return throttle
		}
		return nil
	}}
	p.wrap(s)
	odds := append(oddsBatch("g1", "fast", 20), oddsBatch("g1", "slow", 20)...)
	out, err := s.PutOdds(t.Context(), odds)
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("PutOdds error %v, want ErrThrottled", err)
	}
	if want := 20 + 20*attempts; p.calls != want {
		t.Fatalf("%d PutItem calls, want %d", p.calls, want)
	}
	inTable := storedKeys(t, s, "g1")
	for i, o := range odds {
		want := store.NotStored
		if o.Provider == "fast" {
			want = store.Stored
		}
		if out[i] != want || inTable[o.Key()] != (want == store.Stored) {
			t.Fatalf("item %d (%s): outcome %v, in table %v; want %v", i, o.Provider, out[i], inTable[o.Key()], want)
		}
	}
}

// TestPutOddsConcurrentWriter has another writer store a version of each
// key between the store's read and its write: the conditional write fails,
// and the item is classified again against what stands, so neither write is
// lost.
func TestPutOddsConcurrentWriter(t *testing.T) {
	s := newStore(t, quick(0))
	other := New(s.db, s.opts) // a second writer on the same table
	base := oddsBatch("g1", "p1", 3)
	if _, err := s.PutOdds(t.Context(), base[2:]); err != nil { // the third key exists: its write is a correction
		t.Fatal(err)
	}
	rival := slices.Clone(base)
	for i := range rival {
		rival[i].HomeOdds -= 7
	}
	sneaked := map[feed.Key]bool{}
	var mu sync.Mutex
	p := &faultyPutter{before: func(ctx context.Context, _ int, in *dynamodb.PutItemInput) error {
		mu.Lock()
		defer mu.Unlock()
		k := itemOf(in).Key()
		if sneaked[k] {
			return nil
		}
		sneaked[k] = true
		for _, o := range rival {
			if o.Key() == k {
				_, err := other.PutOdds(ctx, []feed.Odds{o})
				return err
			}
		}
		return nil
	}}
	p.wrap(s)
	mine := slices.Clone(base)
	for i := range mine {
		mine[i].AwayOdds += 3
	}
	out, err := s.PutOdds(t.Context(), mine)
	if err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	for i, o := range out {
		if o != store.Corrected {
			t.Fatalf("outcome[%d] = %v, want corrected (after the rival's write)", i, o)
		}
	}
	for i, o := range mine {
		page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1", From: o.ObservedAt, To: o.ObservedAt})
		if err != nil || len(page.Odds) != 1 {
			t.Fatalf("ListOdds at %v: %v %v", o.ObservedAt, page.Odds, err)
		}
		want := int64(2)
		if i == 2 {
			want = 3 // base, then the rival's, then mine
		}
		if st := page.Odds[0]; !st.SameContent(o) || st.Version != want {
			t.Fatalf("item %d stands as %+v, want mine as version %d", i, st, want)
		}
	}
}

func TestCursorRejected(t *testing.T) {
	s := newStore(t, quick(0))
	odds := oddsBatch("g1", "p1", 3)
	if _, err := s.PutOdds(t.Context(), odds); err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	page, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1", Page: store.Page{Limit: 1}})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("ListOdds: %v, cursor %q", err, page.NextCursor)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"odds cursor of another game", func() error {
			_, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g2", Page: store.Page{Cursor: page.NextCursor}})
			return err
		}},
		{"odds cursor for games", func() error {
			_, err := s.ListGames(t.Context(), feed.StatusScheduled, store.Page{Cursor: page.NextCursor})
			return err
		}},
		{"garbage", func() error {
			_, err := s.ListOdds(t.Context(), store.OddsRange{GameID: "g1", Page: store.Page{Cursor: "%%%"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, store.ErrBadCursor) {
				t.Fatalf("error %v, want ErrBadCursor", err)
			}
		})
	}
}

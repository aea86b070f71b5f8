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

// faultyWriter wraps the real client's BatchWriteItem. For each request,
// hold picks the requests to hold back: they are not sent and come back as
// UnprocessedItems, as DynamoDB does under load. fail, when set, makes a
// call fail with its error before anything is sent.
type faultyWriter struct {
	next batchWriter
	hold func(call int, r types.WriteRequest) bool
	fail error

	mu    sync.Mutex
	calls int
	sizes []int // requests per call, as the store sent them
}

func (w *faultyWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	w.mu.Lock()
	call := w.calls
	w.calls++
	for _, reqs := range in.RequestItems {
		w.sizes = append(w.sizes, len(reqs))
	}
	w.mu.Unlock()
	if w.fail != nil {
		return nil, w.fail
	}
	send := map[string][]types.WriteRequest{}
	held := map[string][]types.WriteRequest{}
	for table, reqs := range in.RequestItems {
		for _, r := range reqs {
			if w.hold != nil && w.hold(call, r) {
				held[table] = append(held[table], r)
			} else {
				send[table] = append(send[table], r)
			}
		}
	}
	out := &dynamodb.BatchWriteItemOutput{}
	if len(send) > 0 {
		var err error
		if out, err = w.next.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: send}, optFns...); err != nil {
			return nil, err
		}
	}
	if len(held) > 0 {
		out.UnprocessedItems = held
	}
	return out, nil
}

// wrap installs w around the store's batch writer.
func (w *faultyWriter) wrap(s *Store) {
	w.next = s.bw
	s.bw = w
}

// provider of a write request's item.
func provider(r types.WriteRequest) string {
	return fromAV(r.PutRequest.Item)[feed.AttrProvider].S
}

// quick are store options with short back-offs.
func quick(attempts int) Options {
	return Options{MaxAttempts: attempts, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestPutOddsChunks(t *testing.T) {
	s := newStore(t, quick(0))
	w := &faultyWriter{}
	w.wrap(s)
	odds := oddsBatch("g1", "p1", 120)
	out, err := s.PutOdds(t.Context(), odds)
	if err != nil {
		t.Fatalf("PutOdds: %v", err)
	}
	for i, o := range out {
		if o != store.Stored {
			t.Fatalf("outcome[%d] = %v, want stored", i, o)
		}
	}
	slices.Sort(w.sizes)
	if want := []int{20, 25, 25, 25, 25}; !slices.Equal(w.sizes, want) {
		t.Fatalf("request sizes %v, want %v", w.sizes, want)
	}
	if got := storedKeys(t, s, "g1"); len(got) != 120 {
		t.Fatalf("%d odds in the table, want 120", len(got))
	}
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
	want := []store.Outcome{store.Stored, store.Duplicate, store.Conflict, store.Duplicate, store.Conflict}
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
	if !got.SameContent(prior[1]) {
		t.Fatalf("stored %+v, want the first occurrence %+v", got, prior[1])
	}
}

func TestPutOddsRetriesUnprocessed(t *testing.T) {
	s := newStore(t, quick(0))
	// Every first request of a chunk leaves its odd-numbered items
	// unprocessed; the store must send those again.
	held := map[feed.Key]bool{}
	var mu sync.Mutex
	w := &faultyWriter{hold: func(call int, r types.WriteRequest) bool {
		mu.Lock()
		defer mu.Unlock()
		k := keyOf(r.PutRequest.Item)
		if held[k] {
			return false
		}
		if n, _ := strconv.Atoi(fromAV(r.PutRequest.Item)[feed.AttrAwayOdds].N); n%2 == 1 {
			held[k] = true
			return true
		}
		return false
	}}
	w.wrap(s)
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
	if len(held) != 30 {
		t.Fatalf("%d items held back, want 30", len(held))
	}
	if w.calls != 6 { // 3 chunks, each sent twice
		t.Fatalf("%d BatchWriteItem calls, want 6", w.calls)
	}
	if got := storedKeys(t, s, "g1"); len(got) != 60 {
		t.Fatalf("%d odds in the table, want 60", len(got))
	}
}

func TestPutOddsThrottled(t *testing.T) {
	const attempts = 3
	throttle := &types.ProvisionedThroughputExceededException{Message: new("injected")}
	for _, tc := range []struct {
		name      string
		w         *faultyWriter
		wantCalls int
		stored    func(o feed.Odds) bool // which items end Stored
	}{
		{
			name:      "items always unprocessed",
			w:         &faultyWriter{hold: func(_ int, r types.WriteRequest) bool { return provider(r) == "slow" }},
			wantCalls: 2 + 2*(attempts-1), // 2 chunks; the chunks holding "slow" items retried
			stored:    func(o feed.Odds) bool { return o.Provider != "slow" },
		},
		{
			name:      "requests always throttled",
			w:         &faultyWriter{fail: throttle},
			wantCalls: 2 * attempts,
			stored:    func(feed.Odds) bool { return false },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, quick(attempts))
			tc.w.wrap(s)
			odds := append(oddsBatch("g1", "fast", 20), oddsBatch("g1", "slow", 20)...)
			// Interleave so both chunks hold both kinds.
			slices.SortFunc(odds, func(a, b feed.Odds) int { return a.ObservedAt.Compare(b.ObservedAt) })
			out, err := s.PutOdds(t.Context(), odds)
			if !errors.Is(err, ErrThrottled) {
				t.Fatalf("PutOdds error %v, want ErrThrottled", err)
			}
			if tc.w.calls != tc.wantCalls {
				t.Fatalf("%d BatchWriteItem calls, want %d", tc.w.calls, tc.wantCalls)
			}
			inTable := storedKeys(t, s, "g1")
			for i, o := range odds {
				want := store.NotStored
				if tc.stored(o) {
					want = store.Stored
				}
				if out[i] != want {
					t.Fatalf("outcome[%d] (%s) = %v, want %v", i, o.Provider, out[i], want)
				}
				if inTable[o.Key()] != (want == store.Stored) {
					t.Fatalf("item %d (%s): in table %v, outcome %v", i, o.Provider, inTable[o.Key()], out[i])
				}
			}
		})
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

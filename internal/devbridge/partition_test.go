package devbridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

// TestPartitionByItem: with PartitionBy "item" each odds item has its own
// partition key (PK|SK), so one game's odds spread over every shard; the
// reorder window then swaps odds of one game, never two changes of one
// item; a consumer still gets every change.
func TestPartitionByItem(t *testing.T) {
	f := newFixture(t, 4, Options{PartitionBy: PartitionByItem, ReorderWindow: 50, DuplicateEvery: 7}, dynamo.Options{})
	ctx := t.Context()
	var all []feed.Odds
	for g := range 4 {
		all = append(all, oddsOf(fmt.Sprintf("g%d", g), "p", 40)...)
	}
	slices.SortStableFunc(all, func(a, b feed.Odds) int { return a.ObservedAt.Compare(b.ObservedAt) })
	for g := range 4 {
		if _, _, err := f.store.PutGame(ctx, game(fmt.Sprintf("g%d", g), feed.StatusScheduled), store.System); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.PutOdds(ctx, all); err != nil {
		t.Fatalf("put odds: %v", err)
	}
	// Game updates: several changes of one item (versions 2 and 3).
	for _, st := range []feed.GameStatus{feed.StatusLive, feed.StatusClosed} {
		for g := range 4 {
			if _, _, err := f.store.PutGame(ctx, game(fmt.Sprintf("g%d", g), st), store.System); err != nil {
				t.Fatal(err)
			}
		}
	}
	changes := len(all) + 3*4
	f.run(t) // after the writes: the reads are full windows
	c := f.consume(t)
	s := f.bridge.Stats()
	eventually(t, 30*time.Second, "all relayed", func() bool { s = f.bridge.Stats(); return s.Relayed == int64(changes) })
	got := c.wait(t, changes+int(s.Duplicates))
	seen := map[feed.Key]bool{}
	for _, ch := range got {
		seen[ch.Key] = true
	}
	for _, o := range all {
		if !seen[o.Key()] {
			t.Errorf("odds %v never delivered", o.Key())
		}
	}

	recs := f.rawRecords(t)
	if len(recs) != changes+int(s.Duplicates) {
		t.Fatalf("%d raw records, want %d", len(recs), changes+int(s.Duplicates))
	}
	shardsOf := map[string]map[string]bool{} // game PK -> shards of its odds
	lastAt := map[string]time.Time{}         // partition key -> last At
	lastVersion := map[feed.Key]int64{}      // item -> last version
	reordered := false
	for i, r := range recs {
		if want := r.change.Key.PK + "|" + r.change.Key.SK; r.pk != want {
			t.Errorf("record %d partition key %q, want %q", i, r.pk, want)
		}
		if r.change.At.Before(lastAt[r.pk]) {
			t.Errorf("record %d of item %s at %v is before the item's previous %v", i, r.pk, r.change.At, lastAt[r.pk])
		}
		if r.change.Version < lastVersion[r.change.Key] {
			t.Errorf("record %d of item %v: version %d after %d", i, r.change.Key, r.change.Version, lastVersion[r.change.Key])
		}
		lastAt[r.pk], lastVersion[r.change.Key] = r.change.At, r.change.Version
		if r.change.ItemType == feed.TypeOdds {
			if shardsOf[r.change.Key.PK] == nil {
				shardsOf[r.change.Key.PK] = map[string]bool{}
			}
			shardsOf[r.change.Key.PK][r.shard] = true
		}
		// Within a shard, two odds of one game out of creation order.
		for j := i - 1; j >= 0 && recs[j].shard == r.shard; j-- {
			if recs[j].change.Key.PK == r.change.Key.PK && recs[j].change.Key != r.change.Key && r.change.At.Before(recs[j].change.At) {
				reordered = true
				break
			}
		}
	}
	for pk, sh := range shardsOf {
		if len(sh) != 4 {
			t.Errorf("odds of %s on %d shards, want all 4", pk, len(sh))
		}
	}
	if !reordered {
		t.Error("no two odds of one game were reordered within a shard")
	}
}

// TestPartitionKey: the partition key of each mode, and a hash when PK|SK
// exceeds Kinesis's 256 characters.
func TestPartitionKey(t *testing.T) {
	k := feed.Key{PK: "GAME#g1", SK: "ODDS#2026-12-01T18:00:00.000000000Z#p"}
	if got := (&Bridge{o: Options{PartitionBy: PartitionByPK}}).partitionKey(k); got != k.PK {
		t.Errorf("pk mode: %q, want %q", got, k.PK)
	}
	item := &Bridge{o: Options{PartitionBy: PartitionByItem}}
	if got := item.partitionKey(k); got != k.PK+"|"+k.SK {
		t.Errorf("item mode: %q", got)
	}
	long := feed.Key{PK: "GAME#" + strings.Repeat("x", 200), SK: "ODDS#" + strings.Repeat("y", 100)}
	got := item.partitionKey(long)
	if len(got) != 32 || got == item.partitionKey(feed.Key{PK: long.PK, SK: long.SK + "z"}) {
		t.Errorf("long key: %q, want a distinct 32-character hash", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted PartitionBy \"shard\"")
		}
	}()
	New(nil, nil, nil, Options{PartitionBy: "shard"})
}

// TestGarbageIsMalformed: every kind of injected record fails to decode as
// a malformed record, never as a change.
func TestGarbageIsMalformed(t *testing.T) {
	for n := range int64(8) {
		data := garbage(n)
		ch, err := cdc.DecodeRecord(data)
		if !errors.Is(err, cdc.ErrMalformedRecord) {
			t.Errorf("garbage %d %q decoded to %+v, %v; want ErrMalformedRecord", n, data, ch, err)
		}
	}
}

// TestMalformedEvery: a malformed record after every Nth record reaches the
// consumer as a bad record, under its own partition key, and every change
// still arrives.
func TestMalformedEvery(t *testing.T) {
	f := newFixture(t, 2, Options{MalformedEvery: 5, ReorderWindow: 10}, dynamo.Options{})
	ctx := t.Context()
	var all []feed.Odds
	for g := range 4 {
		all = append(all, oddsOf(fmt.Sprintf("m%d", g), "p", 10)...)
	}
	if _, err := f.store.PutOdds(ctx, all); err != nil {
		t.Fatalf("put odds: %v", err)
	}
	f.run(t)
	c := f.consume(t)
	want := len(all) / 5
	eventually(t, 30*time.Second, "changes and bad records", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.changes) >= len(all) && len(c.bad) >= want
	})
	s := f.bridge.Stats()
	c.mu.Lock()
	changes, bad := len(c.changes), len(c.bad)
	c.mu.Unlock()
	if changes != len(all) || bad != want || s.Malformed != int64(want) || s.Relayed != int64(len(all)) || s.Duplicates != 0 {
		t.Fatalf("%d changes and %d bad records, stats %+v; want %d, %d malformed", changes, bad, s, len(all), want)
	}
}

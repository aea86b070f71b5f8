package reporting_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// Every dead letter of a batch is a row of its own, even when records have
// no usable position: each such record is parked at the batch's position
// plus a fraction of its own, which no stream record has, so it collides
// neither with another bad record nor with a change parked at the batch's
// position; and it is parked, not taken for a record applied before.
func TestDeadLettersWithBadPositions(t *testing.T) {
	_, pool := newDB(t)
	ensureToday(t, pool)
	ctx := context.Background()
	s := reporting.NewSync(pool, reporting.SyncOptions{})
	t.Cleanup(func() { s.Close(ctx) })
	mustApply(t, s, batch("shard-1", 1, oddsInsert(odds("g1", "p", base, 1, 110)))) // a checkpoint: 1

	b := batch("shard-1", 10,
		oddsInsert(odds("g1", "p", base.Add(1), 1, 120)),
		feed.Change{Kind: feed.ChangeInsert, ItemType: "BET"}, // parked at 11, the batch's position
	)
	b.Bad = []cdc.BadRecord{
		{Source: "shard-1", Position: "", Data: []byte("{first"), Err: errors.New("malformed record")},
		{Source: "shard-1", Position: "not-a-number", Data: []byte("{second"), Err: errors.New("malformed record")},
	}
	mustApply(t, s, b)
	mustApply(t, s, b) // redelivered: applied before, nothing more

	rows, err := pool.Query(ctx, "SELECT position::text, kind, convert_from(raw, 'UTF8'), attempts FROM dead_letters ORDER BY position")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var pos, kind, raw string
		var attempts int
		if err := rows.Scan(&pos, &kind, &raw, &attempts); err != nil {
			t.Fatal(err)
		}
		if attempts != 1 {
			t.Errorf("dead letter %s: %d attempts, want 1 (overwritten?)", pos, attempts)
		}
		if kind == "change" {
			raw = "BET"
		}
		got = append(got, pos+" "+kind+" "+raw)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "11 change BET|11.000000001 record {first|11.000000002 record {second"
	if strings.Join(got, "|") != want {
		t.Fatalf("dead letters\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if got := checkpoint(t, pool, "shard-1"); got != "11" {
		t.Fatalf("checkpoint %s, want 11", got)
	}
	// Replay reads them back (the undecodable records fail again).
	if applied, failed, err := reporting.Replay(ctx, pool); err != nil || applied != 0 || failed != 3 {
		t.Fatalf("Replay = %d applied, %d failed, %v; want 0, 3", applied, failed, err)
	}
}

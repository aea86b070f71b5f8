package app

import (
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// TestConsumerStatusSources: a consumer's shards are the reporting
// checkpoints where there are (every replica's, with their change counts),
// else this process's tailer figures with the tailer's per-source change
// counts, and a source not read yet has no update time.
func TestConsumerStatusSources(t *testing.T) {
	now := time.Now().UTC()
	tailer := cdc.ConsumerStats{Name: "reporting", Changes: 7, Failures: 2, LastError: "boom", Sources: map[string]cdc.SourceStats{
		"shard-2": {Position: "20", MillisBehindLatest: 5, Changes: 4, Updated: now},
		"shard-3": {Changes: 3},
	}}
	cps := []reporting.SourceState{
		{Consumer: "reporting", Source: "shard-2", Position: "25", MillisBehind: 9, AppliedChanges: 40, UpdatedAt: now},
		{Consumer: "reporting", Source: "shard-1", Position: "11", MillisBehind: 3, AppliedChanges: 30, UpdatedAt: now},
	}
	got := consumerStatus(tailer, cps)
	if got.Failures != 2 || got.LastError != "boom" || got.Changes != 7 {
		t.Fatalf("consumer figures %+v", got)
	}
	if len(got.Sources) != 3 {
		t.Fatalf("sources %+v, want 3", got.Sources)
	}
	for i, want := range []struct {
		source, position string
		lag              int64
		changes          int64 // -1: unknown
		checkpoint       bool
		updated          bool
	}{
		{"shard-1", "11", 3, 30, true, true},
		{"shard-2", "25", 9, 40, true, true}, // the checkpoint wins
		{"shard-3", "", 0, 3, false, false},
	} {
		s := got.Sources[i]
		changes := int64(-1)
		if s.Changes != nil {
			changes = *s.Changes
		}
		if s.Source != want.source || s.Position != want.position || s.MillisBehind != want.lag || changes != want.changes ||
			s.Checkpoint != want.checkpoint || (s.UpdatedAt != nil) != want.updated {
			t.Errorf("source %d = %+v (changes %d), want %+v", i, s, changes, want)
		}
	}

	two := consumerStatus(cdc.ConsumerStats{Name: "broadcast", Changes: 12, Sources: map[string]cdc.SourceStats{
		"a": {Changes: 5}, "b": {Changes: 7}}}, nil)
	for i, want := range []int64{5, 7} {
		if s := two.Sources[i]; s.Changes == nil || *s.Changes != want {
			t.Errorf("source %s: changes %v, want %d", s.Source, s.Changes, want)
		}
	}
}

package cdc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// pacedTrimmer counts its trims and asks for one every 5ms.
type pacedTrimmer struct{ trims atomic.Int64 }

func (p *pacedTrimmer) TrimLog(uint64) (int, error) { p.trims.Add(1); return 0, nil }
func (p *pacedTrimmer) TrimEvery() time.Duration    { return 5 * time.Millisecond }

// TestRunLogRetentionPaced: a trimmer whose TrimEvery is shorter than the
// interval given is trimmed that often (a short retention keeps the log
// short).
func TestRunLogRetentionPaced(t *testing.T) {
	p := &pacedTrimmer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunLogRetention(ctx, p, []Consumer{&collector{name: "ws", start: Start{Kind: Latest}}}, time.Hour, quietLogger())
	}()
	waitFor(t, "3 trims within the hour's interval", func() bool { return p.trims.Load() >= 3 })
	cancel()
	<-done
}

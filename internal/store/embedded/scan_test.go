package embedded

import (
	"context"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store/storetest"
)

// The store is a source of the reporting backfill.
var (
	_ reporting.Scanner = (*Store)(nil)
	_ reporting.Counter = (*Store)(nil)
)

// TestBackfillAcceptsStore hands the store to reporting.Backfill as its
// source: the backfill's own tests run it against Postgres.
func TestBackfillAcceptsStore(t *testing.T) {
	var src reporting.Scanner = openStore(t, t.TempDir(), Options{})
	if _, ok := src.(reporting.Counter); !ok {
		t.Error("the store is no reporting.Counter")
	}
	_ = func() error {
		return reporting.Backfill(context.Background(), src, nil, nil, reporting.BackfillOptions{})
	}
}

func TestScanConformance(t *testing.T) {
	storetest.RunScanConformance(t, storetest.ScanOptions{
		NewStore: func(t *testing.T, pageSize int) storetest.Scanner {
			return openStore(t, t.TempDir(), Options{ScanPageSize: pageSize})
		},
		ExactCount: true,
		Less:       func(a, b feed.Key) bool { return string(key(a.PK, a.SK)) < string(key(b.PK, b.SK)) },
	})
}

package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// TestCompactCommand: `oddsfeed compact` refuses while the store is open,
// then rewrites it offline, keeping its items.
func TestCompactCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := feed.Game{ID: "c1", Sport: "soccer", GameDate: time.Now().UTC(), Status: feed.StatusLive}
	if _, _, err := st.PutGame(t.Context(), g, store.System); err != nil {
		t.Fatal(err)
	}
	var odds []feed.Odds
	for i := range 300 {
		odds = append(odds, feed.Odds{GameID: "c1", Provider: "p", ObservedAt: time.Now().UTC().Add(-time.Duration(i) * time.Second),
			AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + i, HomeOdds: -120, ReceivedAt: time.Now().UTC()})
	}
	if _, err := st.PutOdds(t.Context(), odds); err != nil {
		t.Fatal(err)
	}
	run := func() (string, error) {
		var out bytes.Buffer
		err := app.Run(context.Background(), app.Env{Args: []string{"compact"}, Stdout: &out, Stderr: &out,
			Getenv: func(k string) string { return map[string]string{"ODDSFEED_DATA_DIR": dir}[k] }})
		return out.String(), err
	}
	if _, err := run(); err == nil {
		t.Fatal("compact succeeded while the store was open")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := run()
	if err != nil || !strings.Contains(out, "compacted "+dir) {
		t.Fatalf("compact: %v, output %q", err, out)
	}
	st, err = embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.ListOdds(t.Context(), store.OddsRange{GameID: "c1", Page: store.Page{Limit: 1000}})
	if err != nil || len(page.Odds) != len(odds) {
		t.Fatalf("after compaction: %d odds (%v), want %d", len(page.Odds), err, len(odds))
	}
}

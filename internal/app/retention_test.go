package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// TestRetentionEmbedded runs the embedded back end with a TTL of seconds: odds
// older than it leave the reads (the store deletes them, as DynamoDB's TTL
// does), their expiries reach no WebSocket client, the reports keep them
// (a TTL expiry is not a deletion of business data), and under a steady feed
// the database file stops growing once deletions and the change log's trim
// keep up.
func TestRetentionEmbedded(t *testing.T) {
	k := newKeys()
	dir := t.TempDir()
	dsn := reportingDB(t)
	base := serve(t, map[string]string{
		"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": dir, "ODDSFEED_API_KEYS": k.spec,
		"ODDSFEED_ODDS_TTL": "2s", "ODDSFEED_LOG_RETENTION": "2s", "ODDSFEED_DATABASE_URL": dsn,
	})
	prov, ana := client{t, base, k.provider}, client{t, base, k.analyst}

	// Odds of game "old" pushed to a live client, then expired.
	prov.want(201, "PUT", "/v1/games/old", map[string]any{"sport": "tennis", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	c := dial(t, base, "", k.analyst)
	send(t, c, map[string]any{"type": "subscribe", "topics": []string{"game:old"}})
	syncPoint(t, c)
	start := time.Now().UTC()
	var old []oddsJSON
	for i := range 3 {
		old = append(old, oddsJSON{GameID: "old", ObservedAt: start.Add(time.Duration(i) * time.Millisecond), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + i, HomeOdds: -120})
	}
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": old}, nil)
	var seq uint64
	for n := 0; n < 3; {
		if f := read[frame](t, c); f.Type == "odds" {
			n, seq = n+1, f.Seq
		}
	}
	eventually(t, 15*time.Second, "the expired odds to leave the reads", func() bool {
		var page struct{ Odds []oddsJSON }
		var latest struct{ ByProvider []oddsJSON }
		ana.want(200, "GET", "/v1/games/old/odds", nil, &page)
		ana.want(200, "GET", "/v1/games/old/odds/latest", nil, &latest)
		return len(page.Odds) == 0 && len(latest.ByProvider) == 0 &&
			ana.do("GET", "/v1/games/old/odds/latest?provider=acme", nil, nil) == 404
	})
	ana.want(200, "GET", "/v1/games/old", nil, nil) // the game has no TTL
	// The expiries are in the change log before the next odds: the client
	// gets that odds as the very next frame of the game, next in sequence.
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{{GameID: "old", ObservedAt: time.Now().UTC(), AwaySpread: 1, HomeSpread: -1, AwayOdds: 777, HomeOdds: -120}}}, nil)
	f := read[frame](t, c)
	for f.Type == "game" {
		f = read[frame](t, c)
	}
	if f.Type != "odds" || f.Seq != seq+1 || !strings.Contains(string(f.Odds), `"awayOdds":777`) {
		t.Fatalf("frame after the expiries = %+v %s, want the new odds at seq %d", f, f.Odds, seq+1)
	}
	// The reports keep the expired ticks, and the sync went past the
	// expiries to the new odds.
	eventually(t, 15*time.Second, "the new odds in the reports", func() bool { return ticks(t, dsn, "old") == 4 })

	// A steady feed of ~500 odds/s over 10 games for 16 s: sample the file.
	file := filepath.Join(dir, "embedded", embedded.DBFile)
	const warm, total = 4 * time.Second, 16 * time.Second
	var plateau, final int64 // max size in [warm, 2*warm), in [total*2/3, total)
	for g := range 10 {
		prov.want(201, "PUT", "/v1/games/f"+strconv.Itoa(g), map[string]any{"sport": "tennis", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	feedStart := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 0; time.Since(feedStart) < total; n++ {
		<-tick.C
		now := time.Now().UTC()
		batch := make([]oddsJSON, 0, 50)
		for i := range 50 {
			batch = append(batch, oddsJSON{GameID: "f" + strconv.Itoa(i%10), ObservedAt: now.Add(time.Duration(i) * time.Microsecond), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + n%500, HomeOdds: -120})
		}
		prov.want(200, "POST", "/v1/odds", map[string]any{"odds": batch}, nil)
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		switch el := time.Since(feedStart); {
		case el >= warm && el < 2*warm:
			plateau = max(plateau, fi.Size())
		case el >= total*2/3:
			final = max(final, fi.Size())
		}
	}
	t.Logf("database file: %d bytes at the plateau, %d at the end", plateau, final)
	// Without deletions the data doubles from 2*warm to the end: so would
	// the file (bbolt grows it by doubling its map, in powers of two).
	if final > plateau*12/10 {
		t.Fatalf("the database file grew from %d bytes (at %v) to %d: retention does not keep up", plateau, 2*warm, final)
	}
	to := time.Now().UTC().Add(-6 * time.Second).Format(time.RFC3339Nano)
	eventually(t, 10*time.Second, "odds older than the TTL to leave the reads", func() bool {
		var page struct{ Odds []oddsJSON }
		ana.want(200, "GET", "/v1/games/f0/odds?to="+to, nil, &page)
		return len(page.Odds) == 0
	})
	var latest struct{ ByProvider []oddsJSON }
	ana.want(200, "GET", "/v1/games/f0/odds/latest", nil, &latest)
	if len(latest.ByProvider) != 1 {
		t.Fatalf("latest odds of a game still fed = %+v", latest.ByProvider)
	}
}

// ticks counts the reporting rows of a game's odds.
func ticks(t *testing.T, dsn, gameID string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM odds_ticks WHERE game_id = $1`, gameID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

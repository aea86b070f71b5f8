package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// TestRetentionEmbedded runs the embedded back end with a TTL of seconds: odds
// older than it leave the reads (the store deletes them, as DynamoDB's TTL
// does), their expiries reach no WebSocket client, under a steady feed the
// database file stops growing once deletions and the change log's trim keep
// up, and the reports, whose retention follows the TTL when it is not set,
// drop the old game's quotes while the feed's recent ones are there. The
// sync does not delete them for the expiries (a TTL expiry is not a
// deletion of business data: TestRetentionReportsOutliveTheTTL); the
// reports' own retention does.
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
	// The reports keep quotes for 2s (ODDSFEED_REPORT_RETENTION follows
	// the TTL), maintained every 500ms: the old game's are gone from
	// odds_ticks, latest_odds and the reports on them; nothing older than
	// the retention is left but for a run or two; and a fresh quote is
	// there (the sync went on past the expiries).
	eventually(t, 15*time.Second, "the old game's quotes to leave the reports", func() bool {
		var m struct{ Providers []json.RawMessage }
		var p struct{ Providers []json.RawMessage }
		ana.want(200, "GET", "/v1/reports/games/old/movement", nil, &m)
		ana.want(200, "GET", "/v1/reports/games/old/probability", nil, &p)
		return len(m.Providers) == 0 && len(p.Providers) == 0 &&
			pgCount(t, dsn, `SELECT (SELECT count(*) FROM odds_ticks WHERE game_id = 'old') + (SELECT count(*) FROM latest_odds WHERE game_id = 'old')`) == 0 &&
			pgCount(t, dsn, `SELECT (SELECT count(*) FROM odds_ticks WHERE observed_at < now() - interval '4s') + (SELECT count(*) FROM latest_odds WHERE observed_at < now() - interval '4s')`) == 0
	})
	eventually(t, 15*time.Second, "a fresh quote in the reports", func() bool {
		prov.want(200, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{{GameID: "f0", ObservedAt: time.Now().UTC(), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100, HomeOdds: -120}}}, nil)
		var m struct {
			Providers []struct{ Points []json.RawMessage }
		}
		ana.want(200, "GET", "/v1/reports/games/f0/movement", nil, &m)
		return len(m.Providers) == 1 && len(m.Providers[0].Points) > 0
	})
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

// TestRetentionReportsOutliveTheTTL: with ODDSFEED_REPORT_RETENTION set
// longer than the odds TTL, odds that expired from the store stay in the
// reports (the sync applies the expiries without deleting, and the
// maintenance keeps what is younger than the retention).
func TestRetentionReportsOutliveTheTTL(t *testing.T) {
	k := newKeys()
	dsn := reportingDB(t)
	base := serve(t, map[string]string{
		"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec,
		"ODDSFEED_ODDS_TTL": "2s", "ODDSFEED_REPORT_RETENTION": "30s", "ODDSFEED_DATABASE_URL": dsn,
	})
	prov, ana := client{t, base, k.provider}, client{t, base, k.analyst}
	prov.want(201, "PUT", "/v1/games/old", map[string]any{"sport": "tennis", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	start := time.Now().UTC()
	var old []oddsJSON
	for i := range 3 {
		old = append(old, oddsJSON{GameID: "old", ObservedAt: start.Add(time.Duration(i) * time.Millisecond), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + i, HomeOdds: -120})
	}
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": old}, nil)
	eventually(t, 15*time.Second, "the expired odds to leave the reads", func() bool {
		var page struct{ Odds []oddsJSON }
		ana.want(200, "GET", "/v1/games/old/odds", nil, &page)
		return len(page.Odds) == 0
	})
	// One more odds after the expiries: once it is in the reports, the
	// sync has applied them.
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{{GameID: "old", ObservedAt: time.Now().UTC(), AwaySpread: 1, HomeSpread: -1, AwayOdds: 777, HomeOdds: -120}}}, nil)
	eventually(t, 15*time.Second, "the new odds in the reports", func() bool {
		return pgCount(t, dsn, `SELECT count(*) FROM odds_ticks WHERE game_id = 'old'`) == 4
	})
	// A maintenance run (every 7.5s for 30s) after the expiries: the
	// ticks are kept, and the reports show them.
	time.Sleep(reporting.MaintainInterval(30*time.Second) + time.Second)
	var m struct {
		Providers []struct{ Points []json.RawMessage }
	}
	ana.want(200, "GET", "/v1/reports/games/old/movement", nil, &m)
	if n := pgCount(t, dsn, `SELECT count(*) FROM odds_ticks WHERE game_id = 'old'`); n != 4 || len(m.Providers) != 1 || len(m.Providers[0].Points) != 4 {
		t.Fatalf("reports after the expiries: %d ticks, movement %+v; want 4", n, m)
	}
	if n := pgCount(t, dsn, `SELECT count(*) FROM latest_odds WHERE game_id = 'old'`); n != 1 {
		t.Fatalf("%d latest rows of the old game, want 1", n)
	}
}

// pgCount returns the number a query of the reporting database gives.
func pgCount(t *testing.T, dsn, query string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

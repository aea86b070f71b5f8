package app_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// reportingDB makes a fresh, migrated reporting database.
func reportingDB(t *testing.T) string {
	t.Helper()
	dsn := env.Postgres.NewDatabase(t)
	if err := reporting.Migrate(context.Background(), dsn, reporting.MigrateUp, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return dsn
}

// reportingDBWithPassword makes a fresh reporting database owned by a
// login role of its own with a password, migrated by that role, and returns
// the role's DSN (user:password@) and the password. The password starts
// with "secret". The harness' server trusts local TCP connections (any
// password is accepted, none asked for); a server that checks passwords
// (TEST_DATABASE_URL) checks this one.
func reportingDBWithPassword(t *testing.T) (dsn, password string) {
	t.Helper()
	ctx := context.Background()
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	role, password := "oddsfeed_"+suffix, "secret"+suffix
	admin := func(dsn, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin(env.Postgres.DSN, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, password))
	// Registered first, so it runs after the database is dropped.
	t.Cleanup(func() { admin(env.Postgres.DSN, "DROP ROLE IF EXISTS "+role) })
	super := env.Postgres.NewDatabase(t)
	u, err := url.Parse(super)
	if err != nil {
		t.Fatal(err)
	}
	admin(super, fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", strings.TrimPrefix(u.Path, "/"), role))
	admin(super, "GRANT ALL ON SCHEMA public TO "+role) // PostgreSQL before 15: public's owner is the superuser
	u.User = url.UserPassword(role, password)
	dsn = u.String()
	if err := reporting.Migrate(ctx, dsn, reporting.MigrateUp, io.Discard); err != nil {
		t.Fatalf("migrate as %s: %v", role, err)
	}
	return dsn, password
}

// tickLine is one odds item in a canonical text form, for checksums.
func tickLine(game, provider string, at time.Time, away, home float64, awayOdds, homeOdds int) string {
	return fmt.Sprintf("%s|%s|%s|%g|%g|%d|%d", game, provider, at.UTC().Format(time.RFC3339Nano), away, home, awayOdds, homeOdds)
}

func checksum(lines []string) string {
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}

// storeTicks reads every odds item of games from the feed store through the API.
func storeTicks(t *testing.T, c client, games []string) []string {
	t.Helper()
	var lines []string
	for _, g := range games {
		path := "/v1/games/" + g + "/odds?limit=1000"
		for {
			var page struct {
				Odds []struct {
					oddsJSON
					Provider string `json:"provider"`
				} `json:"odds"`
				NextCursor string `json:"nextCursor"`
			}
			c.want(200, "GET", path, nil, &page)
			for _, o := range page.Odds {
				lines = append(lines, tickLine(o.GameID, o.Provider, o.ObservedAt, o.AwaySpread, o.HomeSpread, o.AwayOdds, o.HomeOdds))
			}
			if page.NextCursor == "" {
				break
			}
			path = "/v1/games/" + g + "/odds?limit=1000&cursor=" + page.NextCursor
		}
	}
	return lines
}

// reportTicks reads every row of odds_ticks.
func reportTicks(t *testing.T, dsn string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT game_id, provider, observed_at, observed_ns, away_spread, home_spread, away_odds, home_odds FROM odds_ticks`)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		var g, p string
		var at time.Time
		var ns int16
		var a, h float64
		var ao, ho int
		if err := rows.Scan(&g, &p, &at, &ns, &a, &h, &ao, &ho); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, tickLine(g, p, at.Add(time.Duration(ns)), a, h, ao, ho))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// postStream posts batches of odds for games until stop is closed and
// returns how many were acknowledged.
func postStream(base, key string, games []string, worker int, stop <-chan struct{}) int {
	start := time.Now().UTC().Add(-time.Hour)
	acked := 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			return acked
		default:
		}
		var items []oddsJSON
		for j := range 25 {
			n := i*25 + j
			at := start.Add(time.Duration(worker)*time.Millisecond + time.Duration(n)*10*time.Millisecond + time.Duration(rand.IntN(1000)))
			items = append(items, oddsJSON{GameID: games[n%len(games)], ObservedAt: at, AwaySpread: 0.5, HomeSpread: -0.5, AwayOdds: 100 + n%50, HomeOdds: -110 - n%40})
		}
		status, err := post(base, key, items)
		if err != nil {
			return acked
		}
		if status == 200 {
			acked += len(items)
		}
	}
}

// exactlyOnce posts odds while SIGKILLing the server kills times at random
// moments, then checks that Postgres ends with exactly the feed store's odds.
func exactlyOnce(t *testing.T, vars map[string]string, k keys, kills int) {
	dsn := vars["ODDSFEED_DATABASE_URL"]
	base, cmd := startChildEnv(t, vars)
	games := []string{"x1", "x2", "x3"}
	for _, g := range games {
		client{t, base, k.provider}.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	acked := 0
	for round := 0; round <= kills; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := postStream(base, k.provider, games, round*10+w, stop)
				mu.Lock()
				acked += n
				mu.Unlock()
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		if round < kills {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
		close(stop)
		wg.Wait()
		if round < kills {
			base, cmd = startChildEnv(t, vars)
		}
	}
	want := storeTicks(t, client{t, base, k.analyst}, games)
	if len(want) < acked {
		t.Fatalf("store has %d odds, %d were acknowledged", len(want), acked)
	}
	deadline := time.Now().Add(90 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = reportTicks(t, dsn); len(got) >= len(want) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything extra would show now
	got = reportTicks(t, dsn)
	if len(got) != len(want) || checksum(got) != checksum(want) {
		t.Fatalf("postgres has %d rows (checksum %s), the feed store %d (checksum %s)", len(got), checksum(got), len(want), checksum(want))
	}
	t.Logf("%d kills; %d odds acknowledged; store and postgres agree on %d rows, checksum %s", kills, acked, len(got), checksum(got))
}

func TestReportingExactlyOnceEmbedded(t *testing.T) {
	k := newKeys()
	dsn := reportingDB(t)
	vars := map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATABASE_URL": dsn}
	exactlyOnce(t, vars, k, 3)
	// Every change of the log was applied once: the sync's count of applied
	// changes equals the log's length (games and odds).
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied int64
	var pos string
	if err := conn.QueryRow(context.Background(), `SELECT applied_changes, position::text FROM sync_checkpoints WHERE source = 'log'`).Scan(&applied, &pos); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(applied) != pos {
		t.Fatalf("applied %d changes up to log position %s: some were applied twice or skipped", applied, pos)
	}
}

func TestReportingExactlyOnceEmulators(t *testing.T) {
	k := newKeys()
	vars := backends(t, k)["aws"]
	provisionStream(t, vars)
	vars["ODDSFEED_DEV_BRIDGE_DUPLICATE_EVERY"] = "4"
	vars["ODDSFEED_DEV_BRIDGE_REORDER_WINDOW"] = "8"
	vars["ODDSFEED_DATABASE_URL"] = reportingDB(t)
	delete(vars, "ODDSFEED_ADDR")
	exactlyOnce(t, vars, k, 2)
}

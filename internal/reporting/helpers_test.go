package reporting_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/migrations"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Run(m, &env, harness.Postgres) }

// newDB returns a fresh migrated database's DSN and a pool on it, closed
// when tb ends.
func newDB(tb testing.TB) (string, *pgxpool.Pool) {
	tb.Helper()
	dsn := env.Postgres.NewDatabase(tb)
	ctx := context.Background()
	if err := reporting.Migrate(ctx, dsn, "up", io.Discard); err != nil {
		tb.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return dsn, pool
}

// migrate runs goose commands on the database at dsn, in order.
func migrate(tb testing.TB, dsn string, cmds ...string) {
	tb.Helper()
	for _, cmd := range cmds {
		if err := reporting.Migrate(context.Background(), dsn, cmd, io.Discard); err != nil {
			tb.Fatalf("migrate %s: %v", cmd, err)
		}
	}
}

// migrateTo moves the schema at dsn up or down to version, one migration
// at a time (the goose CLI's up-to and down-to).
func migrateTo(tb testing.TB, dsn string, version int64) {
	tb.Helper()
	ctx := context.Background()
	sqlDB, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		tb.Fatal(err)
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if version >= cur {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.DownTo(ctx, version)
	}
	if err != nil {
		tb.Fatalf("migrate from %d to %d: %v", cur, version, err)
	}
}

// base is the observation time tests build on: an hour ago, so the
// reports' windows include it.
var base = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

func odds(game, provider string, at time.Time, homeSpread float64, homeOdds int) feed.Odds {
	return feed.Odds{GameID: game, Provider: provider, ObservedAt: at, AwaySpread: -homeSpread, HomeSpread: homeSpread,
		AwayOdds: -homeOdds, HomeOdds: homeOdds, ReceivedAt: at.Add(5 * time.Millisecond), Version: 1}
}

func oddsInsert(o feed.Odds) feed.Change {
	return feed.Change{Kind: feed.ChangeInsert, Key: o.Key(), ItemType: feed.TypeOdds, Version: o.Version, NewOdds: &o, At: o.ReceivedAt}
}

func oddsRemove(o feed.Odds, ttl bool) feed.Change {
	return feed.Change{Kind: feed.ChangeRemove, Key: o.Key(), ItemType: feed.TypeOdds, Version: o.Version, OldOdds: &o, Expired: ttl}
}

func game(id string, version int64, status feed.GameStatus) feed.Game {
	return feed.Game{ID: id, Sport: "nfl", Summary: "Away @ Home " + id, GameDate: base.Add(24 * time.Hour), Status: status,
		HomeTeam: "Home", AwayTeam: "Away", Version: version, UpdatedAt: base.Add(time.Duration(version) * time.Second)}
}

func gameUpsert(g feed.Game) feed.Change {
	kind := feed.ChangeModify
	if g.Version == 1 {
		kind = feed.ChangeInsert
	}
	return feed.Change{Kind: kind, Key: g.Key(), ItemType: feed.TypeGame, Version: g.Version, NewGame: &g}
}

func gameRemove(g feed.Game) feed.Change {
	return feed.Change{Kind: feed.ChangeRemove, Key: g.Key(), ItemType: feed.TypeGame, Version: g.Version, OldGame: &g}
}

// batch numbers changes from first on and makes them one batch of source.
func batch(source string, first int, changes ...feed.Change) cdc.Batch {
	b := cdc.Batch{Source: source}
	for i := range changes {
		changes[i].Source, changes[i].Position = source, strconv.Itoa(first+i)
	}
	b.Changes = changes
	b.Position = strconv.Itoa(first + len(changes) - 1)
	return b
}

// ensureToday creates the partitions around base.
func ensureToday(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	if err := reporting.NewPartitions(pool).EnsureAhead(context.Background(), base, 2, 2); err != nil {
		tb.Fatal(err)
	}
}

// count returns one number from a query.
func count(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

// snapshot returns every report row as text, to compare database states.
func snapshot(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT concat_ws(E'\n',
		(SELECT string_agg(concat_ws(',', game_id, provider, observed_at, observed_ns, away_spread, home_spread, away_odds, home_odds, version, received_at), E'\n' ORDER BY game_id, provider, observed_at, observed_ns) FROM odds_ticks),
		(SELECT string_agg(concat_ws(',', game_id, provider, observed_at, observed_ns, home_spread, home_odds, version), E'\n' ORDER BY game_id, provider) FROM latest_odds),
		(SELECT string_agg(concat_ws(',', game_id, sport, summary, status, version, updated_at, deleted_at IS NOT NULL), E'\n' ORDER BY game_id) FROM games))`).Scan(&s)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustApply(tb testing.TB, s *reporting.Sync, b cdc.Batch) {
	tb.Helper()
	if err := s.Apply(context.Background(), b); err != nil {
		tb.Fatalf("apply batch up to %s: %v", b.Position, err)
	}
}

func checkpoint(tb testing.TB, pool *pgxpool.Pool, source string) string {
	tb.Helper()
	var p string
	err := pool.QueryRow(context.Background(), "SELECT coalesce(position::text, '') FROM sync_checkpoints WHERE consumer = 'reporting' AND source = $1", source).Scan(&p)
	if err != nil {
		tb.Fatalf("checkpoint of %s: %v", source, err)
	}
	return p
}

var _ = fmt.Sprint

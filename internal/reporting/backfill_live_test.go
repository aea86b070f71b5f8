package reporting_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// oddsWriter writes odds to a store as providers do: new observations and
// corrections of recent ones (the store keeps a correction as the item's
// next version and logs a MODIFY), and now and then a game's new status.
// Safe for concurrent use.
type oddsWriter struct {
	st    *embedded.Store
	games int

	mu          sync.Mutex
	rnd         *rand.Rand
	n           int                    // fresh odds written
	corrections int                    // corrections stored
	cur         map[feed.Key]feed.Odds // current version of the odds written since forget
	recent      []feed.Key             // the keys of cur, oldest first
	newest      map[[2]string]feed.Key // newest observation per game and provider
}

func newOddsWriter(st *embedded.Store, games int) *oddsWriter {
	w := &oddsWriter{st: st, games: games, rnd: rand.New(rand.NewPCG(1, 2))}
	w.forget()
	return w
}

// forget stops correcting the odds written so far.
func (w *oddsWriter) forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cur, w.recent, w.newest = map[feed.Key]feed.Odds{}, nil, map[[2]string]feed.Key{}
}

// write puts one request of fresh odds and corrections of recent ones.
func (w *oddsWriter) write(fresh, corrections int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b []feed.Odds
	start := base.Add(30 * time.Minute)
	for range fresh {
		k := w.n
		w.n++
		at := start.Add(time.Duration(k)*time.Millisecond + time.Duration(k%997)) // nanoseconds kept
		o := odds(fmt.Sprintf("game-%d", k%w.games), fmt.Sprintf("p%d", k%3), at, float64(k%9)/2, 100+k%50)
		o.ReceivedAt = time.Now().UTC()
		b = append(b, o)
	}
	for range corrections {
		if len(w.recent) > 0 {
			if o := w.cur[w.recent[len(w.recent)-1-w.rnd.IntN(min(len(w.recent), 200))]]; o.Version < 6 {
				b = append(b, correction(o))
			}
		}
	}
	if err := w.put(b); err != nil {
		return err
	}
	if w.n%500 < fresh {
		g := game(fmt.Sprintf("game-%d", w.rnd.IntN(w.games)), 0, []feed.GameStatus{feed.StatusLive, feed.StatusScheduled}[w.rnd.IntN(2)])
		if _, _, err := w.st.PutGame(context.Background(), g, store.System); err != nil {
			return err
		}
	}
	return nil
}

// correction is o corrected: a home price none of its versions had.
func correction(o feed.Odds) feed.Odds {
	o.HomeOdds += 1000
	o.ReceivedAt = time.Now().UTC()
	return o
}

// correctPage corrects, among the odds of items this writer wrote, those
// that are the newest observation of their game and provider and the first
// two others.
func (w *oddsWriter) correctPage(items []feed.Item) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b []feed.Odds
	others := 0
	for _, it := range items {
		o, err := feed.DecodeOdds(it)
		if err != nil {
			continue // a game
		}
		cur, ok := w.cur[o.Key()]
		if !ok || cur.Version >= 30 {
			continue
		}
		if w.newest[[2]string{o.GameID, o.Provider}] != o.Key() {
			if others == 2 {
				continue
			}
			others++
		}
		b = append(b, correction(cur))
	}
	return w.put(b)
}

// put writes b and notes what the store did with each odds.
func (w *oddsWriter) put(b []feed.Odds) error {
	out, err := w.st.PutOdds(context.Background(), b)
	if err != nil {
		return err
	}
	for i, o := range b {
		k := o.Key()
		switch out[i] {
		case store.Stored:
			o.Version = 1
			w.recent = append(w.recent, k)
			w.newest[[2]string{o.GameID, o.Provider}] = k // fresh times only grow
		case store.Duplicate:
			continue
		default: // store.Corrected
			o.Version = w.cur[k].Version + 1
			w.corrections++
		}
		w.cur[k] = o
	}
	return nil
}

// racingScanner is the store's scan for a backfill, with the worst timing
// for it: before each page is handed over, some of its odds are corrected
// and the live sync has applied the corrections, so the backfill writes
// versions older than those Postgres holds.
type racingScanner struct {
	st   *embedded.Store
	w    *oddsWriter
	pool *pgxpool.Pool
}

func (r *racingScanner) ScanSegment(ctx context.Context, segment, total int, cursor string, page func([]feed.Item, string) error) error {
	return r.st.ScanSegment(ctx, segment, total, cursor, func(items []feed.Item, next string) error {
		if err := r.w.correctPage(items); err != nil {
			return err
		}
		if err := synced(ctx, r.st, r.pool); err != nil {
			return err
		}
		return page(items, next)
	})
}

// README: the backfill is "idempotent with the live sync running". The
// store holds a history the sync never saw (its checkpoint starts after
// it, as after a log trim); the live sync runs while odds and corrections
// keep arriving, and backfills run meanwhile. Then Postgres must equal the
// store exactly: every row of the history the backfill could read (the
// current version of each item), every version the sync carried, latest
// odds per game and provider, the games; no duplicates, nothing missing.
func TestBackfillWhileSyncing(t *testing.T) {
	_, pool := newDB(t)
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir(), embedded.Options{ScanPageSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := newOddsWriter(st, 12)
	for g := range w.games {
		if _, _, err := st.PutGame(ctx, game(fmt.Sprintf("game-%d", g), 0, feed.StatusScheduled), store.System); err != nil {
			t.Fatal(err)
		}
	}
	for range 40 {
		if err := w.write(40, 8); err != nil { // the history: in the store only
			t.Fatal(err)
		}
	}
	history, err := st.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO sync_checkpoints (consumer, source, position) VALUES ($1, $2, $3)",
		reporting.DefaultConsumerName, cdc.LogSourceName, history); err != nil {
		t.Fatal(err)
	}
	w.forget() // the history is not corrected further: the backfill cannot see past versions
	stopSync := runTailer(t, st, pool)

	done := make(chan struct{})
	var wg sync.WaitGroup
	var live atomic.Int64 // requests written while the sync runs
	wg.Go(func() {
		for ; ; live.Add(1) {
			select {
			case <-done:
				return
			default:
			}
			if err := w.write(16, 6); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	// Backfills over and over while at least 100 requests are written.
	for run := 0; run < 2 || live.Load() < 100; run++ {
		if err := reporting.Backfill(ctx, st, pool, nil, reporting.BackfillOptions{Segments: 4, Restart: run > 0}); err != nil {
			t.Fatalf("backfill run %d: %v", run, err)
		}
	}
	close(done)
	wg.Wait()
	// A last run with the writer stopped, so that nothing heals what it
	// gets wrong: each of its pages is stale by the time it is written.
	before := w.corrections
	racing := &racingScanner{st: st, w: w, pool: pool}
	if err := reporting.Backfill(ctx, racing, pool, nil, reporting.BackfillOptions{Segments: 4, Restart: true}); err != nil {
		t.Fatalf("racing backfill: %v", err)
	}
	waitSynced(t, st, pool)
	stopSync()
	t.Logf("%d odds written, %d corrections (%d during the racing backfill)", w.n, w.corrections, w.corrections-before)

	want := storeRows(t, st, history)
	for _, part := range []string{"odds_ticks", "latest_odds", "games"} {
		got := postgresRows(t, pool, part)
		if missing, extra := diff(want[part], got); len(missing)+len(extra) > 0 {
			t.Errorf("%s: %d rows, want %d; missing %d %v, extra %d %v", part, len(got), len(want[part]),
				len(missing), head(missing), len(extra), head(extra))
		}
	}
}

// synced waits for the sync's checkpoint to reach the end of the log.
func synced(ctx context.Context, st *embedded.Store, pool *pgxpool.Pool) error {
	last, err := st.LastSeq()
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var pos uint64
		err := pool.QueryRow(ctx, "SELECT coalesce(position, 0)::bigint FROM sync_checkpoints WHERE consumer = $1 AND source = $2",
			reporting.DefaultConsumerName, cdc.LogSourceName).Scan(&pos)
		switch {
		case errors.Is(err, pgx.ErrNoRows): // no checkpoint yet: not synced
		case err != nil || pos >= last:
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sync checkpoint %d, want %d", pos, last)
		}
	}
}

func waitSynced(t *testing.T, st *embedded.Store, pool *pgxpool.Pool) {
	t.Helper()
	if err := synced(context.Background(), st, pool); err != nil {
		t.Fatal(err)
	}
}

func oddsRow(o feed.Odds) string {
	return fmt.Sprintf("%s|%s|%d|v%d|%g|%g|%d|%d|%d", o.GameID, o.Provider, o.ObservedAt.UnixNano(), o.Version,
		o.AwaySpread, o.HomeSpread, o.AwayOdds, o.HomeOdds, o.ReceivedAt.UnixMicro())
}

func gameRow(g feed.Game) string { return fmt.Sprintf("%s|v%d|%s", g.ID, g.Version, g.Status) }

// storeRows returns the rows the reporting schema must hold for st, whose
// log the sync applied after position history: every version in the log
// after it and the current version of every item (all the backfill can
// read), the newest of those per game and provider, and the games.
func storeRows(t *testing.T, st *embedded.Store, history uint64) map[string][]string {
	t.Helper()
	ticks := map[string]feed.Odds{}
	changes, err := st.ChangesAfter(history, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.NewOdds != nil {
			ticks[oddsRow(*c.NewOdds)] = *c.NewOdds
		}
	}
	rows := map[string][]string{}
	err = st.ScanSegment(context.Background(), 0, 1, "", func(items []feed.Item, _ string) error {
		for _, it := range items {
			switch it.Type() {
			case feed.TypeOdds:
				o, err := feed.DecodeOdds(it)
				if err != nil {
					return err
				}
				ticks[oddsRow(o)] = o
			case feed.TypeGame:
				g, err := feed.DecodeGame(it)
				if err != nil {
					return err
				}
				rows["games"] = append(rows["games"], gameRow(g))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	latest := map[[2]string]feed.Odds{}
	for r, o := range ticks {
		rows["odds_ticks"] = append(rows["odds_ticks"], r)
		k := [2]string{o.GameID, o.Provider}
		if l, ok := latest[k]; !ok || newerOdds(o, l) {
			latest[k] = o
		}
	}
	for _, o := range latest {
		rows["latest_odds"] = append(rows["latest_odds"], oddsRow(o))
	}
	return rows
}

// newerOdds orders odds of one game and provider: by observation time,
// then version.
func newerOdds(o, p feed.Odds) bool {
	if c := o.ObservedAt.Compare(p.ObservedAt); c != 0 {
		return c > 0
	}
	return o.Version > p.Version
}

// postgresRows returns the rows of one table in the form of storeRows.
func postgresRows(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	if table == "games" {
		rows, err := pool.Query(ctx, "SELECT game_id, version, status FROM games")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var g feed.Game
			if err := rows.Scan(&g.ID, &g.Version, &g.Status); err != nil {
				t.Fatal(err)
			}
			out = append(out, gameRow(g))
		}
		return out
	}
	rows, err := pool.Query(ctx, "SELECT game_id, provider, observed_at, observed_ns, version, away_spread, home_spread, away_odds, home_odds, received_at FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o feed.Odds
		var ns int16
		if err := rows.Scan(&o.GameID, &o.Provider, &o.ObservedAt, &ns, &o.Version, &o.AwaySpread, &o.HomeSpread, &o.AwayOdds, &o.HomeOdds, &o.ReceivedAt); err != nil {
			t.Fatal(err)
		}
		o.ObservedAt = o.ObservedAt.Add(time.Duration(ns))
		out = append(out, oddsRow(o))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff returns the rows of want missing from got and those of got not in
// want (a duplicate counts as extra).
func diff(want, got []string) (missing, extra []string) {
	left := map[string]int{}
	for _, r := range want {
		left[r]++
	}
	for _, r := range got {
		if left[r] > 0 {
			left[r]--
		} else {
			extra = append(extra, r)
		}
	}
	for r, n := range left {
		for range n {
			missing = append(missing, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

func head(rows []string) string {
	return strings.Join(rows[:min(len(rows), 3)], "; ")
}

package reporting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// Scanner reads a whole feed store in segments that can be read in
// parallel (DynamoDB's parallel Scan), page by page. The store adapters
// implement it; Backfill is its consumer.
type Scanner interface {
	// ScanSegment calls page for each page of the items of segment
	// (0 <= segment < total), in order, starting after cursor ("" from the
	// segment's start). next is the opaque cursor to resume after that page,
	// "" after the segment's last page. An error from page stops the scan
	// and is returned.
	ScanSegment(ctx context.Context, segment, total int, cursor string, page func(items []feed.Item, next string) error) error
}

// Counter may be implemented by a Scanner to tell about how many items the
// store holds (DynamoDB's ItemCount), so the progress bar shows a fraction.
type Counter interface {
	ApproxItemCount(ctx context.Context) (int64, error)
}

// BackfillOptions tune Backfill.
type BackfillOptions struct {
	// Segments is how many segments are scanned in parallel (default 4).
	// A run resumes only with the same number of segments.
	Segments int
	// Run names the run whose progress is kept (default "backfill").
	Run string
	// Restart forgets the run's progress and starts over.
	Restart bool
	// Interval between progress lines (default 1s).
	Interval time.Duration
}

// Backfill loads every game, odds (quote), market status and provider
// liveness item of src into the reporting schema, with the sync's forward-only writes: it is idempotent and safe
// while the live sync runs. Each page is written in one transaction with
// its segment's progress, so an interrupted run resumes where it stopped.
// A progress bar goes to progress (nil: none). Items of other types
// (leases), or that do not decode, are counted as skipped.
//
// The store holds the current version of each odds item only: the backfill
// adds that version's row next to the rows of other versions (each version
// is a row of its own) and moves latest_odds forward only. The rows of
// earlier versions come from the live sync; a store whose change stream was
// trimmed before the sync began has only its current versions backfilled.
// So too for market statuses (the current version joins the history; a
// settlement ended by a version never seen stays unended in settlements,
// though the summary counts only the markets' current versions) and
// provider liveness (an outage the provider has come back from is recorded
// with the current version's last heard time as its end).
func Backfill(ctx context.Context, src Scanner, pool *pgxpool.Pool, progress io.Writer, o BackfillOptions) error {
	if o.Segments <= 0 {
		o.Segments = 4
	}
	if o.Run == "" {
		o.Run = "backfill"
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if progress == nil {
		progress = io.Discard
	}
	q := db.New(pool)
	if o.Restart {
		if err := q.ResetBackfillProgress(ctx, o.Run); err != nil {
			return fmt.Errorf("backfill: reset progress: %w", err)
		}
	}
	saved, err := q.ListBackfillProgress(ctx, db.ListBackfillProgressParams{Run: o.Run, TotalSegments: int32(o.Segments)})
	if err != nil {
		return fmt.Errorf("backfill: read progress: %w", err)
	}
	bar := &progressBar{out: progress, start: time.Now(), segments: o.Segments}
	if c, ok := src.(Counter); ok {
		if n, err := c.ApproxItemCount(ctx); err == nil {
			bar.total = n
		}
	}
	state := make([]db.ListBackfillProgressRow, o.Segments)
	for i := range state {
		state[i].Segment = int32(i)
	}
	for _, s := range saved {
		if int(s.Segment) < o.Segments {
			state[s.Segment] = s
			bar.items.Add(s.Items)
			if s.Done {
				bar.done.Add(1)
			}
		}
	}
	b := &backfill{src: src, pool: pool, q: q, parts: NewPartitions(pool), run: o.Run, total: o.Segments, bar: bar}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { bar.loop(o.Interval, stop) })
	errs := make([]error, o.Segments)
	var segs sync.WaitGroup
	for i := range state {
		if state[i].Done {
			continue
		}
		segs.Go(func() { errs[i] = b.segment(ctx, state[i]) })
	}
	segs.Wait()
	close(stop)
	wg.Wait()
	bar.print(true)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backfill (resumable: run it again): %w", err)
	}
	return nil
}

type backfill struct {
	src   Scanner
	pool  *pgxpool.Pool
	q     *db.Queries
	parts *Partitions
	run   string
	total int
	bar   *progressBar
}

// segment scans one segment from its saved cursor to its end.
func (b *backfill) segment(ctx context.Context, st db.ListBackfillProgressRow) error {
	items := st.Items
	save := func(ctx context.Context, q *db.Queries, cursor string, done bool) error {
		return q.SaveBackfillProgress(ctx, db.SaveBackfillProgressParams{
			Run: b.run, Segment: st.Segment, TotalSegments: int32(b.total), Cursor: cursor, Items: items, Done: done,
		})
	}
	err := b.src.ScanSegment(ctx, int(st.Segment), b.total, st.Cursor, func(page []feed.Item, next string) error {
		changes := make([]feed.Change, 0, len(page))
		for _, it := range page {
			c, ok := itemChange(it)
			if !ok {
				b.bar.skipped.Add(1)
				continue
			}
			changes = append(changes, c)
		}
		rows := buildRows(changes)
		if err := b.parts.Ensure(ctx, rows.oddsDays()...); err != nil {
			return err
		}
		items += int64(len(page))
		var err error
		// The live sync writes the same rows meanwhile: in the same order
		// (see sync.sql), but a deadlock with a removal is still possible,
		// and then the page is simply written again.
		for try := 0; try == 0 || (try < 3 && isDeadlock(err)); try++ {
			err = pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
				q := b.q.WithTx(tx)
				if err := applyRows(ctx, q, rows, false); err != nil {
					return err
				}
				return save(ctx, q, next, next == "")
			})
		}
		if err != nil {
			if isNoPartition(err) {
				b.parts.forget()
			}
			return fmt.Errorf("segment %d: %w", st.Segment, err)
		}
		b.bar.items.Add(int64(len(page)))
		return nil
	})
	if err != nil {
		return err
	}
	if err := save(ctx, b.q, "", true); err != nil {
		return fmt.Errorf("segment %d: save progress: %w", st.Segment, err)
	}
	b.bar.done.Add(1)
	return nil
}

// itemChange maps a stored item to the INSERT change the sync would apply.
func itemChange(it feed.Item) (feed.Change, bool) {
	c := feed.Change{Kind: feed.ChangeInsert, Key: it.Key(), ItemType: it.Type(), Version: it.Version()}
	switch c.ItemType {
	case feed.TypeGame:
		g, err := feed.DecodeGame(it)
		if err != nil {
			return c, false
		}
		c.NewGame = &g
	case feed.TypeOdds:
		o, err := feed.DecodeOdds(it)
		if err != nil {
			return c, false
		}
		c.NewOdds = &o
	case feed.TypeMarket:
		m, err := feed.DecodeMarket(it)
		if err != nil {
			return c, false
		}
		c.NewMarket = &m
	case feed.TypeProvider:
		p, err := feed.DecodeProvider(it)
		if err != nil {
			return c, false
		}
		c.NewProvider = &p
	default:
		return c, false // leases, and whatever is not ours
	}
	return c, checkChange(c) == nil
}

// progressBar prints the backfill's progress on one line.
type progressBar struct {
	out      io.Writer
	start    time.Time
	segments int
	total    int64 // approximate item count; 0 when unknown

	items, skipped, done atomic.Int64
}

func (p *progressBar) loop(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.print(false)
		}
	}
}

func (p *progressBar) print(final bool) {
	n := p.items.Load()
	secs := max(time.Since(p.start).Seconds(), 0.001)
	var bar string
	if p.total > 0 {
		frac := min(float64(n)/float64(p.total), 1)
		filled := int(frac * 30)
		bar = fmt.Sprintf("[%s%s] %3.0f%% ", strings.Repeat("#", filled), strings.Repeat(".", 30-filled), frac*100)
	}
	end := "\r"
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.out, "backfill %s%d items (%d skipped), %.0f items/s, segments %d/%d done%s",
		bar, n, p.skipped.Load(), float64(n)/secs, p.done.Load(), p.segments, end)
}

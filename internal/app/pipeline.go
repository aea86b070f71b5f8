package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/broadcast"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// pipeline is the change data capture side of the server: a change source
// (the embedded log or the Kinesis stream), the tailer and its consumers.
type pipeline struct {
	log    *slog.Logger
	src    cdc.ChangeSource
	tailer *cdc.Tailer
	hub    *broadcast.Hub
	rep    *reportingPart // nil without a reporting database
	// streamCheck tells whether the change stream is reachable (nil for the
	// embedded log, which is the store itself).
	streamCheck func(context.Context) error
	// background jobs besides the tailer (log retention, dev bridge).
	jobs []func(ctx context.Context)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// broadcastName is the broadcast consumer's name.
const broadcastName = "broadcast"

// broadcastConsumer feeds the WebSocket hub: it keeps no checkpoint (live
// clients want what happens from now on) and pushes every admitted change.
func broadcastConsumer(hub *broadcast.Hub) cdc.Consumer {
	return cdc.FuncConsumer{
		ConsumerName: broadcastName,
		ApplyFunc: func(_ context.Context, b cdc.Batch) error {
			for _, c := range b.Changes {
				hub.Publish(c)
			}
			return nil
		},
	}
}

// seedHub tells the hub about the open games, so `sport:` topics cover them
// from the start; later changes come from the stream.
func seedHub(ctx context.Context, st store.FeedStore, hub *broadcast.Hub) error {
	for _, status := range []feed.GameStatus{feed.StatusScheduled, feed.StatusLive} {
		p := store.Page{Limit: store.MaxLimit}
		for {
			page, err := st.ListGames(ctx, status, p)
			if err != nil {
				return fmt.Errorf("seed hub: list %s games: %w", status, err)
			}
			for i := range page.Games {
				g := page.Games[i]
				hub.Publish(feed.Change{Kind: feed.ChangeModify, Key: g.Key(), ItemType: feed.TypeGame, Version: g.Version, NewGame: &g, At: g.UpdatedAt})
			}
			if page.NextCursor == "" {
				break
			}
			p.Cursor = page.NextCursor
		}
	}
	return nil
}

// newPipeline builds the source, the hub and the tailer for the back end.
func newPipeline(ctx context.Context, s *Server) (*pipeline, error) {
	p := &pipeline{log: s.log.With("module", "cdc")}
	p.hub = broadcast.New(s.store, broadcast.Options{OriginPatterns: s.cfg.AllowedOrigins, Logger: s.log.With("module", "broadcast")})
	switch st := s.store.(type) {
	case *embedded.Store:
		p.src = cdc.NewLogSource(st, cdc.LogOptions{Logger: p.log})
	default:
		src, check, jobs, err := newKinesisSource(ctx, s.cfg, p.log)
		if err != nil {
			return nil, err
		}
		p.src, p.streamCheck = src, check
		p.jobs = append(p.jobs, jobs...)
	}
	p.tailer = cdc.NewTailer(p.src, cdc.TailerOptions{Logger: p.log})
	if reachable := p.streamCheck; reachable != nil {
		// Ready once the broadcast consumer reads the stream too: it starts
		// at LATEST, so a client let in before would miss the changes
		// between its snapshot and that first read.
		p.streamCheck = func(ctx context.Context) error {
			if err := reachable(ctx); err != nil {
				return err
			}
			return p.tailer.Reading(broadcastName)
		}
	}
	consumers := []cdc.Consumer{broadcastConsumer(p.hub)}
	p.tailer.Add(consumers[0], cdc.ConsumerOptions{Guard: cdc.NewGuard(cdc.GuardOptions{})})
	if s.cfg.DatabaseURL != "" {
		rep, err := newReporting(ctx, s.cfg, s.log)
		if err != nil {
			return nil, err
		}
		p.rep = rep
		// No guard: the sync's upserts are idempotent by item version.
		p.tailer.Add(rep.sync, cdc.ConsumerOptions{})
		consumers = append(consumers, rep.sync)
		p.jobs = append(p.jobs, rep.maintainJob(s.cfg.ReportRetention, s.log.With("module", "partitions")))
	}
	if err := seedHub(ctx, s.store, p.hub); err != nil {
		return nil, err
	}
	if st, ok := s.store.(*embedded.Store); ok {
		p.jobs = append(p.jobs, func(ctx context.Context) {
			cdc.RunLogRetention(ctx, st, consumers, 10*time.Minute, p.log)
		})
	}
	return p, nil
}

// start runs the tailer and the background jobs until stop.
func (p *pipeline) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.tailer.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Error("tailer stopped", "err", err)
		}
	}()
	for _, job := range p.jobs {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); job(ctx) }()
	}
}

// stop closes the WebSockets with a close frame, then stops the tailer
// after its current batch.
func (p *pipeline) stop(ctx context.Context) {
	if err := p.hub.Shutdown(ctx); err != nil {
		p.log.Warn("close websockets", "err", err)
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	if p.rep != nil {
		p.rep.close(ctx)
	}
}

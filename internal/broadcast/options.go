package broadcast

import (
	"log/slog"
	"time"
)

// Options configure a Hub. Zero values take the documented defaults.
type Options struct {
	// OriginPatterns are the allowed browser origins (coder/websocket
	// AcceptOptions.OriginPatterns); empty allows same-origin only.
	OriginPatterns []string
	// QueueBytes is a client's soft queue bound: past it, its queued odds
	// messages are conflated to the newest per game, provider, market and
	// period. Default 256 KiB.
	QueueBytes int
	// HardQueueBytes is the hard bound: past it the client is closed with
	// StatusPolicyViolation and ReasonTooSlow. Default 1 MiB.
	HardQueueBytes int
	// PingInterval is how often clients are pinged. Default 15s.
	PingInterval time.Duration
	// WriteTimeout bounds each frame write: a client whose write takes
	// longer is dropped. Default 5s.
	WriteTimeout time.Duration
	// History is how many messages are kept per game for `since` resume.
	// Default 256.
	History int
	// MissedLimit caps the odds a reset snapshot carries as missed for a
	// sinceTime. Default 5000.
	MissedLimit int
	// DedupeWindow is how long after a snapshot with missed odds the live
	// copies of those odds are withheld from that client. Default 1m.
	DedupeWindow time.Duration
	// Limits on clients: see limits.go. Zero takes the default.
	Limits Limits
	// GameIdle: a game no client's topics cover, with no change for this
	// long, is dropped from memory. Default 1h.
	GameIdle time.Duration
	// ClosedGameIdle: a closed game with no change for this long is
	// dropped. Default 1m.
	ClosedGameIdle time.Duration
	// MaxGames bounds the games the hub keeps: past it, the least recently
	// active one is dropped. Default 50000.
	MaxGames int
	// Logger defaults to discarding.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.QueueBytes <= 0 {
		o.QueueBytes = 256 << 10
	}
	if o.HardQueueBytes <= 0 {
		o.HardQueueBytes = 1 << 20
	}
	o.HardQueueBytes = max(o.HardQueueBytes, o.QueueBytes)
	if o.PingInterval <= 0 {
		o.PingInterval = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.History <= 0 {
		o.History = 256
	}
	if o.MissedLimit <= 0 {
		o.MissedLimit = 5000
	}
	if o.DedupeWindow <= 0 {
		o.DedupeWindow = time.Minute
	}
	if o.GameIdle <= 0 {
		o.GameIdle = time.Hour
	}
	if o.ClosedGameIdle <= 0 {
		o.ClosedGameIdle = time.Minute
	}
	if o.MaxGames <= 0 {
		o.MaxGames = 50_000
	}
	o.Limits = o.Limits.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

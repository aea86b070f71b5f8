package cdc

import (
	"context"
	"fmt"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// LogSourceName is the only source (partition) of the embedded store's log.
const LogSourceName = "log"

// Batch is a run of changes from one source partition (a Kinesis shard, or
// "log" for the embedded store), in order.
type Batch struct {
	// Source is the shard id, or "log".
	Source string
	// Changes are the decoded changes, in stream order. Each carries its own
	// Source and Position.
	Changes []feed.Change
	// Bad are the records of the batch that failed to decode: they are
	// reported to the consumer (which may park them as dead letters), never
	// a reason to stop the stream.
	Bad []BadRecord
	// Position is the position of the last record of the batch, good or bad:
	// a consumer checkpoints it after applying the batch. It is "" only for
	// an empty batch (a source may deliver one to report lag).
	Position string
	// MillisBehindLatest is how far the batch is behind the tip of its
	// source, in milliseconds (0: at the tip).
	MillisBehindLatest int64
}

// BadRecord is one record that could not be decoded.
type BadRecord struct {
	Source   string
	Position string
	// Data is the record's raw bytes, kept for a dead-letter table and replay.
	Data []byte
	Err  error
}

// StartKind says where a consumer starts reading a source.
type StartKind uint8

// The start kinds, named after Kinesis shard iterator types.
const (
	// TrimHorizon starts at the oldest record still kept.
	TrimHorizon StartKind = iota
	// Latest starts after the newest record at the time the stream starts.
	Latest
	// AfterPosition starts just after Start.Position (a checkpoint).
	AfterPosition
	// AtTimestamp starts at the first record created at or after Start.At.
	AtTimestamp
)

func (k StartKind) String() string {
	switch k {
	case TrimHorizon:
		return "TRIM_HORIZON"
	case Latest:
		return "LATEST"
	case AfterPosition:
		return "AFTER_POSITION"
	case AtTimestamp:
		return "AT_TIMESTAMP"
	}
	return fmt.Sprintf("StartKind(%d)", uint8(k))
}

// Start says where a consumer resumes in one source.
type Start struct {
	Kind StartKind
	// Position is the checkpoint for AfterPosition.
	Position string
	// At is the time for AtTimestamp.
	At time.Time
}

// After is the Start just after a checkpoint; TrimHorizon when position is
// "" (nothing checkpointed yet).
func After(position string) Start {
	if position == "" {
		return Start{Kind: TrimHorizon}
	}
	return Start{Kind: AfterPosition, Position: position}
}

// StartFunc returns where to start in source: a consumer's checkpoint lookup.
type StartFunc func(ctx context.Context, source string) (Start, error)

// DeliverFunc takes one batch. An error makes the source redeliver the same
// batch after a back-off.
type DeliverFunc func(ctx context.Context, b Batch) error

// ChangeSource is the change data capture port: the Kinesis shard reader and
// the embedded store's change log implement it.
//
// Stream may be called several times at once (the Tailer runs one Stream per
// consumer, each at its own position); each call reads on its own.
type ChangeSource interface {
	// Stream reads every source (shard) from the position start(source)
	// returns and calls deliver for each batch, sequentially per source, in
	// order; returns when ctx ends or on a fatal error. If deliver returns
	// an error, the same batch is redelivered after a back-off
	// (at-least-once). Sources appearing later (new shards) are started
	// through start too, children only after their parents are finished.
	Stream(ctx context.Context, start func(ctx context.Context, source string) (Start, error), deliver func(ctx context.Context, b Batch) error) error
}

// RawRecord is one undecoded record of a source: a Kinesis record's
// sequence number and data.
type RawRecord struct {
	Position string
	Data     []byte
}

// DecodeBatch decodes the records of one read of source into a Batch:
// records that fail to decode go to Bad, the others to Changes, with Source
// and Position set, and Position of the batch is the last record's. One bad
// record never holds up the rest.
func DecodeBatch(source string, records []RawRecord, millisBehindLatest int64) Batch {
	b := Batch{Source: source, MillisBehindLatest: millisBehindLatest}
	for _, r := range records {
		c, err := DecodeRecord(r.Data)
		if err != nil {
			b.Bad = append(b.Bad, BadRecord{Source: source, Position: r.Position, Data: r.Data, Err: err})
		} else {
			c.Source, c.Position = source, r.Position
			b.Changes = append(b.Changes, c)
		}
		b.Position = r.Position
	}
	return b
}

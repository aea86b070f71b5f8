package app

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// PipelineStatus is the body of GET /v1/pipeline: the whole pipeline as
// this server sees it, with or without Postgres. Counters are totals since
// the server started (the reporting sources' Changes: since the checkpoint
// was made); rates are for the reader to take from successive answers.
type PipelineStatus struct {
	// At is when the figures were read.
	At        time.Time        `json:"at"`
	Consumers []ConsumerStatus `json:"consumers"`
	Hub       HubStatus        `json:"hub"`
	// Reporting is null when no reporting database is configured.
	Reporting *ReportingStatus `json:"reporting"`
}

// ConsumerStatus is one change stream consumer (broadcast, reporting).
type ConsumerStatus struct {
	Name string `json:"name"`
	// Batches and Changes applied, Filtered (duplicates and older versions
	// dropped), Bad (undecodable records), Failures (apply errors, retried).
	Batches  int64 `json:"batches"`
	Changes  int64 `json:"changes"`
	Filtered int64 `json:"filtered"`
	Bad      int64 `json:"badRecords"`
	Failures int64 `json:"applyErrors"`
	// Failing: the last apply failed and is being retried.
	Failing   bool           `json:"failing"`
	LastError string         `json:"lastError"`
	Sources   []SourceStatus `json:"sources"`
}

// SourceStatus is one consumer's place in one source (shard).
type SourceStatus struct {
	Source       string     `json:"source"`
	Position     string     `json:"position"`
	MillisBehind int64      `json:"millisBehind"`
	UpdatedAt    *time.Time `json:"updatedAt"`
	// Changes applied from this source: the reporting checkpoints count
	// them over every replica; otherwise this process's count since it
	// started.
	Changes *int64 `json:"changes"`
	// Checkpoint: the figures are the reporting database's checkpoint
	// (possibly moved by another replica), not this process's.
	Checkpoint bool `json:"checkpoint"`
}

// HubStatus are the WebSocket hub's figures.
type HubStatus struct {
	Clients    int    `json:"clients"`
	Sent       uint64 `json:"sent"`
	Conflated  uint64 `json:"conflated"`
	Dropped    uint64 `json:"dropped"`
	SlowClosed uint64 `json:"slowClosed"`
}

// ReportingStatus is the reporting database's side.
type ReportingStatus struct {
	// Error is set when the database could not be read (the rest is then
	// empty); never the database's own message, which may name its host.
	Error                 string                      `json:"error,omitempty"`
	DeadLetters           []reporting.DeadLetterState `json:"deadLetters"`
	UnresolvedDeadLetters int64                       `json:"unresolvedDeadLetters"`
}

// pipelineStatus answers GET /v1/pipeline (analyst role).
func (s *Server) pipelineStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	httpx.WriteJSON(w, http.StatusOK, s.pipe.status(ctx))
}

// status reads the tailer's, the hub's and (when configured) the reporting
// database's figures.
func (p *pipeline) status(ctx context.Context) PipelineStatus {
	out := PipelineStatus{At: time.Now().UTC()}
	var checkpoints map[string][]reporting.SourceState // consumer -> sources
	if p.rep != nil {
		out.Reporting = &ReportingStatus{DeadLetters: []reporting.DeadLetterState{}}
		st, err := p.rep.reports.Pipeline(ctx)
		if err != nil {
			p.log.Warn("pipeline status: read the reporting database", "err", err)
			out.Reporting.Error = "the reporting database could not be read"
		} else {
			out.Reporting.DeadLetters, out.Reporting.UnresolvedDeadLetters = st.DeadLetters, st.UnresolvedDeadLetters
			checkpoints = map[string][]reporting.SourceState{}
			for _, c := range st.Sources {
				checkpoints[c.Consumer] = append(checkpoints[c.Consumer], c)
			}
		}
	}
	for _, c := range p.tailer.Stats() {
		out.Consumers = append(out.Consumers, consumerStatus(c, checkpoints[c.Name]))
	}
	hs := p.hub.Stats()
	out.Hub = HubStatus{Clients: hs.Clients, Sent: hs.Sent, Conflated: hs.Conflated, Dropped: hs.Dropped, SlowClosed: hs.SlowClosed}
	return out
}

// consumerStatus is c's status; its sources are the checkpoints where
// there are (they cover every replica's shards), else the tailer's.
func consumerStatus(c cdc.ConsumerStats, checkpoints []reporting.SourceState) ConsumerStatus {
	out := ConsumerStatus{Name: c.Name, Batches: c.Batches, Changes: c.Changes, Filtered: c.Filtered, Bad: c.Bad,
		Failures: c.Failures, Failing: c.Failing, LastError: c.LastError, Sources: []SourceStatus{}}
	seen := map[string]bool{}
	for _, cp := range checkpoints {
		seen[cp.Source] = true
		updated, changes := cp.UpdatedAt, cp.AppliedChanges
		out.Sources = append(out.Sources, SourceStatus{Source: cp.Source, Position: cp.Position, MillisBehind: cp.MillisBehind,
			UpdatedAt: &updated, Changes: &changes, Checkpoint: true})
	}
	for name, src := range c.Sources {
		if seen[name] {
			continue
		}
		ss := SourceStatus{Source: name, Position: src.Position, MillisBehind: src.MillisBehindLatest}
		if !src.Updated.IsZero() {
			u := src.Updated.UTC()
			ss.UpdatedAt = &u
		}
		n := src.Changes
		ss.Changes = &n
		out.Sources = append(out.Sources, ss)
	}
	slices.SortFunc(out.Sources, func(a, b SourceStatus) int { return cmp.Compare(a.Source, b.Source) })
	return out
}

package ingest

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// batch is one request's items after decoding: the valid odds to store,
// where each came from in the request, and the errors of the bad ones.
type batch struct {
	n     int                // items in the request
	odds  []feed.Odds        // valid items
	index []int              // index[i] is the request index of odds[i]
	errs  []httpx.FieldError // errors of bad items, by request index
	// field renames a domain field name into the request form's name.
	field func(string) string
}

func newBatch(n int, field func(string) string) *batch {
	return &batch{n: n, odds: make([]feed.Odds, 0, n), index: make([]int, 0, n), field: field}
}

func (b *batch) add(i int, o feed.Odds) {
	b.odds = append(b.odds, o)
	b.index = append(b.index, i)
}

func (b *batch) fail(i int, field, reason string) {
	b.errs = append(b.errs, httpx.ItemError(i, b.field(field), reason))
}

func (b *batch) failAll(i int, errs feed.FieldErrors) {
	for _, e := range errs {
		b.fail(i, e.Field, e.Reason)
	}
}

// drop removes the valid items for which bad returns true, keeping order.
func (b *batch) drop(bad func(o feed.Odds) bool) {
	j := 0
	for i, o := range b.odds {
		if bad(o) {
			continue
		}
		b.odds[j], b.index[j] = o, b.index[i]
		j++
	}
	b.odds, b.index = b.odds[:j], b.index[:j]
}

// report is what became of a batch.
type report struct {
	Stored           int
	Duplicates       int
	Corrected        int
	Invalid          int
	StoredIndices    []int
	DuplicateIndices []int
	CorrectedIndices []int
	NotStoredIndices []int
}

// result is the 200 body of POST /v1/odds.
type result struct {
	Stored     int           `json:"stored"`
	Duplicates int           `json:"duplicates"`
	Corrected  int           `json:"corrected"`
	Results    []itemOutcome `json:"results,omitempty"`
}

// itemOutcome is the outcome of one item that was not newly stored.
type itemOutcome struct {
	Index   int    `json:"index"`
	Outcome string `json:"outcome"`
}

// result returns the 200 body of a batch: the counts, and the outcome of
// each item that was not newly stored, by index.
func (rep report) result() result {
	res := result{Stored: rep.Stored, Duplicates: rep.Duplicates, Corrected: rep.Corrected}
	for _, i := range rep.DuplicateIndices {
		res.Results = append(res.Results, itemOutcome{Index: i, Outcome: store.Duplicate.String()})
	}
	for _, i := range rep.CorrectedIndices {
		res.Results = append(res.Results, itemOutcome{Index: i, Outcome: store.Corrected.String()})
	}
	slices.SortFunc(res.Results, func(x, y itemOutcome) int { return cmp.Compare(x.Index, y.Index) })
	return res
}

// refusedReason is the reason given for a correction of an odds that has
// no versions left (the first and its corrections: feed.MaxOddsVersions).
var refusedReason = fmt.Sprintf("has been corrected %d times; no more versions are kept", feed.MaxOddsVersions-1)

// finish reports a batch after PutOdds: outcomes[i] is what became of
// b.odds[i] and storeErr the error of PutOdds, if any. ok writes the
// success response (every item durable and none refused).
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, b *batch, outcomes []store.Outcome, storeErr error, ok func(report)) {
	rep := report{StoredIndices: []int{}, DuplicateIndices: []int{}, CorrectedIndices: []int{}}
	for i := range b.odds {
		out := store.NotStored
		if i < len(outcomes) {
			out = outcomes[i]
		}
		idx := b.index[i]
		switch out {
		case store.Stored:
			rep.Stored++
			rep.StoredIndices = append(rep.StoredIndices, idx)
		case store.Duplicate:
			rep.Duplicates++
			rep.DuplicateIndices = append(rep.DuplicateIndices, idx)
		case store.Corrected:
			rep.Corrected++
			rep.CorrectedIndices = append(rep.CorrectedIndices, idx)
		case store.Refused:
			b.fail(idx, "observedAt", refusedReason)
		default:
			rep.NotStoredIndices = append(rep.NotStoredIndices, idx)
		}
	}
	invalidItems := map[int]struct{}{}
	for _, e := range b.errs {
		invalidItems[*e.Index] = struct{}{}
	}
	rep.Invalid = len(invalidItems)
	slices.SortStableFunc(b.errs, func(x, y httpx.FieldError) int { return cmp.Compare(*x.Index, *y.Index) })

	switch {
	case storeErr != nil || len(rep.NotStoredIndices) > 0:
		level := slog.LevelError
		if r.Context().Err() != nil { // the provider went away: not the server's failure
			level = slog.LevelInfo
		}
		h.log.Log(r.Context(), level, "ingest: store odds failed", "path", r.URL.Path,
			"items", b.n, "stored", rep.Stored, "notStored", len(rep.NotStoredIndices), "err", storeErr)
		if rep.NotStoredIndices == nil {
			rep.NotStoredIndices = []int{}
		}
		w.Header().Set("Retry-After", "1")
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnavailable, Status: http.StatusServiceUnavailable,
			Detail: "the store failed: the items in notStoredIndices were not stored and may be retried; " +
				"those in storedIndices, duplicateIndices and correctedIndices are durable",
			Errors: b.errs, Extensions: rep.extensions()})
	case len(b.errs) > 0:
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeInvalidInput, Status: http.StatusUnprocessableEntity,
			Detail: "some items were refused (see errors); the items in storedIndices, duplicateIndices and correctedIndices are durable",
			Errors: b.errs, Extensions: rep.extensions()})
	default:
		ok(rep)
	}
}

func (rep report) extensions() map[string]any {
	m := map[string]any{
		"stored":           rep.Stored,
		"duplicates":       rep.Duplicates,
		"corrected":        rep.Corrected,
		"invalid":          rep.Invalid,
		"storedIndices":    rep.StoredIndices,
		"duplicateIndices": rep.DuplicateIndices,
		"correctedIndices": rep.CorrectedIndices,
	}
	if rep.NotStoredIndices != nil {
		m["notStoredIndices"] = rep.NotStoredIndices
	}
	return m
}

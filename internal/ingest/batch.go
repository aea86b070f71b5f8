package ingest

import (
	"cmp"
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
	Stored           int   `json:"stored"`
	Duplicates       int   `json:"duplicates"`
	Conflicts        int   `json:"conflicts"`
	Invalid          int   `json:"invalid"`
	StoredIndices    []int `json:"storedIndices"`
	DuplicateIndices []int `json:"duplicateIndices"`
	NotStoredIndices []int `json:"notStoredIndices,omitempty"`
}

// result is the 200 body of POST /v1/odds.
type result struct {
	Stored     int           `json:"stored"`
	Duplicates int           `json:"duplicates"`
	Conflicts  int           `json:"conflicts"`
	Results    []itemOutcome `json:"results,omitempty"`
}

// itemOutcome is the outcome of one item that was not newly stored.
type itemOutcome struct {
	Index   int    `json:"index"`
	Outcome string `json:"outcome"`
}

// conflictReason is the reason given for an item whose key is already
// recorded with other values.
const conflictReason = "already recorded with different values"

// finish reports a batch after PutOdds: outcomes[i] is what became of
// b.odds[i] and storeErr the error of PutOdds, if any. ok writes the
// success response (every item durable and none refused).
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, b *batch, outcomes []store.Outcome, storeErr error, ok func(report)) {
	rep := report{StoredIndices: []int{}, DuplicateIndices: []int{}}
	invalidItems := map[int]struct{}{}
	for _, e := range b.errs {
		invalidItems[*e.Index] = struct{}{}
	}
	rep.Invalid = len(invalidItems)
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
		case store.Conflict:
			rep.Conflicts++
			b.fail(idx, "observedAt", conflictReason)
		default:
			rep.NotStoredIndices = append(rep.NotStoredIndices, idx)
		}
	}
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
				"those in storedIndices and duplicateIndices are durable",
			Errors: b.errs, Extensions: rep.extensions()})
	case len(b.errs) > 0:
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeInvalidInput, Status: http.StatusUnprocessableEntity,
			Detail: "some items were refused (see errors); the items in storedIndices and duplicateIndices are durable",
			Errors: b.errs, Extensions: rep.extensions()})
	default:
		ok(rep)
	}
}

func (rep report) extensions() map[string]any {
	m := map[string]any{
		"stored":           rep.Stored,
		"duplicates":       rep.Duplicates,
		"conflicts":        rep.Conflicts,
		"invalid":          rep.Invalid,
		"storedIndices":    rep.StoredIndices,
		"duplicateIndices": rep.DuplicateIndices,
	}
	if rep.NotStoredIndices != nil {
		m["notStoredIndices"] = rep.NotStoredIndices
	}
	return m
}

package httpx

import (
	"context"
	"errors"
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// TypeConflict is the problem type of a change the state of its target
// does not allow (a market's status: feed.ErrTransition).
const TypeConflict = "urn:oddsfeed:problem:conflict"

// Errors of the request plumbing, mapped in the status table.
var (
	// ErrBodyTooLarge: the request body is over the handler's limit.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrMalformedJSON: the request body is not valid JSON.
	ErrMalformedJSON = errors.New("malformed JSON")
	// ErrBodyRead: the request body could not be read (the client went
	// away or sent a broken body).
	ErrBodyRead = errors.New("read request body")
	// ErrBadEncoding: the body is not valid in its Content-Encoding (a
	// corrupt gzip stream).
	ErrBadEncoding = errors.New("bad content encoding")
	// ErrUnsupportedEncoding: the body has a Content-Encoding the server
	// does not decode.
	ErrUnsupportedEncoding = errors.New("unsupported content encoding")
)

// statusRule maps one error kind to a status and a problem type.
type statusRule struct {
	err    error
	status int
	typ    string
}

// statusTable is the one place where error kinds become HTTP statuses
// (with classify's types: *http.MaxBytesError 413, feed.FieldErrors 400).
// The first rule whose error matches (errors.Is) wins.
var statusTable = []statusRule{
	{store.ErrNotFound, http.StatusNotFound, TypeNotFound},
	{store.ErrBadCursor, http.StatusBadRequest, TypeInvalidInput},
	{store.ErrNotOwner, http.StatusForbidden, TypeForbidden},
	{feed.ErrTransition, http.StatusConflict, TypeConflict},
	{feed.ErrTraderSuspension, http.StatusForbidden, TypeForbidden},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge, TypeTooLarge},
	{ErrMalformedJSON, http.StatusBadRequest, TypeMalformed},
	{ErrBodyRead, http.StatusBadRequest, TypeBlank},
	{ErrBadEncoding, http.StatusBadRequest, TypeBlank},
	{ErrUnsupportedEncoding, http.StatusUnsupportedMediaType, TypeBlank},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, TypeUnavailable},
	{context.Canceled, http.StatusServiceUnavailable, TypeUnavailable},
}

// StatusOf returns the HTTP status for err: from the table, else 500.
func StatusOf(err error) int {
	s, _ := classify(err)
	return s
}

func classify(err error) (int, string) {
	for _, rule := range statusTable {
		if errors.Is(err, rule.err) {
			return rule.status, rule.typ
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, TypeTooLarge
	}
	var fe feed.FieldErrors
	if errors.As(err, &fe) {
		return http.StatusBadRequest, TypeInvalidInput
	}
	return http.StatusInternalServerError, TypeBlank
}

// Error writes err as a problem with the status from the table. The detail
// is err's text for client errors (4xx) and a generic one for server errors,
// so internals never leak; the caller logs 5xx errors once.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	status, typ := classify(err)
	p := Problem{Type: typ, Status: status}
	var fe feed.FieldErrors
	if errors.As(err, &fe) { // the domain's validation: each bad field listed
		for _, e := range fe {
			p.Errors = append(p.Errors, ParamError(e.Field, e.Reason))
		}
		p.Detail = "nothing was changed: some fields are not valid"
		WriteProblem(w, r, p)
		return
	}
	switch {
	case status < 500:
		p.Detail = err.Error()
	case status == http.StatusServiceUnavailable:
		p.Detail = "the store is unavailable; retry later"
		w.Header().Set("Retry-After", "1")
	default:
		p.Detail = "internal error"
	}
	WriteProblem(w, r, p)
}

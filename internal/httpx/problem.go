package httpx

import (
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// ContentTypeProblem is the media type of an RFC 9457 problem document.
const ContentTypeProblem = "application/problem+json"

// Problem types. "about:blank" (the RFC 9457 default) is used when the status
// code says it all; the others tell a client what the extensions hold.
const (
	TypeBlank        = "about:blank"
	TypeInvalidInput = "urn:oddsfeed:problem:invalid-input"
	TypeMalformed    = "urn:oddsfeed:problem:malformed-json"
	TypeTooLarge     = "urn:oddsfeed:problem:too-large"
	TypeRateLimited  = "urn:oddsfeed:problem:rate-limited"
	TypeUnavailable  = "urn:oddsfeed:problem:store-unavailable"
	TypeUnauthorized = "urn:oddsfeed:problem:unauthorized"
	TypeForbidden    = "urn:oddsfeed:problem:forbidden"
	TypeNotFound     = "urn:oddsfeed:problem:not-found"
)

// FieldError names one bad field: of the item at Index of a batch, or of the
// request itself (a query parameter, a body field) when Index is nil.
type FieldError struct {
	Index  *int   `json:"index,omitempty"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ItemError is a FieldError of the item at index i of a batch.
func ItemError(i int, field, reason string) FieldError {
	return FieldError{Index: &i, Field: field, Reason: reason}
}

// ParamError is a FieldError of the request itself (no item index).
func ParamError(field, reason string) FieldError {
	return FieldError{Field: field, Reason: reason}
}

// Problem is an RFC 9457 problem details document. Errors and Extensions are
// written as extension members next to the standard ones.
type Problem struct {
	Type     string
	Title    string
	Status   int
	Detail   string
	Instance string
	// Errors lists bad fields; written as "errors" when not empty.
	Errors []FieldError
	// Extensions are further members; they never override the standard
	// members or "errors".
	Extensions map[string]any
}

// MarshalJSON writes the standard members, then "errors", then the
// extensions.
func (p Problem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 6+len(p.Extensions))
	for k, v := range p.Extensions {
		m[k] = v
	}
	m["type"] = p.Type
	m["title"] = p.Title
	m["status"] = p.Status
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	if p.Instance != "" {
		m["instance"] = p.Instance
	}
	if len(p.Errors) > 0 {
		m["errors"] = p.Errors
	} else {
		delete(m, "errors")
	}
	return marshal(m)
}

// WriteProblem writes p as application/problem+json with p.Status. It fills
// in Type ("about:blank"), Title (the status text) and Instance (the request
// path) when they are empty.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = TypeBlank
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	writeJSON(w, p.Status, ContentTypeProblem, p)
}

// Invalid writes a 400 (query parameters and the like) or 422 (body content)
// problem listing errs.
func Invalid(w http.ResponseWriter, r *http.Request, status int, detail string, errs ...FieldError) {
	WriteProblem(w, r, Problem{Type: TypeInvalidInput, Status: status, Detail: detail, Errors: errs})
}

// BadBody answers 400 for a body whose decoder found bad (reporting true),
// or does nothing (false) when bad is nil: a bad field is listed under
// detail; a bad without a field is a body that is not the expected JSON,
// and its reason is the detail.
func BadBody(w http.ResponseWriter, r *http.Request, bad *feed.FieldError, detail string) bool {
	switch {
	case bad == nil:
		return false
	case bad.Field == "":
		Invalid(w, r, http.StatusBadRequest, bad.Reason)
	default:
		Invalid(w, r, http.StatusBadRequest, detail, ParamError(bad.Field, bad.Reason))
	}
	return true
}

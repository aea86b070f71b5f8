package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

// envelope is the body of a batch: {"odds":[...]}. Items are kept raw and
// decoded one by one so a bad item is named by its index.
type envelope struct {
	Provider *string           `json:"provider"`
	Odds     []json.RawMessage `json:"odds"`
}

// readEnvelope reads and decodes a batch body, checks its size and item
// count, and writes the problem (400, 413, 422) when it fails.
func (h *Handler) readEnvelope(w http.ResponseWriter, r *http.Request) (envelope, bool) {
	var env envelope
	body, err := httpx.ReadBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		httpx.Error(w, r, err)
		return env, false
	}
	if err := json.Unmarshal(body, &env); err != nil {
		writeDecodeError(w, r, err, "the body must be a JSON object {\"odds\":[...]}")
		return env, false
	}
	switch {
	case env.Odds == nil:
		httpx.Invalid(w, r, http.StatusUnprocessableEntity, "nothing was stored", httpx.ParamError("odds", "is required"))
		return env, false
	case len(env.Odds) == 0:
		httpx.Invalid(w, r, http.StatusUnprocessableEntity, "nothing was stored", httpx.ParamError("odds", "must contain at least one item"))
		return env, false
	case len(env.Odds) > h.o.MaxItems:
		httpx.Invalid(w, r, http.StatusUnprocessableEntity, "nothing was stored",
			httpx.ParamError("odds", fmt.Sprintf("at most %d items", h.o.MaxItems)))
		return env, false
	}
	return env, true
}

// writeDecodeError writes a body that failed to decode: 400 when it is not
// JSON, 422 when it is JSON of the wrong shape.
func writeDecodeError(w http.ResponseWriter, r *http.Request, err error, shape string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			httpx.Invalid(w, r, http.StatusUnprocessableEntity, shape)
			return
		}
		httpx.Invalid(w, r, http.StatusUnprocessableEntity, "nothing was stored", httpx.ParamError(te.Field, typeReason(te)))
		return
	}
	detail := "the body is not valid JSON"
	var se *json.SyntaxError
	if errors.As(err, &se) {
		detail = fmt.Sprintf("the body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeMalformed, Status: http.StatusBadRequest, Detail: detail})
}

func typeReason(te *json.UnmarshalTypeError) string {
	t := te.Type
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "has the wrong type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if strings.HasPrefix(te.Value, "number") {
			return "must be an integer"
		}
		return "must be a number"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Struct, reflect.Map:
		return "must be an object"
	}
	return "has the wrong type"
}

// refLayouts are the time forms of the AWS reference ("2021-11-20 16:00",
// "2021-11-20 20:30:15.238", taken as UTC) after RFC 3339.
var refLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
}

// parseRefTime parses a reference-form time: RFC 3339, one of the
// zone-less forms in UTC, or a Unix time (the reference stamps its stream
// records' date with CREATED, Unix seconds; past 1e11 it is taken as
// milliseconds, JavaScript's Date.now()).
func parseRefTime(s string) (time.Time, bool) {
	for _, l := range refLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	if !numeric(s) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e14 {
		return time.Time{}, false
	}
	if f > 1e11 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), true
}

package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

func TestWriteProblem(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/odds", nil)
	httpx.WriteProblem(rec, r, httpx.Problem{
		Status: http.StatusUnprocessableEntity,
		Errors: []httpx.FieldError{httpx.ItemError(0, "awayOdds", "must be a number"), httpx.ParamError("odds", "x")},
		// Extensions never override the standard members.
		Extensions: map[string]any{"stored": 2, "status": 999, "title": "nope"},
	})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != httpx.ContentTypeProblem {
		t.Fatalf("content type %q", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "about:blank", "title": "Unprocessable Entity", "status": 422.0, "instance": "/v1/odds", "stored": 2.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	errs := got["errors"].([]any)
	first, second := errs[0].(map[string]any), errs[1].(map[string]any)
	if first["index"] != 0.0 || first["field"] != "awayOdds" || first["reason"] != "must be a number" {
		t.Errorf("errors[0] = %v", first)
	}
	if _, has := second["index"]; has {
		t.Errorf("a request-level error has an index: %v", second)
	}
}

func TestProblemOmitsEmptyErrors(t *testing.T) {
	b, err := json.Marshal(httpx.Problem{Type: httpx.TypeBlank, Title: "Not Found", Status: 404})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "errors") || strings.Contains(string(b), "detail") {
		t.Fatalf("empty members written: %s", b)
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("get game: %w", store.ErrNotFound), 404},
		{fmt.Errorf("list: %w", store.ErrBadCursor), 400},
		{httpx.ErrBodyTooLarge, 413},
		{&http.MaxBytesError{Limit: 1}, 413},
		{httpx.ErrMalformedJSON, 400},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 503},
		{errors.New("disk on fire"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := httpx.StatusOf(tt.err); got != tt.want {
				t.Fatalf("StatusOf = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestErrorHidesServerErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.Error(rec, httptest.NewRequest(http.MethodGet, "/x", nil), errors.New("secret internal path /var/db"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	httpx.Error(rec, httptest.NewRequest(http.MethodGet, "/x", nil), fmt.Errorf("x: %w", context.DeadlineExceeded))
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name          string
		body          string
		contentLength int64 // -1: unknown (chunked)
		wantErr       error
	}{
		{"fits", "12345", 5, nil},
		{"declared too big", "123456", 6, httpx.ErrBodyTooLarge},
		{"streamed too big", "123456", -1, httpx.ErrBodyTooLarge},
		{"streamed fits", "1234", -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.ContentLength = tt.contentLength
			b, err := httpx.ReadBody(httptest.NewRecorder(), r, 5)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(b) != tt.body {
				t.Fatalf("body %q", b)
			}
			if err != nil && httpx.StatusOf(err) != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", httpx.StatusOf(err))
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteJSON(rec, http.StatusCreated, map[string]int{"a": 1})
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != "{\"a\":1}\n" {
		t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

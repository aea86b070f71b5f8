package httpx_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

// TestMarketErrorStatuses: a change the market's status does not allow is
// a conflict; lifting a trader's suspension as a provider is forbidden.
func TestMarketErrorStatuses(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("%w: cannot suspend a settled market", feed.ErrTransition): http.StatusConflict,
		fmt.Errorf("resume total/full: %w", feed.ErrTraderSuspension):         http.StatusForbidden,
	} {
		if got := httpx.StatusOf(err); got != want {
			t.Errorf("StatusOf(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestFieldErrorsAreBadRequests: the domain's validation errors, however
// wrapped, are a 400 listing each bad field.
func TestFieldErrorsAreBadRequests(t *testing.T) {
	err := fmt.Errorf("suspend: %w", feed.FieldErrors{{Field: "market", Reason: "must be one of moneyline, three_way, spread, total"}, {Field: "note", Reason: "too long"}})
	rec := httptest.NewRecorder()
	httpx.Error(rec, httptest.NewRequest("POST", "/v1/games/g1/suspend", nil), err)
	var p struct {
		Status int
		Errors []struct{ Field string }
	}
	if jerr := json.Unmarshal(rec.Body.Bytes(), &p); jerr != nil || rec.Code != http.StatusBadRequest || p.Status != 400 ||
		len(p.Errors) != 2 || p.Errors[0].Field != "market" || p.Errors[1].Field != "note" {
		t.Fatalf("Error(%v) = %d %s", err, rec.Code, rec.Body)
	}
}

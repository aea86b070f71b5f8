package httpx_test

import (
	"fmt"
	"net/http"
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

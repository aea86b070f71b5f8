package dashboard

import (
	"errors"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

// FuzzTradeRequest: whatever the body of a trader action (a signed-in
// trader's bytes, at most maxTradeBytes), decodeTrade never panics, refuses
// it as malformed or names bad fields, or accepts a known market (or none:
// the whole game), a known period, a reason and a note within bounds.
func FuzzTradeRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"market":"total","period":"full","reason":"var","note":"goal"}`, `{"market":"three_way"}`,
		`{"market":"corners"}`, `{"period":"3q"}`, `{"market":5}`, `[]`, `null`, `{"market":"total"`, `{"reason":"\u0000"}`,
		`{"note":"` + string(make([]byte, 400)) + `"}`} {
		f.Add([]byte(s), "g1")
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, gameID string) {
		if len(body) > maxTradeBytes {
			return
		}
		for _, action := range []feed.MarketAction{feed.ActionSuspend, feed.ActionResume} {
			req, errs, err := decodeTrade(body, gameID, action, now)
			if err != nil {
				if !errors.Is(err, httpx.ErrMalformedJSON) {
					t.Fatalf("%q: error %v is not malformed JSON", body, err)
				}
				continue
			}
			if len(errs) > 0 {
				continue
			}
			if feed.ValidateID(gameID) != "" || !req.Market.Valid() || !req.Period.Valid() ||
				len(req.Reason) > feed.MaxIDLen || len(req.Note) > feed.MaxTextLen {
				t.Fatalf("%q (game %q) accepted: %+v", body, gameID, req)
			}
		}
	})
}

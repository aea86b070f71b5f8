package ingest

import (
	"strings"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

var changeSeeds = []string{
	`{"gameId":"g1","market":"total","period":"full","action":"settle","results":{"over":"win","under":"lose"},"at":"2026-11-23T17:31:02Z"}`,
	`{"gameId":"g1","market":"three_way","action":"suspend","reason":"goal","note":"1-0","at":"2026-11-23T17:31:02.5Z"}`,
	`{"changes":[{"gameId":"g1","market":"moneyline","action":"resume","at":"2026-11-23T17:31:02Z"},{"gameId":5,"results":{"home":7}}]}`,
	`{"gameId":"g1","market":"spread","action":"settle","results":{"home":"half_win","away":"half_lose","draw":"win","x":"y"},"at":"x"}`,
	`{"changes":null}`, `{"changes":{}}`, `{"changes":[]}`, `{"results":[],"at":5,"action":null}`,
	`null`, `[]`, `"x"`, `5`, `{}`, ``,
}

// FuzzDecodeChanges: any body of POST /v1/markets splits and decodes
// without a panic, each change gets at most one error per field, and a
// change without errors is valid.
func FuzzDecodeChanges(f *testing.F) {
	for _, s := range changeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, _, reason := splitChanges(body, 500)
		if reason != nil {
			if reason.Reason == "" {
				t.Fatalf("a refusal without a reason: %+v", reason)
			}
			return
		}
		if len(raws) == 0 || len(raws) > 500 {
			t.Fatalf("%d changes", len(raws))
		}
		for _, raw := range raws {
			c, errs := decodeChange(raw, fuzzNow)
			checkOneErrorPerField(t, errs, sameName)
			if len(errs) == 0 {
				if v := c.Validate(fuzzNow); v != nil {
					t.Fatalf("accepted an invalid change: %v", v)
				}
			}
			if len(c.Results) > maxOutcomes {
				t.Fatalf("%d results kept", len(c.Results))
			}
		}
	})
}

// FuzzDecodeHeartbeat: any heartbeat body gives a provider or one reason.
func FuzzDecodeHeartbeat(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"provider":"acme"}`, `{"provider":"beta"}`, `{"provider":5}`, `{"provider":"a#b"}`, `[]`, `null`, ` `} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, admin bool) {
		p := auth.Principal{Name: "acme", Role: auth.RoleProvider}
		if admin {
			p = auth.Principal{Name: "root", Role: auth.RoleAdmin}
		}
		provider, bad := decodeHeartbeat(body, p)
		switch {
		case bad != nil && (bad.Reason == "" || provider != ""):
			t.Fatalf("refusal %+v with provider %q", bad, provider)
		case bad == nil && provider == "":
			t.Fatal("no provider and no refusal")
		case bad == nil && !admin && provider != "acme":
			t.Fatalf("a provider's heartbeat for %q", provider)
		case bad == nil && admin && (provider == "root" || strings.ContainsAny(provider, "#\n")):
			t.Fatalf("an admin's heartbeat for %q", provider)
		}
	})
}

package trading

import (
	"testing"
)

// FuzzDecodeAction: any body of a trader's action decodes without a panic
// into an action or one refusal with a reason.
func FuzzDecodeAction(f *testing.F) {
	for _, s := range []string{``, ` `, `{}`, `{"market":"total","period":"1h","reason":"var","note":"check"}`,
		`{"market":5}`, `{"note":null}`, `[]`, `null`, `"x"`, `{"market":"total"`, `{"market":["a"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, bad := decodeAction(body)
		if bad != nil && (bad.Reason == "" || in != (actionIn{})) {
			t.Fatalf("refusal %+v with action %+v", bad, in)
		}
	})
}

package broadcast

import (
	"encoding/json"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// FuzzClientRequest: a WebSocket client's message, decoded as readLoop
// does (json into request, parseTopic per topic, checkSinceTime), never
// panics; every topic accepted is canonical (it prints back to the text it
// came from and parses to itself) and within the limits; a sinceTime map
// accepted has at most maxTopics valid game ids.
func FuzzClientRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","topics":["all","sport:nba","game:g1"]}`,
		`{"type":"subscribe","topics":["game:g1"],"since":{"g1":42},"epoch":"e1","sinceTime":{"g1":"2026-11-23T17:31:02.12Z"}}`,
		`{"type":"unsubscribe","topics":["sport:"]}`,
		`{"type":"subscribe","topics":["game:-x","game:"],"sinceTime":{"":"2026-11-23T17:31:02Z"}}`,
		`{"topics":"all"}`, `{"since":{"g1":-1}}`, `[]`, `null`, `{"sinceTime":{"g1":"yesterday"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req request
		if err := json.Unmarshal(data, &req); err != nil {
			return
		}
		for _, s := range req.Topics {
			tp, err := parseTopic(s)
			if err != nil {
				continue
			}
			if tp.String() != s {
				t.Fatalf("topic %q prints as %q", s, tp.String())
			}
			if again, err := parseTopic(tp.String()); err != nil || again != tp {
				t.Fatalf("topic %q parses to %+v, then %+v, %v", s, tp, again, err)
			}
			switch tp.kind {
			case topicAll:
			case topicSport:
				if tp.name == "" || len(tp.name) > feed.MaxNameLen {
					t.Fatalf("sport topic %q accepted", s)
				}
			case topicGame:
				if r := feed.ValidateID(tp.name); r != "" {
					t.Fatalf("game topic %q accepted: id %s", s, r)
				}
			default:
				t.Fatalf("topic %q of kind %d", s, tp.kind)
			}
		}
		if checkSinceTime(req.SinceTime) == "" {
			if len(req.SinceTime) > maxTopics {
				t.Fatalf("%d sinceTime games accepted", len(req.SinceTime))
			}
			for id := range req.SinceTime {
				if r := feed.ValidateID(id); r != "" {
					t.Fatalf("sinceTime game id %q accepted: %s", id, r)
				}
			}
		}
	})
}

package broadcast

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// message is one encoded frame, shared by every client it is queued for and
// by the game's history ring. It is never modified after creation.
type message struct {
	data   []byte
	gameID string
	seq    uint64
	// od is the odds a published odds message carries (nil otherwise).
	// Conflation keeps, of the queued odds messages of one game, provider,
	// market and period, the one with the newest od; resuming clients skip
	// live copies of odds already sent as missed.
	od *feed.Odds
	// ms is the market status a market message carries (nil otherwise):
	// a client whose snapshot had it skips its live copy.
	ms *feed.MarketStatus
}

// Wire forms of the server's messages (see the package doc).
type (
	oddsFrame struct {
		Type   string     `json:"type"`
		Epoch  string     `json:"epoch"`
		GameID string     `json:"gameId"`
		Seq    uint64     `json:"seq"`
		Odds   *feed.Odds `json:"odds"`
		// Late: older than the newest odds of its game, provider, market
		// and period the hub already had; it does not replace the current
		// price.
		Late bool `json:"late,omitempty"`
		// Correction: a later version of an odds already stored for the same
		// (game, provider, observedAt); it replaces that version.
		Correction bool `json:"correction,omitempty"`
	}
	gameFrame struct {
		Type   string     `json:"type"`
		Epoch  string     `json:"epoch"`
		GameID string     `json:"gameId"`
		Seq    uint64     `json:"seq"`
		Game   *feed.Game `json:"game"`
	}
	// marketFrame is a change of a market's status; it takes the next seq
	// of its game.
	marketFrame struct {
		Type   string             `json:"type"`
		Epoch  string             `json:"epoch"`
		GameID string             `json:"gameId"`
		Seq    uint64             `json:"seq"`
		Market *feed.MarketStatus `json:"market"`
	}
	// providerFrame is a change of a provider's liveness, sent to every
	// connection; seq is the hub's provider sequence.
	providerFrame struct {
		Type     string               `json:"type"`
		Epoch    string               `json:"epoch"`
		Seq      uint64               `json:"seq"`
		Provider *feed.ProviderStatus `json:"provider"`
	}
	// providersFrame is every provider's liveness, the first frame of a
	// connection; seq is the provider sequence it is current to.
	providersFrame struct {
		Type      string                `json:"type"`
		Epoch     string                `json:"epoch"`
		Seq       uint64                `json:"seq"`
		Providers []feed.ProviderStatus `json:"providers"`
	}
	snapshotFrame struct {
		Type   string      `json:"type"`
		Epoch  string      `json:"epoch"`
		GameID string      `json:"gameId"`
		Seq    uint64      `json:"seq"`
		Reset  bool        `json:"reset,omitempty"`
		Odds   []feed.Odds `json:"odds"`
		// Markets are the statuses of the game's markets.
		Markets []feed.MarketStatus `json:"markets"`
		Game    *feed.Game          `json:"game,omitempty"`
		// Missed and Truncated answer a sinceTime (see the package doc).
		Missed    []feed.Odds `json:"missed,omitempty"`
		Truncated bool        `json:"truncated,omitempty"`
	}
	// seenFrame takes the place of an odds message for a client that got
	// its odds already (in a snapshot read from the store, or as missed):
	// the seq is accounted for and nothing was missed.
	seenFrame struct {
		Type   string `json:"type"`
		Epoch  string `json:"epoch"`
		GameID string `json:"gameId"`
		Seq    uint64 `json:"seq"`
	}
	errorFrame struct {
		Type    string `json:"type"`
		Epoch   string `json:"epoch"`
		Message string `json:"message"`
	}
)

// request is a client's message.
type request struct {
	Type   string            `json:"type"`
	Topics []string          `json:"topics"`
	Since  map[string]uint64 `json:"since"`
	Epoch  string            `json:"epoch"`
	// SinceTime is, per game, the observedAt of the newest odds the client
	// has: what it missed is read from the store when since cannot be
	// replayed.
	SinceTime map[string]time.Time `json:"sinceTime"`
}

// encode marshals a frame the hub built itself. Only a value that cannot be
// JSON (a NaN spread that skipped validation) fails.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

func (h *Hub) oddsMessage(o *feed.Odds, seq uint64, late bool) (*message, error) {
	b, err := encode(oddsFrame{Type: "odds", Epoch: h.epoch, GameID: o.GameID, Seq: seq, Odds: o, Late: late, Correction: o.Version > 1})
	return &message{data: b, gameID: o.GameID, seq: seq, od: o}, err
}

// seenMessage is the "seen" frame of odds or market message m.
func (h *Hub) seenMessage(m *message) *message {
	b, _ := encode(seenFrame{Type: "seen", Epoch: h.epoch, GameID: m.gameID, Seq: m.seq}) // strings and a number always encode
	return &message{data: b, gameID: m.gameID, seq: m.seq}
}

func (h *Hub) gameMessage(g *feed.Game, seq uint64) (*message, error) {
	b, err := encode(gameFrame{Type: "game", Epoch: h.epoch, GameID: g.ID, Seq: seq, Game: g})
	return &message{data: b, gameID: g.ID, seq: seq}, err
}

func (h *Hub) marketMessage(s *feed.MarketStatus, seq uint64) (*message, error) {
	b, err := encode(marketFrame{Type: "market", Epoch: h.epoch, GameID: s.GameID, Seq: seq, Market: s})
	return &message{data: b, gameID: s.GameID, seq: seq, ms: s}, err
}

func (h *Hub) providerMessage(s *feed.ProviderStatus, seq uint64) (*message, error) {
	b, err := encode(providerFrame{Type: "provider", Epoch: h.epoch, Seq: seq, Provider: s})
	return &message{data: b}, err
}

func (h *Hub) providersMessage(ps []feed.ProviderStatus, seq uint64) (*message, error) {
	b, err := encode(providersFrame{Type: "providers", Epoch: h.epoch, Seq: seq, Providers: ps})
	return &message{data: b}, err
}

// referenceMessage is o as the AWS reference's StreamConsumer pushed it.
func referenceMessage(o *feed.Odds) (*message, error) {
	b, err := encode(o.ReferencePush())
	return &message{data: b, gameID: o.GameID, od: o}, err
}

func (h *Hub) errorMessage(text string) *message {
	b, _ := encode(errorFrame{Type: "error", Epoch: h.epoch, Message: text}) // strings always encode
	return &message{data: b}
}

// topicKind is the kind of a subscription topic.
type topicKind byte

const (
	topicAll topicKind = iota + 1
	topicSport
	topicGame
)

// topic is a parsed subscription topic; a comparable map key that needs no
// string concatenation on the publish path.
type topic struct {
	kind topicKind
	name string
}

func (t topic) String() string {
	switch t.kind {
	case topicSport:
		return "sport:" + t.name
	case topicGame:
		return "game:" + t.name
	}
	return "all"
}

// parseTopic parses "all", "sport:<name>" or "game:<id>".
func parseTopic(s string) (topic, error) {
	switch {
	case s == "all":
		return topic{kind: topicAll}, nil
	case len(s) > len("sport:") && s[:len("sport:")] == "sport:":
		name := s[len("sport:"):]
		if len(name) > feed.MaxNameLen {
			return topic{}, fmt.Errorf("topic %q: sport name too long", s)
		}
		return topic{kind: topicSport, name: name}, nil
	case len(s) > len("game:") && s[:len("game:")] == "game:":
		id := s[len("game:"):]
		if r := feed.ValidateID(id); r != "" {
			return topic{}, fmt.Errorf("topic %q: game id %s", s, r)
		}
		return topic{kind: topicGame, name: id}, nil
	}
	return topic{}, fmt.Errorf("topic %q: want all, sport:<name> or game:<id>", s)
}

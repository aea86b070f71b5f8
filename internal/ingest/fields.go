package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// The members of an odds item are decoded by these types, which never fail
// the decoding of the item: each remembers whether it was present and, when
// its value is unusable, why. An item then gets exactly one accurate error
// per bad member, and none for the good ones, whatever their order.
//
// They accept what the AWS reference accepted: it passed numbers through
// JavaScript's toString() into DynamoDB numbers, so a number may also come
// as a string holding one ("-110", "-3.5"), and isOpen as "true"/"false".

// member is what every member type knows: present (not absent, not null)
// and the reason its value is unusable ("" when usable).
type member struct {
	set bool
	bad string
}

// textMember is a string member.
type textMember struct {
	member
	v string
}

func (m *textMember) UnmarshalJSON(b []byte) error {
	*m = textMember{}
	if isNull(b) {
		return nil
	}
	m.set = true
	var ok bool
	if m.v, ok = jsonString(b); !ok {
		m.bad = "must be a string"
	}
	return nil
}

// jsonString returns the value of a JSON string literal; ok is false when b
// is another kind of value.
func jsonString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	if in := b[1 : len(b)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), true // no escapes: the common case, without reflection
	}
	return s, json.Unmarshal(b, &s) == nil
}

// timeMember is a time member: a string, or a number (a Unix time, which
// parseRefTime reads from its text).
type timeMember struct {
	textMember
}

func (m *timeMember) UnmarshalJSON(b []byte) error {
	if c := b[0]; c == '-' || c >= '0' && c <= '9' {
		m.textMember = textMember{member: member{set: true}, v: string(b)}
		return nil
	}
	return m.textMember.UnmarshalJSON(b)
}

// numMember is a number member: a JSON number or a string holding one.
type numMember struct {
	member
	v float64
}

func (m *numMember) UnmarshalJSON(b []byte) error {
	*m = numMember{}
	if isNull(b) {
		return nil
	}
	m.set = true
	s := string(b)
	if b[0] == '"' {
		var ok bool
		if s, ok = jsonString(b); !ok || !numeric(s) {
			m.bad = "must be a number"
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		m.bad = "is out of range"
	case err != nil:
		m.bad = "must be a number"
	}
	m.v = v
	return nil
}

// numeric reports whether s looks like a decimal number: digits, sign,
// point and exponent only, so "NaN", "Inf", hex and "1_000" are refused.
func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// boolMember is a true/false member, also as the strings "true"/"false".
type boolMember struct {
	member
	v bool
}

func (m *boolMember) UnmarshalJSON(b []byte) error {
	*m = boolMember{}
	if isNull(b) {
		return nil
	}
	m.set = true
	switch string(b) {
	case "true", `"true"`:
		m.v = true
	case "false", `"false"`:
	default:
		m.bad = "must be true or false"
	}
	return nil
}

// isNull reports whether raw JSON is null.
func isNull(raw []byte) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// decodeItem decodes one item of a batch into in, a struct of members. The
// batch was valid JSON, so the only failure is an item that is not an
// object.
func decodeItem(raw json.RawMessage, in any) feed.FieldErrors {
	if isNull(raw) || json.Unmarshal(raw, in) != nil {
		return feed.FieldErrors{{Field: "", Reason: "must be an object"}}
	}
	return nil
}

// checker collects the errors of one item, at most one per field: the
// first one found for a field is the accurate one.
type checker struct {
	errs feed.FieldErrors
	// name renames a domain field as the request calls it (nil: the same).
	// Domain fields of one request field (the reference's summary is both
	// summary and venue) share its one error.
	name func(string) string
}

func (c *checker) fail(field, reason string) {
	if !c.failed(field) {
		c.errs = append(c.errs, feed.FieldError{Field: field, Reason: reason})
	}
}

func (c *checker) failed(field string) bool {
	rename := c.name
	if rename == nil {
		rename = sameName
	}
	for _, e := range c.errs {
		if rename(e.Field) == rename(field) {
			return true
		}
	}
	return false
}

// usable reports whether m holds a usable value, failing field when m is
// bad, or absent and required.
func (c *checker) usable(field string, m member, required bool) bool {
	switch {
	case m.bad != "":
		c.fail(field, m.bad)
		return false
	case !m.set && required:
		c.fail(field, "is required")
	}
	return m.set
}

// validated adds the errors of a domain validation for the fields that have
// none yet (a field already failed has its accurate error).
func (c *checker) validated(errs feed.FieldErrors) {
	for _, e := range errs {
		c.fail(e.Field, e.Reason)
	}
}

// number returns a number member, failing field when required and absent.
func (c *checker) number(field string, m numMember, required bool) float64 {
	if !c.usable(field, m.member, required) {
		return 0
	}
	return m.v
}

// american returns a required American price: a whole number, also when
// written 1e2, -110.0 or "-110.0".
func (c *checker) american(field string, m numMember) int {
	return c.price(field, m, true, false)
}

// price returns a price member as American odds, failing field when
// required and absent: American (a whole number), or decimal (converted
// by feed.DecimalToAmerican). A decimal 0 of a price not required is
// absent, as an American 0 is.
func (c *checker) price(field string, m numMember, required, decimal bool) int {
	if !c.usable(field, m.member, required) {
		return 0
	}
	if decimal {
		if m.v == 0 && !required {
			return 0
		}
		a, ok := feed.DecimalToAmerican(m.v)
		if !ok {
			c.fail(field, "must be a decimal price from 1.001 to 1001 (oddsFormat decimal)")
			return 0
		}
		return a
	}
	if m.v != math.Trunc(m.v) {
		c.fail(field, "must be an integer")
		return 0
	}
	// Past the valid range, any value out of it gives the range error
	// without overflowing int.
	return int(max(min(m.v, feed.MaxAmerican+1), -feed.MaxAmerican-1))
}

// time returns a time member parsed by parse, failing field with reason
// when it does not parse; ok is false when the member is absent or bad.
func (c *checker) time(field string, m timeMember, parse func(string) (time.Time, bool), reason string) (t time.Time, ok bool) {
	if !c.usable(field, m.member, false) {
		return time.Time{}, false
	}
	if t, ok = parse(m.v); !ok {
		c.fail(field, reason)
	}
	return t, ok
}

// quote fills the spreads and prices of o from an item's members.
func (c *checker) quote(o *feed.Odds, awaySpread, homeSpread, awayOdds, homeOdds numMember) {
	o.AwaySpread = c.number("awaySpread", awaySpread, true)
	o.HomeSpread = c.number("homeSpread", homeSpread, true)
	o.AwayOdds = c.american("awayOdds", awayOdds)
	o.HomeOdds = c.american("homeOdds", homeOdds)
}

package feed

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Length limits.
const (
	MaxIDLen   = 64
	MaxNameLen = 100
	MaxTextLen = 300
)

// FieldError names one field of one input and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// FieldErrors is a list of field errors; nil when the input is valid.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// ValidateID checks an identifier (game id, provider): 1 to 64 characters
// from [A-Za-z0-9._-], starting with a letter or digit. It returns "" when
// valid, else the reason. The charset keeps ids safe inside item keys, which
// use '#' as a separator.
func ValidateID(id string) string {
	if id == "" {
		return "is required"
	}
	if len(id) > MaxIDLen {
		return fmt.Sprintf("must be at most %d characters", MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return "must contain only letters, digits, '.', '_' and '-', starting with a letter or digit"
		}
	}
	return ""
}

func validateName(s string, max int, required bool) string {
	if s == "" {
		if required {
			return "is required"
		}
		return ""
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("must be at most %d characters", max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}

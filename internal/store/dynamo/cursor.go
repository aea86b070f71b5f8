package dynamo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/store"
)

// A cursor is the key at which the next page starts (DynamoDB's
// ExclusiveStartKey), as base64url of the JSON of its string attributes.
// Clients treat it as opaque.

// encodeCursor makes the cursor of the start key m; "" when m is empty.
func encodeCursor(m map[string]types.AttributeValue) string {
	if len(m) == 0 {
		return ""
	}
	flat := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			flat[k] = s.Value
		}
	}
	b, _ := json.Marshal(flat) // a map of strings always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor that must hold exactly the attributes names
// (those of the query's key) and whose fixed attributes have the given
// values. "" decodes to nil (first page). Anything else is ErrBadCursor.
func decodeCursor(c string, names []string, fixed map[string]string) (map[string]types.AttributeValue, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", store.ErrBadCursor)
	}
	var flat map[string]string
	if err := json.Unmarshal(b, &flat); err != nil {
		return nil, fmt.Errorf("%w: not a key", store.ErrBadCursor)
	}
	if len(flat) != len(names) {
		return nil, fmt.Errorf("%w: not a key of this query", store.ErrBadCursor)
	}
	m := make(map[string]types.AttributeValue, len(flat))
	for k, v := range flat {
		if !slices.Contains(names, k) || v == "" {
			return nil, fmt.Errorf("%w: not a key of this query", store.ErrBadCursor)
		}
		if want, ok := fixed[k]; ok && v != want {
			return nil, fmt.Errorf("%w: made for another query", store.ErrBadCursor)
		}
		m[k] = sAV(v)
	}
	return m, nil
}

// pageKey returns the key attributes names of item, the start key of the
// page after it.
func pageKey(item map[string]types.AttributeValue, names []string) map[string]types.AttributeValue {
	m := make(map[string]types.AttributeValue, len(names))
	for _, n := range names {
		m[n] = item[n]
	}
	return m
}

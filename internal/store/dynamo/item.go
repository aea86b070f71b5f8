package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// toAV converts a feed item to DynamoDB's attribute map.
func toAV(it feed.Item) map[string]types.AttributeValue {
	m := make(map[string]types.AttributeValue, len(it))
	for k, a := range it {
		m[k] = attrAV(a)
	}
	return m
}

// attrAV converts one attribute.
func attrAV(a feed.Attr) types.AttributeValue {
	if a.IsN {
		return &types.AttributeValueMemberN{Value: a.N}
	}
	return &types.AttributeValueMemberS{Value: a.S}
}

// fromAV converts a DynamoDB attribute map to a feed item. Attributes of
// types other than S and N are not part of the item scheme and are dropped.
func fromAV(m map[string]types.AttributeValue) feed.Item {
	it := make(feed.Item, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			it[k] = feed.S(v.Value)
		case *types.AttributeValueMemberN:
			it[k] = feed.N(v.Value)
		}
	}
	return it
}

// keyAV is the primary key of an item as DynamoDB wants it.
func keyAV(k feed.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		feed.AttrPK: &types.AttributeValueMemberS{Value: k.PK},
		feed.AttrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// keyOf returns the primary key of a DynamoDB item (or key map).
func keyOf(m map[string]types.AttributeValue) feed.Key {
	return fromAV(map[string]types.AttributeValue{feed.AttrPK: m[feed.AttrPK], feed.AttrSK: m[feed.AttrSK]}).Key()
}

// sAV is a string attribute value.
func sAV(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

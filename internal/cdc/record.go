package cdc

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// Errors of DecodeRecord, wrapped with the detail.
var (
	// ErrMalformedRecord: the record is not a readable "Kinesis Data Streams
	// for DynamoDB" record of our table (bad JSON, missing keys or image,
	// unknown event name, undecodable item).
	ErrMalformedRecord = errors.New("malformed change record")
	// ErrUnknownItemType: the record is well formed but its item is of none
	// of the feed's types (game, odds, market, provider, lease). It is feed.ErrUnknownItemType, so errors.Is matches both.
	ErrUnknownItemType = feed.ErrUnknownItemType
)

// The record shape's constant values.
const (
	recordFormatJSON = "application/json"
	eventSourceDDB   = "aws:dynamodb"
	// TTLPrincipal is the principal of the DynamoDB TTL service in the
	// userIdentity of a REMOVE done by TTL expiry.
	TTLPrincipal = "dynamodb.amazonaws.com"
	// eventUnknownToSDK is what DynamoDB Local's stream (relayed raw) shows
	// for a TTL delete: it has no userIdentity.
	eventUnknownToSDK = "UNKNOWN_TO_SDK_VERSION"
	precisionMilli    = "MILLISECOND"
	precisionMicro    = "MICROSECOND"
)

// record is the JSON of one Kinesis record written by "Kinesis Data Streams
// for DynamoDB". Field order is AWS's, so EncodeRecord writes the same shape.
type record struct {
	AWSRegion    string        `json:"awsRegion"`
	EventID      string        `json:"eventID"`
	EventName    string        `json:"eventName"`
	UserIdentity *userIdentity `json:"userIdentity"`
	RecordFormat string        `json:"recordFormat"`
	TableName    string        `json:"tableName"`
	DynamoDB     *streamRecord `json:"dynamodb"`
	EventSource  string        `json:"eventSource"`
}

type userIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
}

type streamRecord struct {
	ApproximateCreationDateTime          json.Number `json:"ApproximateCreationDateTime"`
	Keys                                 ddbImage    `json:"Keys,omitempty"`
	NewImage                             ddbImage    `json:"NewImage,omitempty"`
	OldImage                             ddbImage    `json:"OldImage,omitempty"`
	SizeBytes                            int64       `json:"SizeBytes"`
	ApproximateCreationDateTimePrecision string      `json:"ApproximateCreationDateTimePrecision,omitempty"`
}

// ddbImage is an item in DynamoDB JSON. Only the S and N types are read
// (feed items use nothing else); attributes of other types (BOOL, NULL, L,
// M, SS, NS, B, BS) decode with both nil and are dropped.
type ddbImage map[string]ddbAttr

type ddbAttr struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
}

func (im ddbImage) item() feed.Item {
	if im == nil {
		return nil
	}
	it := make(feed.Item, len(im))
	for name, a := range im {
		switch {
		case a.S != nil:
			it[name] = feed.S(*a.S)
		case a.N != nil:
			it[name] = feed.N(*a.N)
		}
	}
	return it
}

func imageOf(it feed.Item) ddbImage {
	if it == nil {
		return nil
	}
	im := make(ddbImage, len(it))
	for name, a := range it {
		if a.IsN {
			v := a.N
			im[name] = ddbAttr{N: &v}
		} else {
			v := a.S
			im[name] = ddbAttr{S: &v}
		}
	}
	return im
}

// DecodeRecord decodes the data of one "Kinesis Data Streams for DynamoDB"
// record into a Change. Source and Position are left for the caller (the
// shard id and the record's sequence number).
//
//   - Kind is the eventName. A REMOVE whose userIdentity.type is "Service"
//     (the TTL service) is Expired. DynamoDB Local's TTL deletes, relayed
//     raw from its DynamoDB Stream, show eventName "UNKNOWN_TO_SDK_VERSION"
//     and no userIdentity: they are read as REMOVE, Expired too.
//   - At is ApproximateCreationDateTime, an epoch number in the unit its
//     ApproximateCreationDateTimePrecision names (MILLISECOND or
//     MICROSECOND). Without that field the magnitude decides: above 1e14 it
//     is microseconds, above 1e11 milliseconds, else (DynamoDB Streams'
//     own shape) seconds, possibly fractional.
//   - The images (the table streams NEW_AND_OLD_IMAGES) are decoded by
//     their TYPE (feed.Change.SetImage): a game, odds (of any market), a
//     market status or a provider's liveness. A lease (TYPE=LEASE) decodes
//     with no images: no consumer reads it (the Tailer skips it). Version
//     and ItemType come from the new image, or the old one for a REMOVE.
//
// Errors wrap ErrUnknownItemType for an item of another type, else
// ErrMalformedRecord. It never panics on any input.
func DecodeRecord(data []byte) (feed.Change, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return feed.Change{}, fmt.Errorf("decode change record: %w: %v", ErrMalformedRecord, err)
	}
	c, err := r.change()
	if err != nil {
		return feed.Change{}, fmt.Errorf("decode change record %s: %w", r.EventID, err)
	}
	return c, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedRecord, fmt.Sprintf(format, args...))
}

func (r *record) change() (feed.Change, error) {
	if r.EventSource != "" && r.EventSource != eventSourceDDB {
		return feed.Change{}, malformed("eventSource %q is not %q", r.EventSource, eventSourceDDB)
	}
	if r.RecordFormat != "" && r.RecordFormat != recordFormatJSON {
		return feed.Change{}, malformed("recordFormat %q is not supported", r.RecordFormat)
	}
	if r.DynamoDB == nil {
		return feed.Change{}, malformed("no dynamodb section")
	}
	var c feed.Change
	switch r.EventName {
	case string(feed.ChangeInsert), string(feed.ChangeModify):
		c.Kind = feed.ChangeKind(r.EventName)
	case string(feed.ChangeRemove):
		c.Kind = feed.ChangeRemove
		c.Expired = r.UserIdentity != nil && r.UserIdentity.Type == "Service"
	case eventUnknownToSDK:
		if r.UserIdentity != nil {
			return feed.Change{}, malformed("eventName %s with a userIdentity", r.EventName)
		}
		c.Kind, c.Expired = feed.ChangeRemove, true
	default:
		return feed.Change{}, malformed("unknown eventName %q", r.EventName)
	}
	at, err := creationTime(r.DynamoDB.ApproximateCreationDateTime, r.DynamoDB.ApproximateCreationDateTimePrecision)
	if err != nil {
		return feed.Change{}, err
	}
	c.At = at
	keys := r.DynamoDB.Keys.item()
	c.Key = keys.Key()
	if c.Key.PK == "" || c.Key.SK == "" {
		return feed.Change{}, malformed("Keys lack string PK and SK")
	}
	newIt, oldIt := r.DynamoDB.NewImage.item(), r.DynamoDB.OldImage.item()
	img := newIt
	if c.Kind == feed.ChangeRemove {
		img = oldIt
	}
	if img == nil {
		return feed.Change{}, malformed("%s without its image (is the stream NEW_AND_OLD_IMAGES?)", c.Kind)
	}
	c.ItemType, c.Version = img.Type(), img.Version()
	if img.Key() != c.Key {
		return feed.Change{}, malformed("image key %v differs from Keys %v", img.Key(), c.Key)
	}
	if err := decodeImages(&c, newIt, oldIt); err != nil {
		return feed.Change{}, err
	}
	return c, nil
}

// decodeImages fills the typed images of c (feed.Change.SetImage): a
// game, odds, market status or provider liveness; a lease has none.
func decodeImages(c *feed.Change, newIt, oldIt feed.Item) error {
	for _, im := range []struct {
		it  feed.Item
		old bool
	}{{newIt, false}, {oldIt, true}} {
		if im.it == nil {
			continue
		}
		t := im.it.Type()
		if t != c.ItemType {
			return malformed("images of types %q and %q", c.ItemType, t)
		}
		key, err := c.SetImage(im.it, im.old)
		switch {
		case errors.Is(err, ErrUnknownItemType):
			return fmt.Errorf("%w %q (key %s %s)", ErrUnknownItemType, t, c.Key.PK, c.Key.SK)
		case err != nil:
			return malformed("%v", err)
		case key != c.Key:
			return malformed("an image of %s %v under Keys %v", strings.ToLower(t), key, c.Key)
		}
	}
	return nil
}

// creationTime reads ApproximateCreationDateTime (see DecodeRecord).
func creationTime(n json.Number, precision string) (time.Time, error) {
	if n == "" {
		return time.Time{}, malformed("no ApproximateCreationDateTime")
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		switch {
		case precision == precisionMicro, precision == "" && i > 1e14:
			return time.UnixMicro(i).UTC(), nil
		case precision == precisionMilli, precision == "" && i > 1e11:
			return time.UnixMilli(i).UTC(), nil
		case precision == "":
			return time.Unix(i, 0).UTC(), nil
		}
		return time.Time{}, malformed("unknown ApproximateCreationDateTimePrecision %q", precision)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e17 {
		return time.Time{}, malformed("bad ApproximateCreationDateTime %s", n)
	}
	switch {
	case precision == precisionMicro, precision == "" && f > 1e14:
		return time.UnixMicro(int64(math.Round(f))).UTC(), nil
	case precision == precisionMilli, precision == "" && f > 1e11:
		return time.UnixMicro(int64(math.Round(f * 1e3))).UTC(), nil
	case precision == "":
		return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), nil
	}
	return time.Time{}, malformed("unknown ApproximateCreationDateTimePrecision %q", precision)
}

// RecordInput is one change as a DynamoDB Stream reports it, to be written
// as a "Kinesis Data Streams for DynamoDB" record by EncodeRecord.
type RecordInput struct {
	// EventName is INSERT, MODIFY or REMOVE.
	EventName feed.ChangeKind
	// EventID is the record's id; "" makes a random one.
	EventID string
	// Region and TableName name the table (defaults "us-east-1", "oddsfeed").
	Region, TableName string
	// Keys is the item's key; zero takes it from the new (else old) image.
	Keys feed.Key
	// NewImage and OldImage are the item after and before the change; nil
	// where the event has none.
	NewImage, OldImage feed.Item
	// At is the approximate creation time, written in microseconds with
	// MICROSECOND precision (zero: now).
	At time.Time
	// TTL marks a REMOVE done by the TTL service: userIdentity is then
	// {"type":"Service","principalId":"dynamodb.amazonaws.com"}.
	TTL bool
}

// EncodeRecord writes a change in the exact shape AWS's "Kinesis Data
// Streams for DynamoDB" gives a Kinesis record's data. The dev bridge and
// test fixtures use it; DecodeRecord reads it back.
func EncodeRecord(in RecordInput) ([]byte, error) {
	switch in.EventName {
	case feed.ChangeInsert, feed.ChangeModify:
		if in.NewImage == nil {
			return nil, fmt.Errorf("encode change record: %s needs a new image", in.EventName)
		}
	case feed.ChangeRemove:
		if in.OldImage == nil {
			return nil, fmt.Errorf("encode change record: REMOVE needs an old image")
		}
	default:
		return nil, fmt.Errorf("encode change record: unknown event name %q", in.EventName)
	}
	if in.TTL && in.EventName != feed.ChangeRemove {
		return nil, fmt.Errorf("encode change record: TTL on a %s", in.EventName)
	}
	keys := in.Keys
	if keys == (feed.Key{}) {
		keys = in.OldImage.Key()
		if in.NewImage != nil {
			keys = in.NewImage.Key()
		}
	}
	r := record{
		AWSRegion:    cmp.Or(in.Region, "us-east-1"),
		EventID:      in.EventID,
		EventName:    string(in.EventName),
		RecordFormat: recordFormatJSON,
		TableName:    cmp.Or(in.TableName, "oddsfeed"),
		EventSource:  eventSourceDDB,
	}
	if r.EventID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		r.EventID = hex.EncodeToString(b[:])
	}
	if in.TTL {
		r.UserIdentity = &userIdentity{Type: "Service", PrincipalID: TTLPrincipal}
	}
	at := in.At
	if at.IsZero() {
		at = time.Now()
	}
	keyItem := feed.Item{feed.AttrPK: feed.S(keys.PK), feed.AttrSK: feed.S(keys.SK)}
	r.DynamoDB = &streamRecord{
		ApproximateCreationDateTime:          json.Number(strconv.FormatInt(at.UnixMicro(), 10)),
		Keys:                                 imageOf(keyItem),
		NewImage:                             imageOf(in.NewImage),
		OldImage:                             imageOf(in.OldImage),
		SizeBytes:                            itemSize(keyItem) + itemSize(in.NewImage) + itemSize(in.OldImage),
		ApproximateCreationDateTimePrecision: precisionMicro,
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode change record: %w", err)
	}
	return b, nil
}

// itemSize approximates DynamoDB's item size: names plus values.
func itemSize(it feed.Item) int64 {
	var n int
	for name, a := range it {
		n += len(name) + len(a.S) + len(strings.TrimLeft(a.N, "-"))
	}
	return int64(n)
}

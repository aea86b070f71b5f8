package kinesis

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/cdc"
)

// kinesis-mock's shard iterators are AES-256-CBC encryptions, under a key
// fixed in its source (models/ShardIterator.scala), of
// "<14-digit epoch millis>/<stream>/<shard>/<sequence number>/<zeros>",
// after 8 header bytes. It answers ExpiredIteratorException when the time is
// more than 300 s old. These helpers let a test meet a real expiry without
// waiting five minutes.
var (
	iterKey, _ = hex.DecodeString("1133a5a833666b49abf28c8ba302930f0b2fb240dccd43cf4dfbc0ca91f17751")
	iterIV, _  = hex.DecodeString("7bf139dbabbea2d9995d6fcae1dff7da")
)

// openIterator decrypts a kinesis-mock iterator into its parts.
func openIterator(t *testing.T, iter string) []string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(iter)
	if err != nil || len(raw) < 8+aes.BlockSize || (len(raw)-8)%aes.BlockSize != 0 {
		t.Fatalf("iterator %q is not kinesis-mock's shape (%v)", iter, err)
	}
	block, err := aes.NewCipher(iterKey)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, len(raw)-8)
	cipher.NewCBCDecrypter(block, iterIV).CryptBlocks(plain, raw[8:])
	plain = plain[:len(plain)-int(plain[len(plain)-1])] // PKCS#7
	return strings.Split(string(plain), "/")
}

// sealIterator encrypts parts into a kinesis-mock iterator.
func sealIterator(t *testing.T, parts []string) string {
	t.Helper()
	block, err := aes.NewCipher(iterKey)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(strings.Join(parts, "/"))
	pad := aes.BlockSize - len(msg)%aes.BlockSize
	msg = append(msg, bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, 8, 8+len(msg))
	out[7] = 1
	out = out[:8+len(msg)]
	cipher.NewCBCEncrypter(block, iterIV).CryptBlocks(out[8:], msg)
	return base64.StdEncoding.EncodeToString(out)
}

// expire ages an iterator to 301 s.
func expire(t *testing.T, iter string) string {
	t.Helper()
	parts := openIterator(t, iter)
	if len(parts) != 5 {
		t.Fatalf("decrypted iterator %q has %d parts, want 5", parts, len(parts))
	}
	parts[0] = fmt.Sprintf("%014d", time.Now().Add(-301*time.Second).UnixMilli())
	return sealIterator(t, parts)
}

// TestExpiredIteratorRenewed reads two records, lets the iterator expire
// and checks the reader renews it after the last delivered record.
func TestExpiredIteratorRenewed(t *testing.T) {
	kin := newClient(t)
	name := newStream(t, kin, 1)
	puts := putRecords(t, kin, name, odds(t, 1, 0, 6))
	o := quick(name)
	o.Limit = 2
	tests := []struct {
		name  string
		start cdc.Start
		// delivered is how many records were delivered before expiry.
		delivered int
	}{
		{"after delivered records", cdc.Start{Kind: cdc.TrimHorizon}, 2},
		{"before any record, from the start", cdc.After(puts[2].seq), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := New(kin, o)
			r := &shardReader{src: src, shard: puts[0].shard, start: tt.start, log: slog.Default()}
			if err := r.renew(t.Context()); err != nil {
				t.Fatalf("renew: %v", err)
			}
			want := puts[3:5]
			if tt.delivered > 0 {
				out, err := r.fetch(t.Context())
				if err != nil || len(out.Records) != 2 {
					t.Fatalf("first fetch: %d records, %v", len(out.Records), err)
				}
				r.last, r.iter = aws.ToString(out.Records[1].SequenceNumber), out.NextShardIterator
				want = puts[2:4]
			}
			r.iter = aws.String(expire(t, aws.ToString(r.iter)))
			_, err := kin.GetRecords(t.Context(), &awskinesis.GetRecordsInput{ShardIterator: r.iter})
			var expired *types.ExpiredIteratorException
			if !errors.As(err, &expired) {
				t.Fatalf("GetRecords with the aged iterator: %v, want ExpiredIteratorException", err)
			}
			out, err := r.fetch(t.Context())
			if err != nil {
				t.Fatalf("fetch after expiry: %v", err)
			}
			if r.renewals != 1 {
				t.Errorf("renewals = %d, want 1", r.renewals)
			}
			var got []string
			for _, rec := range out.Records {
				got = append(got, aws.ToString(rec.SequenceNumber))
			}
			if w := []string{want[0].seq, want[1].seq}; strings.Join(got, ",") != strings.Join(w, ",") {
				t.Fatalf("records after renewal %v, want %v", got, w)
			}
		})
	}
}

// TestBadIteratorIsFatal: an iterator of the wrong form is
// InvalidArgumentException, which retrying cannot mend. (Bytes kinesis-mock
// cannot decrypt at all make it answer HTTP 500 instead, which is retried.)
func TestBadIteratorIsFatal(t *testing.T) {
	kin := newClient(t)
	name := newStream(t, kin, 1)
	r := &shardReader{src: New(kin, quick(name)), shard: "shardId-000000000000", log: slog.Default(),
		iter: aws.String(sealIterator(t, []string{"not", "an", "iterator"}))}
	_, err := r.fetch(t.Context())
	if err == nil || classify(err) != classFatal {
		t.Fatalf("fetch with a bad iterator: %v, want a fatal error", err)
	}
	t.Logf("kinesis-mock answers a bad iterator with: %v", err)
}

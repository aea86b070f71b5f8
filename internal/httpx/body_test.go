package httpx_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadBodyGzip(t *testing.T) {
	const limit = 1000
	body := strings.Repeat(`{"odds":[]}`, 50) // 550 bytes
	bomb := gz(t, strings.Repeat("0", 1<<20)) // 1 MiB in about 1 KiB
	valid := gz(t, body)
	tests := []struct {
		name     string
		encoding string
		body     []byte
		declared bool // send Content-Length
		want     string
		status   int // 0: no error
	}{
		{"gzip", "gzip", valid, true, body, 0},
		{"x-gzip, case and spaces", " X-GZIP ", valid, false, body, 0},
		{"identity", "identity", []byte(body), true, body, 0},
		{"decompressed exactly the limit", "gzip", gz(t, strings.Repeat("a", limit)), false, strings.Repeat("a", limit), 0},
		{"decompressed one over the limit", "gzip", gz(t, strings.Repeat("a", limit+1)), false, "", 413},
		{"gzip bomb", "gzip", bomb, false, "", 413},
		{"gzip bomb, declared length", "gzip", bomb, true, "", 413},
		{"corrupt", "gzip", append(valid[:10:10], "not deflate at all"...), false, "", 400},
		{"truncated", "gzip", valid[:len(valid)-6], false, "", 400},
		{"not gzip at all", "gzip", []byte(body), false, "", 400},
		{"empty", "gzip", nil, false, "", 400},
		{"bad checksum", "gzip", append(valid[:len(valid)-8:len(valid)-8], 0, 0, 0, 0, 0, 0, 0, 0), false, "", 400},
		{"unsupported", "br", valid, false, "", 415},
		{"stacked encodings", "gzip, gzip", valid, false, "", 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tt.body))
			r.Header.Set("Content-Encoding", tt.encoding)
			if !tt.declared {
				r.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			b, err := httpx.ReadBody(rec, r, limit)
			if tt.status == 0 {
				if err != nil || string(b) != tt.want {
					t.Fatalf("err %v, body %q", err, b)
				}
				return
			}
			if got := httpx.StatusOf(err); got != tt.status {
				t.Fatalf("status %d (%v), want %d", got, err, tt.status)
			}
			if tt.status == 415 && rec.Header().Get("Accept-Encoding") != "gzip" {
				t.Fatalf("415 without Accept-Encoding: gzip")
			}
			if tt.status == 400 && !strings.Contains(err.Error(), "not a valid gzip stream") {
				t.Fatalf("unclear error %q", err)
			}
		})
	}
}

// TestReadBodyGzipReadsLittleOfABomb checks that a gzip bomb is refused
// after reading about limit bytes of its output, not all of it.
func TestReadBodyGzipReadsLittleOfABomb(t *testing.T) {
	src := &countingReader{r: bytes.NewReader(gz(t, strings.Repeat("0", 4<<20)))}
	r := httptest.NewRequest(http.MethodPost, "/", src)
	r.Header.Set("Content-Encoding", "gzip")
	if _, err := httpx.ReadBody(httptest.NewRecorder(), r, 1000); !errors.Is(err, httpx.ErrBodyTooLarge) {
		t.Fatalf("err %v", err)
	}
	if src.n > 2<<10 {
		t.Fatalf("read %d compressed bytes to refuse a 1000-byte limit", src.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReadBodyGzip feeds arbitrary bytes as a gzip body: never a panic,
// never more than the limit, and only the errors of the status table.
func FuzzReadBodyGzip(f *testing.F) {
	f.Add(gz(f, `{"odds":[]}`))
	f.Add(gz(f, strings.Repeat("x", 5000)))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("plain"))
	f.Add(append(gz(f, "a"), gz(f, "b")...)) // two members
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 4096
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
		r.Header.Set("Content-Encoding", "gzip")
		b, err := httpx.ReadBody(httptest.NewRecorder(), r, limit)
		if err != nil {
			if s := httpx.StatusOf(err); s != 400 && s != 413 {
				t.Fatalf("status %d for %v", s, err)
			}
			return
		}
		if len(b) > limit {
			t.Fatalf("%d bytes over a %d limit", len(b), limit)
		}
		zr, zerr := gzip.NewReader(bytes.NewReader(data))
		if zerr != nil {
			t.Fatalf("accepted what gzip refuses: %v", zerr)
		}
		if want, _ := io.ReadAll(zr); !bytes.Equal(b, want) {
			t.Fatalf("body %q, want %q", b, want)
		}
	})
}

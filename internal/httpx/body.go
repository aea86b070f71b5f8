package httpx

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ReadBody reads the whole request body, refusing more than limit bytes
// with ErrBodyTooLarge (413 in the status table). A Content-Length over the
// limit is refused before reading.
//
// A body sent with Content-Encoding gzip (or x-gzip) is decompressed, and
// the limit applies to the decompressed bytes, so a gzip bomb is a 413 after
// reading at most limit+1 bytes of it; a corrupt stream is ErrBadEncoding
// (400). Any other encoding is ErrUnsupportedEncoding (415, with an
// Accept-Encoding header naming gzip, RFC 7694).
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return readPlain(w, r, limit)
	case "gzip", "x-gzip":
		return readGzip(w, r, limit)
	}
	w.Header().Set("Accept-Encoding", "gzip")
	return nil, fmt.Errorf("%w: Content-Encoding %q; send gzip or no encoding", ErrUnsupportedEncoding, enc)
}

func readPlain(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit, "")
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		return nil, readError(err, limit, "")
	}
	return buf.Bytes(), nil
}

// gzipOverhead bounds how much bigger than its content a gzip stream can
// be: a header and trailer, and 5 bytes per stored (incompressible) block of
// up to 64 KiB. A compressed body longer than limit+gzipOverhead(limit)
// cannot decompress to limit bytes or less.
func gzipOverhead(limit int64) int64 { return 1024 + limit/1024 }

func readGzip(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	const how = ", decompressed"
	rawLimit := limit + gzipOverhead(limit)
	if r.ContentLength > rawLimit {
		return nil, tooLarge(limit, how)
	}
	// src remembers the error of reading the request itself, to tell a
	// broken connection or an over-long body from a corrupt gzip stream.
	src := &errReader{r: http.MaxBytesReader(w, r.Body, rawLimit)}
	zr, err := gzip.NewReader(src)
	if err == nil {
		var buf bytes.Buffer
		var n int64
		n, err = buf.ReadFrom(io.LimitReader(zr, limit+1))
		switch {
		case err == nil && n > limit:
			return nil, tooLarge(limit, how)
		case err == nil:
			return buf.Bytes(), nil
		}
	}
	if src.err != nil {
		return nil, readError(src.err, limit, how)
	}
	return nil, fmt.Errorf("%w: the body is not a valid gzip stream (%v)", ErrBadEncoding, err)
}

// errReader records the first error other than io.EOF of reading r.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

func tooLarge(limit int64, how string) error {
	return fmt.Errorf("read body: %w (limit %d bytes%s)", ErrBodyTooLarge, limit, how)
}

func readError(err error, limit int64, how string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit, how)
	}
	return fmt.Errorf("%w: %w", ErrBodyRead, err)
}

package httpx

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
)

// ReadBody reads the whole request body, refusing more than limit bytes
// with ErrBodyTooLarge (413 in the status table). A Content-Length over the
// limit is refused before reading.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("read body: %w (limit %d bytes)", ErrBodyTooLarge, limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("read body: %w (limit %d bytes)", ErrBodyTooLarge, limit)
		}
		return nil, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	return buf.Bytes(), nil
}

package ingest_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentPosts runs both batch forms from many goroutines (run it
// with -race): every item is stored once, and the shared caches and rate
// buckets stay consistent.
func TestConcurrentPosts(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.putGame("g1")
	base := time.Now().Add(-time.Hour).UTC()
	const workers, perWorker = 8, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var items []string
			for i := range perWorker {
				at := base.Add(time.Duration(w*perWorker+i) * time.Millisecond)
				if w%2 == 0 {
					items = append(items, goodItem("g1", at).json())
				} else {
					items = append(items, refItem("g2", base.Add(-time.Hour), at, true, -110))
				}
			}
			path, method := "/v1/odds", http.MethodPost
			if w%2 == 1 {
				path, method = "/feeds", http.MethodPut
			}
			// Post twice: the second time every item is a duplicate.
			for range 2 {
				if rec := e.do(method, path, e.provider, batch(items...)); rec.Code != 200 {
					t.Errorf("worker %d: %d %s", w, rec.Code, rec.Body)
				}
			}
		}()
	}
	wg.Wait()
	for _, g := range []string{"g1", "g2"} {
		if n := len(e.odds(g)); n != workers/2*perWorker {
			t.Errorf("game %s: %d odds, want %d", g, n, workers/2*perWorker)
		}
	}
}

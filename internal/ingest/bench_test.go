package ingest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPostOddsHTTP posts batches of 500 odds over real HTTP (loopback)
// to the full router (auth, ingest, embedded store) from 4 concurrent
// clients, and reports odds/s and the p99 request latency.
func BenchmarkPostOddsHTTP(b *testing.B) {
	const batchSize, clients = 500, 4
	e := newEnv(b, envOpt{})
	for g := range 10 {
		e.putGame(fmt.Sprintf("g%d", g))
	}
	srv := httptest.NewServer(e.router)
	defer srv.Close()
	base := time.Now().Add(-2 * time.Hour).UTC()
	var seq atomic.Int64
	body := func() []byte {
		n := seq.Add(1)
		var sb strings.Builder
		sb.WriteString(`{"odds":[`)
		for i := range batchSize {
			if i > 0 {
				sb.WriteByte(',')
			}
			at := base.Add(time.Duration(n*batchSize+int64(i)) * time.Microsecond)
			fmt.Fprintf(&sb, `{"gameId":"g%d","observedAt":%q,"awaySpread":3.5,"homeSpread":-3.5,"awayOdds":-110,"homeOdds":105}`,
				i%10, at.Format(time.RFC3339Nano))
		}
		sb.WriteString(`]}`)
		return []byte(sb.String())
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/odds", bytes.NewReader(bodies[n-1]))
				req.Header.Set("Authorization", "Bearer "+e.provider)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat)*batchSize)/elapsed.Seconds(), "odds/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

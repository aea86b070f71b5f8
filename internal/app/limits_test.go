package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
)

// serveLogged runs a server as serve does (app.NewServer + Serve on port
// 0, so with the http.Server's timeouts) and returns its base URL and its
// JSON log.
func serveLogged(t *testing.T, vars map[string]string) (string, *syncBuffer) {
	t.Helper()
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.NewServer(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(u string) { urls <- u }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case u := <-urls:
		return u, logs
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
		return "", nil
	}
}

// logRecords returns the JSON log records whose msg is msg.
func logRecords(t *testing.T, logs *syncBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func randomToken(r *rand.Rand, n int) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// TestMetricLabelsAreBounded: unauthenticated requests with made-up methods
// and paths add no series to /metrics per request, and nothing they send
// becomes a label value.
func TestMetricLabelsAreBounded(t *testing.T) {
	k := newKeys()
	base, _ := serveLogged(t, map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec})
	series := func() (int, string) {
		text := scrape(t, base, k.admin)
		n := 0
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "oddsfeed_http_") {
				n++
			}
		}
		return n, text
	}
	r := rand.New(rand.NewPCG(1, 2))
	var sent []string
	flood := func() {
		for i := range 300 {
			method := []string{"GET", "POST", "DELETE"}[i%3]
			if i%2 == 0 {
				method = "X" + randomToken(r, 8)
				sent = append(sent, method)
			}
			path := "/" + randomToken(r, 10) + "/" + randomToken(r, 6)
			sent = append(sent, path)
			req, err := http.NewRequest(method, base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	series() // the scrape's own series
	n0, _ := series()
	flood()
	n1, _ := series()
	flood()
	n2, text := series()
	t.Logf("oddsfeed_http_ series: %d before, %d after 300 requests, %d after 600", n0, n1, n2)
	if n1-n0 > 60 || n2 != n1 {
		t.Errorf("random requests grew the series: %d, %d, %d", n0, n1, n2)
	}
	for _, s := range sent {
		if strings.Contains(text, s) {
			t.Fatalf("client input %q is a label value in /metrics", s)
		}
	}
	if !strings.Contains(text, `method="other",route="unmatched"`) {
		t.Errorf("no series for unknown methods on unmatched routes:\n%s", text)
	}
}

// TestSlowBodyIsCutOff: a body sent a byte at a time is cut off by the read
// timeout; headers above the limit are refused.
func TestSlowBodyIsCutOff(t *testing.T) {
	base, _ := serveLogged(t, map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": newKeys().spec,
		"ODDSFEED_READ_TIMEOUT": "1s"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /signin HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8000\r\n\r\n",
		strings.TrimPrefix(base, "http://"))
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the attacker: a byte every 50 ms, 400 s for the whole body
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.Copy(io.Discard, conn) // until the server closes the connection
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("slow body still open after %v", time.Since(start))
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Fatalf("slow body closed after %v, read timeout 1s", took)
	}
	t.Logf("slow body closed after %v", time.Since(start))

	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 128<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("128 KiB of headers = %d, want 431", resp.StatusCode)
	}
}

// TestStreamOutlivesServerTimeouts: the read and write timeouts do not cut
// the live stream: a WebSocket keeps sending and receiving well past them.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	k := newKeys()
	base, _ := serveLogged(t, map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec,
		"ODDSFEED_READ_TIMEOUT": "1s", "ODDSFEED_WRITE_TIMEOUT": "1s"})
	prov := client{t, base, k.provider}
	prov.want(201, "PUT", "/v1/games/w1", map[string]any{"sport": "golf", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	ws := dial(t, base, "", k.analyst)
	opened := time.Now()
	send(t, ws, map[string]any{"type": "subscribe", "topics": []string{"game:w1"}})
	syncPoint(t, ws)
	at := time.Now().UTC().Add(-time.Hour)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	received := 0
	for i := 0; time.Since(opened) < 3*time.Second; i++ { // three times the timeouts
		<-tick.C
		item := oddsJSON{GameID: "w1", ObservedAt: at.Add(time.Duration(i) * time.Second), AwaySpread: 1, HomeSpread: -1, AwayOdds: 100 + i, HomeOdds: -110}
		prov.want(200, "POST", "/v1/odds", map[string]any{"odds": []oddsJSON{item}}, nil)
		for f := read[frame](t, ws); f.Type != "odds"; f = read[frame](t, ws) {
		}
		received++
	}
	// The server still reads the client: a request is answered.
	syncPoint(t, ws)
	t.Logf("%d odds received over %v with 1s read and write timeouts", received, time.Since(opened))
}

// TestForwardedForOnlyFromTrustedProxies: X-Forwarded-For and X-Real-IP
// set the client address only when the peer is a trusted proxy.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name, trusted, xff, want string
	}{
		{"no proxies trusted", "", "203.0.113.7", "127.0.0.1"},
		{"peer not trusted", "10.0.0.0/8, 192.0.2.1", "203.0.113.7", "127.0.0.1"},
		{"peer trusted", "127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"proxy chain", "127.0.0.0/8,10.0.0.0/8", "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"},
		{"garbage in the chain", "127.0.0.1", "203.0.113.7, not-an-ip", "127.0.0.1"},
		{"X-Real-IP from a trusted peer", "127.0.0.1", "", "198.51.100.99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, logs := serveLogged(t, map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": newKeys().spec,
				"ODDSFEED_TRUSTED_PROXIES": tc.trusted})
			req, _ := http.NewRequest("GET", base+"/healthz", nil)
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			req.Header.Set("X-Real-IP", "198.51.100.99")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			var remote any
			eventually(t, 5*time.Second, "the request's log line", func() bool {
				for _, rec := range logRecords(t, logs, "request") {
					if rec["request_id"] == id {
						remote = rec["remote"]
						return true
					}
				}
				return false
			})
			if host, _, err := net.SplitHostPort(fmt.Sprint(remote)); err != nil || host != tc.want {
				t.Fatalf("remote = %v, want %s:port", remote, tc.want)
			}
		})
	}
}

// TestReadyzLogsChangesOnce: while Postgres is down every /readyz is a 503
// naming it, but the log says so once, and once when it is back.
func TestReadyzLogsChangesOnce(t *testing.T) {
	pg, err := harness.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	dsn := pg.NewDatabase(t)
	if err := reporting.Migrate(context.Background(), dsn, reporting.MigrateUp, io.Discard); err != nil {
		t.Fatal(err)
	}
	base, logs := serveLogged(t, map[string]string{"ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": newKeys().spec,
		"ODDSFEED_DATABASE_URL": dsn})
	anon := client{t, base, ""}
	eventually(t, 30*time.Second, "ready", func() bool { return anon.do("GET", "/readyz", nil, nil) == 200 })
	if err := pg.Pause(); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		var ready map[string]string
		anon.want(503, "GET", "/readyz", nil, &ready)
		if ready["postgres"] != "unreachable" || ready["store"] != "ok" {
			t.Fatalf("readyz during the outage = %v", ready)
		}
	}
	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "ready again", func() bool { return anon.do("GET", "/readyz", nil, nil) == 200 })
	for range 5 {
		anon.want(200, "GET", "/readyz", nil, nil)
	}
	for msg, want := range map[string]int{"not ready": 1, "ready again": 1} {
		n := 0
		for _, rec := range logRecords(t, logs, msg) {
			if rec["check"] == "postgres" {
				n++
			}
		}
		if n != want {
			t.Errorf("%d %q log lines for postgres, want %d", n, msg, want)
		}
	}
}

package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/harness"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

// startServer runs the server with vars on port 0 until the benchmark ends.
func startServer(b *testing.B, vars map[string]string) string {
	b.Helper()
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	srv, err := app.NewServer(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urlc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(u string) { urlc <- u }) }()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case u := <-urlc:
		return u
	case err := <-done:
		b.Fatalf("serve: %v", err)
	}
	return ""
}

// runIngest posts total odds in batches of 500 with conc requests in flight
// and reports odds/s and request latency percentiles.
func runIngest(b *testing.B, url, key string, total, conc int) {
	b.Helper()
	var last simulate.Result
	for i := 0; i < b.N; i++ {
		res, err := simulate.Run(context.Background(), simulate.Options{
			BaseURL: url, Key: key, Games: 100, Batch: 500, Concurrency: conc, Total: total,
			GamePrefix: fmt.Sprintf("bench-%d-", i), Seed: uint64(i + 1),
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.Failed > 0 {
			b.Fatalf("%d of %d requests failed (last status %d)", res.Failed, res.Requests, res.LastStatus)
		}
		last = res
	}
	b.ReportMetric(last.OddsPerSecond(), "odds/s")
	b.ReportMetric(float64(last.Percentile(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(last.Percentile(0.99).Microseconds())/1000, "p99-ms")
	b.Logf("%d odds in %d requests of 500: %.0f odds/s, p50 %v, p99 %v", last.Odds, last.Requests,
		last.OddsPerSecond(), last.Percentile(0.50), last.Percentile(0.99))
}

func keySpec() (string, string) {
	key, hash := auth.NewKey()
	return key, "bench:provider:" + hash
}

// BenchmarkIngestHTTP measures ingest over HTTP, batches of 500: on the
// embedded back end (the target: >= 50,000 odds/s, p99 < 50 ms on 2 cores),
// and on DynamoDB Local for reference (an emulator: figures are not AWS's).
func BenchmarkIngestHTTP(b *testing.B) {
	for _, conc := range []int{2, 4} {
		b.Run(fmt.Sprintf("embedded/conc=%d", conc), func(b *testing.B) {
			key, spec := keySpec()
			url := startServer(b, map[string]string{
				"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": b.TempDir(), "ODDSFEED_API_KEYS": spec,
				"ODDSFEED_LOG_LEVEL": "error",
			})
			runIngest(b, url, key, 300_000, conc)
		})
	}
	b.Run("dynamodb-local", func(b *testing.B) {
		ddb, err := harness.StartDynamoDB()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = ddb.Stop() })
		o := awsclient.Options{Region: harness.Region, DynamoDBEndpoint: ddb.URL, AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
		cfg, err := awsclient.Load(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.CreateTable(ctx, awsclient.DynamoDB(cfg, o), "bench"); err != nil {
			b.Fatal(err)
		}
		key, spec := keySpec()
		url := startServer(b, map[string]string{
			"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_BACKEND": "aws", "ODDSFEED_TABLE": "bench",
			"ODDSFEED_DYNAMODB_ENDPOINT": ddb.URL, "AWS_REGION": harness.Region,
			"AWS_ACCESS_KEY_ID": harness.AccessKey, "AWS_SECRET_ACCESS_KEY": harness.SecretKey,
			"ODDSFEED_API_KEYS": spec, "ODDSFEED_LOG_LEVEL": "error", "ODDSFEED_DATA_DIR": b.TempDir(),
		})
		runIngest(b, url, key, 10_000, 4)
	})
}

package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/app"
)

// TestMetricsMoveOnFaults runs the aws back end (emulators, the dev bridge
// duplicating records) with reporting, and moves the fault series of
// /metrics:
//
//   - oddsfeed_cdc_filtered_total{consumer="broadcast"}: the bridge writes
//     every other record twice; the broadcast's guard drops the copies;
//   - oddsfeed_cdc_apply_errors_total{consumer="reporting"}: the sync's
//     checkpoints table is hidden (renamed), so applying a batch fails and
//     is retried until it is back;
//   - oddsfeed_cdc_bad_records_total (both consumers) and
//     oddsfeed_sync_dead_letters: an undecodable record put on the Kinesis
//     stream is counted by each consumer and parked by the sync;
//   - oddsfeed_cdc_failing{consumer="reporting"}: 1 while the apply fails,
//     0 again once it succeeds.
//
// GET /v1/pipeline shows the same: the failing consumer's last error, then
// the bad records and the dead letter.
func TestMetricsMoveOnFaults(t *testing.T) {
	k := newKeys()
	vars := backends(t, k)["aws"]
	provisionStream(t, vars)
	vars["ODDSFEED_DEV_BRIDGE_DUPLICATE_EVERY"] = "2"
	dsn := reportingDB(t)
	vars["ODDSFEED_DATABASE_URL"] = dsn
	base := serve(t, vars)
	admin := func() string { return scrape(t, base, k.admin) }
	value := func(text, series string) float64 { v, _ := sampleOK(text, series); return v }
	eventually(t, 30*time.Second, "the server to be ready", func() bool {
		return client{t, base, ""}.do("GET", "/readyz", nil, nil) == 200
	})

	// Changes through both consumers; the bridge's copies are filtered.
	prov := client{t, base, k.provider}
	prov.want(201, "PUT", "/v1/games/mf1", map[string]any{"sport": "golf", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	at := time.Now().UTC().Add(-time.Minute)
	var items []oddsJSON
	for i := range 4 {
		items = append(items, oddsJSON{GameID: "mf1", ObservedAt: at.Add(time.Duration(i) * time.Second), AwaySpread: 1, HomeSpread: -1, AwayOdds: 120 + i, HomeOdds: -140})
	}
	prov.want(200, "POST", "/v1/odds", map[string]any{"odds": items}, nil)
	// The game, four odds, and the provider's liveness (its odds say it is
	// alive: heard once, before they are stored).
	eventually(t, 60*time.Second, "6 changes applied by each consumer, copies filtered", func() bool {
		m := admin()
		return value(m, `oddsfeed_cdc_changes_total{consumer="broadcast"}`) == 6 &&
			value(m, `oddsfeed_cdc_changes_total{consumer="reporting"}`) >= 6 &&
			value(m, `oddsfeed_cdc_filtered_total{consumer="broadcast"}`) >= 1
	})
	before := admin()
	for _, s := range []string{`oddsfeed_cdc_apply_errors_total{consumer="reporting"}`, `oddsfeed_cdc_bad_records_total{consumer="broadcast"}`,
		`oddsfeed_cdc_bad_records_total{consumer="reporting"}`, `oddsfeed_sync_dead_letters`} {
		if v := sample(t, before, s); v != 0 {
			t.Fatalf("%s = %v before the faults", s, v)
		}
	}

	restore := hideCheckpoints(t, dsn)
	_, err := kinesisClient(t).PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(vars["ODDSFEED_STREAM"]),
		PartitionKey: aws.String("GAME#mf1"), Data: []byte(`{"eventName":"INSERT","dynamodb":`)})
	if err != nil {
		t.Fatalf("put an undecodable record: %v", err)
	}
	eventually(t, 60*time.Second, "an apply error of the sync, the bad record counted by the broadcast", func() bool {
		m := admin()
		return value(m, `oddsfeed_cdc_apply_errors_total{consumer="reporting"}`) >= 1 && value(m, `oddsfeed_cdc_failing{consumer="reporting"}`) == 1 &&
			value(m, `oddsfeed_cdc_bad_records_total{consumer="broadcast"}`) == 1
	})
	// The pipeline page's API says so too (analyst role).
	st := pipelineStatus(t, base, k.analyst)
	if c := st.consumer("reporting"); c.Failures < 1 || !c.Failing || c.LastError == "" {
		t.Errorf("GET /v1/pipeline reporting consumer during the outage: %+v", c)
	}
	if st.Reporting == nil || st.Reporting.Error == "" {
		t.Errorf("GET /v1/pipeline reporting part with its checkpoints hidden: %+v", st.Reporting)
	}

	restore()
	eventually(t, 60*time.Second, "the sync to recover and park the bad record", func() bool {
		m := admin()
		return value(m, `oddsfeed_cdc_bad_records_total{consumer="reporting"}`) == 1 && value(m, `oddsfeed_sync_dead_letters`) == 1 &&
			value(m, `oddsfeed_cdc_failing{consumer="reporting"}`) == 0
	})
	after := admin()
	if v := sample(t, after, `oddsfeed_cdc_changes_total{consumer="broadcast"}`); v != 6 {
		t.Errorf("broadcast changes after the faults = %v, want 6 (the bad record is no change)", v)
	}
	st = pipelineStatus(t, base, k.analyst)
	for _, name := range []string{"broadcast", "reporting"} {
		if c := st.consumer(name); c.Bad != 1 || len(c.Sources) != 2 {
			t.Errorf("GET /v1/pipeline %s after the faults: %+v, want 1 bad record and 2 shards", name, c)
		}
	}
	if st.Reporting == nil || st.Reporting.Error != "" || st.Reporting.UnresolvedDeadLetters != 1 {
		t.Errorf("GET /v1/pipeline reporting part after the faults: %+v, want 1 dead letter", st.Reporting)
	}
}

// status is GET /v1/pipeline's answer.
type status app.PipelineStatus

func pipelineStatus(t *testing.T, base, key string) status {
	t.Helper()
	var st status
	client{t, base, key}.want(200, "GET", "/v1/pipeline", nil, &st)
	return st
}

func (s status) consumer(name string) app.ConsumerStatus {
	for _, c := range s.Consumers {
		if c.Name == name {
			return c
		}
	}
	return app.ConsumerStatus{}
}

// hideCheckpoints renames the reporting sync's checkpoints table, so that
// every apply fails (and is retried), until the returned restore (also run
// when the test ends).
func hideCheckpoints(t *testing.T, dsn string) (restore func()) {
	t.Helper()
	pg := func(sql string) {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	pg(`ALTER TABLE sync_checkpoints RENAME TO sync_checkpoints_hidden`)
	restored := false
	restore = func() {
		if !restored {
			restored = true
			pg(`ALTER TABLE sync_checkpoints_hidden RENAME TO sync_checkpoints`)
		}
	}
	t.Cleanup(restore)
	return restore
}

// TestMetricsLagMoves: on the embedded back end with reporting, a sync that
// cannot apply falls behind the change log; once it applies again,
// oddsfeed_cdc_lag_milliseconds{consumer="reporting",shard="log"} shows
// how far behind the batch was (at least a retry's back-off), and so does
// GET /v1/pipeline.
func TestMetricsLagMoves(t *testing.T) {
	k := newKeys()
	dsn := reportingDB(t)
	base := serve(t, map[string]string{"ODDSFEED_ADDR": "127.0.0.1:0", "ODDSFEED_DATA_DIR": t.TempDir(), "ODDSFEED_API_KEYS": k.spec, "ODDSFEED_DATABASE_URL": dsn})
	admin := func() string { return scrape(t, base, k.admin) }
	value := func(text, series string) float64 { v, _ := sampleOK(text, series); return v }
	const lag = `oddsfeed_cdc_lag_milliseconds{consumer="reporting",shard="log"}`
	prov := client{t, base, k.provider}
	prov.want(201, "PUT", "/v1/games/lag1", map[string]any{"sport": "golf", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	eventually(t, 30*time.Second, "the game applied by the sync", func() bool {
		return value(admin(), `oddsfeed_cdc_changes_total{consumer="reporting"}`) == 1
	})
	if v := sample(t, admin(), lag); v >= 100 {
		t.Fatalf("%s = %v before the sync falls behind", lag, v)
	}

	// The change log's lag is how old a full batch's newest change is when
	// it is read (a batch short of full has caught up: 0). One batch is
	// stuck retrying while a full batch (500 changes) waits in the log
	// behind it.
	restore := hideCheckpoints(t, dsn)
	at := time.Now().UTC().Add(-time.Hour)
	post := func(from, n int) {
		items := make([]oddsJSON, n)
		for i := range items {
			items[i] = oddsJSON{GameID: "lag1", Provider: "acme", ObservedAt: at.Add(time.Duration(from+i) * time.Millisecond), AwaySpread: 1, HomeSpread: -1, AwayOdds: 120, HomeOdds: -140}
		}
		// Posted by an admin, which records no provider's liveness: the
		// batches hold the odds alone.
		client{t, base, k.admin}.want(200, "POST", "/v1/odds", map[string]any{"odds": items}, nil)
	}
	post(0, 1)
	eventually(t, 30*time.Second, "a failed apply of the first odds", func() bool {
		return value(admin(), `oddsfeed_cdc_apply_errors_total{consumer="reporting"}`) >= 1
	})
	post(1, 500)
	errs := value(admin(), `oddsfeed_cdc_apply_errors_total{consumer="reporting"}`)
	eventually(t, 30*time.Second, "two more failed applies (a back-off of 100 ms or more between)", func() bool {
		return value(admin(), `oddsfeed_cdc_apply_errors_total{consumer="reporting"}`) >= errs+2
	})
	restore()
	eventually(t, 30*time.Second, "the sync to apply every odds", func() bool {
		return value(admin(), `oddsfeed_cdc_changes_total{consumer="reporting"}`) == 502
	})
	m := admin()
	if v := sample(t, m, lag); v < 80 { // the back-off's jitter takes up to 20% off
		t.Errorf("%s = %v after the sync fell behind, want at least 80", lag, v)
	}
	st := pipelineStatus(t, base, k.analyst)
	if c := st.consumer("reporting"); len(c.Sources) != 1 || c.Sources[0].MillisBehind < 80 {
		t.Errorf("GET /v1/pipeline reporting shards %+v, want the log at least 80 ms behind", c.Sources)
	}
}

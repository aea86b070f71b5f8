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
	eventually(t, 60*time.Second, "5 changes applied by each consumer, copies filtered", func() bool {
		m := admin()
		return value(m, `oddsfeed_cdc_changes_total{consumer="broadcast"}`) == 5 &&
			value(m, `oddsfeed_cdc_changes_total{consumer="reporting"}`) >= 5 &&
			value(m, `oddsfeed_cdc_filtered_total{consumer="broadcast"}`) >= 1
	})
	before := admin()
	for _, s := range []string{`oddsfeed_cdc_apply_errors_total{consumer="reporting"}`, `oddsfeed_cdc_bad_records_total{consumer="broadcast"}`,
		`oddsfeed_cdc_bad_records_total{consumer="reporting"}`, `oddsfeed_sync_dead_letters`} {
		if v := sample(t, before, s); v != 0 {
			t.Fatalf("%s = %v before the faults", s, v)
		}
	}

	pg := func(sql string) {
		t.Helper()
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
	defer func() {
		if !restored {
			pg(`ALTER TABLE sync_checkpoints_hidden RENAME TO sync_checkpoints`)
		}
	}()
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

	pg(`ALTER TABLE sync_checkpoints_hidden RENAME TO sync_checkpoints`)
	restored = true
	eventually(t, 60*time.Second, "the sync to recover and park the bad record", func() bool {
		m := admin()
		return value(m, `oddsfeed_cdc_bad_records_total{consumer="reporting"}`) == 1 && value(m, `oddsfeed_sync_dead_letters`) == 1 &&
			value(m, `oddsfeed_cdc_failing{consumer="reporting"}`) == 0
	})
	after := admin()
	if v := sample(t, after, `oddsfeed_cdc_changes_total{consumer="broadcast"}`); v != 5 {
		t.Errorf("broadcast changes after the faults = %v, want 5 (the bad record is no change)", v)
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

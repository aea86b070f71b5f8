package app_test

import (
	"context"
	"log/slog"
	"maps"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/jackc/pgx/v5"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/devbridge"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

// runBridge runs the development bridge for a table and stream in this
// process, so servers can die without stopping the flow of changes.
func runBridge(t *testing.T, vars map[string]string) {
	t.Helper()
	o := awsclient.Options{Region: harness.Region, DynamoDBEndpoint: env.DynamoDB.URL, KinesisEndpoint: env.Kinesis.URL,
		AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	cfg, err := awsclient.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	streams := dynamodbstreams.NewFromConfig(cfg, func(so *dynamodbstreams.Options) { so.BaseEndpoint = &o.DynamoDBEndpoint })
	br := devbridge.New(streams, awsclient.DynamoDB(cfg, o), awsclient.Kinesis(cfg, o), devbridge.Options{
		Table: vars["ODDSFEED_TABLE"], Stream: vars["ODDSFEED_STREAM"], Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = br.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// lockOwner returns the application name of a session holding a shard lock.
func lockOwner(t *testing.T, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var name string
	err = conn.QueryRow(context.Background(), `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1`).Scan(&name)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// shardOwners counts the sessions holding the sync's shard locks.
func shardOwners(t *testing.T, dsn string) (locks, sessions int) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&locks, &sessions)
	if err != nil {
		t.Fatal(err)
	}
	return locks, sessions
}

// TestReportingTwoReplicas runs two servers against one stream and one
// reporting database: each shard is synced by one of them at a time; when
// one is killed, the other takes its shards over from their checkpoints.
func TestReportingTwoReplicas(t *testing.T) {
	k := newKeys()
	vars := backends(t, k)["aws"]
	provisionStream(t, vars)
	delete(vars, "ODDSFEED_DEV_BRIDGE")
	delete(vars, "ODDSFEED_ADDR")
	dsn := reportingDB(t)
	vars["ODDSFEED_DATABASE_URL"] = dsn
	runBridge(t, vars)

	base := map[string]string{}
	cmds := map[string]*exec.Cmd{}
	for _, name := range []string{"replicaA", "replicaB"} {
		v := maps.Clone(vars)
		v["ODDSFEED_DATABASE_URL"] = dsn + "&application_name=" + name
		base[name], cmds[name] = startChildEnv(t, v)
	}
	baseA, baseB := base["replicaA"], base["replicaB"]
	games := []string{"r1", "r2", "r3", "r4"}
	for _, g := range games {
		client{t, baseA, k.provider}.want(201, "PUT", "/v1/games/"+g, map[string]any{"sport": "soccer", "gameDate": time.Now().UTC(), "status": "live"}, nil)
	}
	stop := make(chan struct{})
	time.AfterFunc(1500*time.Millisecond, func() { close(stop) })
	postStream(baseB, k.provider, games, 0, stop)

	// Both shards are owned, each by exactly one session (an advisory lock
	// is held by one session at most).
	deadline := time.Now().Add(30 * time.Second)
	for {
		locks, sessions := shardOwners(t, dsn)
		if locks == 2 {
			t.Logf("2 shard locks held by %d replica session(s)", sessions)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard locks held: %d, want 2", locks)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Kill the replica that owns a shard; the other goes on alone and
	// takes its shards over from their checkpoints.
	owner := lockOwner(t, dsn)
	survivor := map[string]string{"replicaA": "replicaB", "replicaB": "replicaA"}[owner]
	t.Logf("killing %s, which owns a shard", owner)
	_ = cmds[owner].Process.Signal(syscall.SIGKILL)
	_ = cmds[owner].Wait()
	stop = make(chan struct{})
	time.AfterFunc(1500*time.Millisecond, func() { close(stop) })
	postStream(base[survivor], k.provider, games, 5, stop)

	want := storeTicks(t, client{t, base[survivor], k.analyst}, games)
	deadline = time.Now().Add(60 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = reportTicks(t, dsn); len(got) >= len(want) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(got) != len(want) || checksum(got) != checksum(want) {
		t.Fatalf("after the kill postgres has %d rows (checksum %s), the feed store %d (checksum %s)", len(got), checksum(got), len(want), checksum(want))
	}
	if locks, sessions := shardOwners(t, dsn); locks == 0 || sessions != 1 || lockOwner(t, dsn) != survivor {
		t.Fatalf("after the kill: %d shard locks in %d sessions, want them all held by %s", locks, sessions, survivor)
	}
	t.Logf("survivor synced all %d rows", len(got))
}

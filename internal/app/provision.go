package app

import (
	"context"
	"fmt"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

func runProvision(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "provision", "Create, idempotently, the DynamoDB table (PK/SK, sparse GSI1 and GSI2, LSI1, TTL on EXPIRE),\nthe Kinesis stream and the Kinesis streaming destination (MICROSECOND precision), on AWS or\nthe endpoints configured. Says plainly when an endpoint lacks a call.", true)
	shards := fs.Int("shards", 2, "Kinesis shards when creating the stream")
	noStream := fs.Bool("no-stream", false, "create only the table")
	wait := fs.Duration("wait", 0, "keep retrying this long while the endpoints do not answer yet (containers starting)")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return err
	}
	if *shards < 1 || *shards > 1000 {
		return fmt.Errorf("-shards must be between 1 and 1000")
	}
	o := awsOptions(cfg)
	awsCfg, err := awsclient.Load(ctx, o)
	if err != nil {
		return fmt.Errorf("aws configuration: %w", err)
	}
	kin := awsclient.Kinesis(awsCfg, o)
	if *noStream {
		kin = nil
	}
	report := func(msg string) { fmt.Fprintln(env.Stdout, msg) }
	deadline := time.Now().Add(*wait)
	for {
		err = dynamo.Provision(ctx, awsclient.DynamoDB(awsCfg, o), kin,
			dynamo.ProvisionOptions{Table: cfg.Table, Stream: cfg.Stream, Shards: int32(*shards)}, report)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("provision: %w", err)
		}
		fmt.Fprintf(env.Stdout, "provision: %v; retrying\n", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

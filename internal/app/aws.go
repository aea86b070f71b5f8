package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
	cdckinesis "github.com/oddsfeed/oddsfeed/internal/cdc/kinesis"
	"github.com/oddsfeed/oddsfeed/internal/devbridge"
)

// newKinesisSource reads the table's changes from the Kinesis stream. With
// ODDSFEED_DEV_BRIDGE=true (emulators only) it also runs the development
// bridge that copies DynamoDB Local's stream into kinesis-mock, since no
// emulator forwards changes to Kinesis as AWS does.
func newKinesisSource(ctx context.Context, cfg Config, log *slog.Logger) (cdc.ChangeSource, func(context.Context) error, []func(context.Context), error) {
	o := awsOptions(cfg)
	awsCfg, err := awsclient.Load(ctx, o)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("aws configuration: %w", err)
	}
	kin := awsclient.Kinesis(awsCfg, o)
	// With an endpoint set the stream is kinesis-mock's: its fan-out needs
	// the adapter's emulator workarounds.
	ko := cdckinesis.Options{Stream: cfg.Stream, Logger: log, Consumer: cfg.KinesisConsumer, Emulator: cfg.KinesisEndpoint != ""}
	if cfg.KinesisEndpoint == "" {
		// AWS allows 5 GetRecords a second per shard (shared by consumers).
		ko.PollMin = 200 * time.Millisecond
	}
	src := cdckinesis.New(kin, ko)
	var jobs []func(context.Context)
	if cfg.DevBridge {
		if cfg.DynamoDBEndpoint == "" || cfg.KinesisEndpoint == "" {
			return nil, nil, nil, errors.New("ODDSFEED_DEV_BRIDGE is for local emulators only: set ODDSFEED_DYNAMODB_ENDPOINT and ODDSFEED_KINESIS_ENDPOINT")
		}
		streams := dynamodbstreams.NewFromConfig(awsCfg, func(so *dynamodbstreams.Options) { so.BaseEndpoint = &o.DynamoDBEndpoint })
		br := devbridge.New(streams, awsclient.DynamoDB(awsCfg, o), kin, devbridge.Options{
			Table: cfg.Table, Stream: cfg.Stream, Logger: log.With("module", "devbridge"),
			DuplicateEvery: cfg.DevBridgeDuplicateEvery, ReorderWindow: cfg.DevBridgeReorderWindow,
			PartitionBy: cfg.DevBridgePartitionBy, MalformedEvery: cfg.DevBridgeMalformedEvery,
		})
		jobs = append(jobs, func(ctx context.Context) {
			if err := br.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("dev bridge stopped", "err", err)
			}
		})
	}
	check := func(ctx context.Context) error {
		_, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &cfg.Stream})
		return err
	}
	return src, check, jobs, nil
}

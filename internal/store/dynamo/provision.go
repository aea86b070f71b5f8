package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// ProvisionOptions name what Provision creates.
type ProvisionOptions struct {
	// Table is the DynamoDB table; Stream the Kinesis stream ("" or a nil
	// Kinesis client: no stream, no streaming destination).
	Table, Stream string
	// Shards is the stream's shard count when it is created; <= 0 means 1.
	Shards int32
}

// Polling of resources that are being created.
const (
	pollEvery   = 200 * time.Millisecond
	pollTimeout = 5 * time.Minute
)

// Provision creates, idempotently, the table (keys, GSI1, GSI2, LSI1,
// on-demand billing, a DynamoDB stream of new and old images; waits until
// ACTIVE; enables TTL on EXPIRE), the Kinesis stream (waits until ACTIVE)
// and the table's Kinesis streaming destination with MICROSECOND creation
// time precision. kin may be nil: no stream. What exists already is
// reported and kept. An endpoint that lacks a call (DynamoDB Local has no
// Kinesis streaming destination) is reported and skipped, not an error.
func Provision(ctx context.Context, ddb *dynamodb.Client, kin *kinesis.Client, p ProvisionOptions, report func(string)) error {
	if report == nil {
		report = func(string) {}
	}
	if err := createTable(ctx, ddb, p.Table, report); err != nil {
		return err
	}
	if kin == nil || p.Stream == "" {
		report("kinesis stream: none asked for; skipped")
		return nil
	}
	arn, err := createStream(ctx, kin, p.Stream, max(p.Shards, 1), report)
	if err != nil {
		return err
	}
	return enableStreaming(ctx, ddb, p.Table, arn, report)
}

// CreateTable creates the feed table if it does not exist, waits until it
// is ACTIVE and enables TTL on EXPIRE if it is not yet.
func CreateTable(ctx context.Context, ddb *dynamodb.Client, table string) error {
	return createTable(ctx, ddb, table, func(string) {})
}

func createTable(ctx context.Context, ddb *dynamodb.Client, table string, report func(string)) error {
	str := func(names ...string) []types.AttributeDefinition {
		defs := make([]types.AttributeDefinition, len(names))
		for i, n := range names {
			defs[i] = types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
		}
		return defs
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: str(feed.AttrPK, feed.AttrSK, feed.AttrGSI1PK, feed.AttrGSI1SK,
			feed.AttrGSI2PK, feed.AttrGSI2SK, feed.AttrLSI1SK),
		KeySchema:   keys(feed.AttrPK, feed.AttrSK),
		BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(feed.GSI1Name), KeySchema: keys(feed.AttrGSI1PK, feed.AttrGSI1SK), Projection: all},
			{IndexName: aws.String(feed.GSI2Name), KeySchema: keys(feed.AttrGSI2PK, feed.AttrGSI2SK), Projection: all},
		},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{
			{IndexName: aws.String(feed.LSI1Name), KeySchema: keys(feed.AttrPK, feed.AttrLSI1SK), Projection: all},
		},
		StreamSpecification: &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewTypeNewAndOldImages,
		},
	})
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		report(fmt.Sprintf("table %s: exists", table))
	case err != nil:
		return fmt.Errorf("create table %s: %w", table, err)
	default:
		report(fmt.Sprintf("table %s: created", table))
	}
	err = poll(ctx, func() (bool, error) {
		out, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return false, err
		}
		return out.Table.TableStatus == types.TableStatusActive, nil
	})
	if err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	return enableTTL(ctx, ddb, table, report)
}

// enableTTL turns on TTL on EXPIRE unless it is on (or turning on).
func enableTTL(ctx context.Context, ddb *dynamodb.Client, table string, report func(string)) error {
	d, err := ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe ttl of %s: %w", table, err)
	}
	if t := d.TimeToLiveDescription; t != nil && aws.ToString(t.AttributeName) == feed.AttrExpire &&
		(t.TimeToLiveStatus == types.TimeToLiveStatusEnabled || t.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		report(fmt.Sprintf("table %s: ttl on %s exists", table, feed.AttrExpire))
		return nil
	}
	_, err = ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(feed.AttrExpire),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", table, err)
	}
	report(fmt.Sprintf("table %s: ttl on %s enabled", table, feed.AttrExpire))
	return nil
}

// createStream creates the Kinesis stream unless it exists, waits until it
// is ACTIVE and returns its ARN.
func createStream(ctx context.Context, kin *kinesis.Client, stream string, shards int32, report func(string)) (string, error) {
	_, err := kin.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)})
	var inUse *ktypes.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		report(fmt.Sprintf("kinesis stream %s: exists", stream))
	case err != nil:
		return "", fmt.Errorf("create kinesis stream %s: %w", stream, err)
	default:
		report(fmt.Sprintf("kinesis stream %s: created with %d shards", stream, shards))
	}
	var arn string
	err = poll(ctx, func() (bool, error) {
		out, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			return false, err
		}
		arn = aws.ToString(out.StreamDescriptionSummary.StreamARN)
		return out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive, nil
	})
	if err != nil {
		return "", fmt.Errorf("wait for kinesis stream %s: %w", stream, err)
	}
	return arn, nil
}

// enableStreaming turns on the table's Kinesis streaming destination to the
// stream arn, with microsecond creation times, unless it is on already.
func enableStreaming(ctx context.Context, ddb *dynamodb.Client, table, arn string, report func(string)) error {
	what := fmt.Sprintf("table %s: kinesis streaming destination %s", table, arn)
	d, err := ddb.DescribeKinesisStreamingDestination(ctx, &dynamodb.DescribeKinesisStreamingDestinationInput{
		TableName: aws.String(table),
	})
	if unsupported(err) {
		report(what + ": not supported by this DynamoDB endpoint (" + errorCode(err) +
			"); skipped, use the development bridge from the table's DynamoDB stream")
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe kinesis streaming destination of %s: %w", table, err)
	}
	for _, dst := range d.KinesisDataStreamDestinations {
		if aws.ToString(dst.StreamArn) == arn && (dst.DestinationStatus == types.DestinationStatusActive ||
			dst.DestinationStatus == types.DestinationStatusEnabling) {
			report(what + ": exists")
			return nil
		}
	}
	_, err = ddb.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{
		TableName: aws.String(table),
		StreamArn: aws.String(arn),
		EnableKinesisStreamingConfiguration: &types.EnableKinesisStreamingConfiguration{
			ApproximateCreationDateTimePrecision: types.ApproximateCreationDateTimePrecisionMicrosecond,
		},
	})
	if unsupported(err) {
		report(what + ": not supported by this DynamoDB endpoint (" + errorCode(err) +
			"); skipped, use the development bridge from the table's DynamoDB stream")
		return nil
	}
	if err != nil {
		return fmt.Errorf("enable kinesis streaming destination of %s: %w", table, err)
	}
	report(what + ": enabled (MICROSECOND precision)")
	return nil
}

// unsupported reports whether err says the endpoint does not know the call.
func unsupported(err error) bool {
	switch errorCode(err) {
	case "UnknownOperationException", "UnsupportedOperationException", "UnrecognizedClientException":
		return true
	}
	return false
}

// errorCode is the API error code of err, "" when there is none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// poll calls done until it reports true, fails, or pollTimeout passes.
func poll(ctx context.Context, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

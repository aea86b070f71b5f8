// Package awsclient builds the aws-sdk-go-v2 clients oddsfeed uses
// (DynamoDB, Kinesis) from one set of options, so the same code runs against
// AWS or against local emulators (DynamoDB Local, kinesis-mock).
//
// Requests are always SigV4-signed: the emulators reject unsigned ones, so
// for them give any static credentials (every client of one kinesis-mock
// stream must use the same region and access key id).
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// Options say where the clients connect and how they authenticate.
type Options struct {
	// Region is required.
	Region string
	// DynamoDBEndpoint and KinesisEndpoint override the AWS endpoints
	// (e.g. "http://127.0.0.1:8000"); "" uses AWS's.
	DynamoDBEndpoint string
	KinesisEndpoint  string
	// AccessKeyID and SecretAccessKey: both "" uses the default credential
	// chain (environment, shared files, IAM role); otherwise static
	// credentials.
	AccessKeyID, SecretAccessKey string
}

// Transport and retry settings. They suit both AWS and emulators on a busy
// machine: connections fail fast, a response header must come within a
// bound, but no overall request timeout is set (long polls and event
// streams must not be cut; callers bound calls with their ctx).
const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 5 * time.Second
	responseHeaderTimeout = 30 * time.Second
	maxIdleConnsPerHost   = 64
	retryMaxAttempts      = 5
	retryMaxBackoff       = 2 * time.Second
)

// Load builds the shared AWS configuration: region, credentials, an HTTP
// client with bounded connect and header waits, and the standard retryer
// (throttling and 5xx retried with jittered back-off) without the
// client-side retry quota, which an emulator restart would otherwise drain.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	if o.Region == "" {
		return aws.Config{}, errors.New("load aws config: region is required")
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return aws.Config{}, errors.New("load aws config: give both access key id and secret access key, or neither")
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = tlsHandshakeTimeout
			t.ResponseHeaderTimeout = responseHeaderTimeout
			t.MaxIdleConnsPerHost = maxIdleConnsPerHost
		})
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(o.Region),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = retryMaxAttempts
				so.MaxBackoff = retryMaxBackoff
				so.RateLimiter = ratelimit.None
			})
		}),
	}
	if o.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// DynamoDB returns a DynamoDB client for cfg, pointed at o.DynamoDBEndpoint
// when set. With an endpoint set, the client does not check the CRC32 of
// responses: DynamoDB Local's error responses carry one that never matches,
// and the SDK would log a warning for each.
func DynamoDB(cfg aws.Config, o Options) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if o.DynamoDBEndpoint != "" {
			do.BaseEndpoint = aws.String(o.DynamoDBEndpoint)
			do.DisableValidateResponseChecksum = true
		}
	})
}

// Kinesis returns a Kinesis client for cfg, pointed at o.KinesisEndpoint
// when set.
func Kinesis(cfg aws.Config, o Options) *kinesis.Client {
	return kinesis.NewFromConfig(cfg, func(ko *kinesis.Options) {
		if o.KinesisEndpoint != "" {
			ko.BaseEndpoint = aws.String(o.KinesisEndpoint)
		}
	})
}

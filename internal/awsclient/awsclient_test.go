package awsclient

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/oddsfeed/oddsfeed/internal/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	harness.Run(m, &env, harness.DynamoDB|harness.Kinesis)
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no region", Options{AccessKeyID: "a", SecretAccessKey: "b"}},
		{"key without secret", Options{Region: "us-east-1", AccessKeyID: "a"}},
		{"secret without key", Options{Region: "us-east-1", SecretAccessKey: "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Load(t.Context(), tc.o); err == nil {
				t.Fatal("Load succeeded, want an error")
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "from-env")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	for _, tc := range []struct {
		name    string
		o       Options
		wantKey string
	}{
		{"static", Options{Region: "eu-west-1", AccessKeyID: "static", SecretAccessKey: "s"}, "static"},
		{"default chain", Options{Region: "eu-west-1"}, "from-env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(t.Context(), tc.o)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Region != tc.o.Region {
				t.Fatalf("region %q, want %q", cfg.Region, tc.o.Region)
			}
			creds, err := cfg.Credentials.Retrieve(t.Context())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if creds.AccessKeyID != tc.wantKey {
				t.Fatalf("access key %q, want %q", creds.AccessKeyID, tc.wantKey)
			}
		})
	}
}

// TestEmulators checks the clients reach the emulators with signed
// requests (kinesis-mock refuses unsigned ones).
func TestEmulators(t *testing.T) {
	o := Options{
		Region:           harness.Region,
		DynamoDBEndpoint: env.DynamoDB.URL,
		KinesisEndpoint:  env.Kinesis.URL,
		AccessKeyID:      harness.AccessKey,
		SecretAccessKey:  harness.SecretKey,
	}
	cfg, err := Load(t.Context(), o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := DynamoDB(cfg, o).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB ListTables: %v", err)
	}
	if _, err := Kinesis(cfg, o).ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err != nil {
		t.Errorf("Kinesis ListStreams: %v", err)
	}
}

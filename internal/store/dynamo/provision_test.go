package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

func TestProvisionIdempotent(t *testing.T) {
	ddb, kin := clients(t)
	n := tableSeq.Add(1)
	p := ProvisionOptions{Table: fmt.Sprint("provisioned-", n), Stream: fmt.Sprint("changes-", n), Shards: 2}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(p.Table)}); err != nil {
			t.Errorf("delete table: %v", err)
		}
		if _, err := kin.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(p.Stream)}); err != nil {
			t.Errorf("delete stream: %v", err)
		}
	})
	for run, want := range [][]string{
		{"table " + p.Table + ": created", "ttl on EXPIRE enabled", "kinesis stream " + p.Stream + ": created with 2 shards", "not supported"},
		{"table " + p.Table + ": exists", "ttl on EXPIRE exists", "kinesis stream " + p.Stream + ": exists", "not supported"},
	} {
		var reports []string
		if err := Provision(t.Context(), ddb, kin, p, func(s string) { reports = append(reports, s) }); err != nil {
			t.Fatalf("run %d: Provision: %v", run+1, err)
		}
		t.Logf("run %d:\n  %s", run+1, strings.Join(reports, "\n  "))
		if len(reports) != len(want) {
			t.Fatalf("run %d: %d reports, want %d", run+1, len(reports), len(want))
		}
		for i, w := range want {
			if !strings.Contains(reports[i], w) {
				t.Fatalf("run %d: report %d = %q, want it to say %q", run+1, i, reports[i], w)
			}
		}
	}

	d, err := ddb.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(p.Table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	tbl := d.Table
	var gsis, lsis []string
	for _, g := range tbl.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(g.IndexName)+"("+keyNames(g.KeySchema)+")")
	}
	for _, l := range tbl.LocalSecondaryIndexes {
		lsis = append(lsis, aws.ToString(l.IndexName)+"("+keyNames(l.KeySchema)+")")
	}
	slices.Sort(gsis)
	checks := []struct {
		what      string
		got, want any
	}{
		{"key", keyNames(tbl.KeySchema), "PK,SK"},
		{"GSIs", strings.Join(gsis, " "), "GSI1(GSI1PK,GSI1SK) GSI2(GSI2PK,GSI2SK)"},
		{"LSIs", strings.Join(lsis, " "), "LSI1(PK,LSI1SK)"},
		{"stream", tbl.StreamSpecification != nil && aws.ToBool(tbl.StreamSpecification.StreamEnabled), true},
		{"stream view", tbl.StreamSpecification.StreamViewType, types.StreamViewTypeNewAndOldImages},
	}
	if tbl.BillingModeSummary != nil { // DynamoDB Local may leave it out
		checks = append(checks, struct {
			what      string
			got, want any
		}{"billing", tbl.BillingModeSummary.BillingMode, types.BillingModePayPerRequest})
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("table %s: %v, want %v", c.what, c.got, c.want)
		}
	}

	ttl, err := ddb.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(p.Table)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	if got := ttl.TimeToLiveDescription; aws.ToString(got.AttributeName) != feed.AttrExpire ||
		got.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("ttl %s %s, want %s ENABLED", aws.ToString(got.AttributeName), got.TimeToLiveStatus, feed.AttrExpire)
	}

	s, err := kin.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(p.Stream)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	if sum := s.StreamDescriptionSummary; sum.StreamStatus != ktypes.StreamStatusActive || aws.ToInt32(sum.OpenShardCount) != 2 {
		t.Errorf("stream %s with %d open shards, want ACTIVE with 2", sum.StreamStatus, aws.ToInt32(sum.OpenShardCount))
	}
}

func TestProvisionWithoutKinesis(t *testing.T) {
	ddb, _ := clients(t)
	p := ProvisionOptions{Table: fmt.Sprint("provisioned-alone-", tableSeq.Add(1))}
	t.Cleanup(func() {
		if _, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(p.Table)}); err != nil {
			t.Errorf("delete table: %v", err)
		}
	})
	var reports []string
	if err := Provision(t.Context(), ddb, nil, p, func(s string) { reports = append(reports, s) }); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if last := reports[len(reports)-1]; !strings.Contains(last, "skipped") {
		t.Fatalf("last report %q, want the stream skipped", last)
	}
}

// keyNames lists a key schema's attributes, hash first.
func keyNames(ks []types.KeySchemaElement) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = aws.ToString(k.AttributeName)
	}
	return strings.Join(names, ",")
}

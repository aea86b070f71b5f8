package devbridge

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
)

func TestDebugTTL(t *testing.T) {
	past := func() time.Time { return time.Now().Add(-25 * time.Hour) }
	f := newFixture(t, 1, Options{}, dynamo.Options{OddsTTL: 24 * time.Hour, Now: past})
	f.run(t)
	o := oddsOf("g7", "p", 1)
	if _, err := f.store.PutOdds(t.Context(), o); err != nil {
		t.Fatalf("put odds: %v", err)
	}
	ttl, err := f.ddb.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(f.table)})
	t.Logf("ttl %+v %v", ttl.TimeToLiveDescription, err)
	out, _ := f.ddb.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(f.table)})
	t.Logf("items %d %+v", len(out.Items), out.Items[0]["EXPIRE"])
	for i := 0; i < 40; i++ {
		time.Sleep(3 * time.Second)
		out, _ := f.ddb.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(f.table)})
		t.Logf("%ds items %d stats %+v", 3*i, len(out.Items), f.bridge.Stats())
		if len(out.Items) == 0 {
			time.Sleep(time.Second)
			t.Logf("stats %+v", f.bridge.Stats())
			break
		}
	}
}

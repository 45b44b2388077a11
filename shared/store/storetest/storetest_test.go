package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// The binary's table is a copy of the prototype: another name, the same keys, indexes
// and TTL; its items are its own.
func TestTheTableIsACopyOfTheTemplatesTable(t *testing.T) {
	ctx := context.Background()
	tbl := Table(t)
	proto := os.Getenv(EnvTable)
	if tbl.Name == proto || !strings.HasPrefix(tbl.Name, proto+"-") {
		t.Fatalf("table %q: want a copy named after the prototype %q", tbl.Name, proto)
	}
	describe := func(name string) (*ddbtypes.TableDescription, *ddbtypes.TimeToLiveDescription) {
		out, err := Emulators(t).DynamoDBClient().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		ttl, err := Emulators(t).DynamoDBClient().DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("TTL of %s: %v", name, err)
		}
		return out.Table, ttl.TimeToLiveDescription
	}
	got, gotTTL := describe(tbl.Name)
	want, wantTTL := describe(proto)
	indexes := func(d *ddbtypes.TableDescription) []string {
		var out []string
		for _, g := range d.GlobalSecondaryIndexes {
			b, err := json.Marshal(struct{ K, P any }{g.KeySchema, g.Projection})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, aws.ToString(g.IndexName)+string(b))
		}
		slices.Sort(out)
		return out
	}
	if n := len(got.GlobalSecondaryIndexes); n != 4 {
		t.Errorf("table has %d GSIs, the template declares 4", n)
	}
	if g, w := indexes(got), indexes(want); !slices.Equal(g, w) {
		t.Errorf("indexes %v, prototype %v", g, w)
	}
	if aws.ToString(gotTTL.AttributeName) != aws.ToString(wantTTL.AttributeName) || gotTTL.TimeToLiveStatus != wantTTL.TimeToLiveStatus ||
		wantTTL.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled {
		t.Errorf("TTL %s on %q, prototype %s on %q", gotTTL.TimeToLiveStatus, aws.ToString(gotTTL.AttributeName), wantTTL.TimeToLiveStatus, aws.ToString(wantTTL.AttributeName))
	}
	items, err := Emulators(t).DynamoDBClient().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tbl.Name), Select: ddbtypes.SelectCount})
	if err != nil || items.Count != 0 {
		t.Errorf("a fresh copy holds %d items (%v), want 0", items.Count, err)
	}
}

// The binary's queues are copies too, and each redrive policy names the copy of its DLQ.
func TestTheQueuesAreCopiesWithTheirOwnDLQs(t *testing.T) {
	ctx := context.Background()
	c := Emulators(t).SQSClient()
	q, dlq := QueueURL(t, "DispatchQueue"), QueueURL(t, "DispatchDLQ")
	protos, err := parseQueues(os.Getenv(EnvQueues))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range protos {
		if strings.HasSuffix(q, "/"+p.name) {
			t.Fatalf("QueueURL gave the prototype %s, want this binary's copy", q)
		}
	}
	attrs := func(u string) map[string]string {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatalf("attributes of %s: %v", u, err)
		}
		return out.Attributes
	}
	qa, da := attrs(q), attrs(dlq)
	var policy struct {
		DLQ string `json:"deadLetterTargetArn"`
		Max any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(qa["RedrivePolicy"]), &policy); err != nil {
		t.Fatalf("redrive policy %q: %v", qa["RedrivePolicy"], err)
	}
	if policy.DLQ != da["QueueArn"] {
		t.Errorf("the dispatch queue's DLQ is %s, want this binary's copy %s", policy.DLQ, da["QueueArn"])
	}
	if qa["VisibilityTimeout"] != "180" {
		t.Errorf("visibility timeout %s, the template says 180", qa["VisibilityTimeout"])
	}
	scratch := Queue(t, "scratch")
	if scratch == q || scratch == "" {
		t.Fatalf("scratch queue url %q", scratch)
	}
}

// Without the endpoints, the error is one line that says how to start the emulators.
func TestWithoutEndpointsOneLineSaysWhatToRun(t *testing.T) {
	t.Setenv(EnvDynamoDB, "")
	_, err := FromEnv()
	if !errors.Is(err, ErrNoEmulators) {
		t.Fatalf("err = %v, want ErrNoEmulators", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "make test") || !strings.Contains(msg, "tierflow-local test") || !strings.Contains(msg, EnvDynamoDB) {
		t.Errorf("message %q: want one line naming the variable, `make test` and `tierflow-local test`", msg)
	}
}

// Dependencies point from tools to the product: nothing under shared/, tests included,
// reaches infra/ (storetest used to start the emulators through infra/local).
func TestSharedDependsOnNothingUnderInfra(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-deps", "-f", "{{.ImportPath}}", "github.com/tierflow/tierflow/shared/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/tierflow/tierflow/shared/store/storetest") {
		t.Fatalf("go list named %d packages and not storetest: the pattern is wrong", len(deps))
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "github.com/tierflow/tierflow/infra/") {
			t.Errorf("a package under shared/ depends on %s", dep)
		}
	}
}

package resources

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// TestCreateFromTemplateInRealEmulators creates template.yaml's resources in freshly
// started emulators and checks them through the same SDK calls the functions make.
func TestCreateFromTemplateInRealEmulators(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := emulators.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	params, err := samtemplate.ReadParams(filepath.Join(root, "infra", "local", "params.local.json"))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := samtemplate.Load(filepath.Join(root, "template.yaml"), params)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	e, err := emulators.Start(ctx, emulators.Options{StateDir: state, CacheDir: filepath.Join(root, ".local", "cache")})
	if err != nil {
		t.Fatalf("emulators must start (this test never skips): %v", err)
	}
	defer e.Stop()

	c, err := Create(ctx, tp, e)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	again, err := Create(ctx, tp, e)
	if err != nil {
		t.Fatalf("Create is idempotent, second call failed: %v", err)
	}
	for id, q := range c.Queues {
		if again.Queues[id] != q {
			t.Errorf("second Create changed queue %s: %+v -> %+v", id, q, again.Queues[id])
		}
	}

	ddb := e.DynamoDBClient()
	t.Run("the table has the template's keys, GSIs and TTL", func(t *testing.T) {
		d, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(c.Table)})
		if err != nil {
			t.Fatal(err)
		}
		if c.Table != "tierflow-local" {
			t.Errorf("table name %q, want tierflow-local (Stage from params.local.json)", c.Table)
		}
		var gsis []string
		for _, g := range d.Table.GlobalSecondaryIndexes {
			gsis = append(gsis, aws.ToString(g.IndexName))
			if len(g.KeySchema) != 2 || aws.ToString(g.KeySchema[0].AttributeName) != aws.ToString(g.IndexName)+"PK" {
				t.Errorf("GSI %s keys %+v", aws.ToString(g.IndexName), g.KeySchema)
			}
		}
		slices.Sort(gsis)
		if !slices.Equal(gsis, []string{"GSI1", "GSI2", "GSI3", "GSI4"}) {
			t.Errorf("GSIs %v, want GSI1..3", gsis)
		}
		ttl, err := ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(c.Table)})
		if err != nil {
			t.Fatal(err)
		}
		if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "expiresAt" {
			t.Errorf("TTL: %+v, want ENABLED on expiresAt", ttl.TimeToLiveDescription)
		}
		// An item written with the SDK is queryable through a GSI.
		_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(c.Table), Item: map[string]ddbtypes.AttributeValue{
			"PK": &ddbtypes.AttributeValueMemberS{Value: "C#1"}, "SK": &ddbtypes.AttributeValueMemberS{Value: "PROFILE"},
			"GSI2PK": &ddbtypes.AttributeValueMemberS{Value: "STORE#1"}, "GSI2SK": &ddbtypes.AttributeValueMemberS{Value: "gold#C#1"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ddb.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(c.Table), IndexName: aws.String("GSI2"),
			KeyConditionExpression: aws.String("GSI2PK = :s"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: "STORE#1"}}})
		if err != nil || out.Count != 1 {
			t.Errorf("query GSI2: %v, count %d", err, out.Count)
		}
	})

	sq := e.SQSClient()
	t.Run("every queue has its attributes and redrive policy", func(t *testing.T) {
		for _, q := range tp.Queues {
			got := c.Queues[q.LogicalID]
			a, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(got.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			if err != nil {
				t.Fatalf("%s: %v", q.LogicalID, err)
			}
			if v := a.Attributes["VisibilityTimeout"]; v != strconv.Itoa(int(q.VisibilityTimeout.Seconds())) {
				t.Errorf("%s VisibilityTimeout %s, template %s", q.LogicalID, v, q.VisibilityTimeout)
			}
			if q.DLQ == "" {
				if a.Attributes["RedrivePolicy"] != "" {
					t.Errorf("%s has a RedrivePolicy the template does not declare", q.LogicalID)
				}
				continue
			}
			var rp struct {
				Target string `json:"deadLetterTargetArn"`
				Max    any    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(a.Attributes["RedrivePolicy"]), &rp); err != nil {
				t.Fatalf("%s RedrivePolicy %q: %v", q.LogicalID, a.Attributes["RedrivePolicy"], err)
			}
			if rp.Target != c.QueueARN(q.DLQ) || rp.Target == "" || toInt(rp.Max) != q.MaxReceiveCount {
				t.Errorf("%s RedrivePolicy %+v, want %s after %d receives", q.LogicalID, rp, c.QueueARN(q.DLQ), q.MaxReceiveCount)
			}
		}
	})

	t.Run("a message received more than maxReceiveCount times lands in the DLQ", func(t *testing.T) {
		q, _ := tp.Queue("DispatchQueue")
		url, dlq := c.QueueURL(q.LogicalID), c.QueueURL(q.DLQ)
		body := "poison " + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
		receives := 0
		for range q.MaxReceiveCount + 2 { // bounded: a failing consumer that never deletes
			out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				break
			}
			receives++
			// The consumer failed: make the message visible again now rather than after
			// the queue's visibility timeout.
			_, err = sq.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0})
			if err != nil {
				t.Fatal(err)
			}
		}
		if receives != q.MaxReceiveCount {
			t.Errorf("received %d times, want exactly maxReceiveCount = %d before the redrive", receives, q.MaxReceiveCount)
		}
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), WaitTimeSeconds: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != body {
			t.Errorf("DLQ %s holds %+v, want the message %q", q.DLQ, out.Messages, body)
		}
	})

	t.Run("Created resolves every function's environment", func(t *testing.T) {
		for _, f := range tp.Functions {
			env, err := f.Environment(c)
			if err != nil {
				t.Errorf("%s: %v", f.LogicalID, err)
				continue
			}
			if env["TABLE_NAME"] != c.Table {
				t.Errorf("%s TABLE_NAME %q, want %q", f.LogicalID, env["TABLE_NAME"], c.Table)
			}
			if v, ok := env["INGEST_QUEUE_URL"]; ok && v != c.QueueURL("IngestQueue") {
				t.Errorf("%s INGEST_QUEUE_URL %q, want %q", f.LogicalID, v, c.QueueURL("IngestQueue"))
			}
			if v, ok := env["SEAL_KEY_ID"]; ok && v != "local-data-key" {
				t.Errorf("%s SEAL_KEY_ID %q, want local-data-key", f.LogicalID, v)
			}
		}
		if v, _ := c.GetAtt("IngestQueue", "QueueName"); v != "tierflow-local-ingest" {
			t.Errorf("GetAtt IngestQueue.QueueName = %q", v)
		}
		if v, _ := c.Ref("HttpApi"); v != "local" {
			t.Errorf("Ref HttpApi = %q", v)
		}
	})

	ports := e.Ports()
	if err := e.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	for name, port := range ports {
		if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			conn.Close()
			t.Errorf("after Stop, %s still listens on %d", name, port)
		}
	}
}

func toInt(v any) int {
	switch v := v.(type) {
	case float64:
		return int(v)
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return -1
}

package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestTheTemplateTableAndQueuesExist(t *testing.T) {
	ctx := context.Background()
	tbl := Table(t)
	out, err := Emulators(t).DynamoDBClient().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tbl.Name)})
	if err != nil {
		t.Fatalf("describe %s: %v", tbl.Name, err)
	}
	if n := len(out.Table.GlobalSecondaryIndexes); n != 3 {
		t.Errorf("table has %d GSIs, the template declares 3", n)
	}
	q := QueueURL(t, "DispatchQueue")
	if _, err := Emulators(t).SQSClient().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q)}); err != nil {
		t.Fatalf("dispatch queue: %v", err)
	}
	scratch := Queue(t, "scratch")
	if scratch == q || scratch == "" {
		t.Fatalf("scratch queue url %q", scratch)
	}
}

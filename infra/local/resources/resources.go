package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// Queue is a queue as created in the emulator.
type Queue struct{ URL, ARN, Name string }

// Created is what Create made, and the Resolver for the template's references.
type Created struct {
	Table    string // table name
	TableARN string
	Queues   map[string]Queue // by logical id

	mu    sync.RWMutex
	refs  map[string]string // further Ref values: KMS keys, the HTTP API, SetRef
	atts  map[string]string // further GetAtt values, keyed "LogicalId.Attr"
	table string            // the table's logical id
}

var _ samtemplate.Resolver = (*Created)(nil)

// Ref implements samtemplate.Resolver.
func (c *Created) Ref(id string) (string, bool) {
	if id == c.table && id != "" {
		return c.Table, true
	}
	if q, ok := c.Queues[id]; ok {
		return q.URL, true
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.refs[id]
	return v, ok
}

// GetAtt implements samtemplate.Resolver.
func (c *Created) GetAtt(id, attr string) (string, bool) {
	if id == c.table && id != "" {
		switch attr {
		case "Arn":
			return c.TableARN, true
		}
	}
	if q, ok := c.Queues[id]; ok {
		switch attr {
		case "Arn":
			return q.ARN, true
		case "QueueName":
			return q.Name, true
		case "QueueUrl":
			return q.URL, true
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.atts[id+"."+attr]
	return v, ok
}

// SetRef records the value Ref returns for a resource the local runtime provides
// itself (for example the HTTP API); it overrides the placeholders Create sets.
func (c *Created) SetRef(id, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs[id] = value
}

// SetAtt records the value GetAtt returns for id's attribute attr.
func (c *Created) SetAtt(id, attr, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.atts[id+"."+attr] = value
}

// QueueURL returns the URL of the queue with this logical id ("" if none).
func (c *Created) QueueURL(logicalID string) string { return c.Queues[logicalID].URL }

// QueueARN returns the ARN of the queue with this logical id ("" if none).
func (c *Created) QueueARN(logicalID string) string { return c.Queues[logicalID].ARN }

// Create makes the template's table and queues in the emulators. It is idempotent:
// what exists with the same settings is kept, queue attributes that differ are set.
func Create(ctx context.Context, t *samtemplate.Template, e *emulators.Emulators) (*Created, error) {
	c := &Created{Queues: map[string]Queue{}, refs: map[string]string{}, atts: map[string]string{}}
	if t.Table.LogicalID != "" {
		if err := createTable(ctx, e.DynamoDBClient(), t.Table); err != nil {
			return nil, err
		}
		c.table = t.Table.LogicalID
		c.Table = t.Table.Name
		c.TableARN = fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", t.Pseudo["AWS::Partition"], e.Region, t.Pseudo["AWS::AccountId"], c.Table)
	}
	client := e.SQSClient()
	// DLQs first: a RedrivePolicy names its DLQ's ARN, which exists only once the DLQ does.
	queues := slices.Clone(t.Queues)
	slices.SortStableFunc(queues, func(a, b samtemplate.Queue) int {
		switch {
		case a.IsDLQ && !b.IsDLQ:
			return -1
		case !a.IsDLQ && b.IsDLQ:
			return 1
		}
		return 0
	})
	for _, q := range queues {
		created, err := createQueue(ctx, client, q, c)
		if err != nil {
			return nil, err
		}
		c.Queues[q.LogicalID] = created
	}
	// Resources with no emulator still need a Ref: placeholders that say so.
	for id, typ := range t.Resources {
		switch typ {
		case "AWS::KMS::Key":
			c.refs[id] = "local-" + strings.TrimPrefix(samtemplate.FolderFor(id), "functions/")
			c.atts[id+".Arn"] = fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", t.Pseudo["AWS::Partition"], e.Region, t.Pseudo["AWS::AccountId"], c.refs[id])
		case "AWS::Serverless::HttpApi":
			c.refs[id] = "local"
		case "AWS::Events::EventBus": // the runtime's capture (GET /_local/events)
			c.refs[id] = "tierflow-local"
		case "AWS::Serverless::Function":
			c.refs[id] = id
		}
	}
	return c, nil
}

// ---------------------------------------------------------------- DynamoDB

func createTable(ctx context.Context, client *dynamodb.Client, tb samtemplate.Table) error {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(tb.Name),
		BillingMode: ddbtypes.BillingMode(tb.BillingMode),
		KeySchema:   keySchema(tb.HashKey, tb.RangeKey),
	}
	for _, a := range tb.Attributes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.Name), AttributeType: ddbtypes.ScalarAttributeType(a.Type),
		})
	}
	provisioned := tb.BillingMode == string(ddbtypes.BillingModeProvisioned)
	throughput := &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}
	if provisioned {
		in.ProvisionedThroughput = throughput
	}
	for _, ix := range tb.GSIs {
		g := ddbtypes.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keySchema(ix.HashKey, ix.RangeKey), Projection: projection(ix)}
		if provisioned {
			g.ProvisionedThroughput = throughput
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g)
	}
	for _, ix := range tb.LSIs {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
			IndexName: aws.String(ix.Name), KeySchema: keySchema(ix.HashKey, ix.RangeKey), Projection: projection(ix),
		})
	}
	if tb.StreamViewType != "" {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(tb.StreamViewType)}
	}

	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	var notFound *ddbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		if _, err := client.CreateTable(ctx, in); err != nil {
			var inUse *ddbtypes.ResourceInUseException
			if !errors.As(err, &inUse) { // a concurrent Create made it first
				return fmt.Errorf("create table %s: %w", tb.Name, err)
			}
		}
	case err != nil:
		return fmt.Errorf("describe table %s: %w", tb.Name, err)
	default:
		if diff := schemaDiff(tb, desc.Table); diff != "" {
			return fmt.Errorf("table %s exists with another schema (%s): delete it, or the persisted DynamoDB state, and start again", tb.Name, diff)
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", tb.Name, err)
	}
	if tb.TTLAttribute != "" {
		ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: in.TableName})
		if err != nil {
			return fmt.Errorf("describe TTL of %s: %w", tb.Name, err)
		}
		d := ttl.TimeToLiveDescription
		if d == nil || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != tb.TTLAttribute {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               in.TableName,
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(tb.TTLAttribute), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return fmt.Errorf("enable TTL on %s.%s: %w", tb.Name, tb.TTLAttribute, err)
			}
		}
	}
	return nil
}

func keySchema(hash, rng string) []ddbtypes.KeySchemaElement {
	ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: ddbtypes.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(rng), KeyType: ddbtypes.KeyTypeRange})
	}
	return ks
}

func projection(ix samtemplate.Index) *ddbtypes.Projection {
	p := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(ix.Projection)}
	if len(ix.NonKeyAttributes) > 0 {
		p.NonKeyAttributes = ix.NonKeyAttributes
	}
	return p
}

// schemaDiff says how an existing table differs from the template's keys and indexes;
// "" when it does not.
func schemaDiff(tb samtemplate.Table, d *ddbtypes.TableDescription) string {
	keys := func(ks []ddbtypes.KeySchemaElement) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, aws.ToString(k.AttributeName)+"/"+string(k.KeyType))
		}
		return strings.Join(parts, ",")
	}
	want := keys(keySchema(tb.HashKey, tb.RangeKey))
	if got := keys(d.KeySchema); got != want {
		return "key " + got + ", template " + want
	}
	var have, need []string
	for _, g := range d.GlobalSecondaryIndexes {
		have = append(have, aws.ToString(g.IndexName)+"("+keys(g.KeySchema)+")")
	}
	for _, g := range tb.GSIs {
		need = append(need, g.Name+"("+keys(keySchema(g.HashKey, g.RangeKey))+")")
	}
	slices.Sort(have)
	slices.Sort(need)
	if !slices.Equal(have, need) {
		return "GSIs " + strings.Join(have, " ") + ", template " + strings.Join(need, " ")
	}
	return ""
}

// ---------------------------------------------------------------- SQS

func createQueue(ctx context.Context, client *sqs.Client, q samtemplate.Queue, c *Created) (Queue, error) {
	attrs := map[string]string{
		string(sqstypes.QueueAttributeNameVisibilityTimeout):             seconds(q.VisibilityTimeout),
		string(sqstypes.QueueAttributeNameMessageRetentionPeriod):        seconds(q.MessageRetention),
		string(sqstypes.QueueAttributeNameDelaySeconds):                  seconds(q.Delay),
		string(sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds): seconds(q.ReceiveWait),
	}
	if q.FIFO {
		attrs[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
	}
	if q.DLQ != "" {
		dlq, ok := c.Queues[q.DLQ]
		if !ok {
			return Queue{}, fmt.Errorf("queue %s: its DLQ %s was not created first", q.LogicalID, q.DLQ)
		}
		policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlq.ARN, "maxReceiveCount": q.MaxReceiveCount})
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(policy)
	}
	var url string
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.Name), Attributes: attrs})
	if err == nil {
		url = aws.ToString(out.QueueUrl)
	} else {
		var exists *sqstypes.QueueNameExists
		if !errors.As(err, &exists) {
			return Queue{}, fmt.Errorf("create queue %s (%s): %w", q.LogicalID, q.Name, err)
		}
		// It exists with other settings: bring them in line with the template.
		got, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.Name)})
		if err != nil {
			return Queue{}, fmt.Errorf("queue %s (%s): %w", q.LogicalID, q.Name, err)
		}
		url = aws.ToString(got.QueueUrl)
		if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
			return Queue{}, fmt.Errorf("update queue %s (%s): %w", q.LogicalID, q.Name, err)
		}
	}
	ga, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return Queue{}, fmt.Errorf("queue %s: read its ARN: %w", q.LogicalID, err)
	}
	return Queue{URL: url, ARN: ga.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], Name: q.Name}, nil
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// Package storetest runs a test binary against emulators that are already running:
// DynamoDB Local, the SQS emulator and the SES v2 emulator, whose endpoints it reads from
// the environment. `make test` starts them once for the whole run through
// `tierflow-local test`, which also creates the template's table and queues there as
// prototypes; each test binary gets its own copy of them (same keys, indexes, TTL and
// queue settings, fresh names) and deletes it at the end, so packages running at the
// same time never see each other's items.
//
// One package on its own:
//
//	go run ./infra/local/cmd/tierflow-local test -- go test ./shared/store
//
// Without the endpoints the binary fails with one line saying so: nothing is skipped.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/shared/store"
)

// The environment a test binary reads. `tierflow-local test` sets every one of them.
const (
	EnvDynamoDB = "TIERFLOW_TEST_DYNAMODB" // DynamoDB Local's base URL, e.g. http://127.0.0.1:41234
	EnvSQS      = "TIERFLOW_TEST_SQS"      // the SQS emulator's base URL
	EnvSES      = "TIERFLOW_TEST_SES"      // the SES v2 emulator's base URL
	EnvRegion   = "TIERFLOW_TEST_REGION"   // the region the emulators' clients use
	// EnvTable names the prototype table created from template.yaml; EnvQueues lists the
	// prototype queues as LogicalId=name pairs separated by commas.
	EnvTable  = "TIERFLOW_TEST_TABLE"
	EnvQueues = "TIERFLOW_TEST_QUEUES"
)

// StartCommand is what a developer runs to get the emulators for one package.
const StartCommand = "go run ./infra/local/cmd/tierflow-local test -- go test ./<package>"

// Credentials the emulators accept: they check that a request is signed, not by whom.
const accessKey, secretKey = "local", "local"

// Endpoints are the running emulators: base URLs to use as an SDK client's
// BaseEndpoint, and clients built on them.
type Endpoints struct {
	DynamoDB, SQS, SES string
	Region             string
}

// AWSConfig is an SDK configuration for the emulators (static credentials, their region).
func (e *Endpoints) AWSConfig() aws.Config {
	return aws.Config{Region: e.Region, Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")}
}

// DynamoDBClient returns a client of DynamoDB Local.
func (e *Endpoints) DynamoDBClient() *dynamodb.Client {
	return dynamodb.NewFromConfig(e.AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) })
}

// SQSClient returns a client of the SQS emulator.
func (e *Endpoints) SQSClient() *sqs.Client {
	return sqs.NewFromConfig(e.AWSConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.SQS) })
}

// SESClient returns a client of the SES v2 emulator.
func (e *Endpoints) SESClient() *sesv2.Client {
	return sesv2.NewFromConfig(e.AWSConfig(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(e.SES) })
}

// fixture is what Main made for this test binary.
type fixture struct {
	emu    *Endpoints
	table  string
	queues map[string]string // logical id -> URL
}

var fx *fixture

// Main reads the emulators' endpoints, copies the prototype table and queues for this
// binary, runs the tests and deletes the copies. Use it from TestMain:
// os.Exit(storetest.Main(m)).
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	f, err := setup(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
		return 1
	}
	fx = f
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.teardown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// ErrNoEmulators is wrapped by the error for a test binary started without the
// emulators' endpoints.
var ErrNoEmulators = errors.New("no emulators")

// FromEnv reads the endpoints; the error is one line that says how to start them.
func FromEnv() (*Endpoints, error) {
	e := &Endpoints{DynamoDB: os.Getenv(EnvDynamoDB), SQS: os.Getenv(EnvSQS), SES: os.Getenv(EnvSES), Region: os.Getenv(EnvRegion)}
	var missing []string
	for name, v := range map[string]string{EnvDynamoDB: e.DynamoDB, EnvSQS: e.SQS, EnvSES: e.SES, EnvRegion: e.Region, EnvTable: os.Getenv(EnvTable), EnvQueues: os.Getenv(EnvQueues)} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) == 6:
		return nil, fmt.Errorf("TIERFLOW_TEST_* not set: run `make test`, or `%s`: %w", StartCommand, ErrNoEmulators)
	case len(missing) > 0:
		sort.Strings(missing)
		return nil, fmt.Errorf("%s not set: run `make test`, or `%s`: %w", strings.Join(missing, ", "), StartCommand, ErrNoEmulators)
	}
	return e, nil
}

func setup(ctx context.Context) (*fixture, error) {
	emu, err := FromEnv()
	if err != nil {
		return nil, err
	}
	f := &fixture{emu: emu, queues: map[string]string{}}
	suffix := Suffix()
	db := emu.DynamoDBClient()
	proto := os.Getenv(EnvTable)
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		return nil, fmt.Errorf("DynamoDB Local at %s (%s) does not answer — is the `tierflow-local test` that set it still running? %w", emu.DynamoDB, EnvDynamoDB, err)
	}
	if f.table, err = copyTable(ctx, db, proto, proto+"-"+suffix); err != nil {
		return nil, err
	}
	protos, err := parseQueues(os.Getenv(EnvQueues))
	if err != nil {
		return nil, err
	}
	if err := f.copyQueues(ctx, emu.SQSClient(), protos, suffix); err != nil {
		_ = f.teardown(ctx)
		return nil, err
	}
	return f, nil
}

func (f *fixture) teardown(ctx context.Context) error {
	var errs []error
	if f.table != "" {
		if _, err := f.emu.DynamoDBClient().DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(f.table)}); err != nil {
			errs = append(errs, fmt.Errorf("delete table %s: %w", f.table, err))
		}
	}
	c := f.emu.SQSClient()
	for id, u := range f.queues {
		if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// copyTable creates name with proto's keys, attribute definitions, indexes, billing,
// stream and TTL, and waits until it is active.
func copyTable(ctx context.Context, db *dynamodb.Client, proto, name string) (string, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(proto)})
	if err != nil {
		return "", fmt.Errorf("the prototype table %s (%s): %w", proto, EnvTable, err)
	}
	d := out.Table
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		KeySchema:            d.KeySchema,
		AttributeDefinitions: d.AttributeDefinitions,
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}
	var throughput *ddbtypes.ProvisionedThroughput
	if pt := d.ProvisionedThroughput; (d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode == ddbtypes.BillingModeProvisioned) &&
		pt != nil && aws.ToInt64(pt.ReadCapacityUnits) > 0 {
		in.BillingMode = ddbtypes.BillingModeProvisioned
		throughput = &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: pt.ReadCapacityUnits, WriteCapacityUnits: pt.WriteCapacityUnits}
		in.ProvisionedThroughput = throughput
	}
	for _, g := range d.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection, ProvisionedThroughput: throughput,
		})
	}
	for _, l := range d.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
			IndexName: l.IndexName, KeySchema: l.KeySchema, Projection: l.Projection,
		})
	}
	if s := d.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
		in.StreamSpecification = s
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		return "", fmt.Errorf("create table %s from %s: %w", name, proto, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 250*time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return name, fmt.Errorf("wait for table %s: %w", name, err)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(proto)})
	if err != nil {
		return name, fmt.Errorf("TTL of %s: %w", proto, err)
	}
	if t := ttl.TimeToLiveDescription; t != nil && t.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
		if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: t.AttributeName, Enabled: aws.Bool(true)}}); err != nil {
			return name, fmt.Errorf("enable TTL on %s: %w", name, err)
		}
	}
	return name, nil
}

type protoQueue struct{ logicalID, name string }

func parseQueues(s string) ([]protoQueue, error) {
	var out []protoQueue
	for pair := range strings.SplitSeq(s, ",") {
		id, name, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || id == "" || name == "" {
			return nil, fmt.Errorf("%s=%q: want LogicalId=queue-name pairs separated by commas", EnvQueues, s)
		}
		out = append(out, protoQueue{id, name})
	}
	return out, nil
}

// The queue attributes a copy takes from its prototype: the ones the template sets.
var copied = []string{
	string(sqstypes.QueueAttributeNameVisibilityTimeout), string(sqstypes.QueueAttributeNameMessageRetentionPeriod),
	string(sqstypes.QueueAttributeNameDelaySeconds), string(sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds),
	string(sqstypes.QueueAttributeNameFifoQueue), string(sqstypes.QueueAttributeNameRedrivePolicy),
}

// copyQueues creates a copy of every prototype queue, dead-letter queues first, with
// each redrive policy pointing at the copy of its dead-letter queue.
func (f *fixture) copyQueues(ctx context.Context, c *sqs.Client, protos []protoQueue, suffix string) error {
	type queue struct {
		protoQueue
		attrs map[string]string
		dlq   string // the prototype DLQ's ARN, "" if none
	}
	var qs []queue
	logicalByARN := map[string]string{}
	for _, p := range protos {
		u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p.name)})
		if err != nil {
			return fmt.Errorf("the prototype queue %s (%s): %w", p.name, EnvQueues, err)
		}
		a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			return fmt.Errorf("attributes of %s: %w", p.name, err)
		}
		q := queue{protoQueue: p, attrs: map[string]string{}}
		for _, k := range copied {
			if v, ok := a.Attributes[k]; ok {
				q.attrs[k] = v
			}
		}
		if rp := q.attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)]; rp != "" {
			var policy struct {
				DLQ string `json:"deadLetterTargetArn"`
			}
			if err := json.Unmarshal([]byte(rp), &policy); err != nil {
				return fmt.Errorf("redrive policy of %s: %w", p.name, err)
			}
			q.dlq = policy.DLQ
		}
		logicalByARN[a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]] = p.logicalID
		qs = append(qs, q)
	}
	slices.SortStableFunc(qs, func(a, b queue) int {
		switch {
		case a.dlq == "" && b.dlq != "":
			return -1
		case a.dlq != "" && b.dlq == "":
			return 1
		}
		return 0
	})
	arns := map[string]string{} // logical id -> the copy's ARN
	for _, q := range qs {
		if q.dlq != "" {
			id, ok := logicalByARN[q.dlq]
			if !ok || arns[id] == "" {
				return fmt.Errorf("queue %s: its dead-letter queue %s is not among the prototypes (%s)", q.name, q.dlq, EnvQueues)
			}
			rp := strings.Replace(q.attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)], q.dlq, arns[id], 1)
			q.attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = rp
		}
		name := q.name + "-" + suffix
		if base, ok := strings.CutSuffix(q.name, ".fifo"); ok {
			name = base + "-" + suffix + ".fifo"
		}
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: q.attrs})
		if err != nil {
			return fmt.Errorf("create queue %s from %s: %w", name, q.name, err)
		}
		f.queues[q.logicalID] = aws.ToString(out.QueueUrl)
		a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return fmt.Errorf("ARN of %s: %w", name, err)
		}
		arns[q.logicalID] = a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	return nil
}

func mustStarted(tb testing.TB) {
	tb.Helper()
	if fx == nil {
		tb.Fatal("storetest: no table for this test binary: call storetest.Main from TestMain")
	}
}

// Table returns this test binary's copy of the template's table, with a fresh
// request-unit meter. The tests of one binary share it: give every test its own ids.
func Table(tb testing.TB) *store.Table {
	tb.Helper()
	mustStarted(tb)
	return store.New(fx.emu.DynamoDBClient(), fx.table)
}

// Emulators returns the running emulators (endpoints and SDK clients).
func Emulators(tb testing.TB) *Endpoints {
	tb.Helper()
	mustStarted(tb)
	return fx.emu
}

// QueueURL returns the URL of this binary's copy of one of the template's queues.
func QueueURL(tb testing.TB, logicalID string) string {
	tb.Helper()
	mustStarted(tb)
	u := fx.queues[logicalID]
	if u == "" {
		tb.Fatalf("storetest: the template has no queue %s", logicalID)
	}
	return u
}

// Queue creates a scratch queue for one test and deletes it afterwards.
func Queue(tb testing.TB, name string) string {
	tb.Helper()
	mustStarted(tb)
	c := fx.emu.SQSClient()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name + "-" + Suffix())})
	if err != nil {
		tb.Fatalf("storetest: create queue %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}); err != nil {
			tb.Errorf("storetest: delete queue %s: %v", name, err)
		}
	})
	return aws.ToString(out.QueueUrl)
}

// Suffix returns a short random string for ids that must not collide across tests.
func Suffix() string {
	b := make([]byte, 4)
	rand.Read(b) // documented never to return an error (Go 1.24+)
	return hex.EncodeToString(b)
}

package esm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/infra/local/esm"
	"github.com/tierflow/tierflow/infra/local/lambdart"
	"github.com/tierflow/tierflow/infra/local/lambdart/lambdarttest"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

var emu *storetest.Endpoints

// TestMain runs against the emulators `make test` started (see storetest); without
// them it fails with one line saying how to start them.
func TestMain(m *testing.M) {
	var err error
	if emu, err = storetest.FromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "esm:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// queue creates a work queue whose failures move to a DLQ after maxReceive receives.
func queue(t *testing.T, c *sqs.Client, name string, maxReceive int) (url, dlqURL string) {
	t.Helper()
	ctx := context.Background()
	name += "-" + storetest.Suffix() // the emulators outlive this binary
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	redrive, err := json.Marshal(map[string]string{"deadLetterTargetArn": attrs.Attributes["QueueArn"], "maxReceiveCount": fmt.Sprint(maxReceive)})
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": "2", // seconds: failed messages come back quickly
		"RedrivePolicy":     string(redrive),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl)
}

// recorder invokes the test function and remembers every body it was given.
type recorder struct {
	pool *lambdart.Pool
	mu   sync.Mutex
	seen map[string]int
	recs []events.SQSMessage
}

func (r *recorder) invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		// Not the test's goroutine: no t.Fatal. The batch fails, and so do the counts.
		return nil, fmt.Errorf("the poller sent no SQS event: %w", err)
	}
	r.mu.Lock()
	for _, m := range ev.Records {
		r.seen[m.Body]++
		r.recs = append(r.recs, m)
	}
	r.mu.Unlock()
	return r.pool.Invoke(ctx, payload)
}

func (r *recorder) count(body string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[body]
}

func newRecorder(t *testing.T) *recorder {
	pool, err := lambdart.NewPool(lambdart.Config{Name: "Worker", Binary: lambdarttest.Bootstrap(t), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Stop)
	return &recorder{pool: pool, seen: map[string]int{}}
}

func TestPartialBatchFailureDeletesOnlySuccessesAndFailuresReachTheDLQ(t *testing.T) {
	c := emu.SQSClient()
	url, dlq := queue(t, c, "esm-partial", 2)
	ctx := context.Background()
	for _, body := range []string{"ok-1", "fail", "ok-2"} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	rec := newRecorder(t)
	p, err := esm.Start(ctx, c, rec.invoke, []esm.Mapping{{Function: "Worker", Name: "Jobs", QueueURL: url,
		BatchSize: 10, Window: time.Second, ReportBatchItemFailures: true, Pollers: 1}}, esm.Options{LongPoll: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	// The failing message lands in the DLQ after maxReceiveCount receives.
	got := waitForMessage(t, c, dlq, 60*time.Second)
	if got != "fail" {
		t.Fatalf("DLQ holds %q, want the failing message", got)
	}
	if n := rec.count("fail"); n != 2 {
		t.Errorf("failing message delivered %d times, want maxReceiveCount=2", n)
	}
	// The successes were delivered once and deleted: never redelivered.
	for _, b := range []string{"ok-1", "ok-2"} {
		if n := rec.count(b); n != 1 {
			t.Errorf("%s delivered %d times, want once", b, n)
		}
	}
	st := p.Stats()["Worker/Jobs"]
	if st.Deleted != 2 || st.Failed != 2 {
		t.Errorf("stats = %+v, want 2 deleted and 2 failed deliveries", st)
	}
	rec.mu.Lock()
	r0 := rec.recs[0]
	rec.mu.Unlock()
	if r0.EventSource != "aws:sqs" || r0.EventSourceARN == "" || r0.Attributes["ApproximateReceiveCount"] == "" || r0.Md5OfBody == "" || r0.ReceiptHandle == "" {
		t.Errorf("record lacks Lambda's fields: %+v", r0)
	}
}

func TestFunctionErrorFailsTheWholeBatch(t *testing.T) {
	c := emu.SQSClient()
	url, dlq := queue(t, c, "esm-error", 1)
	ctx := context.Background()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("error")}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	p, err := esm.Start(ctx, c, rec.invoke, []esm.Mapping{{Function: "Worker", Name: "Jobs", QueueURL: url,
		BatchSize: 1, ReportBatchItemFailures: true, Pollers: 1}}, esm.Options{LongPoll: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if got := waitForMessage(t, c, dlq, 60*time.Second); got != "error" {
		t.Fatalf("DLQ holds %q", got)
	}
	if st := p.Stats()["Worker/Jobs"]; st.Deleted != 0 || st.LastError == "" {
		t.Fatalf("stats = %+v: a failed invocation must delete nothing", st)
	}
}

// waitForMessage long-polls a queue (a readiness wait, not a sleep) for one message.
func waitForMessage(t *testing.T, c *sqs.Client, url string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 2, MaxNumberOfMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			return aws.ToString(out.Messages[0].Body)
		}
	}
	t.Fatalf("no message in %s within %s", url, limit)
	return ""
}

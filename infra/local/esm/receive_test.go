package esm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/infra/local/esm"
)

// flaky is the SQS client with one ReceiveMessage that fails after SQS handed out its
// messages: the response arrived (and was decoded) but the call reports an error, as
// when a body fails its checksum or the connection drops after the payload.
type flaky struct {
	*sqs.Client
	calls, failOn atomic.Int32
}

func (f *flaky) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := f.Client.ReceiveMessage(ctx, in, opts...)
	if n := f.calls.Add(1); n == f.failOn.Load() && err == nil && len(out.Messages) > 0 {
		return nil, errors.New("injected: response failed after SQS handed out the messages")
	}
	return out, err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A receive failing inside the batching window drops nothing: the batch in hand is
// delivered, and the messages the failed call had taken are released at once rather
// than hidden for the visibility timeout (120 s here).
func TestAReceiveFailingInsideTheWindowDropsNothing(t *testing.T) {
	c := emu.SQSClient()
	ctx := context.Background()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("esm-receive-fails"), Attributes: map[string]string{"VisibilityTimeout": "120"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(q.QueueUrl)
	want := map[string]bool{}
	for i := range 15 {
		body := fmt.Sprintf("m-%02d", i)
		want[body] = true
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	f := &flaky{Client: c}
	f.failOn.Store(2) // the second receive of the first batch: inside the window
	rec := newRecorder(t)
	logs := &syncBuffer{}
	p, err := esm.Start(ctx, f, rec.invoke, []esm.Mapping{{Function: "Worker", Name: "Jobs", QueueURL: url,
		BatchSize: 25, Window: 2 * time.Second, ReportBatchItemFailures: true, Pollers: 1}},
		esm.Options{LongPoll: time.Second, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	deadline := time.Now().Add(30 * time.Second) // far below the 120 s visibility timeout
	for {
		missing := 0
		for b := range want {
			if rec.count(b) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 15 messages not delivered within 30 s: the failed receive hid them (stats %+v)", missing, p.Stats()["Worker/Jobs"])
		}
		time.Sleep(100 * time.Millisecond) // polling the recorder, not waiting for luck: the deadline bounds it
	}
	st := p.Stats()["Worker/Jobs"]
	if st.Released == 0 {
		t.Errorf("stats %+v: the injected failure released nothing — it did not hit messages", st)
	}
	if !strings.Contains(logs.String(), "released them") {
		t.Errorf("the failed receive was not logged: %s", logs.String())
	}
	for b := range want {
		if n := rec.count(b); n != 1 {
			t.Errorf("%s delivered %d times, want once", b, n)
		}
	}
}

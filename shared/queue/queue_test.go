package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/shared/queue"
)

// fakeSQS records what reaches the queue and rejects entries as told.
type fakeSQS struct {
	mu       sync.Mutex
	calls    int
	maxBatch int
	got      map[string]int    // body -> times it reached the queue
	reject   map[string]int    // body -> how many more times to reject it
	fault    map[string]bool   // body -> rejected as the sender's fault, every time
	failCall func(n int) error // fail the n-th call outright (1-based)
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failCall != nil {
		if err := f.failCall(f.calls); err != nil {
			return nil, err
		}
	}
	f.maxBatch = max(f.maxBatch, len(in.Entries))
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		b := aws.ToString(e.MessageBody)
		switch {
		case f.fault[b]:
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidMessageContents"), SenderFault: true})
		case f.reject[b] > 0:
			f.reject[b]--
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError")})
		default:
			f.got[b]++
			out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id})
		}
	}
	return out, nil
}

func bodies(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "m" + strconv.Itoa(i)
	}
	return out
}

func TestSend(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		reject    map[string]int
		fault     map[string]bool
		failCall  func(int) error
		wantErr   bool
		wantSent  int
		wantCalls int
	}{
		{"25 messages go in three calls of at most ten", 25, nil, nil, nil, false, 25, 3},
		{"an entry SQS rejects once is resent and arrives once", 10, map[string]int{"m3": 1}, nil, nil, false, 10, 2},
		{"an entry rejected three times is reported unsent", 10, map[string]int{"m3": 3}, nil, nil, true, 9, 3},
		{"an entry rejected as the sender's fault is not resent", 10, nil, map[string]bool{"m4": true}, nil, true, 9, 1},
		{"a call that fails leaves only its ten unsent", 30, nil, nil, func(n int) error {
			if n == 2 {
				return errors.New("connection reset")
			}
			return nil
		}, true, 20, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSQS{got: map[string]int{}, reject: tc.reject, fault: tc.fault, failCall: tc.failCall}
			if f.reject == nil {
				f.reject = map[string]int{}
			}
			sent, err := queue.New(f, "https://sqs.example/q").Send(context.Background(), bodies(tc.n))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			n := 0
			for i, ok := range sent {
				if ok {
					n++
					if f.got["m"+strconv.Itoa(i)] != 1 {
						t.Errorf("m%d reported sent but reached the queue %d times", i, f.got["m"+strconv.Itoa(i)])
					}
				} else if f.got["m"+strconv.Itoa(i)] != 0 {
					t.Errorf("m%d reported unsent but is on the queue", i)
				}
			}
			if n != tc.wantSent {
				t.Errorf("sent %d, want %d", n, tc.wantSent)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("calls %d, want %d", f.calls, tc.wantCalls)
			}
			if f.maxBatch > 10 {
				t.Errorf("a call carried %d entries; SQS takes at most 10", f.maxBatch)
			}
		})
	}
}

func TestSendWithoutAQueueSaysSo(t *testing.T) {
	sent, err := queue.New(nil, "").Send(context.Background(), []string{"a"})
	if !errors.Is(err, queue.ErrNotConfigured) || sent[0] {
		t.Fatalf("sent %v, err %v; want nothing sent and ErrNotConfigured", sent, err)
	}
	if _, err := queue.New(nil, "").Send(context.Background(), nil); err != nil {
		t.Fatalf("sending nothing needs no queue: %v", err)
	}
}

// The sweep's queue: the ids go on it, and one SQS keeps rejecting fails the call.
func TestEnqueueFailsUnlessEveryIDIsOnTheQueue(t *testing.T) {
	f := &fakeSQS{got: map[string]int{}, reject: map[string]int{}}
	q := queue.New(f, "https://sqs.example/q")
	if err := q.Enqueue(context.Background(), bodies(12)); err != nil || len(f.got) != 12 {
		t.Fatalf("enqueue: %d on the queue, err %v", len(f.got), err)
	}
	f.reject["m5"] = 3
	if err := q.Enqueue(context.Background(), bodies(8)); err == nil {
		t.Fatal("an id SQS kept rejecting was reported enqueued")
	}
	if err := queue.New(nil, "").Enqueue(context.Background(), []string{"a"}); !errors.Is(err, queue.ErrNotConfigured) {
		t.Fatalf("without a queue: %v, want ErrNotConfigured", err)
	}
}

func ExampleQueue_Send() {
	f := &fakeSQS{got: map[string]int{}, reject: map[string]int{}}
	sent, err := queue.New(f, "https://sqs.example/q").Send(context.Background(), []string{`{"id":1}`, `{"id":2}`})
	fmt.Println(sent, err)
	// Output: [true true] <nil>
}

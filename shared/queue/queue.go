// Package queue is the one SQS sender every producer uses: the transactions API (ingest
// queue), the nightly run (its own segments) and the follow-up sweep (dispatch queue).
// It batches ten messages per SendMessageBatch, runs a few calls at a time, resends the
// entries SQS rejects, and reports per message whether it is on the queue.
package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// maxBatch is SQS's limit of entries per SendMessageBatch.
const maxBatch = 10

// API is the part of the SQS client a Queue calls.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Queue sends to one queue URL.
type Queue struct {
	api      API
	url      string
	parallel int // SendMessageBatch calls in flight at most
	attempts int // tries per entry SQS rejects
}

// New returns a Queue for url. A nil api or an empty url makes every Send fail with a
// clear error, so a function that never sends needs no queue configured.
func New(api API, url string) *Queue {
	return &Queue{api: api, url: url, parallel: 8, attempts: 3}
}

// ErrNotConfigured is returned by Send on a Queue without a client or URL.
var ErrNotConfigured = errors.New("queue: no queue configured")

// Send puts each body on the queue. sent[i] reports whether bodies[i] is on it; err is nil
// only when every body is. Entries SQS rejects are resent (up to three tries each); a call
// that fails outright leaves its ten bodies unsent and is reported in err.
func (q *Queue) Send(ctx context.Context, bodies []string) (sent []bool, err error) {
	sent = make([]bool, len(bodies))
	if len(bodies) == 0 {
		return sent, nil
	}
	if q == nil || q.api == nil || q.url == "" {
		return sent, ErrNotConfigured
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, q.parallel)
	for start := 0; start < len(bodies); start += maxBatch {
		end := min(start+maxBatch, len(bodies))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := q.sendBatch(ctx, bodies, start, end, sent); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return sent, fmt.Errorf("send to %s: %w", q.url, errors.Join(errs...))
	}
	return sent, nil
}

// Enqueue puts the reminder ids on the queue (followup/app.Queue: the sweep hands due
// reminders to the dispatch queue). It fails unless every id is on it; the sweep's
// requeue window brings back those SQS kept rejecting.
func (q *Queue) Enqueue(ctx context.Context, ids []string) error {
	if _, err := q.Send(ctx, ids); err != nil {
		return fmt.Errorf("enqueue %d reminders: %w", len(ids), err)
	}
	return nil
}

// sendBatch sends bodies[start:end] in one call, then resends what SQS rejected. Each
// goroutine writes only its own range of sent.
func (q *Queue) sendBatch(ctx context.Context, bodies []string, start, end int, sent []bool) error {
	pending := make([]int, 0, end-start)
	for i := start; i < end; i++ {
		pending = append(pending, i)
	}
	var last string
	for attempt := 0; attempt < q.attempts && len(pending) > 0; attempt++ {
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(pending))
		for k, i := range pending {
			entries[k] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i])}
		}
		out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("%d messages: %w", len(pending), err)
		}
		for _, ok := range out.Successful {
			if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i >= start && i < end {
				sent[i] = true
			}
		}
		var again []int
		for _, f := range out.Failed {
			last = aws.ToString(f.Code)
			i, err := strconv.Atoi(aws.ToString(f.Id))
			if err != nil || i < start || i >= end || sent[i] {
				continue
			}
			if f.SenderFault { // the message itself is wrong (too big, bad characters): no retry helps
				continue
			}
			again = append(again, i)
		}
		pending = again
	}
	if n := unsent(sent[start:end]); n > 0 {
		return fmt.Errorf("%d of %d messages rejected (last code %q)", n, end-start, last)
	}
	return nil
}

func unsent(sent []bool) int {
	n := 0
	for _, ok := range sent {
		if !ok {
			n++
		}
	}
	return n
}

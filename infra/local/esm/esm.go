// Package esm is the local SQS event source mapping: for each SQS event of the template
// it long-polls the queue, gathers a batch within the batch size and batching window,
// invokes the function with an events.SQSEvent and deletes what succeeded. Partial batch
// responses are honoured as Lambda does; what is not deleted becomes visible again after
// the queue's visibility timeout, and the SQS emulator's redrive moves it to the DLQ after
// maxReceiveCount.
package esm

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// API is the part of the SQS client a mapping uses (*sqs.Client has it).
type API interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Mapping is one SQS event of a function.
type Mapping struct {
	Function                string // logical id
	Name                    string // event name in the template
	QueueURL                string
	BatchSize               int           // 1-10000; default 10
	Window                  time.Duration // MaximumBatchingWindowInSeconds
	ReportBatchItemFailures bool
	Pollers                 int // concurrent pollers; default 2
}

// Invoke runs a function synchronously.
type Invoke func(ctx context.Context, function string, payload []byte) ([]byte, error)

// Options tune the pollers.
type Options struct {
	Region string // for awsRegion and eventSourceARN; default us-east-1
	Logger *slog.Logger
	// LongPoll is the ReceiveMessage wait while a poller has nothing; default 20s, SQS's
	// maximum. Stop does not wait for it: the call is cancelled.
	LongPoll time.Duration
}

// Stats count what a mapping did.
type Stats struct {
	Batches  int64 `json:"batches"`
	Messages int64 `json:"messages"`
	Deleted  int64 `json:"deleted"`
	Failed   int64 `json:"failed"` // left for redelivery
	// Released counts messages made visible again at once without an invocation: those
	// a failed receive had taken, and those in hand at shutdown.
	Released  int64  `json:"released"`
	LastError string `json:"lastError,omitempty"`
}

// Poller runs every mapping.
type Poller struct {
	client API
	invoke Invoke
	opts   Options
	maps   []*mapping
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type mapping struct {
	Mapping
	arn                                          string
	batches, messages, deleted, failed, released atomic.Int64
	lastErr                                      atomic.Value // string
}

// Start resolves each queue's ARN and starts the pollers.
func Start(ctx context.Context, client API, invoke Invoke, mappings []Mapping, opts Options) (*Poller, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LongPoll <= 0 {
		opts.LongPoll = 20 * time.Second
	}
	p := &Poller{client: client, invoke: invoke, opts: opts}
	for _, m := range mappings {
		if m.BatchSize <= 0 {
			m.BatchSize = 10
		}
		if m.Pollers <= 0 {
			m.Pollers = 2
		}
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(m.QueueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return nil, fmt.Errorf("event source %s/%s: queue %s: %w", m.Function, m.Name, m.QueueURL, err)
		}
		p.maps = append(p.maps, &mapping{Mapping: m, arn: attrs.Attributes[string(types.QueueAttributeNameQueueArn)]})
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, m := range p.maps {
		for range m.Pollers {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.poll(ctx, m)
			}()
		}
	}
	return p, nil
}

// Stop ends polling and waits for batches in flight to be invoked and settled.
func (p *Poller) Stop() {
	p.cancel()
	p.wg.Wait()
}

// Stats returns counters per "Function/Event".
func (p *Poller) Stats() map[string]Stats {
	out := map[string]Stats{}
	for _, m := range p.maps {
		le, _ := m.lastErr.Load().(string)
		out[m.Function+"/"+m.Name] = Stats{Batches: m.batches.Load(), Messages: m.messages.Load(),
			Deleted: m.deleted.Load(), Failed: m.failed.Load(), Released: m.released.Load(), LastError: le}
	}
	return out
}

func (p *Poller) poll(ctx context.Context, m *mapping) {
	log := p.opts.Logger.With("function", m.Function, "event", m.Name)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		batch, err := p.gather(ctx, m, log)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn("receive failed", "err", err)
			m.lastErr.Store(err.Error())
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if len(batch) == 0 {
			continue
		}
		p.deliver(ctx, m, batch, log)
	}
}

// gather long-polls for the first messages, then keeps receiving until the batch is full
// or the batching window has passed. A receive is never cancelled mid-flight except at
// shutdown: a cancelled receive would hide its messages until the visibility timeout.
//
// Nothing received is dropped. A receive that fails after SQS handed out messages (the
// response arrived but failed its checksum, or was cut off after it was decoded) has
// its messages captured as the SDK decoded them, and they are released at once; what
// the batch already held is delivered. Both are logged.
func (p *Poller) gather(ctx context.Context, m *mapping, log *slog.Logger) ([]types.Message, error) {
	var batch []types.Message
	var windowEnd time.Time
	for len(batch) < m.BatchSize {
		wait := p.opts.LongPoll
		if len(batch) > 0 {
			left := time.Until(windowEnd)
			if left <= 0 {
				break
			}
			wait = left
		}
		var taken []types.Message
		out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.QueueURL),
			MaxNumberOfMessages:         int32(min(m.BatchSize-len(batch), 10)),
			WaitTimeSeconds:             int32(min(math.Ceil(wait.Seconds()), 20)),
			AttributeNames:              []types.QueueAttributeName{types.QueueAttributeNameAll},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		}, capture(&taken))
		if err != nil {
			if len(taken) > 0 {
				p.release(m, taken)
				log.Warn("receive failed after SQS handed out messages: released them", "released", len(taken), "err", err)
			}
			if len(batch) > 0 && ctx.Err() != nil {
				p.release(m, batch)
				return nil, ctx.Err()
			}
			if len(batch) > 0 {
				log.Warn("receive failed inside the batching window: delivering the batch received so far", "messages", len(batch), "err", err)
				m.lastErr.Store(err.Error())
				return batch, nil
			}
			return nil, err
		}
		if len(batch) == 0 && len(out.Messages) > 0 {
			windowEnd = time.Now().Add(m.Window)
		}
		batch = appendUnique(batch, out.Messages)
		if m.Window <= 0 && len(batch) > 0 {
			break
		}
	}
	return batch, nil
}

// capture records the messages of every ReceiveMessage response the SDK decodes, before
// checks that run after decoding (the body MD5s) can turn the call into an error.
func capture(dst *[]types.Message) func(*sqs.Options) {
	return func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("esmCaptureReceived",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if r, ok := out.Result.(*sqs.ReceiveMessageOutput); ok && r != nil {
						*dst = append(*dst, r.Messages...)
					}
					return out, md, err
				}), middleware.Before)
		})
	}
}

// appendUnique adds received messages; one received again within the window (its
// visibility timeout is shorter than the window) replaces its older copy, whose receipt
// handle is no longer valid for deleting it.
func appendUnique(batch, msgs []types.Message) []types.Message {
	for _, m := range msgs {
		i := slices.IndexFunc(batch, func(b types.Message) bool { return aws.ToString(b.MessageId) == aws.ToString(m.MessageId) })
		if i >= 0 {
			batch[i] = m
			continue
		}
		batch = append(batch, m)
	}
	return batch
}

// release makes messages visible again at once (at shutdown, and after a failed receive).
func (p *Poller) release(m *mapping, batch []types.Message) {
	m.released.Add(int64(len(batch)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for start := 0; start < len(batch); start += 10 {
		var entries []types.ChangeMessageVisibilityBatchRequestEntry
		for i, msg := range batch[start:min(start+10, len(batch))] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0})
		}
		_, _ = p.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(m.QueueURL), Entries: entries})
	}
}

func (p *Poller) deliver(ctx context.Context, m *mapping, batch []types.Message, log *slog.Logger) {
	m.batches.Add(1)
	m.messages.Add(int64(len(batch)))
	ev := p.event(m, batch)
	payload, err := json.Marshal(ev)
	if err != nil {
		log.Error("encode event: releasing the batch", "messages", len(batch), "err", err)
		p.release(m, batch)
		return
	}
	// The invocation runs to its end even during shutdown, so its outcome is settled.
	out, err := p.invoke(context.WithoutCancel(ctx), m.Function, payload)
	failed, err := failures(m, batch, out, err)
	if err != nil {
		m.lastErr.Store(err.Error())
		log.Warn("batch failed; messages will be retried after the visibility timeout", "messages", len(batch), "err", err)
	}
	var done []types.Message
	for _, msg := range batch {
		if !failed[aws.ToString(msg.MessageId)] {
			done = append(done, msg)
		}
	}
	m.failed.Add(int64(len(batch) - len(done)))
	if n, err := p.delete(m, done); err != nil {
		log.Error("delete processed messages", "err", err)
		m.lastErr.Store(err.Error())
	} else {
		m.deleted.Add(int64(n))
	}
}

// failures says which messages failed: all of them when the invocation failed or, with
// ReportBatchItemFailures, when the response is not a valid partial batch response.
func failures(m *mapping, batch []types.Message, out []byte, invokeErr error) (map[string]bool, error) {
	all := func(err error) (map[string]bool, error) {
		f := map[string]bool{}
		for _, msg := range batch {
			f[aws.ToString(msg.MessageId)] = true
		}
		return f, err
	}
	if invokeErr != nil {
		return all(invokeErr)
	}
	if !m.ReportBatchItemFailures || len(out) == 0 || string(out) == "null" {
		return nil, nil
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return all(fmt.Errorf("invalid partial batch response: %w", err))
	}
	ids := map[string]bool{}
	for _, msg := range batch {
		ids[aws.ToString(msg.MessageId)] = true
	}
	f := map[string]bool{}
	for _, item := range resp.BatchItemFailures {
		if !ids[item.ItemIdentifier] {
			return all(fmt.Errorf("invalid partial batch response: itemIdentifier %q is not in the batch", item.ItemIdentifier))
		}
		f[item.ItemIdentifier] = true
	}
	if len(f) > 0 {
		return f, fmt.Errorf("%d of %d messages reported as failed", len(f), len(batch))
	}
	return f, nil
}

func (p *Poller) delete(m *mapping, msgs []types.Message) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	var errs []error
	for start := 0; start < len(msgs); start += 10 {
		var entries []types.DeleteMessageBatchRequestEntry
		for i, msg := range msgs[start:min(start+10, len(msgs))] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle})
		}
		out, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.QueueURL), Entries: entries})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n += len(out.Successful)
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("delete %s: %s", aws.ToString(f.Id), aws.ToString(f.Message)))
		}
	}
	return n, errors.Join(errs...)
}

func (p *Poller) event(m *mapping, batch []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	for _, msg := range batch {
		body := aws.ToString(msg.Body)
		md5sum := aws.ToString(msg.MD5OfBody)
		if md5sum == "" {
			sum := md5.Sum([]byte(body))
			md5sum = hex.EncodeToString(sum[:])
		}
		rec := events.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   body,
			Md5OfBody:              md5sum,
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             msg.Attributes,
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         m.arn,
			EventSource:            "aws:sqs",
			AWSRegion:              p.opts.Region,
		}
		if rec.Attributes == nil {
			rec.Attributes = map[string]string{}
		}
		for k, a := range msg.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue: a.StringValue, BinaryValue: a.BinaryValue,
				StringListValues: a.StringListValues, BinaryListValues: a.BinaryListValues,
				DataType: aws.ToString(a.DataType),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

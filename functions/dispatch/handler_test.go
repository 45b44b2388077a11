package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/notify"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var shanghai = followup.Location("Asia/Shanghai", "")

// clock is the fake time every service reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// rig is the real pipeline on the emulators: DynamoDB Local, the SQS emulator, the SES
// emulator and an SMS outbox file.
type rig struct {
	t        testing.TB
	clock    *clock
	f        *store.Reminders
	contacts *store.Contacts
	table    *store.Table
	planner  *app.Planner
	sweeper  *app.Sweeper
	handler  *Dispatch
	sqs      *sqs.Client
	queueURL string
	outbox   string
	ses      string
	sender   *flaky
}

// flaky passes through to the real channels; crashAfterSend makes one reminder's send
// look like a process that died after the provider accepted it.
type flaky struct {
	app.Sender
	mu             sync.Mutex
	crashAfterSend map[string]bool
}

func (f *flaky) Send(ctx context.Context, m app.Outgoing) (string, error) {
	id, err := f.Sender.Send(ctx, m)
	f.mu.Lock()
	crash := f.crashAfterSend[m.ReminderID]
	delete(f.crashAfterSend, m.ReminderID)
	f.mu.Unlock()
	if err == nil && crash {
		return "", fmt.Errorf("worker killed after the provider call: %w", app.ErrAmbiguous)
	}
	return id, err
}

func newRig(t testing.TB, start time.Time) *rig {
	t.Helper()
	emu := storetest.Emulators(t)
	tbl := storetest.Table(t)
	c := &clock{t: start}
	r := &rig{t: t, clock: c, table: tbl, sqs: emu.SQSClient(), queueURL: storetest.Queue(t, "dispatch"),
		outbox: filepath.Join(t.TempDir(), "sms-outbox.jsonl"), ses: emu.SES}
	cat, err := message.Default()
	if err != nil {
		t.Fatal(err)
	}
	email := &notify.Email{Client: emu.SESClient(), From: "care@tierflow.example"}
	r.sender = &flaky{Sender: notify.New(map[model.Channel]notify.Channel{model.ChannelEmail: email, model.ChannelSMS: notify.NewOutbox(r.outbox)}), crashAfterSend: map[string]bool{}}
	if r.handler, err = wire(slog.New(slog.NewJSONHandler(io.Discard, nil)), tbl, r.sender, cat, "https://tierflow.example", c.Now); err != nil {
		t.Fatal(err)
	}
	// The dispatcher's own adapters, and the planner and sweeper the other functions run.
	d := r.handler.Dispatcher
	r.f, r.contacts = d.Reminders.(*store.Reminders), d.Customers.(*store.Contacts)
	fu, err := boot.NewFollowup(tbl, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	r.planner = fu.Planner()
	r.sweeper = &app.Sweeper{Policy: fu.Policy, Reminders: fu.Reminders, Customers: fu.Contacts, Staff: fu.Staff, Counters: fu.Counters,
		Queue: queue.New(r.sqs, r.queueURL), Alerts: store.NewAlerts(tbl, c.Now), Now: c.Now}
	return r
}

var rules = customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01"}, DefaultStore: "sh-01"}

func (r *rig) customer(form customer.LeadForm) customer.Profile {
	r.t.Helper()
	l, err := rules.Validate(form, customer.Submission{At: r.clock.Now(), IP: "203.0.113.9", Channel: "form"})
	if err != nil {
		r.t.Fatal(err)
	}
	p, _, err := r.table.ResolveOrCreate(context.Background(), l, customer.Grading{}, r.clock.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) sweep(at time.Time) app.SweepResult {
	r.t.Helper()
	r.clock.Set(at)
	res, err := r.sweeper.Run(context.Background())
	if err != nil {
		r.t.Fatalf("sweep at %v: %v", at, err)
	}
	return res
}

// receive takes what is on the queue (waiting for at least want messages).
func (r *rig) receive(want int) []events.SQSMessage {
	r.t.Helper()
	msgs, err := r.tryReceive(want)
	if err != nil {
		r.t.Fatal(err)
	}
	return msgs
}

// tryReceive is receive for goroutines other than the test's, which must not call Fatal.
func (r *rig) tryReceive(want int) ([]events.SQSMessage, error) {
	var msgs []events.SQSMessage
	deadline := time.Now().Add(10 * time.Second)
	for len(msgs) < want || want == 0 {
		out, err := r.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return msgs, fmt.Errorf("receive: %w", err)
		}
		for _, m := range out.Messages {
			msgs = append(msgs, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: m.Attributes})
		}
		if want == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(msgs) < want {
		return msgs, fmt.Errorf("queue: got %d messages, want %d", len(msgs), want)
	}
	return msgs, nil
}

// dispatch runs the handler like the event source mapping: failures stay on the queue.
func (r *rig) dispatch(msgs []events.SQSMessage) events.SQSEventResponse {
	r.t.Helper()
	resp, err := r.tryDispatch(msgs)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

// tryDispatch is dispatch for goroutines other than the test's.
func (r *rig) tryDispatch(msgs []events.SQSMessage) (events.SQSEventResponse, error) {
	resp, err := r.handler.Handle(context.Background(), events.SQSEvent{Records: msgs})
	if err != nil {
		return resp, fmt.Errorf("handle: %w", err)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range msgs {
		if !failed[m.MessageId] && m.ReceiptHandle != "" {
			if _, err := r.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(r.queueURL), ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
				return resp, fmt.Errorf("delete a handled message: %w", err)
			}
		}
	}
	return resp, nil
}

type sesMail struct {
	MessageID   string `json:"messageId"`
	Subject     string `json:"subject"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Body struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
}

func (m sesMail) header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// mailTo lists the SES emulator's stored mail to one address.
func (r *rig) mailTo(addr string) []sesMail {
	r.t.Helper()
	var out []sesMail
	for _, m := range r.mails() {
		if slices.ContainsFunc(m.Destination.To, func(to string) bool { return strings.EqualFold(to, addr) }) {
			out = append(out, m)
		}
	}
	return out
}

// mails lists all the mail the SES emulator stored.
func (r *rig) mails() []sesMail {
	r.t.Helper()
	resp, err := http.Get(r.ses + "/store")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []sesMail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		r.t.Fatal(err)
	}
	return store.Emails
}

// setTier plays the tiering job, which owns the profile's tier attribute.
func (r *rig) setTier(id string, tier model.Tier) {
	r.t.Helper()
	_, err := storetest.Emulators(r.t).DynamoDBClient().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(r.table.Name), Key: map[string]ddbtypes.AttributeValue{
			"PK": &ddbtypes.AttributeValueMemberS{Value: store.CustomerKey(id).PK}, "SK": &ddbtypes.AttributeValueMemberS{Value: store.CustomerKey(id).SK}},
		UpdateExpression:          aws.String("SET tier = :t"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": &ddbtypes.AttributeValueMemberS{Value: string(tier)}},
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

func local(y int, mo time.Month, d, h, m int) time.Time {
	return time.Date(y, mo, d, h, m, 0, 0, shanghai)
}

// A birthday greeting goes out by email at 09:00 local on the day, exactly once, with
// the one-click unsubscribe headers, however often its queue message is delivered.
func TestBirthdayEmailOnceAtLocalHourWithUnsubscribeHeaders(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, local(2030, 7, 14, 2, 0))
	addr := "bday-" + storetest.Suffix() + "@example.com"
	p := r.customer(customer.LeadForm{Name: "Chen Jing", Email: addr, Birthday: "1991-07-15"})
	v, err := r.contacts.ContactView(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range followup.Calendar(r.planner.Policy, v, local(2030, 7, 14, 0, 0), local(2030, 7, 16, 0, 0)) {
		if tr.Kind != followup.TriggerBirthday {
			continue
		}
		if _, err := r.planner.Handle(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if res, err := r.planner.Handle(ctx, tr); err != nil || len(res.Created) != 0 {
			t.Fatalf("re-planning the birthday created %d more reminders (err %v)", len(res.Created), err)
		}
	}

	if res := r.sweep(local(2030, 7, 15, 8, 59)); res.Enqueued != 0 {
		t.Fatalf("08:59 local: %d enqueued, want nothing before 09:00", res.Enqueued)
	}
	if res := r.sweep(local(2030, 7, 15, 9, 0)); res.Enqueued != 1 {
		t.Fatalf("09:00 local: %d enqueued, want the greeting", res.Enqueued)
	}
	msgs := r.receive(1)
	// The same queue message delivered twice in one batch, and again later.
	dup := msgs[0]
	dup.ReceiptHandle = ""
	r.dispatch(append(msgs, dup))
	r.dispatch([]events.SQSMessage{dup})

	mail := r.mailTo(addr)
	if len(mail) != 1 {
		t.Fatalf("%d mails to the customer, want exactly 1", len(mail))
	}
	m := mail[0]
	if lu := m.header("List-Unsubscribe"); !strings.HasPrefix(lu, "<https://tierflow.example/v1/unsubscribe?t=") || !strings.HasSuffix(lu, ">") {
		t.Fatalf("List-Unsubscribe = %q", lu)
	}
	if m.header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post = %q", m.header("List-Unsubscribe-Post"))
	}
	if m.Body.Text == "" || m.Body.HTML == "" || m.Subject == "" {
		t.Fatalf("mail lacks a part: subject %q, text %d bytes, html %d bytes", m.Subject, len(m.Body.Text), len(m.Body.HTML))
	}
	// Later sweeps find nothing more for it.
	r.sweep(local(2030, 7, 15, 12, 0))
	r.dispatch(r.receive(0))
	if n := len(r.mailTo(addr)); n != 1 {
		t.Fatalf("after later sweeps: %d mails, want 1", n)
	}
}

// A worker killed between the provider call and recording the outcome, then the batch
// redelivered: the SMS outbox (which knows its idempotency keys) still has one line per
// reminder, and the email the provider cannot confirm is not sent a second time.
func TestKilledMidBatchRedeliveredSendsNothingTwice(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, local(2031, 3, 3, 10, 0))
	national := fmt.Sprintf("139 %04d %04d", time.Now().Nanosecond()%10000, 4321)
	addr := "svc-" + storetest.Suffix() + "@example.com"
	p := r.customer(customer.LeadForm{Name: "Zhao Lei", Phone: national, Email: addr})
	if _, err := r.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerServiceDone, CustomerID: p.ID, Ref: "svc-1", At: local(2031, 3, 3, 10, 0)}); err != nil {
		t.Fatal(err)
	}
	// 7 days on: the SMS check-in (10:00) and the survey email (11:00) are due.
	r.sweep(local(2031, 3, 10, 11, 0))
	msgs := r.receive(2)
	for _, m := range msgs {
		r.sender.crashAfterSend[m.Body] = true // every send in this batch "dies" after the provider took it
	}
	r.dispatch(msgs)
	// SQS would redeliver after the visibility timeout; the lease holds until it expires.
	for _, m := range msgs {
		m.ReceiptHandle = ""
		r.dispatch([]events.SQSMessage{m})
	}
	// After the lease the sweep hands them over again and the dispatcher asks the provider.
	r.sweep(local(2031, 3, 10, 11, 11))
	r.dispatch(r.receive(len(msgs)))

	lines, err := notify.ReadOutbox(r.outbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0].To, "4321") {
		t.Fatalf("SMS outbox has %d lines, want the one check-in", len(lines))
	}
	if n := len(r.mailTo(addr)); n != 1 {
		t.Fatalf("%d survey mails, want 1", n)
	}
	sms, err := r.f.Get(ctx, lines[0].ReminderID)
	if err != nil || sms.Status != followup.StatusSent {
		t.Fatalf("SMS reminder after recovery: %s %v, want sent", sms.Status, err)
	}
}

// A reminder that reaches the dispatcher at night (planned for 20:50, the sweep ran at
// 21:05) waits for the morning: deferred, not dropped, then sent at 09:00.
func TestQuietHoursDeferToMorning(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, local(2032, 5, 5, 20, 50))
	addr := "night-" + storetest.Suffix() + "@example.com"
	p := r.customer(customer.LeadForm{Name: "Sun Li", Email: addr})
	r.setTier(p.ID, model.TierA)
	res, err := r.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: p.ID, Ref: "run-1", At: local(2032, 5, 5, 20, 50), FromTier: model.TierB, ToTier: model.TierA})
	if err != nil || len(res.Created) != 1 {
		t.Fatalf("plan: %d created, %v", len(res.Created), err)
	}
	id := res.Created[0].ID
	r.sweep(local(2032, 5, 5, 21, 5))
	r.dispatch(r.receive(1))
	if n := len(r.mailTo(addr)); n != 0 {
		t.Fatalf("%d mails at 21:05, want none in quiet hours", n)
	}
	got, err := r.f.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != followup.StatusDeferred || !got.DueAt.Equal(local(2032, 5, 6, 9, 0)) {
		t.Fatalf("after 21:05: %s due %v, want deferred to 09:00", got.Status, got.DueAt.In(shanghai))
	}
	if n := r.sweep(local(2032, 5, 6, 8, 59)).Enqueued; n != 0 {
		t.Fatalf("08:59: %d enqueued", n)
	}
	r.sweep(local(2032, 5, 6, 9, 0))
	r.dispatch(r.receive(1))
	if got, err = r.f.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := len(r.mailTo(addr)); n != 1 || got.Status != followup.StatusSent || !got.SentAt.Equal(local(2032, 5, 6, 9, 0)) {
		t.Fatalf("morning: %d mails, %s at %v (%s)", n, got.Status, got.SentAt.In(shanghai), got.LastError)
	}
}

// A template that needs a variable the customer lacks (no tier yet for "congratulations,
// you are now {{.TierName}}") fails the reminder visibly: no mail, the reminder failed
// with the reason, and the queue message failed on every delivery so SQS dead-letters it.
func TestMissingTemplateVariableFailsToDLQNotEmpty(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, local(2033, 4, 4, 10, 0))
	addr := "notier-" + storetest.Suffix() + "@example.com"
	p := r.customer(customer.LeadForm{Name: "Qian Yu", Email: addr})
	res, err := r.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: p.ID, Ref: "run-2", At: local(2033, 4, 4, 10, 0), FromTier: model.TierC, ToTier: model.TierB})
	if err != nil || len(res.Created) != 1 {
		t.Fatalf("plan: %v", err)
	}
	r.sweep(local(2033, 4, 4, 10, 0))
	msgs := r.receive(1)
	if resp := r.dispatch(msgs); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("first delivery: %d failures, want the message failed", len(resp.BatchItemFailures))
	}
	again := msgs[0]
	again.ReceiptHandle = ""
	again.Attributes = map[string]string{"ApproximateReceiveCount": "2"}
	if resp := r.dispatch([]events.SQSMessage{again}); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("redelivery: %d failures, want it failed again (on to the DLQ)", len(resp.BatchItemFailures))
	}
	got, err := r.f.Get(ctx, res.Created[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != followup.StatusFailed || !strings.Contains(got.LastError, "TierName") {
		t.Fatalf("reminder: %s %q, want failed naming the variable", got.Status, got.LastError)
	}
	if n := len(r.mailTo(addr)); n != 0 {
		t.Fatalf("%d mails sent, want none (never an empty message)", n)
	}
}

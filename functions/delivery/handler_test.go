package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var shanghai = followup.Location("Asia/Shanghai", "")

type rig struct {
	t        *testing.T
	table    *store.Table
	h        *Delivery
	contacts *store.Contacts
	pub      *events.Memory
	now      time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	tbl := storetest.Table(t)
	r := &rig{t: t, table: tbl, pub: &events.Memory{}, now: time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)}
	h, err := wire(slog.New(slog.NewJSONHandler(io.Discard, nil)), tbl, r.pub, func() time.Time { return r.now }, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	r.h, r.contacts = h, h.Deliveries.Suppressions.(*store.Contacts)
	return r
}

// customer creates a customer who consented to marketing by SMS and e-mail.
func (r *rig) customer(phone, email string) customer.Profile {
	r.t.Helper()
	rules := customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01"}, DefaultStore: "sh-01"}
	yes := customer.Checkbox{Set: true, Value: true}
	l, err := rules.Validate(customer.LeadForm{Name: "Lin Yu", Phone: phone, Email: email, ConsentService: yes, ConsentMarketingSMS: yes, ConsentMarketingEmail: yes, ConsentTextVersion: "v1"},
		customer.Submission{At: r.now.Add(-48 * time.Hour), IP: "203.0.113.9", Channel: "form"})
	if err != nil {
		r.t.Fatal(err)
	}
	p, _, err := r.table.ResolveOrCreate(context.Background(), l, customer.Grading{}, r.now.Add(-48*time.Hour))
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// sent stores a message reminder in status st, as dispatch would have left it.
func (r *rig) sent(customerID string, ch model.Channel, cat model.Category, st followup.Status, reason followup.Reason) followup.Reminder {
	r.t.Helper()
	rem := followup.Reminder{ID: followup.ReminderID(customerID, followup.TriggerServiceDone, "svc-"+string(ch)+string(st), "rule"), CustomerID: customerID, Store: "sh-01",
		Trigger: followup.TriggerServiceDone, TriggerRef: "svc", RuleID: "rule", Channel: ch, Category: cat, Template: "service.checkin",
		PlannedAt: r.now.Add(-time.Hour), DueAt: r.now.Add(-time.Hour), NotAfter: r.now.Add(24 * time.Hour), Status: followup.StatusPending}
	rems := r.h.Deliveries.Reminders
	if _, err := rems.Create(context.Background(), []followup.Reminder{rem}); err != nil {
		r.t.Fatal(err)
	}
	got, err := rems.Get(context.Background(), rem.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	got.Status, got.Reason, got.SweepAt = st, reason, time.Time{}
	if st == followup.StatusSent {
		got.SentAt = r.now.Add(-time.Hour)
	}
	if got, err = rems.Update(context.Background(), got); err != nil {
		r.t.Fatal(err)
	}
	return got
}

// invoke feeds a sample from events/ with its placeholders replaced, like `make invoke`.
func (r *rig) invoke(sample string, repl ...string) {
	r.t.Helper()
	raw, err := os.ReadFile("../../events/" + sample)
	if err != nil {
		r.t.Fatal(err)
	}
	s := strings.NewReplacer(repl...).Replace(string(raw))
	if err := r.h.Handle(context.Background(), json.RawMessage(s)); err != nil {
		r.t.Fatalf("%s: %v", sample, err)
	}
}

func (r *rig) view(id string) followup.CustomerView {
	r.t.Helper()
	v, err := r.contacts.ContactView(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *rig) reminder(id string) followup.Reminder {
	r.t.Helper()
	got, err := r.h.Deliveries.Reminders.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

func TestAPermanentBounceClosesTheAddressUntilTheCustomerConsentsAgain(t *testing.T) {
	r := newRig(t)
	p := r.customer("13800138001", "lin.bounce@example.com")
	rem := r.sent(p.ID, model.ChannelEmail, model.CategoryService, followup.StatusSent, "")
	r.invoke("delivery-ses-bounce.json", "REPLACE_REMINDER_ID", rem.ID, "customer@example.com", "lin.bounce@example.com")

	v := r.view(p.ID)
	if got := v.Deliverability(model.ChannelEmail); got != "bounced" {
		t.Errorf("email deliverability %q, want bounced", got)
	}
	for _, cat := range []model.Category{model.CategoryService, model.CategoryMarketing} {
		if got := v.Permits(cat, model.ChannelEmail); got != followup.ReasonBounced {
			t.Errorf("%s e-mail after a permanent bounce: %q, want bounced (no further e-mail)", cat, got)
		}
	}
	if got := v.Permits(model.CategoryMarketing, model.ChannelSMS); got != followup.ReasonNone {
		t.Errorf("SMS after an e-mail bounce: %q, want allowed", got)
	}
	if got := r.reminder(rem.ID); got.Status != followup.StatusFailed || got.Reason != followup.ReasonBounced {
		t.Errorf("reminder %s/%s, want failed/bounced", got.Status, got.Reason)
	}
	pv, err := r.table.GetProfileView(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Deliverability["email"] != "bounced" || pv.Deliverability["sms"] != "ok" {
		t.Errorf("profile deliverability %v, want email bounced, sms ok", pv.Deliverability)
	}
	// The same event again (EventBridge delivers at least once) changes nothing.
	r.invoke("delivery-ses-bounce.json", "REPLACE_REMINDER_ID", rem.ID, "customer@example.com", "lin.bounce@example.com")
	if n := len(r.pub.Events()); n != 1 || r.pub.Events()[0].Type != events.MessageFailed {
		t.Errorf("events %v, want one message.failed", r.pub.Events())
	}
	// A consent on the channel given after the bounce reopens it.
	v.Consents = append(v.Consents, model.Consent{Category: model.CategoryMarketing, Channel: model.ChannelEmail, Granted: true, At: r.now.Add(time.Hour)})
	v.Suppressed = nil
	v.ApplyClosures(map[model.Channel]followup.Closure{model.ChannelEmail: {Reason: followup.ReasonBounced, At: time.Date(2026, 3, 2, 1, 0, 4, 0, time.UTC)}})
	if got := v.Permits(model.CategoryMarketing, model.ChannelEmail); got != followup.ReasonNone {
		t.Errorf("after re-consent: %q, want allowed", got)
	}
}

func TestAComplaintClosesTheAddressAndIsCountedOnce(t *testing.T) {
	r := newRig(t)
	p := r.customer("13800138002", "lin.complaint@example.com")
	rem := r.sent(p.ID, model.ChannelEmail, model.CategoryMarketing, followup.StatusSent, "")
	r.invoke("delivery-ses-delivered.json", "REPLACE_REMINDER_ID", rem.ID, "customer@example.com", "lin.complaint@example.com")
	for range 2 {
		r.invoke("delivery-ses-complaint.json", "REPLACE_REMINDER_ID", rem.ID, "customer@example.com", "lin.complaint@example.com")
	}
	if got := r.view(p.ID).Deliverability(model.ChannelEmail); got != "complained" {
		t.Errorf("deliverability %q, want complained", got)
	}
	if got := r.reminder(rem.ID).Status; got != followup.StatusDelivered {
		t.Errorf("reminder %s, want delivered", got)
	}
	rows, err := store.NewTallies(r.table, "msg").ReadStores(context.Background(), []string{"2026-03-02"}, []string{"sh-01"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Counts["msg|email|marketing|complaints"] != 1 || rows[0].Counts["msg|email|marketing|delivered"] != 1 {
		t.Errorf("tallies %+v, want one delivery and one complaint", rows)
	}
}

func TestADeliveryReportSettlesAnUncertainSend(t *testing.T) {
	r := newRig(t)
	p := r.customer("13800138003", "lin.uncertain@example.com")
	skipped := r.sent(p.ID, model.ChannelEmail, model.CategoryMarketing, followup.StatusSkipped, followup.ReasonUncertainSend)
	r.invoke("delivery-ses-delivered.json", "REPLACE_REMINDER_ID", skipped.ID)
	if got := r.reminder(skipped.ID); got.Status != followup.StatusDelivered || got.Reason != "" {
		t.Errorf("uncertain send after its delivery report: %s/%s, want delivered", got.Status, got.Reason)
	}
	sms := r.sent(p.ID, model.ChannelSMS, model.CategoryService, followup.StatusSending, "")
	r.invoke("delivery-sms-receipt.json", "REPLACE_REMINDER_ID", sms.ID)
	if got := r.reminder(sms.ID); got.Status != followup.StatusDelivered || !got.SweepAt.IsZero() {
		t.Errorf("timed-out SMS claim after its receipt: %s (sweepAt %v), want delivered and out of the sweep", got.Status, got.SweepAt)
	}
}

func TestAnSMSReplyTDThroughSNSStopsMarketingOnEveryChannel(t *testing.T) {
	r := newRig(t)
	p := r.customer("13800138000", "lin.stop@example.com")
	if r.view(p.ID).MarketingOptOut {
		t.Fatal("opted out before replying")
	}
	pending := r.sent(p.ID, model.ChannelEmail, model.CategoryMarketing, followup.StatusPending, "")
	r.invoke("delivery-sms-reply.json")
	v := r.view(p.ID)
	for _, ch := range []model.Channel{model.ChannelSMS, model.ChannelEmail} {
		if got := v.Permits(model.CategoryMarketing, ch); got != followup.ReasonOptedOut {
			t.Errorf("marketing on %s after 退订: %q, want opted_out", ch, got)
		}
	}
	if got := v.Permits(model.CategoryService, model.ChannelSMS); got != followup.ReasonNone {
		t.Errorf("service SMS after 退订: %q, want still allowed", got)
	}
	if got := r.reminder(pending.ID); got.Status != followup.StatusCancelled {
		t.Errorf("pending marketing after 退订: %s, want cancelled", got.Status)
	}
	evs := r.pub.Events()
	if len(evs) != 1 || evs[0].Type != events.ConsentChanged {
		t.Errorf("events %v, want one consent.changed", evs)
	}
}

func TestUnreadableAndForeignPayloadsAreLoggedNotRetried(t *testing.T) {
	r := newRig(t)
	for _, raw := range []string{`{`, `{"source":"aws.s3"}`, `[]`} {
		if err := r.h.Handle(context.Background(), json.RawMessage(raw)); err != nil {
			t.Errorf("%s: %v, want nil (a retry cannot help)", raw, err)
		}
	}
	for _, s := range []string{"delivery-ses-delayed.json", "delivery-ses-rendering-failure.json"} {
		r.invoke(s)
	}
}

package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/feedback"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/followup/memstore"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type links struct{}

func (links) Unsubscribe(id string) string  { return "https://t.example/u/" + id }
func (links) Survey(rid, cid string) string { return "https://t.example/s/" + rid }

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err) // no zone database: every local-time rule below would be wrong
	}
	return l
}()

func sh(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err) // a typo in a test's time
	}
	return t
}

// sweepNow runs the sweeper once, as the schedule does.
func (r *rig) sweepNow(t *testing.T) {
	t.Helper()
	if _, err := r.sweeper.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// get reads one reminder or task.
func (r *rig) get(t *testing.T, id string) followup.Reminder {
	t.Helper()
	got, err := r.store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return got
}

type rig struct {
	clock   *clock
	store   *memstore.Store
	outbox  *memstore.Outbox
	planner *app.Planner
	sweeper *app.Sweeper
	disp    *app.Dispatcher
	tasks   *app.Tasks
}

func newRig(t testing.TB, start time.Time) *rig {
	t.Helper()
	p, err := followup.DefaultPolicy()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := message.Default()
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	s := memstore.New()
	s.SetStaff("s1", model.RoleAgent, "agent-1", "agent-2")
	s.SetStaff("s1", model.RoleClinician, "manager-1")
	s.SetStaff("s1", model.RoleAdmin, "owner-1")
	ob := memstore.NewOutbox(c.Now)
	pl := &app.Planner{Policy: p, Reminders: s, Customers: s, Staff: s, Counters: s, Now: c.Now}
	return &rig{
		clock: c, store: s, outbox: ob, planner: pl,
		sweeper: &app.Sweeper{Policy: p, Reminders: s, Customers: s, Staff: s, Counters: s, Queue: s, Alerts: s, Now: c.Now},
		disp:    &app.Dispatcher{Policy: p, Reminders: s, Customers: s, Counters: s, Sender: ob, Catalog: cat, Links: links{}, Now: c.Now},
		tasks:   &app.Tasks{Policy: p, Reminders: s, Customers: s, Staff: s, Counters: s, Planner: pl, Now: c.Now},
	}
}

func customer(id string) followup.CustomerView {
	at := sh("2025-01-01 00:00")
	return followup.CustomerView{
		ID: id, Store: "s1", Locale: "en", TimeZone: "Asia/Shanghai", Name: "Ann", Phone: "+8613800000000",
		Email: "ann@example.com", Tier: model.TierA, Stage: model.StageActive, Birthday: followup.Birthday{Month: time.March, Day: 10},
		Consents: []model.Consent{
			{Category: model.CategoryMarketing, Channel: model.ChannelSMS, Granted: true, At: at},
			{Category: model.CategoryMarketing, Channel: model.ChannelEmail, Granted: true, At: at},
		},
	}
}

// step sweeps and dispatches everything queued, like one EventBridge tick.
func (r *rig) step(t *testing.T) []app.Result {
	t.Helper()
	ctx := context.Background()
	if _, err := r.sweeper.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var out []app.Result
	for _, id := range r.store.Drain() {
		res, err := r.disp.Handle(ctx, id)
		if err != nil && !errors.Is(err, app.ErrUndeliverable) {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

func (r *rig) runUntil(t *testing.T, end time.Time) {
	for r.clock.Now().Before(end) {
		r.step(t)
		r.clock.Advance(5 * time.Minute)
	}
}

func (r *rig) plan(t *testing.T, tr followup.Trigger) app.PlanResult {
	t.Helper()
	tr.CustomerID = "c1"
	if tr.At.IsZero() {
		tr.At = r.clock.Now()
	}
	res, err := r.planner.Handle(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestABirthdayEmailArrivesOnceAt0900Local(t *testing.T) {
	r := newRig(t, sh("2025-03-02 03:00"))
	r.store.PutCustomer(customer("c1"))
	r.plan(t, followup.Trigger{Kind: followup.TriggerBirthday, Ref: "birthday-2025", At: sh("2025-03-10 00:00")})
	r.plan(t, followup.Trigger{Kind: followup.TriggerBirthday, Ref: "birthday-2025", At: sh("2025-03-10 00:00")}) // nightly overlap
	r.runUntil(t, sh("2025-03-11 00:00"))
	var greetings []memstore.Delivery
	for _, d := range r.outbox.Deliveries() {
		if d.Message.Subject == "Happy birthday, Ann!" {
			greetings = append(greetings, d)
		}
	}
	if len(greetings) != 1 {
		t.Fatalf("birthday greetings sent = %d, want 1", len(greetings))
	}
	if at := greetings[0].At.In(shanghai); at.Before(sh("2025-03-10 09:00")) || at.After(sh("2025-03-10 09:05")) {
		t.Errorf("greeting sent at %s, want 09:00–09:05 on the day", at)
	}
	if greetings[0].UnsubscribeURL == "" || greetings[0].Message.HTML == "" {
		t.Error("birthday email lacks HTML or unsubscribe link")
	}
}

func TestOneMessagePerReminderUnderFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      memstore.Fault
		noLookup   bool
		redeliver  bool
		wantSent   int
		wantStatus followup.Status
	}{
		{"a redelivered queue message does not send twice", memstore.Deliver, false, true, 1, followup.StatusSent},
		{"a timeout after a successful send is recovered without resending", memstore.TimeoutAfterSend, false, false, 1, followup.StatusSent},
		{"a timeout before the send is retried once the lease expires", memstore.TimeoutNoSend, false, false, 1, followup.StatusSent},
		{"a throttled send is retried with backoff and sent once", memstore.Retryable, false, false, 1, followup.StatusSent},
		{"a reply whose send timed out at a provider that cannot tell is sent again: a duplicate rather than a loss", memstore.TimeoutAfterSend, true, false, 2, followup.StatusSent},
		{"a reply whose request never reached the provider is retried and sent once", memstore.Refused, true, false, 1, followup.StatusSent},
		{"an invalid number fails permanently and is not retried", memstore.Permanent, false, false, 0, followup.StatusFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, sh("2025-03-03 11:00"))
			r.store.PutCustomer(customer("c1"))
			first := true
			r.outbox.Faults = func(app.Outgoing) memstore.Fault {
				if first {
					first = false
					return tc.fault
				}
				if tc.fault == memstore.Permanent {
					return memstore.Permanent
				}
				return memstore.Deliver
			}
			r.outbox.NoLookup = tc.noLookup
			res := r.plan(t, followup.Trigger{Kind: followup.TriggerComplaint, Ref: "cx1"})
			var ack followup.Reminder
			for _, c := range res.Created {
				if c.RuleID == "complaint_ack" {
					ack = c
				}
			}
			ctx := context.Background()
			r.sweepNow(t)
			ids := r.store.Drain()
			if tc.redeliver {
				ids = append(ids, ids...)
			}
			for _, id := range ids {
				if _, err := r.disp.Handle(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			r.runUntil(t, sh("2025-03-03 14:00"))
			got := r.get(t, ack.ID)
			if n := len(r.outbox.Deliveries()); n != tc.wantSent {
				t.Errorf("deliveries = %d, want %d", n, tc.wantSent)
			}
			if got.Status != tc.wantStatus {
				t.Errorf("status = %s (%s), want %s", got.Status, got.LastError, tc.wantStatus)
			}
			if tc.fault == memstore.Permanent {
				v, err := r.store.ContactView(ctx, "c1")
				if err != nil {
					t.Fatal(err)
				}
				if v.Permits(model.CategoryService, model.ChannelSMS) != followup.SkipBadContact {
					t.Error("a permanent failure did not mark the number bad")
				}
			}
		})
	}
}

func TestConcurrentDispatchersSendOnce(t *testing.T) {
	r := newRig(t, sh("2025-03-03 11:00"))
	r.store.PutCustomer(customer("c1"))
	r.plan(t, followup.Trigger{Kind: followup.TriggerComplaint, Ref: "cx1"})
	ctx := context.Background()
	r.sweepNow(t)
	ids := r.store.Drain()
	if len(ids) == 0 {
		t.Fatal("the sweep queued nothing")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(ids))
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, id := range ids {
				if _, err := r.disp.Handle(ctx, id); err != nil {
					errs <- err // not the test's goroutine: reported after Wait
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a worker's dispatch failed: %v", err)
	}
	if n := len(r.outbox.Deliveries()); n != 1 {
		t.Errorf("8 workers on the same queue message sent %d messages, want 1", n)
	}
}

func TestContactDisciplineAtSendTime(t *testing.T) {
	t.Run("an opt-out after planning stops the marketing message", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 11:00"))
		r.store.PutCustomer(customer("c1"))
		r.plan(t, followup.Trigger{Kind: followup.TriggerStageEntered, Stage: model.StageDormant, Ref: "st"})
		r.store.EditCustomer("c1", func(v *followup.CustomerView) { v.MarketingOptOut = true })
		r.runUntil(t, sh("2025-03-06 00:00"))
		if n := len(r.outbox.Deliveries()); n != 0 {
			t.Errorf("sent %d marketing messages after STOP", n)
		}
	})
	t.Run("an opt-out event cancels open marketing reminders", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 11:00"))
		r.store.PutCustomer(customer("c1"))
		r.plan(t, followup.Trigger{Kind: followup.TriggerStageEntered, Stage: model.StageDormant, Ref: "st"})
		res := r.plan(t, followup.Trigger{Kind: followup.TriggerOptOut, Ref: "stop-1"})
		if res.Cancelled != 1 {
			t.Errorf("cancelled = %d, want the one care offer", res.Cancelled)
		}
	})
	t.Run("a purchase cancels the win-back offer before it goes out", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 11:00"))
		r.store.PutCustomer(customer("c1"))
		r.plan(t, followup.Trigger{Kind: followup.TriggerStageEntered, Stage: model.StageSleeping, Ref: "st"})
		r.plan(t, followup.Trigger{Kind: followup.TriggerPurchase, Ref: "tx-9"})
		r.runUntil(t, sh("2025-03-06 00:00"))
		if n := len(r.outbox.Deliveries()); n != 0 {
			t.Errorf("returning-customer gift sent after a purchase")
		}
	})
	t.Run("the marketing cap holds across channels and defers the rest", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 11:00")) // Monday
		r.store.PutCustomer(customer("c1"))
		r.plan(t, followup.Trigger{Kind: followup.TriggerStageEntered, Stage: model.StageDormant, Ref: "a", At: sh("2025-03-02 11:00")})
		r.plan(t, followup.Trigger{Kind: followup.TriggerEffectEnding, Ref: "b", At: sh("2025-03-20 00:00")})
		r.plan(t, followup.Trigger{Kind: followup.TriggerWeekly, Ref: "2025-W10"})
		r.runUntil(t, sh("2025-03-04 00:00"))
		if n := len(r.outbox.Deliveries()); n != 1 {
			t.Errorf("marketing messages on one day = %d, want the cap of 1", n)
		}
		r.runUntil(t, sh("2025-03-10 00:00"))
		if n := len(r.outbox.Deliveries()); n != 2 {
			t.Errorf("marketing messages in one week = %d, want the cap of 2", n)
		}
		for _, rem := range r.store.All() {
			if rem.Status == followup.StatusSkipped && rem.Reason != followup.ReasonCapMarketingDaily && rem.Reason != followup.ReasonCapMarketingWeekly {
				t.Errorf("%s skipped for %s", rem.RuleID, rem.Reason)
			}
		}
	})
	t.Run("a complaint at 23:00 is acknowledged at 09:00, not at night", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 23:00"))
		r.store.PutCustomer(customer("c1"))
		r.plan(t, followup.Trigger{Kind: followup.TriggerComplaint, Ref: "cx"})
		r.runUntil(t, sh("2025-03-04 12:00"))
		d := r.outbox.Deliveries()
		if len(d) != 1 || d[0].At.In(shanghai).Hour() != 9 {
			t.Errorf("deliveries %v, want one at 09:xx", d)
		}
	})
}

func TestAMissingTemplateVariableFailsTheReminderVisibly(t *testing.T) {
	r := newRig(t, sh("2025-03-03 11:00"))
	v := customer("c1")
	v.Name = ""
	r.store.PutCustomer(v)
	res := r.plan(t, followup.Trigger{Kind: followup.TriggerComplaint, Ref: "cx"})
	ctx := context.Background()
	r.sweepNow(t)
	var sawErr error
	for _, id := range r.store.Drain() {
		if _, err := r.disp.Handle(ctx, id); err != nil {
			sawErr = err
		}
	}
	if !errors.Is(sawErr, app.ErrUndeliverable) || !errors.Is(sawErr, message.ErrMissingVariable) {
		t.Fatalf("dispatch error = %v, want undeliverable: missing variable", sawErr)
	}
	for _, c := range res.Created {
		if got := r.get(t, c.ID); c.RuleID == "complaint_ack" && got.Status != followup.StatusFailed {
			t.Errorf("reminder status = %s, want failed", got.Status)
		}
	}
	if n := len(r.outbox.Deliveries()); n != 0 {
		t.Errorf("an empty-named message was sent")
	}
}

func TestStaffTasks(t *testing.T) {
	ctx := context.Background()
	t.Run("hot leads are assigned round-robin among the store's agents", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		var got []string
		for _, ref := range []string{"l1", "l2", "l3"} {
			res := r.plan(t, followup.Trigger{Kind: followup.TriggerNewLead, Grade: model.LeadHot, Ref: ref})
			got = append(got, res.Created[0].Task.Assignee)
		}
		if got[0] == got[1] || got[0] != got[2] {
			t.Errorf("assignees = %v, want alternating agents", got)
		}
	})
	t.Run("an overdue hot lead escalates once to the manager with an alert", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		r.plan(t, followup.Trigger{Kind: followup.TriggerNewLead, Grade: model.LeadHot, Ref: "l1"})
		r.runUntil(t, sh("2025-03-03 10:25"))
		if len(r.store.Alerts()) != 0 {
			t.Fatal("escalated before the 30-minute deadline")
		}
		r.runUntil(t, sh("2025-03-03 12:00"))
		alerts := r.store.Alerts()
		if len(alerts) != 1 || alerts[0].StaffID != "manager-1" || alerts[0].Role != model.RoleClinician {
			t.Fatalf("alerts = %+v, want one to manager-1", alerts)
		}
		esc := r.get(t, alerts[0].TaskID)
		if esc.Task.EscalationOf == "" || esc.Status != followup.StatusOpen {
			t.Errorf("escalation task = %+v", esc.Task)
		}
		if _, err := r.tasks.Complete(ctx, esc.ID, "manager-1", followup.OutcomeReached); err != nil {
			t.Fatal(err)
		}
		orig := r.get(t, esc.Task.EscalationOf)
		if orig.Status != followup.StatusDone {
			t.Errorf("the escalated original stayed %s after the manager completed it", orig.Status)
		}
	})
	t.Run("no answer re-plans a call four hours later, up to three calls", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		id := r.plan(t, followup.Trigger{Kind: followup.TriggerNewLead, Grade: model.LeadWarm, Ref: "l1"}).Created[0].ID
		for call := 1; call <= 3; call++ {
			res, err := r.tasks.Complete(ctx, id, "agent-1", followup.OutcomeNoAnswer)
			if err != nil {
				t.Fatal(err)
			}
			if call == 3 {
				if res.Retry != nil {
					t.Error("a fourth call was planned")
				}
				break
			}
			if res.Retry == nil || !res.Retry.DueAt.Equal(r.clock.Now().Add(4*time.Hour)) {
				t.Fatalf("call %d: retry = %+v", call, res.Retry)
			}
			id = res.Retry.ID
		}
	})
	t.Run("completing a task twice is refused", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		id := r.plan(t, followup.Trigger{Kind: followup.TriggerNewLead, Grade: model.LeadWarm, Ref: "l1"}).Created[0].ID
		if _, err := r.tasks.Complete(ctx, id, "agent-1", followup.OutcomeBooked); err != nil {
			t.Fatal(err)
		}
		if _, err := r.tasks.Complete(ctx, id, "agent-2", followup.OutcomeReached); !errors.Is(err, followup.ErrTransition) {
			t.Errorf("second completion err = %v", err)
		}
	})
	t.Run("a low survey score opens one manager complaint task however often it is submitted", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		low := feedback.CSAT(2)
		for i := 0; i < 2; i++ {
			if _, err := r.planner.SurveyAnswered(ctx, "c1", "resp-1", r.clock.Now(), feedback.Response{CSAT: &low}); err != nil {
				t.Fatalf("answer %d: %v", i+1, err)
			}
		}
		n := 0
		for _, rem := range r.store.All() {
			if rem.IsTask() && rem.Task.Role == model.RoleClinician {
				n++
			}
		}
		if n != 1 {
			t.Errorf("manager complaint tasks = %d, want 1", n)
		}
	})
}

func TestEveryMessageRuleHasATemplateOnItsChannel(t *testing.T) {
	p, err := followup.DefaultPolicy()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := message.Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) == 0 {
		t.Fatal("the default policy has no rules: nothing to check")
	}
	for _, rule := range p.Rules {
		if !rule.IsTask() && !cat.Has(rule.Template, string(rule.Channel)) {
			t.Errorf("rule %s: template %s missing on %s", rule.ID, rule.Template, rule.Channel)
		}
	}
}

func TestATimeoutJustBeforeQuietHoursIsNotResentAtNight(t *testing.T) {
	r := newRig(t, sh("2025-03-03 20:55"))
	r.store.PutCustomer(customer("c1"))
	first := true
	r.outbox.Faults = func(app.Outgoing) memstore.Fault {
		if first {
			first = false
			return memstore.TimeoutNoSend
		}
		return memstore.Deliver
	}
	r.plan(t, followup.Trigger{Kind: followup.TriggerComplaint, Ref: "cx"})
	r.runUntil(t, sh("2025-03-04 12:00"))
	d := r.outbox.Deliveries()
	if len(d) != 1 {
		t.Fatalf("deliveries = %d, want 1", len(d))
	}
	if at := d[0].At.In(shanghai); at.Hour() < 9 || at.Hour() >= 21 {
		t.Errorf("the retry after an expired lease went out at %s", at.Format("15:04"))
	}
}

// consentLinks is a fake minter: each call is a new token, or ErrNotFound when the
// request behind the reminder is gone.
type consentLinks struct {
	minted int
	gone   bool
}

func (c *consentLinks) ConsentConfirm(_ context.Context, r followup.Reminder) (string, error) {
	if c.gone {
		return "", app.ErrNotFound
	}
	c.minted++
	return "https://t.example/v1/consent/confirm?t=tok-" + r.ID, nil
}

// A known person's consent request is confirmed by a message on the channel their form
// matched, carrying a link minted as it is sent; with nothing left to confirm (the
// customer was erased meanwhile) nothing is sent.
func TestAConsentConfirmationCarriesAFreshLinkOnTheMatchedChannel(t *testing.T) {
	t.Run("sent by SMS with its link", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		links := &consentLinks{}
		r.disp.Consent = links
		r.plan(t, followup.Trigger{Kind: followup.TriggerConsentRequested, Ref: "touch-1", Channel: model.ChannelSMS})
		r.step(t)
		d := r.outbox.Deliveries()
		if len(d) != 1 || d[0].Channel != model.ChannelSMS || links.minted != 1 {
			t.Fatalf("deliveries %d (minted %d), want one SMS", len(d), links.minted)
		}
		if want := "https://t.example/v1/consent/confirm?t=tok-"; !strings.Contains(d[0].Message.Text, want) {
			t.Errorf("the SMS carries no confirmation link: %q", d[0].Message.Text)
		}
	})
	t.Run("nothing left to confirm is not sent", func(t *testing.T) {
		r := newRig(t, sh("2025-03-03 10:00"))
		r.store.PutCustomer(customer("c1"))
		r.disp.Consent = &consentLinks{gone: true}
		r.plan(t, followup.Trigger{Kind: followup.TriggerConsentRequested, Ref: "touch-1", Channel: model.ChannelEmail})
		if res := r.step(t); len(res) != 1 || res[0] != app.ResultSkipped {
			t.Fatalf("results %v, want one skipped", res)
		}
		if d := r.outbox.Deliveries(); len(d) != 0 {
			t.Fatalf("%d messages sent for a request that is gone", len(d))
		}
	})
}

package followup

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

func TestSendTimeCheck(t *testing.T) {
	p := defaultPolicy(t)
	base := Reminder{ID: "r", Channel: model.ChannelSMS, Category: model.CategoryMarketing, NotAfter: sh("2025-03-05 12:00"), Status: StatusSending}
	tests := []struct {
		name string
		now  time.Time
		edit func(v *CustomerView, r *Reminder)
		want Decision
	}{
		{"a consented marketing SMS at noon is sent", sh("2025-03-03 12:00"), nil, Decision{Send: true}},
		{"an opt-out given after planning is honoured at send time", sh("2025-03-03 12:00"),
			func(v *CustomerView, _ *Reminder) { v.MarketingOptOut = true }, Decision{Skip: SkipOptedOut}},
		{"a withdrawn SMS marketing consent stops marketing SMS", sh("2025-03-03 12:00"),
			func(v *CustomerView, _ *Reminder) {
				v.Consents = append(v.Consents, model.Consent{Category: model.CategoryMarketing, Channel: model.ChannelSMS, Granted: false, At: sh("2025-03-02 00:00")})
			}, Decision{Skip: SkipNoConsent}},
		{"a number that bounced permanently is not retried", sh("2025-03-03 12:00"),
			func(v *CustomerView, _ *Reminder) { v.BadChannels = []model.Channel{model.ChannelSMS} }, Decision{Skip: SkipBadContact}},
		{"a message due at 22:00 is deferred to 09:00, not dropped", sh("2025-03-03 22:00"), nil, Decision{Defer: sh("2025-03-04 09:00")}},
		{"a message that would wait past its NotAfter in quiet hours is suppressed for quiet hours", sh("2025-03-04 22:00"),
			func(_ *CustomerView, r *Reminder) { r.NotAfter = sh("2025-03-05 08:00") }, Decision{Skip: ReasonQuietHours}},
		{"a bounced address is suppressed as bounced", sh("2025-03-03 12:00"),
			func(v *CustomerView, r *Reminder) {
				r.Channel = model.ChannelEmail
				v.Suppressed = map[model.Channel]Reason{model.ChannelEmail: ReasonBounced}
			}, Decision{Skip: ReasonBounced}},
		{"a complaint suppresses the channel it came from, not the others", sh("2025-03-03 12:00"),
			func(v *CustomerView, _ *Reminder) {
				v.Suppressed = map[model.Channel]Reason{model.ChannelEmail: ReasonComplained}
			}, Decision{Send: true}},
		{"a message past its NotAfter is stale", sh("2025-03-05 13:00"), nil, Decision{Skip: SkipStale}},
		{"a service message needs no marketing consent", sh("2025-03-03 12:00"),
			func(v *CustomerView, r *Reminder) { v.Consents, r.Category = nil, model.CategoryService }, Decision{Send: true}},
		{"an erased customer is never contacted", sh("2025-03-03 12:00"),
			func(v *CustomerView, _ *Reminder) { v.Erased = true }, Decision{Skip: SkipErased}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, r := view("c1"), base
			if tc.edit != nil {
				tc.edit(&v, &r)
			}
			got := p.Check(r, v, tc.now)
			if got.Send != tc.want.Send || got.Skip != tc.want.Skip || !got.Defer.Equal(tc.want.Defer) {
				t.Errorf("Check = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCapWindows(t *testing.T) {
	p := defaultPolicy(t)
	c := p.Gate(view("c1"), p.Classes["marketing"])
	sun := sh("2025-03-09 15:00")
	w := c.Windows("c1", model.CategoryMarketing, sun)
	if w.Week != "cap#c1#marketing#w#2025-W10" || w.Day != "cap#c1#marketing#d#2025-03-09" {
		t.Errorf("windows = %+v", w)
	}
	if !w.NextDay.Equal(sh("2025-03-10 09:00")) || !w.NextWeek.Equal(sh("2025-03-10 09:00")) {
		t.Errorf("a Sunday's day and week both reset at Monday 09:00, got %s / %s", w.NextDay, w.NextWeek)
	}
	if svc := c.Windows("c1", model.CategoryService, sun); svc.Day == w.Day {
		t.Error("service and marketing share a cap counter")
	}
	r := Reminder{NotAfter: sh("2025-03-08 00:00"), Category: model.CategoryMarketing}
	mk := p.Classes["marketing"]
	if d := p.CapDecision(r, mk, c.Windows("c1", model.CategoryMarketing, sh("2025-03-04 10:00")), false); !d.Defer.Equal(sh("2025-03-05 09:00")) || d.Reason != ReasonCapMarketingDaily {
		t.Errorf("a full daily cap defers to the next morning, got %+v", d)
	}
	if d := p.CapDecision(r, mk, c.Windows("c1", model.CategoryMarketing, sh("2025-03-04 10:00")), true); d.Skip != ReasonCapMarketingWeekly {
		t.Errorf("a full weekly cap that resets after NotAfter is suppressed as cap_marketing_weekly, got %+v", d)
	}
	greet := Reminder{NotAfter: sh("2025-03-04 20:00"), Category: model.CategoryService}
	if d := p.CapDecision(greet, p.Classes["greeting"], c.Windows("c1", model.CategoryService, sh("2025-03-04 10:00")), false); d.Skip != ReasonCapServiceDaily {
		t.Errorf("a greeting, whose class drops when blocked, is suppressed by a full cap at once, got %+v", d)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	rt := defaultPolicy(t).Contact.Retry // 5m initial, 2h max, ±20%
	prev := time.Duration(0)
	for n := 1; n <= 8; n++ {
		d := rt.Backoff("rem_x", n)
		nominal := min(5*time.Minute<<(n-1), 2*time.Hour)
		if d < nominal*8/10 || d > nominal*12/10 {
			t.Errorf("attempt %d: backoff %s outside ±20%% of %s", n, d, nominal)
		}
		if n <= 5 && d <= prev*7/10 {
			t.Errorf("attempt %d: backoff %s did not grow from %s", n, d, prev)
		}
		prev = d
	}
	if rt.Backoff("rem_a", 3) == rt.Backoff("rem_b", 3) && rt.Backoff("rem_c", 3) == rt.Backoff("rem_d", 3) {
		t.Error("jitter does not spread different reminders")
	}
}

func TestStateMachine(t *testing.T) {
	lease := mustOffset("10m")
	now := sh("2025-03-03 12:00")
	pending := Reminder{ID: "r", Status: StatusPending, DueAt: now, SweepAt: now}
	claimed, err := pending.Claim(now, lease)
	if err != nil || claimed.Status != StatusSending || claimed.Attempts != 1 || !claimed.SweepAt.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	tests := []struct {
		name string
		step func() (Reminder, error)
		want Status
		err  bool
	}{
		{"a claimed message cannot be claimed again", func() (Reminder, error) { return claimed.Claim(now, lease) }, "", true},
		{"a sent message cannot be claimed", func() (Reminder, error) {
			s, err := claimed.MarkSent(now, "p1")
			if err != nil {
				return s, fmt.Errorf("the setup, not the rule: %w", err) // a zero reminder would pass for the wrong reason
			}
			return s.Claim(now.Add(time.Hour), lease)
		}, "", true},
		{"a claim inside its lease cannot be taken over", func() (Reminder, error) { return claimed.Reclaim(now.Add(9*time.Minute), lease) }, "", true},
		{"a claim past its lease can be taken over", func() (Reminder, error) { return claimed.Reclaim(now.Add(10*time.Minute), lease) }, StatusSending, false},
		{"a retryable failure returns to the sweep at the backoff", func() (Reminder, error) { return claimed.RetryAt(now.Add(5*time.Minute), "timeout") }, StatusRetry, false},
		{"a deferral gives the attempt back", func() (Reminder, error) { return claimed.Defer(now.Add(time.Hour), ReasonQuietHours) }, StatusDeferred, false},
		{"a message being sent cannot be cancelled", func() (Reminder, error) { return claimed.Cancel() }, "", true},
		{"a pending message can be cancelled", func() (Reminder, error) { return pending.Cancel() }, StatusCancelled, false},
		{"a sent message cannot fail", func() (Reminder, error) {
			s, err := claimed.MarkSent(now, "p1")
			if err != nil {
				return s, fmt.Errorf("the setup, not the rule: %w", err)
			}
			return s.Fail(ReasonRejected, "late")
		}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.step()
			if tc.err {
				if !errors.Is(err, ErrTransition) {
					t.Fatalf("err = %v, want ErrTransition", err)
				}
				return
			}
			if err != nil || got.Status != tc.want {
				t.Fatalf("got %s, %v; want %s", got.Status, err, tc.want)
			}
			if got.Status.Terminal() != got.SweepAt.IsZero() {
				t.Errorf("status %s with sweepAt %v: terminal reminders must leave the due index and live ones stay in it", got.Status, got.SweepAt)
			}
		})
	}
	if d, err := claimed.Defer(now.Add(time.Hour), ReasonQuietHours); err != nil || d.Attempts != 0 || d.Reason != ReasonQuietHours || d.Deferrals != 1 {
		t.Errorf("deferral counted as attempt or lost its reason: %+v (err %v)", d, err)
	}
	d, err := claimed.Defer(now.Add(time.Hour), ReasonQuietHours)
	if err != nil {
		t.Fatal(err)
	}
	if d, err = d.Claim(now.Add(time.Hour), lease); err != nil {
		t.Fatal(err)
	}
	if s, err := d.MarkSent(now.Add(time.Hour), "p1"); err != nil || s.Reason != ReasonNone || s.Account().Disposition != DispositionSent {
		t.Errorf("a sent message keeps a reason: %+v (err %v)", s.Account(), err)
	}
}

func TestTasks(t *testing.T) {
	p := defaultPolicy(t)
	now := sh("2025-03-03 10:00")
	plan, err := PlanTrigger(p, Trigger{Kind: TriggerNewLead, Grade: model.LeadHot, CustomerID: "c1", Ref: "l1", At: now}, view("c1"), now)
	if err != nil || len(plan.Reminders) == 0 {
		t.Fatalf("plan a hot lead: %+v %v", plan, err)
	}
	task := plan.Reminders[0]
	if task.Overdue(now.Add(29 * time.Minute)) {
		t.Error("a hot-lead task is overdue before 30 minutes")
	}
	if !task.Overdue(now.Add(30 * time.Minute)) {
		t.Error("a hot-lead task is not overdue at 30 minutes")
	}
	orig, esc, ok, err := task.Escalate(p, shanghai, now.Add(31*time.Minute))
	if err != nil || !ok {
		t.Fatalf("escalate: %v %v", ok, err)
	}
	if orig.Overdue(now.Add(2*time.Hour)) || !orig.SweepAt.IsZero() {
		t.Error("an escalated task keeps being swept")
	}
	if esc.Task.Role != model.RoleClinician || esc.Task.EscalationOf != task.ID || !esc.Task.DeadlineAt.Equal(now.Add(31*time.Minute+24*time.Hour)) {
		t.Errorf("escalation task = %+v", esc.Task)
	}
	_, esc2, ok, err := esc.Escalate(p, shanghai, esc.Task.DeadlineAt)
	if err != nil || !ok || esc2.Task.Role != model.RoleAdmin {
		t.Errorf("an overdue manager escalation goes to the admin, got %+v", esc2.Task)
	}
	if _, _, ok, err := esc2.Escalate(p, shanghai, esc2.Task.DeadlineAt); err != nil || ok {
		t.Errorf("the escalation chain did not stop at the admin (err %v)", err)
	}

	done, err := task.Complete("agent-1", OutcomeNoAnswer, now.Add(10*time.Minute))
	if err != nil || done.Status != StatusDone {
		t.Fatalf("complete: %v", err)
	}
	retry, ok := done.RetryCall(p, shanghai, now.Add(10*time.Minute))
	if !ok || retry.Task.CallAttempt != 2 || !retry.DueAt.Equal(sh("2025-03-03 14:10")) || retry.ID == task.ID {
		t.Errorf("no-answer retry = %+v due %s", retry.Task, retry.DueAt)
	}
	if !retry.Task.DeadlineAt.Equal(sh("2025-03-03 14:40")) {
		t.Errorf("retry deadline = %s, want 30 business minutes after due", retry.Task.DeadlineAt)
	}
	r3, _ := retry.RetryCall(p, shanghai, now)
	if _, ok := r3.RetryCall(p, shanghai, now); ok {
		t.Error("calls retried beyond maxCallAttempts")
	}
	if _, err := task.Complete("a", "maybe", now); !errors.Is(err, ErrInvalidOutcome) {
		t.Errorf("unknown outcome accepted: %v", err)
	}
}

package followup

import (
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

var shanghai = Location("Asia/Shanghai", "")

func sh(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// mustPlan is PlanTrigger for a test whose setup must plan.
func mustPlan(t *testing.T, p Policy, trig Trigger, v CustomerView, now time.Time) Plan {
	t.Helper()
	plan, err := PlanTrigger(p, trig, v, now)
	if err != nil {
		t.Fatalf("plan %s: %v", trig.Kind, err)
	}
	return plan
}

func view(id string) CustomerView {
	at := sh("2025-01-01 00:00")
	return CustomerView{
		ID: id, Store: "s1", Locale: "zh-CN", TimeZone: "Asia/Shanghai", Name: "n", Phone: "+8613800000000",
		Email: "x@example.com", Tier: model.TierB, Stage: model.StageActive, Birthday: Birthday{Month: time.March, Day: 10},
		Consents: []model.Consent{
			{Category: model.CategoryMarketing, Channel: model.ChannelSMS, Granted: true, At: at},
			{Category: model.CategoryMarketing, Channel: model.ChannelEmail, Granted: true, At: at},
		},
	}
}

func byRule(p Plan) map[string]Reminder {
	m := map[string]Reminder{}
	for _, r := range p.Reminders {
		m[r.RuleID] = r
	}
	return m
}

func TestPlanDueTimes(t *testing.T) {
	p := defaultPolicy(t)
	tests := []struct {
		name     string
		trig     Trigger
		now      time.Time
		rule     string
		due      time.Time
		deadline time.Time // tasks only
	}{
		{"a hot lead at 10:00 must be called by 10:30",
			Trigger{Kind: TriggerNewLead, Grade: model.LeadHot, At: sh("2025-03-03 10:00")}, sh("2025-03-03 10:00"),
			"lead_hot_first_contact", sh("2025-03-03 10:00"), sh("2025-03-03 10:30")},
		{"a hot lead at 19:50 gets the last 10 minutes today and 20 minutes after opening tomorrow",
			Trigger{Kind: TriggerNewLead, Grade: model.LeadHot, At: sh("2025-03-03 19:50")}, sh("2025-03-03 19:50"),
			"lead_hot_first_contact", sh("2025-03-03 19:50"), sh("2025-03-04 09:20")},
		{"a hot lead at 23:00 must be called by 09:30 the next morning",
			Trigger{Kind: TriggerNewLead, Grade: model.LeadHot, At: sh("2025-03-03 23:00")}, sh("2025-03-03 23:00"),
			"lead_hot_first_contact", sh("2025-03-03 23:00"), sh("2025-03-04 09:30")},
		{"a new customer is called on day 3 at 10:00 and by day 7",
			Trigger{Kind: TriggerNewCustomer, At: sh("2025-03-03 15:00")}, sh("2025-03-03 15:00"),
			"new_customer_first_followup", sh("2025-03-06 10:00"), sh("2025-03-10 15:00")},
		{"a service completed at 14:00 has its 48 h call deadline at 14:00 two days later",
			Trigger{Kind: TriggerServiceDone, At: sh("2025-03-03 14:00")}, sh("2025-03-03 14:00"),
			"service_call_48h", sh("2025-03-03 14:00"), sh("2025-03-05 14:00")},
		{"a service completed at 22:30 has its 48 h call deadline pulled back to 19:59 so it is not late",
			Trigger{Kind: TriggerServiceDone, At: sh("2025-03-03 22:30")}, sh("2025-03-03 22:30"),
			"service_call_48h", sh("2025-03-03 22:30"), sh("2025-03-05 19:59")},
		{"the 7-day check-in lands at 10:00 local on day 7",
			Trigger{Kind: TriggerServiceDone, At: sh("2025-03-03 22:30")}, sh("2025-03-03 22:30"),
			"service_checkin_7d", sh("2025-03-10 10:00"), time.Time{}},
		{"aesthetic work gets its check-in one calendar month later",
			Trigger{Kind: TriggerServiceDone, ProjectType: "aesthetic", At: sh("2025-01-31 16:00")}, sh("2025-01-31 16:00"),
			"aesthetic_checkin_1mo", sh("2025-03-03 10:00"), time.Time{}},
		{"a complaint acknowledgement at 23:10 is deferred to 09:00, not dropped",
			Trigger{Kind: TriggerComplaint, At: sh("2025-03-03 23:10")}, sh("2025-03-03 23:10"),
			"complaint_ack", sh("2025-03-04 09:00"), time.Time{}},
		{"a complaint at 23:10 gives the manager until 23:10 the next day",
			Trigger{Kind: TriggerComplaint, At: sh("2025-03-03 23:10")}, sh("2025-03-03 23:10"),
			"complaint_manager_24h", sh("2025-03-03 23:10"), sh("2025-03-04 23:10")},
		{"a birthday greeting is due at 09:00 local on the day",
			Trigger{Kind: TriggerBirthday, At: sh("2025-03-10 00:00")}, sh("2025-03-02 03:00"),
			"birthday_greeting", sh("2025-03-10 09:00"), time.Time{}},
		{"the birthday-month offer goes a week ahead at 10:00",
			Trigger{Kind: TriggerBirthday, At: sh("2025-03-10 00:00")}, sh("2025-03-02 03:00"),
			"birthday_month_offer", sh("2025-03-03 10:00"), time.Time{}},
		{"a repurchase reminder is due one month before the effect wears off",
			Trigger{Kind: TriggerEffectEnding, At: sh("2025-06-15 00:00")}, sh("2025-03-03 12:00"),
			"effect_ending_repurchase", sh("2025-05-15 10:00"), time.Time{}},
		{"a repurchase reminder whose month-before is past goes at the next allowed time",
			Trigger{Kind: TriggerEffectEnding, At: sh("2025-03-20 00:00")}, sh("2025-03-03 22:00"),
			"effect_ending_repurchase", sh("2025-03-04 09:00"), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.trig.CustomerID, tc.trig.Ref = "c1", "ev1"
			v := view("c1")
			v.Tier = model.TierA
			plan, err := PlanTrigger(p, tc.trig, v, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := byRule(plan)[tc.rule]
			if !ok {
				t.Fatalf("rule %s not planned; got %d reminders", tc.rule, len(plan.Reminders))
			}
			if !r.DueAt.Equal(tc.due) {
				t.Errorf("due = %s, want %s", r.DueAt.In(shanghai), tc.due)
			}
			if !tc.deadline.IsZero() && !r.Task.DeadlineAt.Equal(tc.deadline) {
				t.Errorf("deadline = %s, want %s", r.Task.DeadlineAt.In(shanghai), tc.deadline)
			}
			if !r.IsTask() && !p.Gate(view("c1"), p.ClassOf(r)).Allowed(r.DueAt) {
				t.Errorf("message planned in quiet hours at %s", r.DueAt.In(shanghai))
			}
		})
	}
}

func TestCriticalSlot(t *testing.T) {
	p := defaultPolicy(t)
	c := p.Gate(view("c1"), p.Classes["greeting"]) // quiet 21:00–09:00 on weekdays, margin 30m
	tests := []struct {
		name        string
		target, now time.Time
		want        time.Time
	}{
		{"a target at noon stays at noon", sh("2025-03-03 12:00"), sh("2025-03-01 12:00"), sh("2025-03-03 12:00")},
		{"a target at 20:50 moves to 20:30 to keep a margin before quiet hours", sh("2025-03-03 20:50"), sh("2025-03-01 12:00"), sh("2025-03-03 20:30")},
		{"a target at 23:00 moves back to 20:30 the same evening", sh("2025-03-03 23:00"), sh("2025-03-01 12:00"), sh("2025-03-03 20:30")},
		{"a target at 02:00 moves back to 20:30 the evening before", sh("2025-03-04 02:00"), sh("2025-03-01 12:00"), sh("2025-03-03 20:30")},
		{"a target whose early slot is already past goes at the next allowed time", sh("2025-03-04 02:00"), sh("2025-03-03 22:00"), sh("2025-03-04 09:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := c.CriticalSlot(tc.target, tc.now); !got.Equal(tc.want) {
				t.Errorf("CriticalSlot = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestQuietHoursAcrossTimeZones(t *testing.T) {
	p := defaultPolicy(t)
	v := view("c1")
	v.TimeZone = "America/New_York"
	c := p.Gate(v, p.Classes["reply"])
	ny := Location("America/New_York", "")
	tests := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"08:59 in New York waits one minute", time.Date(2025, 3, 3, 8, 59, 0, 0, ny), time.Date(2025, 3, 3, 9, 0, 0, 0, ny)},
		{"21:00 in New York waits until 09:00 next day", time.Date(2025, 3, 3, 21, 0, 0, 0, ny), time.Date(2025, 3, 4, 9, 0, 0, 0, ny)},
		{"20:59 in New York is allowed", time.Date(2025, 3, 3, 20, 59, 0, 0, ny), time.Date(2025, 3, 3, 20, 59, 0, 0, ny)},
		{"the night the clocks spring forward (a Sunday) still ends at 10:00 local", time.Date(2025, 3, 9, 1, 30, 0, 0, ny), time.Date(2025, 3, 9, 10, 0, 0, 0, ny)},
		{"noon in Shanghai is 23:00 in New York: deferred there", sh("2025-03-04 12:00").In(ny), time.Date(2025, 3, 4, 9, 0, 0, 0, ny)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := c.Next(tc.at); !got.Equal(tc.want) {
				t.Errorf("NextAllowed(%s) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func TestPlanConsentAndMatching(t *testing.T) {
	p := defaultPolicy(t)
	now := sh("2025-03-03 12:00")
	tests := []struct {
		name  string
		trig  Trigger
		edit  func(v *CustomerView)
		rule  string
		wants bool
	}{
		{"a dormant customer with marketing consent gets the care offer",
			Trigger{Kind: TriggerStageEntered, Stage: model.StageDormant}, nil, "dormant_care_offer", true},
		{"a customer who replied STOP gets no care offer",
			Trigger{Kind: TriggerStageEntered, Stage: model.StageDormant}, func(v *CustomerView) { v.MarketingOptOut = true }, "dormant_care_offer", false},
		{"a STOP given after the last marketing grant holds",
			Trigger{Kind: TriggerStageEntered, Stage: model.StageDormant}, func(v *CustomerView) {
				v.MarketingOptOut, v.MarketingOptOutAt = true, sh("2025-02-01 00:00")
			}, "dormant_care_offer", false},
		{"a customer who replied STOP and later confirmed marketing again (double opt-in) gets the care offer",
			Trigger{Kind: TriggerStageEntered, Stage: model.StageDormant}, func(v *CustomerView) {
				v.MarketingOptOut, v.MarketingOptOutAt = true, sh("2025-02-01 00:00")
				for _, ch := range []model.Channel{model.ChannelSMS, model.ChannelEmail} {
					v.Consents = append(v.Consents, model.Consent{Category: model.CategoryMarketing, Channel: ch, Granted: true, At: sh("2025-02-10 09:00")})
				}
			}, "dormant_care_offer", true},
		{"marketing without consent on the channel is not planned",
			Trigger{Kind: TriggerStageEntered, Stage: model.StageSleeping}, func(v *CustomerView) { v.Consents = nil }, "sleeping_returning_gift", false},
		{"service check-ins need no marketing consent",
			Trigger{Kind: TriggerServiceDone}, func(v *CustomerView) { v.Consents = nil }, "service_checkin_7d", true},
		{"an erased customer gets nothing",
			Trigger{Kind: TriggerComplaint}, func(v *CustomerView) { v.Erased = true }, "complaint_manager_24h", false},
		{"an email reminder for a customer without email is not planned",
			Trigger{Kind: TriggerServiceDone}, func(v *CustomerView) { v.Email = "" }, "service_survey_7d", false},
		{"a tier A customer gets the weekly care email",
			Trigger{Kind: TriggerWeekly}, func(v *CustomerView) { v.Tier = model.TierA }, "tier_a_weekly_care", true},
		{"a tier C customer gets no weekly care email",
			Trigger{Kind: TriggerWeekly}, func(v *CustomerView) { v.Tier = model.TierC }, "tier_a_weekly_care", false},
		{"an upgrade is congratulated",
			Trigger{Kind: TriggerTierChanged, FromTier: model.TierC, ToTier: model.TierB}, nil, "tier_up_congrats", true},
		{"a downgrade risk opens a retention call, not a congratulation",
			Trigger{Kind: TriggerTierChanged, FromTier: model.TierA, ToTier: model.TierB}, nil, "tier_down_retention", true},
		{"a general service gets no aesthetic 6-month check-in",
			Trigger{Kind: TriggerServiceDone, ProjectType: "massage"}, nil, "aesthetic_checkin_6mo", false},
		{"aesthetic work gets no 90-day check-in (it has its own 3-month one)",
			Trigger{Kind: TriggerServiceDone, ProjectType: "aesthetic"}, nil, "service_checkin_90d", false},
		{"a known person's hot form gets a call-back",
			Trigger{Kind: TriggerKnownLead, Grade: model.LeadHot}, nil, "known_lead_hot_callback", true},
		{"a known person's cold form gets the cold call-back, not the hot one",
			Trigger{Kind: TriggerKnownLead, Grade: model.LeadCold}, nil, "known_lead_hot_callback", false},
		{"a consent asked through the phone is confirmed by SMS",
			Trigger{Kind: TriggerConsentRequested, Channel: model.ChannelSMS}, nil, "consent_confirm_sms", true},
		{"a consent asked through the phone is never confirmed by e-mail",
			Trigger{Kind: TriggerConsentRequested, Channel: model.ChannelSMS}, nil, "consent_confirm_email", false},
		{"a confirmation needs no consent yet: it is how consent is asked",
			Trigger{Kind: TriggerConsentRequested, Channel: model.ChannelEmail}, func(v *CustomerView) { v.Consents = nil }, "consent_confirm_email", true},
		{"a person who withdrew service SMS gets no confirmation by SMS",
			Trigger{Kind: TriggerConsentRequested, Channel: model.ChannelSMS}, func(v *CustomerView) {
				v.Consents = append(v.Consents, model.Consent{Category: model.CategoryService, Channel: model.ChannelSMS, At: sh("2025-02-01 00:00")})
			}, "consent_confirm_sms", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.trig.CustomerID, tc.trig.Ref, tc.trig.At = "c1", "ev", now
			v := view("c1")
			if tc.edit != nil {
				tc.edit(&v)
			}
			plan, err := PlanTrigger(p, tc.trig, v, now)
			if err != nil {
				t.Fatal(err)
			}
			if _, got := byRule(plan)[tc.rule]; got != tc.wants {
				t.Errorf("rule %s planned = %v, want %v", tc.rule, got, tc.wants)
			}
		})
	}
}

func TestReplanningTheSameOccurrenceYieldsTheSameIDs(t *testing.T) {
	p := defaultPolicy(t)
	trig := Trigger{Kind: TriggerServiceDone, CustomerID: "c1", Ref: "svc-42", At: sh("2025-03-03 14:00")}
	a := mustPlan(t, p, trig, view("c1"), sh("2025-03-03 14:00"))
	b := mustPlan(t, p, trig, view("c1"), sh("2025-03-03 14:07"))
	if len(a.Reminders) == 0 || len(a.Reminders) != len(b.Reminders) {
		t.Fatalf("plans differ in size: %d vs %d", len(a.Reminders), len(b.Reminders))
	}
	for i := range a.Reminders {
		if a.Reminders[i].ID != b.Reminders[i].ID {
			t.Errorf("reminder %d: id %s then %s", i, a.Reminders[i].ID, b.Reminders[i].ID)
		}
	}
	trig.Ref = "svc-43"
	c := mustPlan(t, p, trig, view("c1"), sh("2025-03-03 14:00"))
	if c.Reminders[0].ID == a.Reminders[0].ID {
		t.Errorf("a different service occurrence reused reminder id %s", c.Reminders[0].ID)
	}
}

func TestCancellation(t *testing.T) {
	p := defaultPolicy(t)
	now := sh("2025-03-03 12:00")
	v := view("c1")
	dormant := mustPlan(t, p, Trigger{Kind: TriggerStageEntered, Stage: model.StageDormant, CustomerID: "c1", Ref: "st1", At: now}, v, now)
	checkin := mustPlan(t, p, Trigger{Kind: TriggerServiceDone, CustomerID: "c1", Ref: "svc", At: now}, v, now)
	offer := byRule(dormant)["dormant_care_offer"]
	service := byRule(checkin)["service_checkin_7d"]
	sending := offer
	sending.Status = StatusSending
	tests := []struct {
		name   string
		trig   Trigger
		r      Reminder
		cancel bool
	}{
		{"a purchase cancels the win-back offer", Trigger{Kind: TriggerPurchase}, offer, true},
		{"a purchase leaves a service check-in alone", Trigger{Kind: TriggerPurchase}, service, false},
		{"an opt-out cancels marketing", Trigger{Kind: TriggerOptOut}, offer, true},
		{"an opt-out leaves service messages", Trigger{Kind: TriggerOptOut}, service, false},
		{"erasure cancels everything", Trigger{Kind: TriggerErasure}, service, true},
		{"returning to active cancels the win-back offer", Trigger{Kind: TriggerStageEntered, Stage: model.StageActive}, offer, true},
		{"entering sleeping does not cancel the dormant offer", Trigger{Kind: TriggerStageEntered, Stage: model.StageSleeping}, offer, false},
		{"a message already being sent is not cancelled", Trigger{Kind: TriggerErasure}, sending, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.trig.CustomerID, tc.trig.Ref, tc.trig.At = "c1", "later", now
			plan, err := PlanTrigger(p, tc.trig, v, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Cancel.Matches(tc.r); got != tc.cancel {
				t.Errorf("cancel = %v, want %v", got, tc.cancel)
			}
		})
	}
}

func TestARedeliveredDowngradeDoesNotCancelItsOwnRetentionCall(t *testing.T) {
	p := defaultPolicy(t)
	now := sh("2025-03-03 12:00")
	trig := Trigger{Kind: TriggerTierChanged, FromTier: model.TierA, ToTier: model.TierB, CustomerID: "c1", Ref: "night-1", At: now}
	plan := mustPlan(t, p, trig, view("c1"), now)
	call := byRule(plan)["tier_down_retention"]
	if plan.Cancel.Matches(call) {
		t.Fatal("the same downgrade occurrence cancelled the retention call it planned")
	}
	trig.Ref, trig.FromTier, trig.ToTier = "night-2", model.TierB, model.TierA
	up := mustPlan(t, p, trig, view("c1"), now)
	if !up.Cancel.Matches(call) {
		t.Error("a later upgrade should cancel the pending retention call")
	}
}

func TestCalendar(t *testing.T) {
	p := defaultPolicy(t)
	v := view("c1")
	from := sh("2025-03-01 02:00")
	trigs := Calendar(p, v, from, from.AddDate(0, 0, 400))
	count := map[TriggerKind]int{}
	refs := map[string]bool{}
	for _, tr := range trigs {
		count[tr.Kind]++
		key := string(tr.Kind) + tr.Ref
		if refs[key] {
			t.Errorf("calendar produced %s %s twice", tr.Kind, tr.Ref)
		}
		refs[key] = true
		if err := tr.Validate(); err != nil {
			t.Errorf("calendar trigger invalid: %v", err)
		}
	}
	want := map[TriggerKind][2]int{TriggerBirthday: {1, 2}, TriggerWeekly: {56, 58}, TriggerMonthly: {13, 14}, TriggerQuarterly: {4, 5}, TriggerAnnual: {1, 2}}
	for k, w := range want {
		if count[k] < w[0] || count[k] > w[1] {
			t.Errorf("%s triggers in 400 days = %d, want %d..%d", k, count[k], w[0], w[1])
		}
	}
	leap := view("c2")
	leap.Birthday = Birthday{Month: time.February, Day: 29}
	var got []string
	for _, tr := range Calendar(p, leap, sh("2025-02-20 00:00"), sh("2025-03-05 00:00")) {
		if tr.Kind == TriggerBirthday {
			got = append(got, tr.At.Format("01-02"))
		}
	}
	if len(got) != 1 || got[0] != "02-28" {
		t.Errorf("a 29 February birthday in 2025 fell on %v, want [02-28]", got)
	}
}

func TestASurveyAnswerCountsOnlyForASurveySentToThatCustomerWithin30Days(t *testing.T) {
	sent := sh("2025-03-03 11:00")
	survey := Reminder{ID: "rem_s", CustomerID: "c1", Template: "survey.csat", Channel: model.ChannelEmail, Status: StatusSent, SentAt: sent}
	tests := []struct {
		name     string
		edit     func(r *Reminder)
		customer string
		now      time.Time
		want     error
	}{
		{"the customer's sent survey, a day later, counts", nil, "c1", sent.Add(24 * time.Hour), nil},
		{"on the 30th day it still counts", nil, "c1", sent.Add(SurveyAnswerWindow), nil},
		{"after 30 days the survey is closed", nil, "c1", sent.Add(SurveyAnswerWindow + time.Minute), ErrSurveyClosed},
		{"another customer's survey is no survey", nil, "c2", sent.Add(time.Hour), ErrNoSuchSurvey},
		{"a survey not sent yet is no survey", func(r *Reminder) { r.Status, r.SentAt = StatusPending, time.Time{} }, "c1", sent, ErrNoSuchSurvey},
		{"a survey that was skipped is no survey", func(r *Reminder) { r.Status = StatusSkipped }, "c1", sent, ErrNoSuchSurvey},
		{"a check-in message is no survey", func(r *Reminder) { r.Template = "checkin.week" }, "c1", sent, ErrNoSuchSurvey},
		{"a staff task is no survey", func(r *Reminder) { r.Task = &Task{} }, "c1", sent, ErrNoSuchSurvey},
		{"an unknown reference is no survey", func(r *Reminder) { *r = Reminder{} }, "c1", sent, ErrNoSuchSurvey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := survey
			if tc.edit != nil {
				tc.edit(&r)
			}
			if err := r.AcceptsAnswer(tc.customer, tc.now); err != tc.want {
				t.Errorf("AcceptsAnswer = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAConsentConfirmationMustNameTheChannelOfAContactWeHold(t *testing.T) {
	base := Trigger{Kind: TriggerConsentRequested, CustomerID: "c1", Ref: "touch", At: sh("2025-03-03 10:00")}
	for _, tc := range []struct {
		ch   model.Channel
		want bool
	}{{model.ChannelSMS, true}, {model.ChannelEmail, true}, {"", false}, {model.ChannelCall, false}, {model.ChannelWebhook, false}} {
		tr := base
		tr.Channel = tc.ch
		if err := tr.Validate(); (err == nil) != tc.want {
			t.Errorf("channel %q: Validate = %v, want valid=%v", tc.ch, err, tc.want)
		}
	}
}

package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/followup/memstore"
	"github.com/tierflow/tierflow/shared/model"
)

func byRule(t *testing.T, r *rig, rule string) followup.Reminder {
	t.Helper()
	for _, rem := range r.store.All() {
		if rem.RuleID == rule {
			return rem
		}
	}
	t.Fatalf("no reminder of rule %s", rule)
	return followup.Reminder{}
}

// "A service reminder beats a birthday greeting": with one service message already
// sent today and a daily cap of two, the greeting due at 09:00 does not take the last
// slot while the 7-day check-in is due at 10:00; it is suppressed as yielded (a
// greeting drops rather than arrive a day late) and the check-in goes.
func TestAServiceReminderBeatsABirthdayGreetingForTheLastCapSlot(t *testing.T) {
	r := newRig(t, sh("2025-03-03 09:00"))
	r.store.PutCustomer(customer("c1"))
	r.plan(t, followup.Trigger{Kind: followup.TriggerServiceDone, Ref: "svc-1", ProjectType: "general"})
	r.plan(t, followup.Trigger{Kind: followup.TriggerBirthday, Ref: "birthday-2025", At: sh("2025-03-10 00:00")})
	r.runUntil(t, sh("2025-03-10 08:00"))
	ctx := context.Background()
	if _, _, err := r.store.Add(ctx, "cap#c1#service#d#2025-03-10", 1, -1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r.runUntil(t, sh("2025-03-11 00:00"))
	greeting, checkin := byRule(t, r, "birthday_greeting"), byRule(t, r, "service_checkin_7d")
	if a := greeting.Account(); a.Disposition != followup.DispositionSuppressed || a.Reason != followup.ReasonYielded {
		t.Errorf("greeting: %+v, want suppressed: yielded", a)
	}
	if checkin.Status != followup.StatusSent {
		t.Errorf("check-in: %s (%s), want sent", checkin.Status, checkin.Reason)
	}
	survey := byRule(t, r, "service_survey_7d")
	if a := survey.Account(); a.Disposition != followup.DispositionDeferred || a.Reason != followup.ReasonCapServiceDaily || !a.Until.Equal(sh("2025-03-11 09:00")) {
		t.Errorf("survey: %+v, want deferred to the next morning for cap_service_daily", a)
	}
}

// What is left of an uncertain send is the class's choice when the provider cannot
// look up: a reply is sent again (duplicate rather than loss), marketing is dropped.
func TestAnUncertainMarketingSendIsSuppressedAsUncertainSend(t *testing.T) {
	r := newRig(t, sh("2025-03-03 09:00"))
	r.store.PutCustomer(customer("c1"))
	r.outbox.NoLookup = true
	first := true
	r.outbox.Faults = func(app.Outgoing) memstore.Fault {
		if first {
			first = false
			return memstore.TimeoutAfterSend
		}
		return memstore.Deliver
	}
	r.plan(t, followup.Trigger{Kind: followup.TriggerStageEntered, Stage: model.StageDormant, Ref: "st"})
	r.runUntil(t, sh("2025-03-05 00:00"))
	offer := byRule(t, r, "dormant_care_offer")
	if a := offer.Account(); a.Disposition != followup.DispositionSuppressed || a.Reason != followup.ReasonUncertainSend {
		t.Errorf("care offer: %+v, want suppressed: uncertain_send", a)
	}
	if n := len(r.outbox.Deliveries()); n != 1 {
		t.Errorf("deliveries = %d, want the one the provider took", n)
	}
}

func TestAMarketingSMSDueOnNationalDayDefersToTheNextWorkingDay(t *testing.T) {
	r := newRig(t, sh("2025-09-30 12:00"))
	r.store.PutCustomer(customer("c1"))
	r.plan(t, followup.Trigger{Kind: followup.TriggerStageEntered, Stage: model.StageDormant, Ref: "st"}) // due 2025-10-01 10:00
	r.runUntil(t, sh("2025-10-09 12:00"))
	d := r.outbox.Deliveries()
	if len(d) != 1 {
		t.Fatalf("deliveries = %d, want 1", len(d))
	}
	if at := d[0].At.In(shanghai); at.Before(sh("2025-10-09 09:00")) || at.After(sh("2025-10-09 09:05")) {
		t.Errorf("sent at %s, want 09:00 on 2025-10-09, the first working day after the holiday", at)
	}
	if offer := byRule(t, r, "dormant_care_offer"); !offer.PlannedAt.Equal(sh("2025-10-09 09:00")) {
		t.Errorf("the offer was planned for %s, want the holiday skipped at planning already", offer.PlannedAt.In(shanghai))
	}
}

func TestTheUpgradeEmailNamesTheTierAsTheBusinessDoes(t *testing.T) {
	for _, tc := range []struct {
		name, locale string
		names        map[model.Tier]string
		want         string
	}{
		{"the default names: 恭喜升级为VIP", "zh-CN", nil, "恭喜升级为VIP"},
		{"a business's own name replaces the default", "en", map[model.Tier]string{model.TierA: "Gold Circle"}, "Welcome to Gold Circle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, sh("2025-03-03 11:00"))
			v := customer("c1")
			v.Locale = tc.locale
			r.store.PutCustomer(v)
			if tc.names != nil {
				r.disp.TierNames = func(context.Context) (map[model.Tier]string, error) { return tc.names, nil }
			}
			r.plan(t, followup.Trigger{Kind: followup.TriggerTierChanged, Ref: "up-1", FromTier: model.TierB, ToTier: model.TierA})
			r.runUntil(t, sh("2025-03-03 12:00"))
			d := r.outbox.Deliveries()
			if len(d) != 1 {
				t.Fatalf("deliveries = %d, want the congratulation", len(d))
			}
			if !strings.Contains(d[0].Message.Subject, tc.want) || strings.Contains(d[0].Message.Text, "为A") {
				t.Errorf("subject %q / text %q, want %q", d[0].Message.Subject, d[0].Message.Text, tc.want)
			}
		})
	}
}

func TestEveryRecordedOutcomeIsObservedWithItsReason(t *testing.T) {
	r := newRig(t, sh("2025-03-03 20:50"))
	r.store.PutCustomer(customer("c1"))
	type seen struct {
		disp   followup.Disposition
		reason followup.Reason
	}
	var got []seen
	r.disp.Observe = func(_ context.Context, rem followup.Reminder, _ app.Result) {
		a := rem.Account()
		got = append(got, seen{a.Disposition, a.Reason})
	}
	r.plan(t, followup.Trigger{Kind: followup.TriggerComplaint, Ref: "cx"})
	r.clock.Advance(15 * time.Minute) // the queue was slow: dispatch at 21:05
	r.runUntil(t, sh("2025-03-04 10:00"))
	want := []seen{{followup.DispositionDeferred, followup.ReasonQuietHours}, {followup.DispositionSent, ""}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("observed %+v, want %+v", got, want)
	}
}

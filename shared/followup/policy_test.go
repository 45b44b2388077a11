package followup

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/model"
)

func defaultPolicy(t testing.TB) Policy {
	t.Helper()
	p, err := DefaultPolicy()
	if err != nil {
		t.Fatalf("default policy: %v", err)
	}
	return p
}

// Every row of the cadence table in MISSION.md must be encoded by at least one rule.
func TestDefaultPolicyEncodesEveryCadenceRow(t *testing.T) {
	p := defaultPolicy(t)
	rows := []struct {
		row  string
		want func(Rule) bool
	}{
		{"new customer: first follow-up on day 3, within 7 days", func(r Rule) bool {
			return r.Trigger == TriggerNewCustomer && r.After.Days == 3 && r.Task != nil && r.Task.Deadline.Days == 7
		}},
		{"any customer contact: reply within 24 h", func(r Rule) bool {
			return r.Trigger == TriggerCustomerContact && r.Task != nil && r.Task.Deadline.Dur.Hours() == 24
		}},
		{"any customer contact: resolve within 72 h", func(r Rule) bool {
			return r.Trigger == TriggerCustomerContact && r.Task != nil && r.Task.Deadline.Dur.Hours() == 72
		}},
		{"service completed: call within 48 h", func(r Rule) bool {
			return r.Trigger == TriggerServiceDone && r.IsTask() && r.Task.Deadline.Dur.Hours() == 48 && r.TimeCritical
		}},
		{"service completed: check-in at 7 days", func(r Rule) bool {
			return r.Trigger == TriggerServiceDone && r.After.Days == 7 && r.Channel == model.ChannelSMS
		}},
		{"service completed: check-in at 30 days", func(r Rule) bool { return r.Trigger == TriggerServiceDone && r.After.Days == 30 }},
		{"service completed: check-in at 90 days", func(r Rule) bool { return r.Trigger == TriggerServiceDone && r.After.Days == 90 }},
		{"aesthetic work: check-ins at 1, 3 and 6 months", func(r Rule) bool {
			return r.Trigger == TriggerServiceDone && r.After.Months == 6 && len(r.Match.ProjectTypes) > 0
		}},
		{"satisfaction survey 7 days after service", func(r Rule) bool {
			return r.Trigger == TriggerServiceDone && r.After.Days == 7 && strings.HasPrefix(r.Template, "survey.")
		}},
		{"complaint: manager-level task within 24 h", func(r Rule) bool {
			return r.Trigger == TriggerComplaint && r.Task != nil && r.Task.Role == model.RoleClinician && r.Task.Deadline.Dur.Hours() == 24
		}},
		{"active customer: monthly touch", func(r Rule) bool { return r.Trigger == TriggerMonthly && contains(r.Match.Stages, model.StageActive) }},
		{"dormant: care offer", func(r Rule) bool {
			return r.Trigger == TriggerStageEntered && contains(r.Match.Stages, model.StageDormant)
		}},
		{"dormant: quarterly touch", func(r Rule) bool {
			return r.Trigger == TriggerQuarterly && contains(r.Match.Stages, model.StageDormant)
		}},
		{"sleeping: returning customer gift", func(r Rule) bool {
			return r.Trigger == TriggerStageEntered && contains(r.Match.Stages, model.StageSleeping)
		}},
		{"churned: phone call to learn why", func(r Rule) bool {
			return r.Trigger == TriggerStageEntered && contains(r.Match.Stages, model.StageChurned) && r.IsTask()
		}},
		{"product effect: repurchase reminder one month before", func(r Rule) bool { return r.Trigger == TriggerEffectEnding && r.After.Months == -1 }},
		{"birthday: greeting", func(r Rule) bool { return r.Trigger == TriggerBirthday && r.TimeCritical }},
		{"birthday: birthday-month offer", func(r Rule) bool { return r.Trigger == TriggerBirthday && r.Category == model.CategoryMarketing }},
		{"tier A: weekly email care", func(r Rule) bool {
			return r.Trigger == TriggerWeekly && contains(r.Match.Tiers, model.TierA) && r.Channel == model.ChannelEmail
		}},
		{"tier A: quarterly exclusive service", func(r Rule) bool { return r.Trigger == TriggerQuarterly && contains(r.Match.Tiers, model.TierA) }},
		{"tier B/C: SMS reminders", func(r Rule) bool { return contains(r.Match.Tiers, model.TierC) && r.Channel == model.ChannelSMS }},
		{"tier B/C: annual satisfaction survey", func(r Rule) bool { return r.Trigger == TriggerAnnual && contains(r.Match.Tiers, model.TierB) }},
		{"tier upgrade: congratulation", func(r Rule) bool { return r.Trigger == TriggerTierChanged && r.Match.Direction == "up" }},
		{"downgrade risk: retention touch", func(r Rule) bool { return r.Trigger == TriggerTierChanged && r.Match.Direction == "down" }},
		{"hot lead: first contact within 30 min of opening hours", func(r Rule) bool {
			return r.Trigger == TriggerNewLead && contains(r.Match.Grades, model.LeadHot) && r.Task.BusinessHours && r.Task.Deadline.Dur.Minutes() == 30
		}},
	}
	for _, row := range rows {
		t.Run(row.row, func(t *testing.T) {
			for _, r := range p.Rules {
				if row.want(r) {
					return
				}
			}
			t.Errorf("no rule in the default policy encodes %q", row.row)
		})
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestValidateNamesTheFieldAtFault(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *Policy)
		field string
	}{
		{"a version below 1 is rejected", func(p *Policy) { p.Version = 0 }, "version"},
		{"an unknown time zone is rejected", func(p *Policy) { p.DefaultTimeZone = "Mars/Olympus" }, "defaultTimeZone"},
		{"a marketing cap of zero per day is rejected", func(p *Policy) {
			p.Contact.Caps[model.CategoryMarketing] = Cap{PerDay: 0, PerWeek: 2}
		}, "contact.caps.marketing"},
		{"a rule with an unknown trigger is rejected", func(p *Policy) { p.Rules[2].Trigger = "full_moon" }, "rules[2].trigger"},
		{"a rule without a template is rejected", func(p *Policy) { p.Rules[5].Template = "" }, "rules[5].template"},
		{"a call rule without a task is rejected", func(p *Policy) { p.Rules[0].Task = nil }, "rules[0].task"},
		{"a task deadline before the task is due is rejected", func(p *Policy) {
			i := ruleIndex(*p, "new_customer_first_followup")
			p.Rules[i].Task.Deadline = mustOffset("2d")
		}, ".task.deadline"},
		{"a duplicate rule id is rejected", func(p *Policy) { p.Rules[1].ID = p.Rules[0].ID }, "rules[1].id"},
		{"a priority of 9 is rejected", func(p *Policy) { p.Rules[3].Priority = 9 }, "rules[3].priority"},
		{"a cancellation that selects nothing is rejected", func(p *Policy) { p.Cancellations[0].Tags = nil }, "cancellations[0]"},
		{"opening hours that end before they start are rejected", func(p *Policy) { p.OpeningHours.End = mustClock("08:00") }, "openingHours"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := clonePolicy(t, defaultPolicy(t))
			tc.edit(&p)
			err := p.Validate()
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Validate() = %q, want it to name %q", err, tc.field)
			}
		})
	}
}

func TestParsePolicyRejectsAMisspeltKey(t *testing.T) {
	_, err := ParsePolicy([]byte(`{"version": 1, "quietHour": {}}`))
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "quietHour") {
		t.Fatalf("ParsePolicy = %v, want an error naming the unknown key", err)
	}
}

func TestPolicyRoundTripsThroughJSON(t *testing.T) {
	p := defaultPolicy(t)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParsePolicy(b)
	if err != nil {
		t.Fatalf("re-parsing the marshalled default policy: %v", err)
	}
	if len(q.Rules) != len(p.Rules) || q.Rules[6].Task.Deadline.Dur != p.Rules[6].Task.Deadline.Dur {
		t.Errorf("round trip changed the rules")
	}
}

func clonePolicy(t testing.TB, p Policy) Policy {
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	return q
}

func ruleIndex(p Policy, id string) int {
	for i, r := range p.Rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

package customer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
)

func TestLeadGrading(t *testing.T) {
	policy := customer.DefaultGradePolicy()
	night := time.Date(2025, 3, 4, 23, 30, 0, 0, shanghai)
	cases := []struct {
		name   string
		form   customer.LeadForm
		at     time.Time
		want   model.LeadGrade
		reason string // must appear in the reason
	}{
		{"a referred, complete lead asking 尽快 in opening hours is hot",
			customer.LeadForm{Name: "王芳", Phone: "13800138000", Email: "w@example.com", Interest: "玻尿酸", ReferralCode: "ABCDEFGH", Message: "请尽快联系我"},
			morning, model.LeadHot, "尽快"},
		{"马上 in the message makes a known-interest lead hot",
			customer.LeadForm{Name: "王芳", Phone: "13800138000", Interest: "热玛吉", Message: "马上可以来吗"},
			morning, model.LeadHot, "马上"},
		{"the same lead without urgency is warm",
			customer.LeadForm{Name: "王芳", Phone: "13800138000", Interest: "热玛吉"},
			morning, model.LeadWarm, "in opening hours"},
		{"English urgency words count too",
			customer.LeadForm{Name: "Li", Phone: "13800138000", Interest: "whitening", Message: "Can you call me TODAY?"},
			morning, model.LeadHot, "today"},
		{"a bare phone number at night is cold",
			customer.LeadForm{Phone: "13800138000"},
			night, model.LeadCold, "policy lead-v1"},
		{"the same lead in opening hours is still cold without interest",
			customer.LeadForm{Phone: "13800138000"},
			morning, model.LeadCold, "urgency 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := policy.Grade(mustLead(t, tc.form, tc.at))
			if g.Grade != tc.want {
				t.Errorf("grade %s, want %s (%s)", g.Grade, tc.want, g.Reason)
			}
			if !strings.Contains(g.Reason, tc.reason) || !strings.Contains(g.Reason, policy.Version) {
				t.Errorf("reason %q does not explain %q with the policy version", g.Reason, tc.reason)
			}
		})
	}
}

func TestAPolicyChangeShowsInTheGrade(t *testing.T) {
	l := mustLead(t, customer.LeadForm{Name: "王芳", Phone: "13800138000", Interest: "热玛吉"}, morning)
	p := customer.DefaultGradePolicy()
	strict := customer.DefaultGradePolicy()
	strict.Version, strict.Warm, strict.Hot = "lead-v2", 20, 40
	if a, b := p.Grade(l), strict.Grade(l); a.Grade == b.Grade || b.Policy != "lead-v2" {
		t.Errorf("v1 %+v, v2 %+v: a stricter policy should grade lower and say so", a, b)
	}
}

func TestFirstContactDeadline(t *testing.T) {
	p := customer.DefaultGradePolicy()
	cases := []struct {
		name string
		at   time.Time
		g    model.LeadGrade
		want time.Time
	}{
		{"a hot lead in opening hours is due in 30 minutes", morning, model.LeadHot, morning.Add(30 * time.Minute)},
		{"a hot lead at night is due 30 minutes after opening",
			time.Date(2025, 3, 4, 23, 30, 0, 0, shanghai), model.LeadHot, time.Date(2025, 3, 5, 9, 30, 0, 0, shanghai)},
		{"a hot lead before opening is due the same morning",
			time.Date(2025, 3, 4, 7, 0, 0, 0, shanghai), model.LeadHot, time.Date(2025, 3, 4, 9, 30, 0, 0, shanghai)},
		{"a warm lead is due within a day", morning, model.LeadWarm, morning.Add(24 * time.Hour)},
		{"opening hours are read in the business zone, whatever zone the time is in",
			time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC), model.LeadHot, time.Date(2025, 3, 4, 10, 30, 0, 0, shanghai)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.FirstContactDue(tc.g, tc.at); !got.Equal(tc.want) {
				t.Errorf("due %v, want %v", got.In(shanghai), tc.want)
			}
		})
	}
	closedSunday := customer.DefaultGradePolicy()
	closedSunday.Opening.Days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	sat := time.Date(2025, 3, 8, 22, 0, 0, 0, shanghai)
	if got, want := closedSunday.FirstContactDue(model.LeadHot, sat), time.Date(2025, 3, 10, 9, 30, 0, 0, shanghai); !got.Equal(want) {
		t.Errorf("a Saturday-night lead of a business closed on Sunday is due %v, want Monday %v", got, want)
	}
}

func TestPolicyValidation(t *testing.T) {
	if err := customer.DefaultGradePolicy().Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	cases := []struct {
		name   string
		change func(*customer.GradePolicy)
	}{
		{"no version", func(p *customer.GradePolicy) { p.Version = "" }},
		{"hot below warm", func(p *customer.GradePolicy) { p.Hot = 3 }},
		{"an unknown time zone", func(p *customer.GradePolicy) { p.Opening.TimeZone = "Mars/Olympus" }},
		{"closing before opening", func(p *customer.GradePolicy) { p.Opening.Close = "08:00" }},
		{"no first-contact time for hot leads", func(p *customer.GradePolicy) { delete(p.FirstContactMinutes, model.LeadHot) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := customer.DefaultGradePolicy()
			tc.change(&p)
			if p.Validate() == nil {
				t.Error("an unusable policy was accepted")
			}
		})
	}
}

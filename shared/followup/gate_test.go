package followup

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// The send-time gate: quiet hours per weekday, holidays and make-up working days,
// the business's closed days, and customers whose zone is unknown.
func TestGateFailsClosed(t *testing.T) {
	london := Location("Europe/London", "")
	tests := []struct {
		name        string
		policy      func(p *Policy)
		zone        string
		class       string
		at          time.Time
		wantBlocked Reason
		wantNext    time.Time // zero: none (fails closed)
	}{
		{"a marketing SMS due on 2025-10-01 (National Day) defers to the next working day",
			nil, "Asia/Shanghai", "marketing", sh("2025-10-01 10:00"), ReasonHoliday, sh("2025-10-09 09:00")},
		{"a service check-in due on the last day of the National Day holiday waits for 2025-10-09",
			nil, "Asia/Shanghai", "service", sh("2025-10-08 15:00"), ReasonHoliday, sh("2025-10-09 09:00")},
		{"a complaint acknowledgement on National Day goes at once: replies do not wait for holidays",
			nil, "Asia/Shanghai", "reply", sh("2025-10-01 10:00"), ReasonNone, sh("2025-10-01 10:00")},
		{"a birthday greeting on National Day goes on the day",
			nil, "Asia/Shanghai", "greeting", sh("2025-10-03 10:00"), ReasonNone, sh("2025-10-03 10:00")},
		{"a marketing SMS due on New Year's Day 2026 lands on Sunday 2026-01-04, a make-up working day",
			nil, "Asia/Shanghai", "marketing", sh("2026-01-02 11:00"), ReasonHoliday, sh("2026-01-04 10:00")},
		{"a marketing SMS on the Qingming holiday (Fri–Sun) waits for Monday",
			nil, "Asia/Shanghai", "marketing", sh("2025-04-04 12:00"), ReasonHoliday, sh("2025-04-07 09:00")},
		{"a marketing SMS on an ordinary Saturday goes as on a weekday",
			nil, "Asia/Shanghai", "marketing", sh("2025-03-08 12:00"), ReasonNone, sh("2025-03-08 12:00")},
		{"a message due at 09:30 on a Saturday waits for 10:00: weekend mornings are quiet longer",
			nil, "Asia/Shanghai", "service", sh("2025-03-08 09:30"), ReasonQuietHours, sh("2025-03-08 10:00")},
		{"Sunday evening is quiet from 20:30, before a working Monday",
			nil, "Asia/Shanghai", "service", sh("2025-03-09 20:45"), ReasonQuietHours, sh("2025-03-10 09:00")},
		{"a weekday evening is still open at 20:45",
			nil, "Asia/Shanghai", "service", sh("2025-03-10 20:45"), ReasonNone, sh("2025-03-10 20:45")},
		{"a business's closed day defers marketing to the next working day",
			func(p *Policy) { p.Holidays.ClosedDays = []string{"2025-03-12"} }, "Asia/Shanghai", "marketing",
			sh("2025-03-12 11:00"), ReasonClosedDay, sh("2025-03-13 09:00")},
		{"a closed day written --12-24 closes every year",
			func(p *Policy) { p.Holidays.ClosedDays = []string{"--12-24"} }, "Asia/Shanghai", "survey",
			sh("2027-12-24 11:00"), ReasonClosedDay, sh("2027-12-27 09:00")},
		{"without a holiday calendar National Day is an ordinary day",
			func(p *Policy) { p.Holidays.Calendar = "" }, "Asia/Shanghai", "marketing", sh("2025-10-01 10:00"), ReasonNone, sh("2025-10-01 10:00")},
		{"a customer without a zone gets only hours acceptable in every zone served (Shanghai and London: 17:00–21:00 Shanghai)",
			func(p *Policy) { p.ServedZones = []string{"Asia/Shanghai", "Europe/London"} }, "", "service",
			sh("2025-03-04 10:00"), ReasonQuietHours, time.Date(2025, 3, 4, 9, 0, 0, 0, london)},
		{"a garbled zone counts as unknown, not as UTC",
			func(p *Policy) { p.ServedZones = []string{"Asia/Shanghai", "Europe/London"} }, "Mars/Olympus", "service",
			sh("2025-03-04 10:00"), ReasonQuietHours, sh("2025-03-04 17:00")},
		{"served zones with no common waking hour (Shanghai and New York in summer time) never send to a customer without a zone",
			func(p *Policy) { p.ServedZones = []string{"Asia/Shanghai", "America/New_York"} }, "", "service",
			sh("2025-04-15 12:00"), ReasonQuietHours, time.Time{}},
		{"in New York's winter time the same two zones share 09:00–10:00 Shanghai",
			func(p *Policy) { p.ServedZones = []string{"Asia/Shanghai", "America/New_York"} }, "", "service",
			sh("2025-03-04 12:00"), ReasonQuietHours, sh("2025-03-05 09:00")},
		{"a customer in New York is gated by New York's night, not Shanghai's",
			nil, "America/New_York", "service", sh("2025-03-04 12:00"), ReasonQuietHours, time.Date(2025, 3, 4, 9, 0, 0, 0, Location("America/New_York", ""))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := defaultPolicy(t)
			if tc.policy != nil {
				tc.policy(&p)
				if err := p.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			v := view("c1")
			v.TimeZone = tc.zone
			g := p.Gate(v, p.Classes[tc.class])
			if got := g.Blocked(tc.at); got != tc.wantBlocked {
				t.Errorf("Blocked = %q, want %q", got, tc.wantBlocked)
			}
			next, ok := g.Next(tc.at)
			if tc.wantNext.IsZero() {
				if ok {
					t.Errorf("Next = %s, want none (fail closed)", next)
				}
				return
			}
			if !ok || !next.Equal(tc.wantNext) {
				t.Errorf("Next = %s (%v), want %s", next.In(shanghai), ok, tc.wantNext.In(shanghai))
			}
		})
	}
}

func TestAnUnknownZoneWithNoCommonHourIsSuppressedAsZoneUnknown(t *testing.T) {
	p := defaultPolicy(t)
	p.ServedZones = []string{"Asia/Shanghai", "America/New_York"}
	v := view("c1")
	v.TimeZone = ""
	r := Reminder{ID: "r", Channel: model.ChannelSMS, Category: model.CategoryService, Class: "service", NotAfter: sh("2025-03-20 00:00")}
	r.NotAfter = sh("2025-05-20 00:00")
	if d := p.Check(r, v, sh("2025-04-15 12:00")); d.Skip != ReasonZoneUnknown {
		t.Errorf("Check = %+v, want suppressed zone_unknown", d)
	}
}

func TestAHolidayDeferralRecordsItsReason(t *testing.T) {
	p := defaultPolicy(t)
	r := Reminder{ID: "r", Channel: model.ChannelSMS, Category: model.CategoryMarketing, Class: "marketing", NotAfter: sh("2025-10-15 00:00")}
	d := p.Check(r, view("c1"), sh("2025-10-01 10:00"))
	if !d.Defer.Equal(sh("2025-10-09 09:00")) || d.Reason != ReasonHoliday {
		t.Fatalf("Check = %+v, want deferred to 2025-10-09 09:00 for holiday", d)
	}
	r.NotAfter = sh("2025-10-05 00:00")
	if d := p.Check(r, view("c1"), sh("2025-10-01 10:00")); d.Skip != ReasonHoliday {
		t.Errorf("an offer that expires during the holiday is suppressed for holiday, got %+v", d)
	}
}

func TestPolicyRejectsAQuietWindowThatLeavesTheNightOpen(t *testing.T) {
	p := defaultPolicy(t)
	p.Contact.QuietHours.Weekdays = map[string]Window{"friday": {Start: mustClock("13:00"), End: mustClock("14:00")}}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "contact.quietHours.weekdays.friday") {
		t.Errorf("Validate = %v, want the friday window named", err)
	}
	p = defaultPolicy(t)
	p.Contact.QuietHours.Weekdays = map[string]Window{"funday": p.Contact.QuietHours.Window}
	if err := p.Validate(); err == nil {
		t.Error("an unknown weekday was accepted")
	}
	p = defaultPolicy(t)
	p.Holidays.ClosedDays = []string{"12/24"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "holidays.closedDays[0]") {
		t.Errorf("Validate = %v, want the closed day named", err)
	}
}

// The bundled statutory calendar is maintained upstream year by year; this fails a
// year before it runs out so the dependency is upgraded before holidays go unseen.
func TestTheStatutoryCalendarCoversNextYear(t *testing.T) {
	if end, next := CNCalendarEnds(), time.Now().Year()+1; end < next {
		t.Errorf("github.com/6tail/lunar-go knows holidays up to %d, need %d: upgrade it", end, next)
	}
}

func TestLunarBirthdays(t *testing.T) {
	p := defaultPolicy(t)
	tests := []struct {
		name   string
		date   string
		lunar  bool
		from   time.Time
		wantOn time.Time
		ref    string
	}{
		{"born on Mid-Autumn 1990 (lunar 8/15) is greeted on Mid-Autumn 2025, 2025-10-06",
			"1990-10-03", true, sh("2025-10-01 00:00"), sh("2025-10-06 00:00"), "birthday-lunar-2025"},
		{"the same lunar birthday falls on 2026-09-25 the next year",
			"1990-10-03", true, sh("2026-09-20 00:00"), sh("2026-09-25 00:00"), "birthday-lunar-2026"},
		{"born on the 30th of a lunar month is greeted on the 29th when the month is short",
			"2024-02-09", true, sh("2025-01-25 00:00"), sh("2025-01-28 00:00"), "birthday-lunar-2024"},
		{"without the flag the same profile is greeted on its Gregorian date",
			"1990-10-03", false, sh("2025-10-01 00:00"), sh("2025-10-03 00:00"), "birthday-2025"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := view("c1")
			v.Birthday = BirthdayFrom(tc.date, tc.lunar)
			if !v.Birthday.Valid() {
				t.Fatalf("BirthdayFrom(%q, %v) = %+v, not valid", tc.date, tc.lunar, v.Birthday)
			}
			var got []Trigger
			for _, tr := range Calendar(p, v, tc.from, tc.from.AddDate(0, 0, 8)) {
				if tr.Kind == TriggerBirthday {
					got = append(got, tr)
				}
			}
			if len(got) != 1 || !got[0].At.Equal(tc.wantOn) || got[0].Ref != tc.ref {
				t.Fatalf("birthday triggers %+v, want one on %s ref %s", got, tc.wantOn, tc.ref)
			}
		})
	}
	if b := BirthdayFrom("--10-03", true); b.Valid() {
		t.Error("a lunar birthday without a year of birth was accepted")
	}
}

// Every reason code is documented once in docs/followup.md, so what a manager reads on
// the timeline is explained where the business reads about follow-up.
func TestEveryReasonIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/followup.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Reasons() {
		if !strings.Contains(string(doc), "| `"+string(r)+"` |") {
			t.Errorf("docs/followup.md has no table row for reason %q", r)
		}
		if r.Doc() == "" {
			t.Errorf("reason %q has no description", r)
		}
	}
}

func TestEveryReminderEndsWithADispositionAndAReason(t *testing.T) {
	now := sh("2025-03-03 12:00")
	base := Reminder{ID: "r", Status: StatusSending, DueAt: now}
	step := func(r Reminder, err error) Reminder {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	sent := step(base.MarkSent(now, "p"))
	delivered := step(sent.MarkDelivered())
	skipped := step(base.Skip(ReasonCapMarketingDaily))
	failed := step(base.Fail(ReasonTemplateError, "render: needs Name"))
	deferred := step(base.Defer(now.Add(time.Hour), ReasonQuietHours))
	retry := step(base.RetryAt(now.Add(time.Hour), "throttled"))
	cancelled := step(Reminder{ID: "r", Status: StatusPending}.Cancel())
	tests := []struct {
		name string
		r    Reminder
		want Account
	}{
		{"a sent message", sent, Account{Disposition: DispositionSent}},
		{"a delivered message", delivered, Account{Disposition: DispositionDelivered}},
		{"a capped message is suppressed with its cap", skipped, Account{Disposition: DispositionSuppressed, Reason: ReasonCapMarketingDaily}},
		{"a template error is suppressed as template_error", failed, Account{Disposition: DispositionSuppressed, Reason: ReasonTemplateError}},
		{"a deferral says why and until when", deferred, Account{Disposition: DispositionDeferred, Reason: ReasonQuietHours, Until: now.Add(time.Hour)}},
		{"a retry is a deferral for a provider error", retry, Account{Disposition: DispositionDeferred, Reason: ReasonProviderError, Until: now.Add(time.Hour)}},
		{"a cancellation is a suppression", cancelled, Account{Disposition: DispositionSuppressed, Reason: ReasonCancelled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Account(); got != tc.want {
				t.Errorf("Account = %+v, want %+v", got, tc.want)
			}
			if a := tc.r.Account(); a.Disposition == DispositionSuppressed && !a.Reason.Known() {
				t.Errorf("suppressed with undocumented reason %q", a.Reason)
			}
		})
	}
}

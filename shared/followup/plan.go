package followup

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"
)

// Plan is what one trigger means for one customer: reminders to create (idempotently) and
// which open reminders to cancel.
type Plan struct {
	Reminders []Reminder
	Cancel    Selector
}

// Selector picks open reminders a later event makes pointless.
type Selector struct {
	All        bool
	Tags       []string
	Categories []string
	// The occurrence that caused the cancellation never cancels its own reminders, so a
	// redelivered trigger cannot undo what its first delivery planned.
	exceptKind TriggerKind
	exceptRef  string
}

// Empty reports whether the selector cancels nothing.
func (s Selector) Empty() bool { return !s.All && len(s.Tags) == 0 && len(s.Categories) == 0 }

// Matches reports whether r should be cancelled. Reminders already being sent or finished
// are never touched.
func (s Selector) Matches(r Reminder) bool {
	if s.Empty() || r.Status.Terminal() || r.Status == StatusSending {
		return false
	}
	if r.Trigger == s.exceptKind && r.TriggerRef == s.exceptRef {
		return false
	}
	if s.All || slices.Contains(s.Categories, string(r.Category)) {
		return true
	}
	for _, t := range r.Tags {
		if slices.Contains(s.Tags, t) {
			return true
		}
	}
	return false
}

// PlanTrigger turns a trigger into reminders, each due in the customer's time zone:
// messages land outside quiet hours (time-critical ones early, the rest deferred), tasks
// carry a deadline from the trigger. Messages the customer cannot receive today (no
// consent, no address, opted out) are not planned; consent is checked again at send time.
// A reminder whose whole useful window is already past is not planned either.
func PlanTrigger(p Policy, t Trigger, v CustomerView, now time.Time) (Plan, error) {
	if err := t.Validate(); err != nil {
		return Plan{}, err
	}
	if v.ID != "" && v.ID != t.CustomerID {
		return Plan{}, fmt.Errorf("%w: trigger for %s planned with view of another customer", ErrInvalidTrigger, t.CustomerID)
	}
	out := Plan{Cancel: p.cancellation(t)}
	if v.Erased || t.Kind == TriggerErasure {
		return out, nil
	}
	loc := Location(v.TimeZone, p.DefaultTimeZone)
	base := t.At.In(loc)
	localNow := now.In(loc)
	for _, rule := range p.Rules {
		if rule.Trigger != t.Kind || !rule.Match.matches(t, v) {
			continue
		}
		due := rule.After.From(base)
		if rule.At.Set() {
			due = rule.At.On(due)
		}
		r := Reminder{
			ID:            ReminderID(t.CustomerID, t.Kind, t.Ref, rule.ID),
			CustomerID:    t.CustomerID,
			Store:         v.Store,
			Trigger:       t.Kind,
			TriggerRef:    t.Ref,
			RuleID:        rule.ID,
			PolicyVersion: p.Version,
			Channel:       rule.Channel,
			Category:      rule.Category,
			Template:      rule.Template,
			Class:         rule.Class,
			Priority:      rule.Priority,
			TimeCritical:  rule.TimeCritical,
			Tags:          rule.Tags,
		}
		if rule.IsTask() {
			r = planTask(p, rule, r, base, due, localNow)
		} else {
			var ok bool
			if r, ok = planMessage(p, rule, r, v, due, localNow); !ok {
				continue
			}
		}
		out.Reminders = append(out.Reminders, r)
	}
	return out, nil
}

func planTask(p Policy, rule Rule, r Reminder, base, due, now time.Time) Reminder {
	spec := rule.Task
	deadline := spec.Deadline.From(base)
	if spec.BusinessHours {
		deadline = p.OpeningHours.addBusiness(base, deadline.Sub(base))
	}
	if rule.TimeCritical {
		deadline = p.OpeningHours.lastOpenBefore(deadline)
	}
	if due.Before(now) {
		due = now
	}
	if due.After(deadline) {
		due = deadline
	}
	r.PlannedAt, r.DueAt, r.NotAfter = due, due, deadline
	r.Status = StatusOpen
	r.Task = &Task{Role: spec.Role, DeadlineAt: deadline, CallAttempt: 1, SLA: spec.Deadline, BusinessOnly: spec.BusinessHours}
	r.SweepAt = deadline
	return r
}

func planMessage(p Policy, rule Rule, r Reminder, v CustomerView, target, now time.Time) (Reminder, bool) {
	if v.Permits(rule.Category, rule.Channel) != SkipNone {
		return r, false
	}
	expiry := rule.expiry(p.Contact.DefaultExpiry)
	notAfter := expiry.From(target)
	if !notAfter.After(now) {
		return r, false
	}
	g := p.Gate(v, p.Classes[rule.Class])
	var due time.Time
	var ok bool
	if rule.TimeCritical {
		due, ok = g.CriticalSlot(target, now)
	} else {
		due, ok = g.Next(later(target, now))
	}
	if !ok || due.After(notAfter) {
		return r, false
	}
	r.PlannedAt, r.DueAt, r.NotAfter = due, due, notAfter
	r.Status = StatusPending
	r.SweepAt = due
	return r, true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (p Policy) cancellation(t Trigger) Selector {
	s := Selector{exceptKind: t.Kind, exceptRef: t.Ref}
	for _, c := range p.Cancellations {
		if c.On != t.Kind || (len(c.Stages) > 0 && !slices.Contains(c.Stages, t.Stage)) {
			continue
		}
		s.All = s.All || c.All
		s.Tags = append(s.Tags, c.Tags...)
		if c.Category != "" {
			s.Categories = append(s.Categories, string(c.Category))
		}
	}
	return s
}

// Calendar returns the calendar triggers (birthday, weekly, monthly, quarterly, annual)
// whose local day falls in [from, to] for the customer. Periodic touches are spread over
// the period by a hash of the customer id so ten thousand customers are not all messaged
// on the first Monday. Refs name the period, so running Calendar nightly with a
// look-ahead window that overlaps yesterday's plans nothing twice.
func Calendar(p Policy, v CustomerView, from, to time.Time) []Trigger {
	if v.Erased || v.ID == "" {
		return nil
	}
	loc := Location(v.TimeZone, p.DefaultTimeZone)
	h := fnv.New32a()
	h.Write([]byte(v.ID))
	spread := int(h.Sum32() % 1_000_000) // non-negative on 32-bit platforms too
	f := from.In(loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	var out []Trigger
	mk := func(kind TriggerKind, ref string, at time.Time) {
		out = append(out, Trigger{Kind: kind, CustomerID: v.ID, Ref: ref, At: at})
	}
	for ; !day.After(to); day = day.AddDate(0, 0, 1) {
		at := p.Calendar.At.On(day)
		if b := v.Birthday; b.Valid() && b.Lunar {
			if ly, ok := b.lunarBirthdayOn(day); ok {
				mk(TriggerBirthday, fmt.Sprintf("birthday-lunar-%d", ly), day)
			}
		} else if b.Valid() && b.In(day.Year(), loc).Equal(day) {
			mk(TriggerBirthday, fmt.Sprintf("birthday-%d", day.Year()), day)
		}
		if int(day.Weekday()) == 1+spread%5 { // Monday..Friday
			y, w := day.ISOWeek()
			mk(TriggerWeekly, fmt.Sprintf("%04d-W%02d", y, w), at)
		}
		dom := 1 + spread%28
		if day.Day() == dom {
			mk(TriggerMonthly, day.Format("2006-01"), at)
			if (int(day.Month())-1)%3 == (spread/28)%3 {
				mk(TriggerQuarterly, fmt.Sprintf("%04d-Q%d", day.Year(), (int(day.Month())-1)/3+1), at)
			}
		}
		if day.YearDay() == 1+spread%365 {
			mk(TriggerAnnual, fmt.Sprintf("%04d", day.Year()), at)
		}
	}
	return out
}

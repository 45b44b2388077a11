package followup

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// ErrInvalidPolicy wraps every policy validation failure; the message names the field.
var ErrInvalidPolicy = errors.New("invalid follow-up policy")

// Policy is the versioned follow-up document: the cadence table plus contact discipline.
// Every reminder records the version that planned it.
type Policy struct {
	Version         int            `json:"version"`
	DefaultTimeZone string         `json:"defaultTimeZone"`
	Contact         Contact        `json:"contact"`
	OpeningHours    Window         `json:"openingHours"` // when staff make calls; task deadlines count these hours
	Tasks           TaskPolicy     `json:"tasks"`
	Calendar        CalendarPolicy `json:"calendar"`
	// ServedZones are the zones the business's customers live in: a customer whose
	// profile has no zone is messaged only at hours acceptable in every one of them.
	ServedZones []string `json:"servedZones"`
	// Holidays are the days classes that avoid them wait through.
	Holidays HolidayPolicy `json:"holidays"`
	// Classes say per kind of message what happens when it cannot go now.
	Classes       map[string]Class `json:"classes"`
	Rules         []Rule           `json:"rules"`
	Cancellations []Cancellation   `json:"cancellations"`
}

// Window is a local daily interval [Start, End). End before Start wraps past midnight.
type Window struct {
	Start ClockTime `json:"start"`
	End   ClockTime `json:"end"`
}

// Contains reports whether the local time of t is inside the window.
func (w Window) Contains(t time.Time) bool {
	m := minuteOfDay(t)
	if w.Start.Minutes <= w.End.Minutes {
		return m >= w.Start.Minutes && m < w.End.Minutes
	}
	return m >= w.Start.Minutes || m < w.End.Minutes
}

// QuietHours is the customer's night: Start in the evening to End in the morning,
// with per-weekday overrides ("saturday": {"start": "21:00", "end": "10:00"}). A day's
// End ends the night before it; its Start begins the night after it, so on local day D
// messages may go from End(D) to Start(D).
type QuietHours struct {
	Window
	Weekdays map[string]Window `json:"weekdays,omitempty"`
}

// Day returns the quiet window that applies to weekday wd.
func (q QuietHours) Day(wd time.Weekday) Window {
	if w, ok := q.Weekdays[weekdayNames[wd]]; ok {
		return w
	}
	return q.Window
}

var weekdayNames = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// Contact is the discipline every automatic message obeys.
type Contact struct {
	QuietHours QuietHours             `json:"quietHours"`
	Caps       map[model.Category]Cap `json:"caps"`
	// CriticalMargin is how far before quiet hours a time-critical message is planned so
	// that sweep granularity and a retry cannot push it into the night.
	CriticalMargin Offset `json:"criticalMargin"`
	Retry          Retry  `json:"retry"`
	// SendingLease bounds how long a claimed reminder may stay "sending" before the sweep
	// asks the provider what happened.
	SendingLease Offset `json:"sendingLease"`
	// RequeueAfter is when a reminder handed to the queue is swept again if nobody acted on
	// it (a lost queue message must not lose the reminder).
	RequeueAfter  Offset `json:"requeueAfter"`
	DefaultExpiry Offset `json:"defaultExpiry"` // NotAfter for rules that name none
}

// Cap bounds messages per customer per local day and ISO week, across all channels.
type Cap struct {
	PerDay  int `json:"perDay"`
	PerWeek int `json:"perWeek"`
}

// Retry is exponential backoff for retryable provider errors.
type Retry struct {
	MaxAttempts int    `json:"maxAttempts"`
	Initial     Offset `json:"initial"`
	Max         Offset `json:"max"`
}

// TaskPolicy governs staff call tasks after they are planned.
type TaskPolicy struct {
	NoAnswerRetryAfter Offset `json:"noAnswerRetryAfter"`
	MaxCallAttempts    int    `json:"maxCallAttempts"`
	EscalationDeadline Offset `json:"escalationDeadline"` // the manager's task; "complaint: manager within 24 h"
	MaxEscalations     int    `json:"maxEscalations"`     // manager, then admin; then it stays on the admin's list
}

// CalendarPolicy says how far ahead calendar triggers are produced, and when.
type CalendarPolicy struct {
	Lookahead Offset    `json:"lookahead"`
	At        ClockTime `json:"at"` // local time of day periodic touches land
}

// Class is a kind of message (a reply, a service reminder, a greeting, a survey,
// marketing) and what it does when it cannot go now.
type Class struct {
	// Priority under a cap, 1 first: a message of a later priority does not take the
	// last slot of a day or week while one of an earlier priority is due for the same
	// customer in that window ("a service reminder beats a birthday greeting").
	Priority int `json:"priority"`
	// WhenBlocked is "defer" (wait for the next allowed slot, suppressed only if that is
	// past NotAfter) or "drop" (suppressed at once with the blocking reason).
	WhenBlocked string `json:"whenBlocked"`
	// AvoidHolidays makes the class wait through statutory holidays and the business's
	// closed days for the next working day.
	AvoidHolidays bool `json:"avoidHolidays"`
	// Capped counts the class against the frequency caps (replies to the customer's own
	// action do not).
	Capped bool `json:"capped"`
	// WhenUncertain is what happens after a send whose outcome is unknown when the
	// provider cannot say: "resend" (risk a duplicate rather than a loss) or "drop"
	// (suppressed as uncertain_send: risk a loss rather than a duplicate).
	WhenUncertain string `json:"whenUncertain"`
}

// Drops reports whether the class is suppressed rather than deferred when blocked.
func (c Class) Drops() bool { return c.WhenBlocked == "drop" }

// Resends reports whether an uncertain send of the class is sent again.
func (c Class) Resends() bool { return c.WhenUncertain == "resend" }

// ClassOf returns the class a reminder belongs to: its own, or for reminders planned
// before classes existed the class named like its category.
func (p Policy) ClassOf(r Reminder) Class {
	if c, ok := p.Classes[r.Class]; ok && r.Class != "" {
		return c
	}
	if c, ok := p.Classes[string(r.Category)]; ok {
		return c
	}
	return Class{Priority: 5, WhenBlocked: "defer", AvoidHolidays: true, Capped: true, WhenUncertain: "drop"}
}

// HolidayPolicy names the public-holiday calendar and the business's own closed days.
type HolidayPolicy struct {
	Calendar   string   `json:"calendar"`             // "CN" (mainland China, statutory holidays and make-up working days) or "" for none
	ClosedDays []string `json:"closedDays,omitempty"` // "2025-12-24" once, or "--12-24" every year
}

// Match narrows a rule; empty fields match everything.
type Match struct {
	Grades          []model.LeadGrade `json:"grades,omitempty"`
	Tiers           []model.Tier      `json:"tiers,omitempty"`
	Stages          []model.Stage     `json:"stages,omitempty"` // the trigger's stage for stage_entered, else the customer's
	ProjectTypes    []string          `json:"projectTypes,omitempty"`
	NotProjectTypes []string          `json:"notProjectTypes,omitempty"`
	Direction       string            `json:"direction,omitempty"` // tier_changed: up | down
	Channels        []model.Channel   `json:"channels,omitempty"`  // the trigger's channel (consent_requested)
}

// TaskSpec makes a rule a staff task rather than an automatic message.
type TaskSpec struct {
	Role model.Role `json:"role"`
	// Deadline is measured from the trigger ("within 7 days of becoming a customer").
	Deadline Offset `json:"deadline"`
	// BusinessHours counts only opening hours ("hot lead: 30 min in opening hours").
	BusinessHours bool `json:"businessHours,omitempty"`
}

// Rule is one row of the cadence table.
type Rule struct {
	ID           string         `json:"id"`
	Trigger      TriggerKind    `json:"trigger"`
	Match        Match          `json:"match"`
	After        Offset         `json:"after"`           // from the trigger's At; may be negative ("1 month before it wears off")
	At           ClockTime      `json:"at"`              // optional local time of day after the offset
	Channel      model.Channel  `json:"channel"`         // call = staff task
	Template     string         `json:"template"`        // message template id (a task's script for calls)
	Category     model.Category `json:"category"`        // consent and caps are per category
	Class        string         `json:"class,omitempty"` // message class (policy classes); messages only
	Priority     int            `json:"priority"`        // 1 first … 5 last
	TimeCritical bool           `json:"timeCritical"`    // planned early rather than late around quiet hours
	Expires      Offset         `json:"expires"`         // NotAfter = planned due + Expires
	Task         *TaskSpec      `json:"task,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
}

// IsTask reports whether the rule creates a staff task.
func (r Rule) IsTask() bool { return r.Channel == model.ChannelCall }

// Cancellation says which open reminders an event makes pointless.
type Cancellation struct {
	On       TriggerKind    `json:"on"`
	Stages   []model.Stage  `json:"stages,omitempty"` // for stage_entered: only these stages cancel
	Tags     []string       `json:"tags,omitempty"`
	Category model.Category `json:"category,omitempty"`
	All      bool           `json:"all,omitempty"`
}

//go:embed policy.json
var defaultPolicyJSON []byte

// DefaultPolicy returns the embedded policy, which encodes every row of the cadence table
// in MISSION.md. It is validated by tests, so an error here is a build defect.
func DefaultPolicy() (Policy, error) { return ParsePolicy(defaultPolicyJSON) }

// ParsePolicy decodes and validates a policy document; unknown fields are rejected so a
// misspelt key does not silently fall back to a default.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("%w: decoding: %w", ErrInvalidPolicy, err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Rule returns the rule with id, if any.
func (p Policy) Rule(id string) (Rule, bool) {
	for _, r := range p.Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

func bad(field, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidPolicy, field, fmt.Sprintf(format, a...))
}

// Validate checks the whole document and names the first field at fault.
func (p Policy) Validate() error {
	if p.Version < 1 {
		return bad("version", "must be ≥ 1")
	}
	if _, err := time.LoadLocation(p.DefaultTimeZone); err != nil || p.DefaultTimeZone == "" {
		return bad("defaultTimeZone", "%q is not an IANA zone", p.DefaultTimeZone)
	}
	c := p.Contact
	if err := validNight("contact.quietHours", c.QuietHours.Window); err != nil {
		return err
	}
	for day, w := range c.QuietHours.Weekdays {
		if !slices.Contains(weekdayNames[:], day) {
			return bad("contact.quietHours.weekdays."+day, "not a weekday (monday … sunday)")
		}
		if err := validNight("contact.quietHours.weekdays."+day, w); err != nil {
			return err
		}
	}
	if len(p.ServedZones) == 0 {
		return bad("servedZones", "name at least one IANA zone")
	}
	for i, z := range p.ServedZones {
		if _, err := time.LoadLocation(z); err != nil || z == "" {
			return bad(fmt.Sprintf("servedZones[%d]", i), "%q is not an IANA zone", z)
		}
	}
	if h := p.Holidays.Calendar; h != "" && h != "CN" {
		return bad("holidays.calendar", "want \"CN\" or empty, got %q", h)
	}
	for i, d := range p.Holidays.ClosedDays {
		if _, _, ok := parseClosedDay(d); !ok {
			return bad(fmt.Sprintf("holidays.closedDays[%d]", i), "want YYYY-MM-DD or --MM-DD, got %q", d)
		}
	}
	for name, cl := range p.Classes {
		f := "classes." + name
		switch {
		case cl.Priority < 1 || cl.Priority > 5:
			return bad(f+".priority", "want 1..5, got %d", cl.Priority)
		case cl.WhenBlocked != "defer" && cl.WhenBlocked != "drop":
			return bad(f+".whenBlocked", "want defer or drop, got %q", cl.WhenBlocked)
		case cl.WhenUncertain != "resend" && cl.WhenUncertain != "drop":
			return bad(f+".whenUncertain", "want resend or drop, got %q", cl.WhenUncertain)
		}
	}
	for _, cat := range []model.Category{model.CategoryService, model.CategoryMarketing} {
		cp, ok := c.Caps[cat]
		if !ok || cp.PerDay < 1 || cp.PerWeek < cp.PerDay {
			return bad("contact.caps."+string(cat), "need perDay ≥ 1 and perWeek ≥ perDay")
		}
	}
	for name, o := range map[string]Offset{"contact.criticalMargin": c.CriticalMargin, "contact.sendingLease": c.SendingLease,
		"contact.requeueAfter": c.RequeueAfter, "contact.retry.initial": c.Retry.Initial, "contact.retry.max": c.Retry.Max} {
		if !o.Fixed() || o.Dur <= 0 {
			return bad(name, "must be a positive duration in m or h, got %q", o)
		}
	}
	if c.DefaultExpiry.Negative() || c.DefaultExpiry.IsZero() {
		return bad("contact.defaultExpiry", "must be positive")
	}
	if c.Retry.MaxAttempts < 1 {
		return bad("contact.retry.maxAttempts", "must be ≥ 1")
	}
	if c.Retry.Max.Dur < c.Retry.Initial.Dur {
		return bad("contact.retry.max", "must be ≥ initial")
	}
	if c.SendingLease.Dur >= c.RequeueAfter.Dur*4 {
		return bad("contact.sendingLease", "should be shorter than 4× requeueAfter")
	}
	if !p.OpeningHours.Start.Set() || !p.OpeningHours.End.Set() || p.OpeningHours.Start.Minutes >= p.OpeningHours.End.Minutes {
		return bad("openingHours", "start must be before end on the same day")
	}
	t := p.Tasks
	if t.NoAnswerRetryAfter.Negative() || t.NoAnswerRetryAfter.IsZero() {
		return bad("tasks.noAnswerRetryAfter", "must be positive")
	}
	if t.MaxCallAttempts < 1 {
		return bad("tasks.maxCallAttempts", "must be ≥ 1")
	}
	if t.EscalationDeadline.Negative() || t.EscalationDeadline.IsZero() {
		return bad("tasks.escalationDeadline", "must be positive")
	}
	if t.MaxEscalations < 0 || t.MaxEscalations > 2 {
		return bad("tasks.maxEscalations", "must be 0, 1 (manager) or 2 (then admin)")
	}
	if p.Calendar.Lookahead.Negative() || p.Calendar.Lookahead.IsZero() {
		return bad("calendar.lookahead", "must be positive")
	}
	if !p.Calendar.At.Set() {
		return bad("calendar.at", "must be set")
	}
	if len(p.Rules) == 0 {
		return bad("rules", "empty")
	}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		if err := r.validate(fmt.Sprintf("rules[%d]", i), p.Contact.DefaultExpiry); err != nil {
			return err
		}
		if _, ok := p.Classes[r.Class]; !r.IsTask() && !ok {
			return bad(fmt.Sprintf("rules[%d].class", i), "%q is not among the policy's classes", r.Class)
		}
		if seen[r.ID] {
			return bad(fmt.Sprintf("rules[%d].id", i), "%q used twice", r.ID)
		}
		seen[r.ID] = true
	}
	for i, cn := range p.Cancellations {
		f := fmt.Sprintf("cancellations[%d]", i)
		if !cn.On.Known() {
			return bad(f+".on", "unknown trigger %q", cn.On)
		}
		if !cn.All && len(cn.Tags) == 0 && cn.Category == "" {
			return bad(f, "selects nothing: set all, tags or category")
		}
		if cn.Category != "" && !validCategory(cn.Category) {
			return bad(f+".category", "unknown %q", cn.Category)
		}
	}
	return nil
}

// validNight checks a quiet window: both ends set, and it covers the night (it wraps
// past midnight, or starts at 00:00), so each day keeps one sending window End–Start.
func validNight(field string, w Window) error {
	if !w.Start.Set() || !w.End.Set() || w.Start == w.End {
		return bad(field, "start and end must be set and differ")
	}
	if w.Start.Minutes < w.End.Minutes && w.Start.Minutes != 0 {
		return bad(field, "must cover the night: start in the evening, end in the morning")
	}
	return nil
}

func validCategory(c model.Category) bool {
	return c == model.CategoryService || c == model.CategoryMarketing
}

func (r Rule) validate(f string, defExpiry Offset) error {
	switch {
	case r.ID == "":
		return bad(f+".id", "empty")
	case !r.Trigger.Known():
		return bad(f+".trigger", "unknown %q", r.Trigger)
	case !slices.Contains([]model.Channel{model.ChannelCall, model.ChannelSMS, model.ChannelEmail}, r.Channel):
		return bad(f+".channel", "want call, sms or email, got %q", r.Channel)
	case r.Template == "":
		return bad(f+".template", "empty")
	case !validCategory(r.Category):
		return bad(f+".category", "want service or marketing, got %q", r.Category)
	case r.Priority < 1 || r.Priority > 5:
		return bad(f+".priority", "want 1..5, got %d", r.Priority)
	case r.Expires.Negative():
		return bad(f+".expires", "must not be negative")
	case r.Match.Direction != "" && r.Match.Direction != "up" && r.Match.Direction != "down":
		return bad(f+".match.direction", "want up or down, got %q", r.Match.Direction)
	case r.Match.Direction != "" && r.Trigger != TriggerTierChanged:
		return bad(f+".match.direction", "only for tier_changed")
	case r.IsTask() && r.Task == nil:
		return bad(f+".task", "a call rule needs a task (role, deadline)")
	case !r.IsTask() && r.Task != nil:
		return bad(f+".task", "only call rules have a task")
	}
	if r.Task != nil {
		if !r.Task.Role.Valid() {
			return bad(f+".task.role", "unknown %q", r.Task.Role)
		}
		if r.Task.Deadline.Negative() || r.Task.Deadline.IsZero() {
			return bad(f+".task.deadline", "must be positive")
		}
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		if r.Task.Deadline.From(base).Before(r.After.From(base)) {
			return bad(f+".task.deadline", "%s is before the task is due (%s)", r.Task.Deadline, r.After)
		}
	}
	return nil
}

// expiry is the rule's NotAfter offset.
func (r Rule) expiry(def Offset) Offset {
	if r.Expires.IsZero() {
		return def
	}
	return r.Expires
}

func (m Match) matches(t Trigger, v CustomerView) bool {
	if len(m.Grades) > 0 && !slices.Contains(m.Grades, t.Grade) {
		return false
	}
	if len(m.Tiers) > 0 && !slices.Contains(m.Tiers, v.Tier) {
		return false
	}
	if len(m.Stages) > 0 {
		st := v.Stage
		if t.Kind == TriggerStageEntered {
			st = t.Stage
		}
		if !slices.Contains(m.Stages, st) {
			return false
		}
	}
	if len(m.ProjectTypes) > 0 && !slices.Contains(m.ProjectTypes, t.ProjectType) {
		return false
	}
	if slices.Contains(m.NotProjectTypes, t.ProjectType) && t.ProjectType != "" {
		return false
	}
	if m.Direction != "" && m.Direction != t.Direction() {
		return false
	}
	if len(m.Channels) > 0 && !slices.Contains(m.Channels, t.Channel) {
		return false
	}
	return true
}

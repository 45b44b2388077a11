package followup

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Outcome is what a staff member reports after a call task.
type Outcome string

const (
	OutcomeReached     Outcome = "reached"
	OutcomeNoAnswer    Outcome = "no_answer" // re-plans a retry call
	OutcomeWrongNumber Outcome = "wrong_number"
	OutcomeBooked      Outcome = "booked"
	OutcomeComplaint   Outcome = "complaint" // opens a manager complaint task
	OutcomeDeclined    Outcome = "declined"  // the customer does not want calls
)

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeReached, OutcomeNoAnswer, OutcomeWrongNumber, OutcomeBooked, OutcomeComplaint, OutcomeDeclined:
		return true
	}
	return false
}

// ErrInvalidOutcome is returned for an outcome the API does not know.
var ErrInvalidOutcome = errors.New("invalid task outcome")

// Task is the staff side of a call reminder.
type Task struct {
	Role         model.Role `json:"role"`
	Assignee     string     `json:"assignee,omitempty"` // staff id; empty means "anyone in the store with the role"
	DeadlineAt   time.Time  `json:"deadlineAt"`
	Outcome      Outcome    `json:"outcome,omitempty"`
	CompletedBy  string     `json:"completedBy,omitempty"`
	CompletedAt  time.Time  `json:"completedAt,omitzero"`
	Escalated    bool       `json:"escalated,omitempty"`
	Level        int        `json:"level,omitempty"`        // 0 original, 1 manager, 2 admin
	EscalationOf string     `json:"escalationOf,omitempty"` // the overdue task this one escalates
	CallAttempt  int        `json:"callAttempt,omitempty"`  // 1 for the first call, 2 after one "no answer" …
	SLA          Offset     `json:"sla"`                    // the deadline offset, reused for retries
	BusinessOnly bool       `json:"businessOnly,omitempty"`
}

// Overdue reports whether an open, unescalated task has passed its deadline.
func (r Reminder) Overdue(now time.Time) bool {
	return r.Task != nil && r.Status == StatusOpen && !r.Task.Escalated && !now.Before(r.Task.DeadlineAt)
}

// Complete records a staff outcome on an open task.
func (r Reminder) Complete(staffID string, o Outcome, now time.Time) (Reminder, error) {
	if r.Task == nil {
		return r, fmt.Errorf("%w: %s is not a task", ErrTransition, r.ID)
	}
	if !o.Valid() {
		return r, fmt.Errorf("%w: %q", ErrInvalidOutcome, o)
	}
	if err := r.transition(StatusDone, StatusOpen); err != nil {
		return r, err
	}
	t := *r.Task
	t.Outcome, t.CompletedBy, t.CompletedAt = o, staffID, now
	r.Task = &t
	r.settle()
	return r, nil
}

// Reassign hands an open task to another staff member.
func (r Reminder) Reassign(staffID string) (Reminder, error) {
	if r.Task == nil || r.Status != StatusOpen {
		return r, fmt.Errorf("%w: only open tasks can be reassigned", ErrTransition)
	}
	t := *r.Task
	t.Assignee = staffID
	r.Task = &t
	return r, nil
}

// Escalate marks an overdue task as escalated and returns the escalation task for the
// next level up (manager, then admin). The original stays open so the agent can still
// finish it; it just stops being swept. ok is false when the chain is exhausted.
func (r Reminder) Escalate(p Policy, loc *time.Location, now time.Time) (orig, esc Reminder, ok bool, err error) {
	if !r.Overdue(now) {
		return r, Reminder{}, false, fmt.Errorf("%w: %s is not overdue", ErrTransition, r.ID)
	}
	t := *r.Task
	t.Escalated = true
	r.Task = &t
	r.SweepAt = time.Time{}
	if t.Level >= p.Tasks.MaxEscalations {
		return r, Reminder{}, false, nil
	}
	role := model.RoleClinician
	if t.Level >= 1 || r.Task.Role == model.RoleClinician {
		role = model.RoleAdmin
	}
	deadline := p.Tasks.EscalationDeadline.From(now.In(loc))
	e := Reminder{
		ID:            ReminderID(r.CustomerID, TriggerEscalation, r.ID, "escalation"),
		CustomerID:    r.CustomerID,
		Store:         r.Store,
		Trigger:       TriggerEscalation,
		TriggerRef:    r.ID,
		RuleID:        r.RuleID,
		PolicyVersion: p.Version,
		Channel:       model.ChannelCall,
		Category:      r.Category,
		Template:      "task.escalation",
		Priority:      1,
		PlannedAt:     now,
		DueAt:         now,
		NotAfter:      deadline,
		Status:        StatusOpen,
		Task: &Task{
			Role: role, DeadlineAt: deadline, Level: t.Level + 1, EscalationOf: r.ID,
			CallAttempt: 1, SLA: p.Tasks.EscalationDeadline,
		},
	}
	e.SweepAt = deadline
	return r, e, true, nil
}

// RetryCall plans the next call after "no answer", at the next opening-hours slot after
// the retry delay. ok is false once the policy's call attempts are used up.
func (r Reminder) RetryCall(p Policy, loc *time.Location, now time.Time) (Reminder, bool) {
	if r.Task == nil || r.Task.CallAttempt >= p.Tasks.MaxCallAttempts {
		return Reminder{}, false
	}
	due := p.OpeningHours.nextOpen(p.Tasks.NoAnswerRetryAfter.From(now.In(loc)))
	deadline := r.Task.SLA.From(due)
	if r.Task.BusinessOnly {
		deadline = p.OpeningHours.addBusiness(due, r.Task.SLA.From(due).Sub(due))
	}
	n := r
	n.ID = ReminderID(r.CustomerID, TriggerTaskRetry, r.ID, "retry")
	n.Trigger, n.TriggerRef = TriggerTaskRetry, r.ID
	n.Status, n.Version = StatusOpen, 0
	n.PlannedAt, n.DueAt, n.NotAfter = due, due, deadline
	t := *r.Task
	t.Assignee, t.Outcome, t.CompletedBy, t.CompletedAt = r.Task.Assignee, "", "", time.Time{}
	t.Escalated, t.DeadlineAt, t.CallAttempt = false, deadline, r.Task.CallAttempt+1
	n.Task = &t
	n.SweepAt = deadline
	return n, true
}

// nextOpen returns t if the store is open then, else the next opening time.
func (w Window) nextOpen(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	open := w.Start.On(t)
	if !open.After(t) {
		open = w.Start.On(t.AddDate(0, 0, 1))
	}
	return open
}

// addBusiness adds d of opening-hours time to t ("30 minutes in opening hours": a hot
// lead at 19:50 with a 20:00 close is due 09:20 the next morning).
func (w Window) addBusiness(t time.Time, d time.Duration) time.Time {
	t = w.nextOpen(t)
	for i := 0; i < 3660 && d > 0; i++ { // bounded: at most ten years of days
		closeAt := w.End.On(t)
		if left := closeAt.Sub(t); d <= left {
			return t.Add(d)
		} else {
			d -= left
		}
		t = w.Start.On(t.AddDate(0, 0, 1))
	}
	return t
}

// lastOpenBefore returns t if the store is open then, else the last open minute before
// it, so a time-critical deadline lands while someone can still act.
func (w Window) lastOpenBefore(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	closeAt := w.End.On(t)
	if closeAt.After(t) {
		closeAt = w.End.On(t.AddDate(0, 0, -1))
	}
	return closeAt.Add(-time.Minute)
}

package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
)

// ErrNotATask is returned when a task operation names a message reminder.
var ErrNotATask = errors.New("not a task")

// Tasks records staff outcomes and reassignments.
type Tasks struct {
	Policy    followup.Policy
	Reminders Reminders
	Customers Customers
	Staff     Staff
	Counters  Counters
	Planner   *Planner // for outcomes that are new events (a complaint on the phone)
	Now       func() time.Time
	// Tallies count the follow-up report (done, on time, overdue per staff member, store
	// and month in Zone); nil counts nothing.
	Tallies Tallies
	Zone    *time.Location
}

// TaskTally is the tally attribute of a staff member's count in the follow-up report:
// metric is done, onTime, overdue (done after the deadline) or escalated.
func TaskTally(staff, metric string) string {
	if staff == "" {
		staff = "unassigned"
	}
	return staff + "|" + metric
}

// countTask adds a task's counts to the store's month.
func countTask(ctx context.Context, t Tallies, zone *time.Location, r followup.Reminder, at time.Time, counts map[string]int64) error {
	if t == nil {
		return nil
	}
	if zone == nil {
		zone = time.UTC
	}
	if err := t.Add(ctx, r.Store, at.In(zone).Format("2006-01"), counts); err != nil {
		return fmt.Errorf("counting task %s: %w", r.ID, err)
	}
	return nil
}

// CompleteResult is the task as stored plus what the outcome set in motion.
type CompleteResult struct {
	Task     followup.Reminder
	Retry    *followup.Reminder // "no answer": the next call
	Followed PlanResult         // "complaint": the manager task and acknowledgement
}

// Complete closes a task with an outcome. Completing an escalation also closes the
// overdue task it escalated, so the agent's list does not keep a call the manager made.
func (s *Tasks) Complete(ctx context.Context, id, staffID string, o followup.Outcome) (CompleteResult, error) {
	now := s.Now()
	r, err := s.Reminders.Get(ctx, id)
	if err != nil {
		return CompleteResult{}, fmt.Errorf("completing task %s: %w", id, err)
	}
	if !r.IsTask() {
		return CompleteResult{}, fmt.Errorf("completing %s: %w", id, ErrNotATask)
	}
	done, err := r.Complete(staffID, o, now)
	if err != nil {
		return CompleteResult{}, fmt.Errorf("completing task %s: %w", id, err)
	}
	if done, err = s.Reminders.Update(ctx, done); err != nil {
		return CompleteResult{}, fmt.Errorf("completing task %s: %w", id, err)
	}
	res := CompleteResult{Task: done}
	when := "onTime"
	if now.After(r.Task.DeadlineAt) {
		when = "overdue"
	}
	if err := countTask(ctx, s.Tallies, s.Zone, done, now, map[string]int64{TaskTally(staffID, "done"): 1, TaskTally(staffID, when): 1}); err != nil {
		return res, err
	}
	for esc := done; esc.Task.EscalationOf != ""; {
		orig, err := s.Reminders.Get(ctx, esc.Task.EscalationOf)
		if err != nil {
			break
		}
		if c, err := orig.Complete(staffID, o, now); err == nil {
			s.Reminders.Update(ctx, c) //nolint:errcheck // a conflict means someone closed it already
		}
		esc = orig
	}
	switch o {
	case followup.OutcomeNoAnswer:
		v, err := s.Customers.ContactView(ctx, r.CustomerID)
		if err != nil {
			return res, fmt.Errorf("planning retry of %s: %w", id, err)
		}
		next, ok := done.RetryCall(s.Policy, followup.Location(v.TimeZone, s.Policy.DefaultTimeZone), now)
		if !ok {
			return res, nil
		}
		if err := assign(ctx, s.Staff, s.Counters, &next); err != nil {
			return res, err
		}
		if _, err := s.Reminders.Create(ctx, []followup.Reminder{next}); err != nil {
			return res, fmt.Errorf("planning retry of %s: %w", id, err)
		}
		res.Retry = &next
	case followup.OutcomeWrongNumber:
		if err := s.Customers.MarkBadContact(ctx, r.CustomerID, model.ChannelSMS); err != nil {
			return res, fmt.Errorf("recording wrong number on %s: %w", id, err)
		}
	case followup.OutcomeComplaint:
		if s.Planner != nil {
			pr, err := s.Planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerComplaint, CustomerID: r.CustomerID, Ref: "task:" + id, At: now})
			if err != nil {
				return res, err
			}
			res.Followed = pr
		}
	}
	return res, nil
}

// Reassign hands an open task to another staff member.
func (s *Tasks) Reassign(ctx context.Context, id, staffID string) (followup.Reminder, error) {
	r, err := s.Reminders.Get(ctx, id)
	if err != nil {
		return r, fmt.Errorf("reassigning task %s: %w", id, err)
	}
	n, err := r.Reassign(staffID)
	if err != nil {
		return r, fmt.Errorf("reassigning task %s: %w", id, err)
	}
	return s.Reminders.Update(ctx, n)
}

package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
)

// Sweeper runs on a schedule: it hands due messages to the queue and escalates overdue
// tasks. It never sends anything itself, so a slow provider cannot stall escalation.
type Sweeper struct {
	Policy    followup.Policy
	Reminders Reminders
	Customers Customers
	Staff     Staff
	Counters  Counters
	Queue     Queue
	Alerts    Alerts
	Now       func() time.Time
	// Tallies count escalations in the follow-up report (per staff member whose task it
	// was, store and month in Zone); nil counts nothing.
	Tallies Tallies
	Zone    *time.Location
	// Events publishes task.overdue for every task the sweep escalates; nil publishes nothing.
	Events    events.Publisher
	BatchSize int // unused: one DueBefore query per run (kept for callers that set it)
	MaxPerRun int // bound on one invocation's work; 0 means 20000
}

// SweepResult counts what one run did.
type SweepResult struct {
	Enqueued    int
	Escalations []followup.Reminder // the new escalation tasks
	Exhausted   int                 // overdue tasks with no level left to escalate to
}

// lastSweepKey is the counter holding when the previous sweep ran (unix seconds).
const lastSweepKey = "sweep#last"

// Run processes everything due at Now, most urgent first. Messages are handed to the
// queue without a write per message (Reminder.SweepNow): the sweep remembers when it
// last ran in one counter, and the dispatcher's claim takes a message off the due list.
func (s *Sweeper) Run(ctx context.Context) (SweepResult, error) {
	now := s.Now()
	maxRun := s.MaxPerRun
	if maxRun <= 0 {
		maxRun = 20000
	}
	var res SweepResult
	_, lastUnix, err := s.Counters.Add(ctx, lastSweepKey, 0, -1, time.Time{})
	if err != nil {
		return res, fmt.Errorf("sweep: reading the last sweep: %w", err)
	}
	last := time.Unix(lastUnix, 0)
	if lastUnix == 0 || last.After(now) {
		last = time.Time{}
	}
	due, err := s.Reminders.DueBefore(ctx, now, maxRun)
	if err != nil {
		return res, fmt.Errorf("sweep: querying due reminders: %w", err)
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].Priority < due[j].Priority })
	var ids []string
	for _, r := range due {
		switch {
		case r.IsTask():
			if !r.Overdue(now) {
				continue
			}
			if err := s.escalate(ctx, r, now, &res); err != nil {
				return res, err
			}
		case r.Status.Sendable() || r.Status == followup.StatusSending:
			if r.SweepNow(now, last, s.Policy.Contact.RequeueAfter.Dur) {
				ids = append(ids, r.ID)
			}
		}
	}
	if len(ids) > 0 {
		if err := s.Queue.Enqueue(ctx, ids); err != nil {
			// The watermark stays: the next sweep hands them over again.
			return res, fmt.Errorf("sweep: enqueueing %d reminders: %w", len(ids), err)
		}
		res.Enqueued += len(ids)
	}
	if now.Unix() > lastUnix {
		if _, _, err := s.Counters.Add(ctx, lastSweepKey, now.Unix()-lastUnix, -1, time.Time{}); err != nil {
			return res, fmt.Errorf("sweep: recording the sweep: %w", err)
		}
	}
	return res, nil
}

func (s *Sweeper) escalate(ctx context.Context, r followup.Reminder, now time.Time, res *SweepResult) error {
	v, err := s.Customers.ContactView(ctx, r.CustomerID)
	tz := ""
	if err == nil {
		tz = v.TimeZone
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("sweep: escalating %s: %w", r.ID, err)
	}
	orig, esc, ok, err := r.Escalate(s.Policy, followup.Location(tz, s.Policy.DefaultTimeZone), now)
	if err != nil {
		return nil // no longer overdue: completed in the meantime
	}
	if _, err := s.Reminders.Update(ctx, orig); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return fmt.Errorf("sweep: marking %s escalated: %w", r.ID, err)
	}
	if err := countTask(ctx, s.Tallies, s.Zone, r, now, map[string]int64{TaskTally(r.Task.Assignee, "escalated"): 1}); err != nil {
		return err
	}
	if err := publish(ctx, s.Events, events.Event{ID: events.Key(events.TaskOverdue, r.ID, fmt.Sprint(r.Task.Level)), Type: events.TaskOverdue, Time: now, Store: r.Store,
		Detail: map[string]any{"taskId": r.ID, "customerId": r.CustomerID, "assignee": r.Task.Assignee, "role": r.Task.Role, "level": r.Task.Level, "deadlineAt": r.Task.DeadlineAt}}); err != nil {
		return err
	}
	if !ok {
		res.Exhausted++
		return nil
	}
	if err := assign(ctx, s.Staff, s.Counters, &esc); err != nil {
		return err
	}
	created, err := s.Reminders.Create(ctx, []followup.Reminder{esc})
	if err != nil {
		return fmt.Errorf("sweep: creating escalation of %s: %w", r.ID, err)
	}
	if len(created) == 0 {
		return nil
	}
	res.Escalations = append(res.Escalations, esc)
	a := Alert{Store: esc.Store, StaffID: esc.Task.Assignee, Role: esc.Task.Role, TaskID: esc.ID, OverdueID: r.ID, CustomerID: r.CustomerID, Level: esc.Task.Level}
	if err := s.Alerts.Alert(ctx, a); err != nil {
		return fmt.Errorf("sweep: alerting on %s: %w", esc.ID, err)
	}
	return nil
}

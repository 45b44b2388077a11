package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/feedback"
	"github.com/tierflow/tierflow/shared/followup"
)

// Planner turns triggers into stored reminders.
type Planner struct {
	Policy    followup.Policy
	Reminders Reminders
	Customers Customers
	Staff     Staff
	Counters  Counters
	Now       func() time.Time
}

// PlanResult is what one trigger changed.
type PlanResult struct {
	Created   []followup.Reminder
	Cancelled int
}

// Handle plans t: cancels what the event made pointless, then creates the new reminders.
// Safe to call again with the same trigger: ids collide and nothing is added twice.
func (p *Planner) Handle(ctx context.Context, t followup.Trigger) (PlanResult, error) {
	now := p.Now()
	v, err := p.Customers.ContactView(ctx, t.CustomerID)
	if err != nil {
		return PlanResult{}, fmt.Errorf("planning %s: reading customer: %w", t.Kind, err)
	}
	plan, err := followup.PlanTrigger(p.Policy, t, v, now)
	if err != nil {
		return PlanResult{}, fmt.Errorf("planning %s: %w", t.Kind, err)
	}
	var res PlanResult
	if !plan.Cancel.Empty() {
		if res.Cancelled, err = p.cancel(ctx, t.CustomerID, plan.Cancel); err != nil {
			return res, err
		}
	}
	if len(plan.Reminders) == 0 {
		return res, nil
	}
	for i := range plan.Reminders {
		if plan.Reminders[i].IsTask() {
			if err := assign(ctx, p.Staff, p.Counters, &plan.Reminders[i]); err != nil {
				return res, err
			}
		}
	}
	if res.Created, err = p.Reminders.Create(ctx, plan.Reminders); err != nil {
		return res, fmt.Errorf("planning %s: storing reminders: %w", t.Kind, err)
	}
	return res, nil
}

func (p *Planner) cancel(ctx context.Context, customerID string, sel followup.Selector) (int, error) {
	open, err := p.Reminders.OpenForCustomer(ctx, customerID)
	if err != nil {
		return 0, fmt.Errorf("listing open reminders: %w", err)
	}
	n := 0
	for _, r := range open {
		for attempt := 0; attempt < 3 && sel.Matches(r); attempt++ {
			c, err := r.Cancel()
			if err != nil {
				break
			}
			if _, err = p.Reminders.Update(ctx, c); err == nil {
				n++
				break
			} else if !errors.Is(err, ErrConflict) {
				return n, fmt.Errorf("cancelling %s: %w", r.ID, err)
			}
			if r, err = p.Reminders.Get(ctx, r.ID); err != nil {
				break
			}
		}
	}
	return n, nil
}

// assign picks the next staff member for the task's store and role, round-robin over a
// shared counter so concurrent planners spread work. A re-planned task that already
// exists still advances the counter; the skew is one slot and not worth a second write.
func assign(ctx context.Context, staff Staff, counters Counters, r *followup.Reminder) error {
	members, err := staff.Members(ctx, r.Store, r.Task.Role)
	if err != nil {
		return fmt.Errorf("assigning %s: listing staff: %w", r.ID, err)
	}
	if len(members) == 0 {
		return nil // stays on the store's shared list for the role
	}
	_, n, err := counters.Add(ctx, "rr#"+r.Store+"#"+string(r.Task.Role), 1, -1, time.Time{})
	if err != nil {
		return fmt.Errorf("assigning %s: round-robin counter: %w", r.ID, err)
	}
	t := *r.Task
	t.Assignee = members[int((n-1)%int64(len(members)))]
	r.Task = &t
	return nil
}

// SurveyAnswered records what a survey answer means for follow-up: a complaint (CSAT ≤ 2
// or NPS ≤ 6) opens the manager task through the complaint rules. ref is the survey
// response id, so a double-submitted form opens one task.
func (p *Planner) SurveyAnswered(ctx context.Context, customerID, ref string, at time.Time, r feedback.Response) (PlanResult, error) {
	if err := r.Validate(); err != nil {
		return PlanResult{}, err
	}
	if !r.Complaint() {
		return PlanResult{}, nil
	}
	return p.Handle(ctx, followup.Trigger{Kind: followup.TriggerComplaint, CustomerID: customerID, Ref: "survey:" + ref, At: at})
}

// OpenKinds returns the trigger kinds of the customer's reminders still open (tasks
// waiting for an outcome, messages not yet sent): a person who sends a form again while
// a call or a confirmation is on its way needs that one, not a second.
func (p *Planner) OpenKinds(ctx context.Context, customerID string) (map[followup.TriggerKind]bool, error) {
	open, err := p.Reminders.OpenForCustomer(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("open reminders of %s: %w", customerID, err)
	}
	kinds := map[followup.TriggerKind]bool{}
	for _, r := range open {
		kinds[r.Trigger] = true
	}
	return kinds, nil
}

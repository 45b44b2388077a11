// Package cost measures what one message costs in DynamoDB request units, through the
// same sweep and dispatcher the sweep and dispatch functions run (boot.Followup), over a
// real table (DynamoDB Local in tests and in the `make cost` harness). Issue #13's budget:
// one message dispatched ≤ 6 RU.
package cost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

// Budget is issue #13's ceiling for one message dispatched (sweep + dispatch), in RU.
const Budget = 6.0

// Options shape a measurement.
type Options struct {
	Messages int       // customers, one message each; 0 means 50
	At       time.Time // when the messages are due; zero means 2040-01-02 10:00 Shanghai
	// FirstMessage leaves the customers without an unsubscribe token, so dispatch creates
	// it (a customer's first message); otherwise every customer already has one.
	FirstMessage bool
}

// MessageSent plans one due survey e-mail (a service message) per new customer, then runs one sweep and the
// dispatcher on every queued id with a provider that accepts everything, and returns the
// request units per message the table metered between the sweep and the last record.
func MessageSent(ctx context.Context, t *store.Table, o Options) (store.Units, error) {
	n, at := o.Messages, o.At
	if n <= 0 {
		n = 50
	}
	if at.IsZero() {
		at = time.Date(2040, 1, 2, 10, 0, 0, 0, followup.Location("Asia/Shanghai", ""))
	}
	now := func() time.Time { return at }
	f, err := boot.NewFollowup(t, now)
	if err != nil {
		return store.Units{}, err
	}
	cat, err := message.Default()
	if err != nil {
		return store.Units{}, err
	}
	q := &memQueue{}
	d := f.Dispatcher(t, accepting{}, cat, "https://cost.tierflow.example")
	sw := &app.Sweeper{Policy: f.Policy, Reminders: f.Reminders, Customers: f.Contacts, Staff: f.Staff, Counters: f.Counters,
		Queue: q, Alerts: store.NewAlerts(t, now), Now: now}
	rules := customer.Rules{DefaultRegion: "CN"}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	var rems []followup.Reminder
	for i := range n {
		l, err := rules.Validate(customer.LeadForm{Name: "Cost", Email: fmt.Sprintf("cost-%s-%d@example.com", suffix, i), Store: "cost"},
			customer.Submission{At: at.Add(-time.Hour), IP: "203.0.113.9", Channel: "form"})
		if err != nil {
			return store.Units{}, err
		}
		p, _, err := t.ResolveOrCreate(ctx, l, customer.Grading{}, at.Add(-time.Hour))
		if err != nil {
			return store.Units{}, err
		}
		if !o.FirstMessage {
			if _, err := f.Contacts.UnsubscribeToken(ctx, p.ID); err != nil {
				return store.Units{}, err
			}
		}
		rems = append(rems, followup.Reminder{
			ID: followup.ReminderID(p.ID, followup.TriggerSurveyDue, "cost-"+suffix, "survey_due_email"), CustomerID: p.ID, Store: p.Store,
			Trigger: followup.TriggerSurveyDue, TriggerRef: "cost-" + suffix, RuleID: "survey_due_email", Class: "survey",
			Channel: model.ChannelEmail, Category: model.CategoryService, Template: "survey.csat", Priority: 4,
			PlannedAt: at, DueAt: at, NotAfter: at.Add(24 * time.Hour), SweepAt: at, Status: followup.StatusPending,
		})
	}
	if _, err := f.Reminders.Create(ctx, rems); err != nil {
		return store.Units{}, err
	}
	before := t.Units.Snapshot()
	if _, err := sw.Run(ctx); err != nil {
		return store.Units{}, err
	}
	sent := 0
	for _, id := range q.take() {
		res, err := d.Handle(ctx, id)
		if err != nil {
			return store.Units{}, fmt.Errorf("dispatch %s: %w", id, err)
		}
		if res == app.ResultSent {
			sent++
		}
	}
	u := t.Units.Snapshot().Sub(before)
	if sent != n {
		return u, fmt.Errorf("%d of %d messages sent", sent, n)
	}
	return store.Units{Read: u.Read / float64(n), Write: u.Write / float64(n), Calls: u.Calls / n}, nil
}

// accepting is a provider that accepts every message (no network: only DynamoDB is measured).
type accepting struct{}

func (accepting) Send(_ context.Context, m app.Outgoing) (string, error) {
	return "cost-" + m.ReminderID, nil
}
func (accepting) Lookup(context.Context, model.Channel, string) (app.Lookup, string, error) {
	return app.LookupNotFound, "", nil
}

// memQueue is the dispatch queue in memory.
type memQueue struct {
	mu  sync.Mutex
	ids []string
}

func (q *memQueue) Enqueue(_ context.Context, ids []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, ids...)
	return nil
}

func (q *memQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := q.ids
	q.ids = nil
	return ids
}

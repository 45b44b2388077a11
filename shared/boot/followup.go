package boot

import (
	"errors"

	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/links"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/store"
)

// Followup is what every function that plans follow-up builds the same way: the cadence
// policy and the store's adapters of the planner's ports, over one table. Functions that
// also sweep, dispatch or complete tasks build those services from it in their main.
type Followup struct {
	Policy    followup.Policy
	Reminders *store.Reminders
	Contacts  *store.Contacts
	Counters  *store.Counters
	Staff     *store.StaffDirectory
	Now       func() time.Time
	// Table is the store the adapters work on (report tallies are built over it).
	Table *store.Table
}

// zone is the business's zone of the policy: the day and month a report count belongs to.
func (f Followup) zone() *time.Location {
	return followup.Location(f.Policy.DefaultTimeZone, "Asia/Shanghai")
}

// MessageTallies count the message report (per store and day).
func (f Followup) MessageTallies() *store.Tallies { return store.NewTallies(f.Table, "msg") }

// Tasks is the staff task service over f, counting the follow-up report.
func (f Followup) Tasks() *app.Tasks {
	return &app.Tasks{Policy: f.Policy, Reminders: f.Reminders, Customers: f.Contacts, Staff: f.Staff,
		Counters: f.Counters, Planner: f.Planner(), Now: f.Now, Tallies: store.NewTallies(f.Table, "followup"), Zone: f.zone()}
}

// NewFollowup reads the default cadence policy and builds the adapters over t; now is the
// services' clock (nil: time.Now).
func NewFollowup(t *store.Table, now func() time.Time) (Followup, error) {
	if now == nil {
		now = time.Now
	}
	p, err := followup.DefaultPolicy()
	if err != nil {
		return Followup{}, fmt.Errorf("follow-up policy: %w", err)
	}
	return Followup{Policy: p, Reminders: store.NewReminders(t), Contacts: store.NewContacts(t),
		Counters: store.NewCounters(t), Staff: store.NewStaffDirectory(t, now), Now: now, Table: t}, nil
}

// Planner is the follow-up planner over f: triggers in, stored reminders out.
func (f Followup) Planner() *app.Planner {
	return &app.Planner{Policy: f.Policy, Reminders: f.Reminders, Customers: f.Contacts, Staff: f.Staff, Counters: f.Counters, Now: f.Now}
}

// Planner is the planner the leads, ingest and re-tier functions hand their triggers to:
// the default cadence policy over t.
//
//	planner, err := boot.Planner(b.Table, time.Now)
//	_, err = planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerNewLead, CustomerID: id, Ref: touchID, At: now, Grade: grade})
func Planner(t *store.Table, now func() time.Time) (*app.Planner, error) {
	f, err := NewFollowup(t, now)
	if err != nil {
		return nil, err
	}
	return f.Planner(), nil
}

// Replies is what a customer's reply or unsubscribe does (STOP / TD / 退订, any other
// SMS, the unsubscribe link), the same for the public API's signed webhook and the
// delivery function's two-way SMS topic, publishing consent.changed through pub.
func (f Followup) Replies(pub events.Publisher) *app.Replies {
	return &app.Replies{Contacts: f.Contacts, Planner: f.Planner(), Events: pub, Now: f.Now,
		Unknown: func(err error) bool { return errors.Is(err, store.ErrNotFound) },
		Tallies: f.MessageTallies(), Zone: f.zone(), Store: f.Contacts.StoreOf}
}

// Dispatcher is the dispatcher over f as the dispatch function runs it: the contact view
// read eventually consistent (half a read unit; docs/followup.md, "Request units"), the
// store's one-write claim and one-item cap counters, links under baseURL.
func (f Followup) Dispatcher(t *store.Table, sender app.Sender, catalog *message.Catalog, baseURL string) *app.Dispatcher {
	f.Contacts.EventualReads = true
	lk := links.New(baseURL, f.Contacts, store.NewConsents(t, f.Now))
	return &app.Dispatcher{Policy: f.Policy, Reminders: f.Reminders, Customers: f.Contacts,
		Counters: f.Counters, Sender: sender, Catalog: catalog, Links: lk, Consent: lk, Now: f.Now}
}

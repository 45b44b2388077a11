package sim

import (
	"context"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/followup/memstore"
	"github.com/tierflow/tierflow/shared/model"
)

// The README's "0 messages in quiet hours, 0 duplicates" is only worth something if the
// simulation's counters can count one: feed measure an outbox holding a message sent
// twice under one idempotency key, one sent at 22:30 local time and one over the daily
// cap, and it must report each.
func TestTheSimulationsCountersCountWhatTheyClaim(t *testing.T) {
	p, err := followup.DefaultPolicy()
	if err != nil {
		t.Fatal(err)
	}
	perDay := p.Contact.Caps[model.CategoryMarketing].PerDay
	if perDay < 1 || p.Contact.Caps[model.CategoryService].PerDay < 2 {
		t.Fatalf("caps %+v: the test needs a marketing cap to exceed and room for two service messages a day", p.Contact.Caps)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	r := &run{cfg: Config{Customers: 1, Days: 7}, policy: p, store: memstore.New(),
		views: map[string]followup.CustomerView{"c1": {ID: "c1", TimeZone: "Asia/Shanghai"}},
		rep:   Report{Results: map[app.Result]int{}, Skipped: map[followup.SkipReason]int{}, Classes: map[string]*ClassCounts{}}}
	r.ports = memPorts(r.store)
	r.outbox = memstore.NewOutbox(func() time.Time { return now })
	send := func(at time.Time, key string, cat model.Category) {
		t.Helper()
		now = at
		m := app.Outgoing{IdempotencyKey: key, ReminderID: key, CustomerID: "c1", Channel: model.ChannelSMS, Category: cat}
		// measure counts a message against the cap by its reminder's class, as dispatch does.
		if _, err := r.store.Get(context.Background(), key); err != nil {
			rem := followup.Reminder{ID: key, CustomerID: "c1", Channel: m.Channel, Category: cat, Class: string(cat), DueAt: at}
			if _, err := r.store.Create(context.Background(), []followup.Reminder{rem}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.outbox.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2025, 3, 4, 0, 0, 0, 0, shanghai)
	send(day.Add(10*time.Hour), "rem_twice", model.CategoryService)
	send(day.Add(11*time.Hour), "rem_twice", model.CategoryService) // the same message again
	// In quiet hours, the next day.
	send(day.AddDate(0, 0, 1).Add(22*time.Hour+30*time.Minute), "rem_late", model.CategoryService)
	// One marketing message over the cap, on a day of its own.
	for i := range perDay + 1 {
		send(day.AddDate(0, 0, 2).Add(time.Duration(10+i)*time.Hour), "rem_mkt_"+string(rune('a'+i)), model.CategoryMarketing)
	}
	if err := r.measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.rep.Duplicates != 1 || r.rep.QuietHourMessages != 1 || r.rep.CapViolations != 1 {
		t.Fatalf("duplicates %d, quiet-hour messages %d, cap violations %d; want 1 each",
			r.rep.Duplicates, r.rep.QuietHourMessages, r.rep.CapViolations)
	}
}

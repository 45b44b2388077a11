package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// testSweep wires the sweep as main does, over the test table, a scratch dispatch queue
// and a clock.
func testSweep(t *testing.T, tbl *store.Table, clock func() time.Time) *Sweep {
	t.Helper()
	q := queue.New(storetest.Emulators(t).SQSClient(), storetest.Queue(t, "dispatch"))
	s, err := wire(slog.New(slog.NewJSONHandler(io.Discard, nil)), tbl, q, time.UTC, 4, clock)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A complaint task nobody completes within its 24 h escalates to the store's admin on
// the next sweep after the deadline, once, and lands on the admin's task list.
func TestOverdueTaskEscalatesOnce(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	now := time.Date(2034, 6, 1, 2, 0, 0, 0, time.UTC) // 10:00 Shanghai
	clock := func() time.Time { return now }
	s := testSweep(t, tbl, clock)
	s.Calendar = nil // this test is about escalation alone
	dir := store.NewStaffDirectory(tbl, clock)
	st := "st-" + storetest.Suffix()
	mgr, admin := "mgr-"+storetest.Suffix(), "adm-"+storetest.Suffix()
	if err := dir.Register(ctx, st, model.RoleClinician, mgr); err != nil {
		t.Fatal(err)
	}
	if err := dir.Register(ctx, st, model.RoleAdmin, admin); err != nil {
		t.Fatal(err)
	}
	l, err := customer.Rules{DefaultRegion: "CN", Stores: []string{st}, DefaultStore: st}.Validate(customer.LeadForm{Name: "Zhou Min", Email: "zm-" + storetest.Suffix() + "@example.com"}, customer.Submission{At: now, IP: "203.0.113.2", Channel: "form"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := tbl.ResolveOrCreate(ctx, l, customer.Grading{}, now)
	if err != nil {
		t.Fatal(err)
	}
	planner, err := boot.Planner(tbl, clock)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerComplaint, CustomerID: p.ID, Ref: "call-1", At: now})
	if err != nil {
		t.Fatal(err)
	}
	var task followup.Reminder
	for _, r := range plan.Created {
		if r.IsTask() {
			task = r
		}
	}
	if task.Task == nil || task.Task.Assignee != mgr {
		t.Fatalf("complaint task not assigned to the manager: %+v", plan.Created)
	}
	run := func(at time.Time) Response {
		now = at
		res, err := s.Handle(ctx, json.RawMessage(`{"action":"sweep"}`))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run(task.Task.DeadlineAt.Add(-time.Minute)); res.Escalations != 0 {
		t.Fatalf("before the deadline: %d escalations", res.Escalations)
	}
	if res := run(task.Task.DeadlineAt.Add(time.Minute)); res.Escalations != 1 {
		t.Fatalf("after the deadline: %d escalations, want 1", res.Escalations)
	}
	if res := run(task.Task.DeadlineAt.Add(10 * time.Minute)); res.Escalations != 0 {
		t.Fatalf("second sweep escalated again: %d", res.Escalations)
	}
	list, _, err := store.NewReminders(tbl).ListTasks(ctx, store.TaskView{Assignee: admin})
	if err != nil || len(list) != 1 || list[0].Task.EscalationOf != task.ID || list[0].Task.Level != 1 {
		t.Fatalf("admin's tasks: %+v %v", list, err)
	}
	if _, err := s.Handle(ctx, json.RawMessage(`{"action":"retier"}`)); err == nil {
		t.Fatal("an unknown action was accepted")
	}
}

// The day's first sweep plans the calendar: a customer whose birthday is in three days
// gets the birthday greeting planned for 09:00 local that day; later sweeps that day
// plan nothing more.
func TestFirstSweepOfTheDayPlansBirthdays(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	now := time.Date(2035, 8, 10, 1, 0, 0, 0, time.UTC) // 09:00 Shanghai
	clock := func() time.Time { return now }
	zone := followup.Location("Asia/Shanghai", "")
	l, err := customer.Rules{DefaultRegion: "CN", DefaultStore: "sh-01"}.Validate(customer.LeadForm{Name: "Wu Hua", Email: "wh-" + storetest.Suffix() + "@example.com", Birthday: "1988-08-13"}, customer.Submission{At: now, IP: "203.0.113.3", Channel: "form"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := tbl.ResolveOrCreate(ctx, l, customer.Grading{}, now)
	if err != nil {
		t.Fatal(err)
	}
	s := testSweep(t, tbl, clock)
	s.Calendar.Zone = zone
	first, err := s.Handle(ctx, nil)
	if err != nil || first.Calendar == 0 {
		t.Fatalf("first sweep: %+v %v", first, err)
	}
	now = now.Add(5 * time.Minute)
	if again, err := s.Handle(ctx, nil); err != nil || again.Calendar != 0 {
		t.Fatalf("second sweep of the day planned %d more (err %v)", again.Calendar, err)
	}
	open, err := store.NewReminders(tbl).OpenForCustomer(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var greeting *followup.Reminder
	for i, r := range open {
		if r.Template == "birthday.greeting" {
			greeting = &open[i]
		}
	}
	if greeting == nil || !greeting.DueAt.Equal(time.Date(2035, 8, 13, 9, 0, 0, 0, zone)) {
		t.Fatalf("birthday greeting: %+v", greeting)
	}
}

package access_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
)

var (
	shAgent     = auth.Principal{Sub: "agent-sh", Role: model.RoleAgent, Stores: []string{"sh-01"}}
	shClinician = auth.Principal{Sub: "clin-sh", Role: model.RoleClinician, Stores: []string{"sh-01"}}
	shAdmin     = auth.Principal{Sub: "admin-sh", Role: model.RoleAdmin, Stores: []string{"sh-01"}}
	allAdmin    = auth.Principal{Sub: "admin-all", Role: model.RoleAdmin, Stores: []string{"*"}}
)

// body is what a caller sees of an error.
func body(err error) string { return httpx.ErrorResponse(err, "").Body }

func TestAbsentAndNotYoursAnswerTheSame(t *testing.T) {
	f := newFake()
	f.add("c-sh", "sh-01", "")
	f.add("c-bj", "bj-01", "")
	f.add("c-none", "", "")
	l := f.layer()
	ctx := context.Background()
	missing := body(access.NotFound("Customer"))
	cases := []struct {
		name string
		p    auth.Principal
		id   string
		ok   bool
	}{
		{"a store's agent reads their store's customer", shAgent, "c-sh", true},
		{"another store's customer is the 404 of nobody", shAgent, "c-bj", false},
		{"a customer without a store is only for all-stores staff", shAgent, "c-none", false},
		{"all-stores staff read a customer without a store", allAdmin, "c-none", true},
		{"an unknown id is the 404", shAgent, "c-nobody", false},
		{"a 5,000-character id is the 404", shAgent, strings.Repeat("a", 5000), false},
		{"an id with a key separator is the 404", shAgent, "c-sh#PROFILE", false},
		{"an empty id is the 404", shAgent, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := l.Customer(ctx, tc.p, tc.id, access.ReadCustomer)
			if tc.ok {
				if err != nil || c.ID() != tc.id {
					t.Fatalf("got %q, %v", c.ID(), err)
				}
				return
			}
			if httpx.StatusOf(err) != 404 || body(err) != missing || c.ID() != "" {
				t.Fatalf("status %d body %s id %q, want the plain 404 %s", httpx.StatusOf(err), body(err), c.ID(), missing)
			}
		})
	}
}

func TestMalformedIDsAreRefusedBeforeAnyRead(t *testing.T) {
	f := newFake()
	l := f.layer()
	if _, err := l.Customer(context.Background(), allAdmin, strings.Repeat("x", 5000), access.ReadCustomer); err == nil {
		t.Error("a 5,000-character customer id was accepted")
	}
	if _, err := l.Task(context.Background(), allAdmin, strings.Repeat("x", 65), access.WorkTasks); err == nil {
		t.Error("a 65-character task id was accepted")
	}
	if f.reads != 0 {
		t.Fatalf("%d reads for ids no item can have", f.reads)
	}
}

func TestFunctionLevelAuthorization(t *testing.T) {
	cases := []struct {
		name   string
		p      auth.Principal
		a      access.Action
		status int
	}{
		{"an admin of every store changes the policy", allAdmin, access.ChangePolicy, 0},
		{"a store's admin may not change the business-wide policy", shAdmin, access.ChangePolicy, 403},
		{"a store's admin may not start a run over every store", shAdmin, access.StartRun, 403},
		{"an admin of every store starts a run", allAdmin, access.StartRun, 0},
		{"a clinician posts transactions", shClinician, access.PostTransactions, 0},
		{"an agent may not post transactions", shAgent, access.PostTransactions, 403},
		{"an agent may not read the audit log", shAgent, access.ReadAudit, 403},
		{"a store's admin reads the audit log of their customers", shAdmin, access.ReadAudit, 0},
		{"an agent may not read reports", shAgent, access.ReadReports, 403},
		{"an agent works tasks", shAgent, access.WorkTasks, 0},
		{"an agent may not hand tasks to others", shAgent, access.AssignTasks, 403},
		{"an unknown action is refused", allAdmin, access.Action("drop the table"), 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpx.StatusOf(access.Require(tc.p, tc.a)); got != tc.status && !(tc.status == 0 && got == 200) {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
		})
	}
}

func TestTasksResolveThroughTheirStore(t *testing.T) {
	f := newFake()
	f.reminders["t-sh"] = followup.Reminder{ID: "t-sh", Store: "sh-01", Task: &followup.Task{}}
	f.reminders["t-bj"] = followup.Reminder{ID: "t-bj", Store: "bj-01", Task: &followup.Task{}}
	f.reminders["m-sh"] = followup.Reminder{ID: "m-sh", Store: "sh-01"} // a message, not a task
	l := f.layer()
	missing := body(access.NotFound("Task"))
	for id, ok := range map[string]bool{"t-sh": true, "t-bj": false, "m-sh": false, "t-nobody": false} {
		tk, err := l.Task(context.Background(), shAgent, id, access.WorkTasks)
		if ok != (err == nil) || (!ok && body(err) != missing) || (ok && tk.ID() != id) {
			t.Errorf("task %s: %q %v", id, tk.ID(), err)
		}
	}
}

func TestStoresAndScopes(t *testing.T) {
	l := newFake().layer()
	if s, err := l.Store(shAgent, "", nil, access.ListCustomers); err != nil || s.ID() != "sh-01" {
		t.Fatalf("an agent's only store: %q %v", s.ID(), err)
	}
	for _, st := range []string{"bj-01", strings.Repeat("s", 5000), "STORE#x"} {
		if _, err := l.Store(shAgent, st, nil, access.ListCustomers); httpx.StatusOf(err) != 404 {
			t.Errorf("store %.20q: %v, want 404", st, err)
		}
	}
	if _, err := l.Store(allAdmin, "", []string{"sh-01", "bj-01"}, access.ListCustomers); httpx.StatusOf(err) != 400 {
		t.Errorf("an all-stores caller naming no store of two: %v, want 400", err)
	}
	sc, err := l.Scope(shClinician, "", access.ReadReports)
	if err != nil || sc.All() || !sc.Has("sh-01") || sc.Has("bj-01") || sc.Has("") {
		t.Fatalf("a clinician's scope: %+v %v", sc, err)
	}
	if sc, err := l.Scope(allAdmin, "", access.ReadReports); err != nil || !sc.All() {
		t.Fatalf("an all-stores admin reads the business: %+v %v", sc, err)
	}
	if sc, err := l.Scope(allAdmin, "bj-01", access.ReadReports); err != nil || sc.All() || !sc.Has("bj-01") || sc.Has("sh-01") {
		t.Fatalf("an all-stores admin asking for one store: %+v %v", sc, err)
	}
	if _, err := l.Run(shClinician, strings.Repeat("r", 200), "", access.ReadRuns); httpx.StatusOf(err) != 404 {
		t.Fatalf("a malformed run id: %v", err)
	}
	if _, err := l.Run(shAgent, "run-1", "", access.ReadRuns); httpx.StatusOf(err) != 403 {
		t.Fatalf("an agent reading a run: %v", err)
	}
}

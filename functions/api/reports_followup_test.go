package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// An agent works a call in a fresh store: the card carries the customer masked for the
// agent, the manager's follow-up report counts the call done on time for that agent, the
// store's staff list names the agent, and the message and feedback reports read the
// store's counts — a store the manager does not cover is a 404, bad input a 400 naming
// the field, an agent a 403.
func TestTheFollowupReportsCountWhatStaffAndMessagesDid(t *testing.T) {
	g := newTaskRig(t)
	ctx := context.Background()
	agent, mgr := "agent-"+storetest.Suffix(), "mgr-"+storetest.Suffix()
	st := "st-" + storetest.Suffix()
	g.as(agent, "agent", st, "GET", "/v1/tasks", "", nil)
	phone := mobile()
	p := g.newCustomer("Gao Min", phone, "gaomin-"+storetest.Suffix()+"@example.com")
	if _, err := storetest.Emulators(t).DynamoDBClient().UpdateItem(ctx, storeUpdate(g.tbl.Name, p.ID, st)); err != nil {
		t.Fatal(err)
	}
	if resp := g.as(agent, "agent", st, "POST", "/v1/customers/"+p.ID+"/events", `{"id":"svc-`+storetest.Suffix()+`","type":"service_completed"}`, nil); resp.StatusCode != 201 {
		t.Fatalf("event: %d %s", resp.StatusCode, resp.Body)
	}
	mine := decode[taskPage](t, g.as(agent, "agent", st, "GET", "/v1/tasks", "", map[string]string{"view": "mine"}))
	if len(mine.Items) != 1 || mine.Items[0].Customer == nil {
		t.Fatalf("mine: %+v", mine.Items)
	}
	card := mine.Items[0].Customer
	if card.Name != "Gao Min" || card.Phone == phone || !strings.Contains(card.Phone, "****") || !strings.HasSuffix(phone, card.Phone[len(card.Phone)-4:]) {
		t.Errorf("the agent's card shows %+v: want the name and the number masked", card)
	}
	if resp := g.as(agent, "agent", st, "POST", "/v1/tasks/"+mine.Items[0].ID+"/complete", `{"outcome":"reached"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("complete: %d %s", resp.StatusCode, resp.Body)
	}

	type fuRow = FollowupRow
	fu := decode[struct{ Rows []fuRow }](t, g.as(mgr, "clinician", st, "GET", "/v1/reports/followup", "", map[string]string{"month": "2025-03", "store": st}))
	if len(fu.Rows) != 1 || fu.Rows[0] != (fuRow{Store: st, Staff: agent, Done: 1, OnTime: 1}) {
		t.Errorf("follow-up report %+v, want one call done on time by %s", fu.Rows, agent)
	}
	staff := decode[struct {
		Items []store.StaffMember
	}](t, g.as(mgr, "clinician", st, "GET", "/v1/staff", "", map[string]string{"store": st}))
	found := false
	for _, m := range staff.Items {
		found = found || (m.Sub == agent && m.Role == "agent")
	}
	if !found {
		t.Errorf("staff of %s: %+v, want %s as agent", st, staff.Items, agent)
	}

	if err := store.NewTallies(g.tbl, "msg").Add(ctx, st, "2025-03-05", map[string]int64{
		"msg|sms|marketing|sent": 200, "msg|sms|marketing|optOuts": 3, "msg|email|service|complaints": 1, "msg|email|service|sent": 50,
		"notSent|quiet_hours": 4, "notSent|opted_out": 2}); err != nil {
		t.Fatal(err)
	}
	msgs := decode[struct {
		Rows    []MessageRow
		NotSent []NotSentRow
	}](t, g.as(mgr, "clinician", st, "GET", "/v1/reports/messages", "", map[string]string{"from": "2025-03-01", "to": "2025-03-05", "store": st}))
	want := []MessageRow{{Channel: "email", Category: "service", Sent: 50, Complaints: 1, ComplaintPer10k: 200},
		{Channel: "sms", Category: "marketing", Sent: 200, OptOuts: 3, OptOutPer10k: 150}}
	if len(msgs.Rows) != 2 || msgs.Rows[0] != want[0] || msgs.Rows[1] != want[1] {
		t.Errorf("message rows %+v, want %+v", msgs.Rows, want)
	}
	if len(msgs.NotSent) != 2 || msgs.NotSent[0] != (NotSentRow{Day: "2025-03-05", Reason: "opted_out", Count: 2}) {
		t.Errorf("not sent %+v", msgs.NotSent)
	}

	if err := store.NewTallies(g.tbl, "feedback").Add(ctx, st, "2025-03", map[string]int64{
		"responses": 4, "csatN": 4, "csatSatisfied": 3, "npsN": 4, "promoters": 2, "detractors": 1}); err != nil {
		t.Fatal(err)
	}
	fb := decode[struct{ Months []FeedbackMonth }](t, g.as(mgr, "clinician", st, "GET", "/v1/reports/feedback", "", map[string]string{"months": "2", "store": st}))
	if len(fb.Months) != 2 || fb.Months[1].Month != "2025-03" || fb.Months[1].CSAT == nil || *fb.Months[1].CSAT != 75 || *fb.Months[1].NPS != 25 || fb.Months[0].CSAT != nil {
		t.Errorf("feedback %+v, want 2025-02 empty and 2025-03 CSAT 75, NPS 25", fb.Months)
	}

	for _, c := range []struct {
		name, sub, role, stores, path string
		q                             map[string]string
		status                        int
		field                         string
	}{
		{"a store the manager does not cover", mgr, "clinician", st, "/v1/reports/messages", map[string]string{"store": "bj-01"}, 404, ""},
		{"an agent", agent, "agent", st, "/v1/reports/followup", nil, 403, ""},
		{"a month that is not one", mgr, "clinician", st, "/v1/reports/followup", map[string]string{"month": "2025-13"}, 400, "month"},
		{"a period over 92 days", mgr, "clinician", st, "/v1/reports/messages", map[string]string{"from": "2024-01-01", "to": "2025-03-05"}, 400, "from"},
		{"to before from", mgr, "clinician", st, "/v1/reports/messages", map[string]string{"from": "2025-03-05", "to": "2025-03-01"}, 400, "to"},
		{"an unknown parameter", mgr, "clinician", st, "/v1/reports/feedback", map[string]string{"year": "2025"}, 400, "year"},
		{"months out of range", mgr, "clinician", st, "/v1/reports/feedback", map[string]string{"months": "1e3"}, 400, "months"},
		{"staff of another store", agent, "agent", st, "/v1/staff", map[string]string{"store": "bj-01"}, 404, ""},
	} {
		resp := g.as(c.sub, c.role, c.stores, "GET", c.path, "", c.q)
		if resp.StatusCode != c.status || !strings.Contains(resp.Headers["content-type"]+resp.Headers["Content-Type"], "problem+json") ||
			(c.field != "" && !strings.Contains(resp.Body, `"`+c.field+`"`)) {
			t.Errorf("%s: %d %s, want %d problem naming %q", c.name, resp.StatusCode, resp.Body, c.status, c.field)
		}
	}
}

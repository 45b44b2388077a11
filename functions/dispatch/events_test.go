package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	tevents "github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// A message dispatch sends is published as message.sent, with ids and codes only, once,
// though its queue message arrives twice.
func TestASentMessageIsPublishedOnce(t *testing.T) {
	mem := &tevents.Memory{}
	publisher = mem
	t.Cleanup(func() { publisher = tevents.Nop{} })
	ctx := context.Background()
	at := local(2041, 1, 8, 10, 0)
	r := newRig(t, at)
	p := r.customer(customer.LeadForm{Name: "Pub Lin", Email: fmt.Sprintf("pub-%s@example.com", storetest.Suffix())})
	rem := followup.Reminder{ID: "rem_pub_" + storetest.Suffix(), CustomerID: p.ID, Store: p.Store, Trigger: followup.TriggerSurveyDue, TriggerRef: "pub",
		RuleID: "survey_due_email", Channel: model.ChannelEmail, Category: model.CategoryService, Template: "survey.csat",
		PlannedAt: at, DueAt: at, NotAfter: at.Add(24 * time.Hour), SweepAt: at, Status: followup.StatusPending}
	if _, err := r.f.Create(ctx, []followup.Reminder{rem}); err != nil {
		t.Fatal(err)
	}
	r.sweep(at)
	msgs := r.receive(1)
	r.dispatch(append(msgs, msgs[0])) // the same queue message twice
	evs := mem.Events()
	if len(evs) != 1 || evs[0].Type != tevents.MessageSent {
		t.Fatalf("events %+v, want one message.sent", evs)
	}
	d, _ := evs[0].Detail.(map[string]any)
	if d["reminderId"] != rem.ID || d["customerId"] != p.ID || fmt.Sprint(d) == "" {
		t.Errorf("detail %v", d)
	}
	for _, v := range d {
		if s := fmt.Sprint(v); s == p.Email || s == p.Name {
			t.Errorf("the event carries personal data: %v", d)
		}
	}
}

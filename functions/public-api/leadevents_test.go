package main

import (
	"fmt"
	"strings"
	"testing"

	tfevents "github.com/tierflow/tierflow/shared/events"
)

// A new person's form publishes lead.created once; the same person's next form
// customer.merged; neither carries the person's contacts or name.
func TestALeadTellsOtherToolsWhoWithoutWhatTheySaid(t *testing.T) {
	g := newLeadRig(t)
	bus := &tfevents.Memory{}
	g.h.events = bus
	nat, e164 := uniqueMobile()
	for i := range 2 {
		if r := g.post("application/json", fmt.Sprintf(`{"name":"Event Person","phone":%q,"store":"sh-01","consent_service":true,"consent_text_version":"2025-01"}`, nat)); r.StatusCode != 202 {
			t.Fatalf("lead %d: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
	id := g.customerOf(e164)
	got := bus.Events()
	if len(got) != 2 || got[0].Type != tfevents.LeadCreated || got[1].Type != tfevents.CustomerMerged {
		t.Fatalf("events %+v, want lead.created then customer.merged", got)
	}
	if got[0].ID != tfevents.Key(tfevents.LeadCreated, id) || got[0].Store != "sh-01" || got[1].ID == got[0].ID {
		t.Fatalf("event ids/stores: %+v", got)
	}
	for _, e := range got {
		s := fmt.Sprint(e.Detail)
		if strings.Contains(s, e164[3:]) || strings.Contains(s, "Event Person") || !strings.Contains(s, id) {
			t.Fatalf("%s detail %s: want the customer id and no personal data", e.Type, s)
		}
	}
}

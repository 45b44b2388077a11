package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	tfevents "github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/links"
	"github.com/tierflow/tierflow/shared/model"
)

// A confirmed double opt-in publishes consent.changed once, after the consent is stored,
// with ids only; the used link, and a second link for a grant already in force, publish
// nothing; the page (GET) publishes nothing.
func TestAConfirmedConsentTellsOtherToolsOnce(t *testing.T) {
	ctx := context.Background()
	bus := &tfevents.Memory{}
	g := newInboundRigPublishing(t, bus)
	p, e164 := g.customer(false)
	rem := g.askingForConsent(p, e164)
	mint := func() string {
		link, err := links.New("https://t.example", g.in.contacts, g.in.consents).ConsentConfirm(ctx, rem)
		if err != nil {
			t.Fatalf("mint: %v", err)
		}
		return strings.TrimPrefix(link, "https://t.example")
	}
	first, second := mint(), mint()

	if resp := g.do("GET", first, "", "", nil); resp.StatusCode != 200 || len(bus.Events()) != 0 {
		t.Fatalf("the page: %d, events %+v, want 200 and none", resp.StatusCode, bus.Events())
	}
	if resp := g.do("POST", first, "application/x-www-form-urlencoded", "confirm=yes", nil); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Body)
	}
	got := bus.Events()
	if len(got) != 1 {
		t.Fatalf("events after the confirmation: %+v, want one consent.changed", got)
	}
	ev := got[0]
	wantID := tfevents.Key(tfevents.ConsentChanged, p.ID, string(model.CategoryService), string(model.ChannelSMS), g.now.UTC().Format(time.RFC3339Nano))
	if ev.Type != tfevents.ConsentChanged || ev.ID != wantID || ev.Store != "sh-01" || !ev.Time.Equal(g.now) {
		t.Fatalf("event %+v, want consent.changed %s of store sh-01 at %s", ev, wantID, g.now)
	}
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(detail, &d); err != nil {
		t.Fatal(err)
	}
	if d["customerId"] != p.ID || d["category"] != "service" || d["channel"] != "sms" || d["granted"] != true || d["source"] != "double-opt-in" {
		t.Fatalf("detail %s", detail)
	}
	national := strings.TrimPrefix(e164, "+86")
	if strings.Contains(string(detail), national) || strings.Contains(string(detail), p.Name) {
		t.Fatalf("detail %s carries the person's phone or name", detail)
	}

	// The same link again: a 410 and nothing new.
	if resp := g.do("POST", first, "application/x-www-form-urlencoded", "confirm=yes", nil); resp.StatusCode != 410 {
		t.Fatalf("the used link: %d, want 410", resp.StatusCode)
	}
	// A second link for the same grant: recorded, but the consent was already in force.
	g.now = g.now.Add(time.Minute)
	if resp := g.do("POST", second, "application/x-www-form-urlencoded", "confirm=yes", nil); resp.StatusCode != 200 {
		t.Fatalf("second link: %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(bus.Events()); n != 1 {
		t.Fatalf("%d events after a repeated confirmation, want still 1: %+v", n, bus.Events())
	}
}

// The e-mail unsubscribe link publishes consent.changed (marketing withdrawn on every
// channel) once the opt-out is stored; the same link clicked again changes nothing and
// publishes nothing.
func TestAnUnsubscribeLinkTellsOtherTools(t *testing.T) {
	ctx := context.Background()
	bus := &tfevents.Memory{}
	g := newInboundRigPublishing(t, bus)
	p, _ := g.customer(true)
	tok := g.token(p.ID)
	for i := range 2 {
		if resp := g.do("POST", "/v1/unsubscribe?t="+tok, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", nil); resp.StatusCode != 200 {
			t.Fatalf("one-click %d: %d %s", i+1, resp.StatusCode, resp.Body)
		}
		g.now = g.now.Add(time.Minute)
	}
	if v, err := g.in.contacts.ContactView(ctx, p.ID); err != nil || !v.MarketingOptOut {
		t.Fatalf("not opted out (err %v)", err)
	}
	got := bus.Events()
	if len(got) != 1 || got[0].Type != tfevents.ConsentChanged || got[0].Store != "sh-01" {
		t.Fatalf("events %+v, want one consent.changed of store sh-01 for two clicks", got)
	}
	d, ok := got[0].Detail.(map[string]any)
	if !ok || d["customerId"] != p.ID || d["granted"] != false || d["category"] != "marketing" || d["channel"] != "*" {
		t.Fatalf("detail %+v", got[0].Detail)
	}
}

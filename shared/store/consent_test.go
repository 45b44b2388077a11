package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// knownPersonAsking creates a person by phone, then posts a second form with that phone
// asking for marketing SMS, and returns the person, the second form's result and the
// consent_requested reminder the handler would plan for it.
func knownPersonAsking(t *testing.T, tbl *store.Table) (customer.Profile, store.LeadResult, followup.Reminder) {
	t.Helper()
	ctx := context.Background()
	nat, e164 := randomMobile()
	l1, g1 := lead(t, customer.LeadForm{Name: "Opt In", Phone: nat, ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "2025-01"}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l1, g1, t0)
	if err != nil {
		t.Fatal(err)
	}
	l2, g2 := lead(t, customer.LeadForm{Phone: e164, ConsentMarketingSMS: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "2025-01"}, t0.Add(time.Minute))
	r, err := tbl.ResolveLead(ctx, l2, g2, t0.Add(time.Minute))
	if err != nil || len(r.Confirm) != 1 {
		t.Fatalf("second form: %+v %v", r.Confirm, err)
	}
	rem := followup.Reminder{ID: "rem_optin_" + storetest.Suffix(), CustomerID: p.ID, Trigger: followup.TriggerConsentRequested,
		TriggerRef: r.TouchRef, Channel: model.ChannelSMS, Category: model.CategoryService}
	return p, r, rem
}

// New consent for a known person takes their own confirmation: the token is issued as the
// message goes out, stored only as its hash, shows what was asked and in which wording,
// records the consent once (source double-opt-in, wording version, time, IP) and expires
// after 72 hours.
func TestADoubleOptInRecordsTheConsentOnceWithItsWordingVersion(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	now := t0.Add(time.Hour)
	cs := store.NewConsents(tbl, func() time.Time { return now })
	p, _, rem := knownPersonAsking(t, tbl)

	tok, err := cs.Issue(ctx, rem)
	if err != nil || len(tok) < 32 {
		t.Fatalf("token %q: %v", tok, err)
	}
	sum := sha256.Sum256([]byte(tok))
	if k := store.ConsentTokenKey(hex.EncodeToString(sum[:])); k.PK == "CONSENT#"+tok {
		t.Fatal("the token is its own key")
	}
	req, err := cs.Request(ctx, tok, now)
	if err != nil || req.CustomerID != p.ID || req.TextVersion != "2025-01" || len(req.Consents) != 1 ||
		req.Consents[0].Category != model.CategoryMarketing || req.Consents[0].Channel != model.ChannelSMS {
		t.Fatalf("request: %+v %v", req, err)
	}
	if d := req.ExpiresAt.Sub(now); d < 71*time.Hour || d > 72*time.Hour {
		t.Errorf("the link expires in %v, want 72 h", d)
	}
	pending, v0, err := tbl.GetProfile(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pending.Consents.Granted(model.CategoryMarketing, model.ChannelSMS) {
		t.Fatal("the consent was granted before the person confirmed it")
	}

	at := now.Add(2 * time.Hour)
	if _, err := cs.Confirm(ctx, tok, at, "203.0.113.77"); err != nil {
		t.Fatal(err)
	}
	got, v1, err := tbl.GetProfile(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := got.Consents.Effective(model.CategoryMarketing, model.ChannelSMS)
	if !ok || !c.Granted || c.Source != "double-opt-in" || c.TextVersion != "2025-01" || !c.At.Equal(at) || c.IP != "203.0.113.77" {
		t.Fatalf("recorded consent: %+v", c)
	}
	if v1 != v0+1 {
		t.Errorf("profile version %d → %d: a staff edit in flight would overwrite the consent", v0, v1)
	}
	n := len(got.Consents)
	if _, err := cs.Confirm(ctx, tok, at.Add(time.Minute), "203.0.113.77"); !errors.Is(err, store.ErrLinkUsed) {
		t.Fatalf("second use: %v, want ErrLinkUsed", err)
	}
	if again, _, err := tbl.GetProfile(ctx, p.ID); err != nil || len(again.Consents) != n {
		t.Fatalf("a used link recorded the consent again (err %v)", err)
	}

	late, err := cs.Issue(ctx, rem)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Confirm(ctx, late, now.Add(customer.ConfirmWindow+time.Second), ""); !errors.Is(err, store.ErrLinkExpired) {
		t.Fatalf("after 72 h: %v, want ErrLinkExpired", err)
	}
	if _, err := cs.Request(ctx, "no-such-token", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
}

// Erasure leaves nothing to confirm: a token issued before it records nothing, and the
// confirmation message planned before it finds no request.
func TestAnErasedPersonCannotBeOptedIn(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	cs := store.NewConsents(tbl, func() time.Time { return t0 })
	p, _, rem := knownPersonAsking(t, tbl)
	tok, err := cs.Issue(ctx, rem)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.EraseCustomer(ctx, p.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Confirm(ctx, tok, t0, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("confirming for an erased person: %v, want ErrNotFound", err)
	}
	if _, err := cs.Issue(ctx, rem); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("issuing after erasure: %v, want app.ErrNotFound", err)
	}
	touches, err := tbl.Touches(ctx, p.ID)
	if err != nil || len(touches) == 0 {
		t.Fatalf("touches after erasure: %d, %v", len(touches), err)
	}
	for _, tc := range touches {
		if tc.Proposed != nil || len(tc.PendingConsents) > 0 {
			t.Fatalf("erasure left what a form proposed on a touch: %+v", tc)
		}
	}
}

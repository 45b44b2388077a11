package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func message(id, customerID string, due time.Time) followup.Reminder {
	return followup.Reminder{
		ID: id, CustomerID: customerID, Store: "sh-01", Trigger: followup.TriggerServiceDone, TriggerRef: "svc",
		RuleID: "r", Channel: model.ChannelEmail, Category: model.CategoryService, Template: "checkin.7d",
		PlannedAt: due, DueAt: due, NotAfter: due.Add(48 * time.Hour), SweepAt: due, Status: followup.StatusPending,
	}
}

// The DynamoDB adapter keeps the contract the in-memory store has: create-if-absent,
// version-checked updates, and a due index that holds only what needs the sweep.
func TestFollowupReminderContract(t *testing.T) {
	ctx := context.Background()
	f := store.NewReminders(storetest.Table(t))
	sfx := storetest.Suffix()
	cust := "c-" + sfx
	due := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // no other test plans in 2001

	var rs []followup.Reminder
	for i := range 12 {
		rs = append(rs, message(fmt.Sprintf("rem_%s_%02d", sfx, i), cust, due.Add(time.Duration(11-i)*time.Minute)))
	}
	created, err := f.Create(ctx, rs)
	if err != nil || len(created) != 12 {
		t.Fatalf("create: %d created, err %v", len(created), err)
	}
	again, err := f.Create(ctx, rs)
	if err != nil || len(again) != 0 {
		t.Fatalf("re-planning created %d more (err %v), want none", len(again), err)
	}

	got, err := f.Get(ctx, rs[0].ID)
	if err != nil || got.Version != 1 || got.Status != followup.StatusPending || !got.DueAt.Equal(rs[0].DueAt) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := f.Get(ctx, "rem_missing_"+sfx); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}

	// Claim wins once; a second writer holding the same version loses.
	claimed, err := got.Claim(due, followup.Offset{Dur: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if claimed, err = f.Update(ctx, claimed); err != nil || claimed.Version != 2 {
		t.Fatalf("claim: version %d, err %v", claimed.Version, err)
	}
	stale, err := got.Claim(due, followup.Offset{Dur: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Update(ctx, stale); !errors.Is(err, app.ErrConflict) {
		t.Fatalf("stale claim: %v, want ErrConflict", err)
	}
	sent, err := claimed.MarkSent(due, "p-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Update(ctx, sent); err != nil {
		t.Fatalf("mark sent: %v", err)
	}

	// Due: earliest first across the shards; the sent one is off the index.
	list, err := f.DueBefore(ctx, due.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var mine []followup.Reminder
	for _, r := range list {
		if r.CustomerID == cust {
			mine = append(mine, r)
		}
	}
	if len(mine) != 11 {
		t.Fatalf("due: %d of mine, want 11 (the sent one settles)", len(mine))
	}
	shards := map[int]bool{}
	for i, r := range mine {
		shards[store.DueShard(r.ID)] = true
		if i > 0 && r.SweepAt.Before(mine[i-1].SweepAt) {
			t.Fatalf("due list out of order at %d: %v before %v", i, r.SweepAt, mine[i-1].SweepAt)
		}
	}
	if len(shards) < 2 {
		t.Fatalf("12 ids landed on %d shard(s); the test needs the merge", len(shards))
	}
	if l, err := f.DueBefore(ctx, due.Add(5*time.Minute+30*time.Second), 3); err != nil || len(l) != 3 || !l[0].SweepAt.Equal(due) {
		t.Fatalf("limit and bound: %d items, %v", len(l), err)
	}

	open, err := f.OpenForCustomer(ctx, cust)
	if err != nil || len(open) != 11 || slices.ContainsFunc(open, func(r followup.Reminder) bool { return r.ID == rs[0].ID }) {
		t.Fatalf("open for customer: %d (err %v), want 11 without the sent one", len(open), err)
	}
}

func TestFollowupCountersAndStaff(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	f := store.NewCounters(tbl)
	key := "cap#" + storetest.Suffix()
	exp := time.Now().Add(time.Hour)
	for i := 1; i <= 2; i++ {
		ok, v, err := f.Add(ctx, key, 1, 2, exp)
		if err != nil || !ok || v != int64(i) {
			t.Fatalf("add %d: ok=%v v=%d err=%v", i, ok, v, err)
		}
	}
	if ok, v, err := f.Add(ctx, key, 1, 2, exp); err != nil || ok || v != 2 {
		t.Fatalf("over the cap: ok=%v v=%d err=%v, want refused at 2", ok, v, err)
	}
	if ok, v, err := f.Add(ctx, key, -1, -1, time.Time{}); err != nil || !ok || v != 1 {
		t.Fatalf("release: ok=%v v=%d err=%v", ok, v, err)
	}

	st := "st-" + storetest.Suffix()
	dir := store.NewStaffDirectory(tbl, nil)
	for _, sub := range []string{"b", "a", "c"} {
		if err := dir.Register(ctx, st, model.RoleAgent, sub); err != nil {
			t.Fatal(err)
		}
	}
	if err := dir.Register(ctx, st, model.RoleClinician, "m"); err != nil {
		t.Fatal(err)
	}
	if m, err := dir.Members(ctx, st, model.RoleAgent); err != nil || !slices.Equal(m, []string{"a", "b", "c"}) {
		t.Fatalf("agents: %v %v", m, err)
	}
}

// ContactView reads the profile with the attributes follow-up owns and loads the
// unsubscribe token links carry, and an opt-out or a bad channel shows up on the next read.
func TestFollowupContactView(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	f := store.NewContacts(tbl)
	national, e164 := randomMobile()
	l, g := lead(t, customer.LeadForm{Name: "Wang Fang", Phone: national, Birthday: "1990-07-15", ConsentMarketingSMS: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l, g, t0)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.ContactView(ctx, p.ID)
	if err != nil || v.Phone != e164 || v.Birthday != (followup.Birthday{Month: time.July, Day: 15}) || v.MarketingOptOut {
		t.Fatalf("view: %+v %v", v, err)
	}
	loaded := f.Token(p.ID)
	tok, err := f.UnsubscribeToken(ctx, p.ID)
	if err != nil || len(tok) < 32 || loaded != tok {
		t.Fatalf("token %q, loaded by the view %q, err %v", tok, loaded, err)
	}
	if other := f.Token("nobody-" + storetest.Suffix()); other != "" {
		t.Fatalf("a customer whose view was not read has token %q", other)
	}
	if id, err := f.CustomerByToken(ctx, tok); err != nil || id != p.ID {
		t.Fatalf("token lookup: %q %v", id, err)
	}
	if id, err := f.CustomerByPhone(ctx, e164); err != nil || id != p.ID {
		t.Fatalf("phone lookup: %q %v", id, err)
	}
	if changed, err := f.SetMarketingOptOut(ctx, p.ID, "sms:STOP", t0); err != nil || !changed {
		t.Fatalf("first opt-out: changed %v, err %v", changed, err)
	}
	if changed, err := f.SetMarketingOptOut(ctx, p.ID, "link", t0.Add(time.Hour)); err != nil || changed {
		t.Fatalf("an opt-out of a customer already opted out: changed %v, err %v, want no change", changed, err)
	}
	if _, err := f.SetMarketingOptOut(ctx, "nobody-"+p.ID, "link", t0); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("opt-out of nobody: %v, want app.ErrNotFound", err)
	}
	// The person confirms marketing SMS again (double opt-in): SMS marketing reopens, and
	// a STOP after that is a new opt-out that closes it again.
	regrant := model.Consent{Category: model.CategoryMarketing, Channel: model.ChannelSMS, Granted: true, At: t0.Add(48 * time.Hour), Source: "double-opt-in"}
	grantAV, err := attributevalue.Marshal([]model.Consent{regrant})
	if err != nil {
		t.Fatal(err)
	}
	k := store.CustomerKey(p.ID)
	if _, err := storetest.Emulators(t).DynamoDBClient().UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl.Name),
		Key:              map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: k.PK}, "SK": &types.AttributeValueMemberS{Value: k.SK}},
		UpdateExpression: aws.String("SET consents = list_append(consents, :c)"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": grantAV}}); err != nil {
		t.Fatal(err)
	}
	if v, err := f.ContactView(ctx, p.ID); err != nil || v.Permits(model.CategoryMarketing, model.ChannelSMS) != followup.SkipNone {
		t.Fatalf("after marketing SMS was confirmed again: %+v %v", v, err)
	}
	if changed, err := f.SetMarketingOptOut(ctx, p.ID, "sms:STOP", t0.Add(72*time.Hour)); err != nil || !changed {
		t.Fatalf("a STOP after the re-grant: changed %v, err %v, want a new opt-out", changed, err)
	}
	if v, err := f.ContactView(ctx, p.ID); err != nil || v.Permits(model.CategoryMarketing, model.ChannelSMS) != followup.SkipOptedOut {
		t.Fatalf("after the new STOP: %+v %v", v, err)
	}
	if err := f.MarkBadContact(ctx, p.ID, model.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	if v, err = f.ContactView(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if !v.MarketingOptOut || !slices.Equal(v.BadChannels, []model.Channel{model.ChannelEmail}) {
		t.Fatalf("after opt-out and bounce: %+v", v)
	}
	if v.Permits(model.CategoryMarketing, model.ChannelSMS) != followup.SkipOptedOut {
		t.Fatal("marketing SMS still permitted after opt-out")
	}
	if _, err := f.ContactView(ctx, "nobody-"+storetest.Suffix()); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown customer: %v", err)
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// TestMain runs the store's integration tests against DynamoDB Local with the
// template's table; an emulator that cannot start fails the run.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var (
	rules = customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01", "bj-01"}, DefaultStore: "sh-01"}
	t0    = time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai
)

// randomMobile returns a CN mobile number nobody else in the shared table uses, in
// national format with spaces ("139 1234 5678") and its E.164 form.
func randomMobile() (national, e164 string) {
	n := rand.IntN(100000000)
	return fmt.Sprintf("139 %04d %04d", n/10000, n%10000), fmt.Sprintf("+86139%08d", n)
}

func lead(t testing.TB, f customer.LeadForm, at time.Time) (customer.Lead, customer.Grading) {
	t.Helper()
	l, err := rules.Validate(f, customer.Submission{At: at, IP: "203.0.113.9", Channel: "form"})
	if err != nil {
		t.Fatalf("validate lead: %v", err)
	}
	return l, customer.DefaultGradePolicy().Grade(l)
}

func TestTwoFormatsOfOnePhoneAreOneProfileWithTwoTouches(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	l1, g1 := lead(t, customer.LeadForm{Name: "Li Lei", Phone: "138 0013 8000", UTMSource: "baidu"}, t0)
	l2, g2 := lead(t, customer.LeadForm{Phone: "+86 13800138000", UTMSource: "wechat", Email: "lilei@example.com"}, t0.Add(time.Hour))

	p1, created1, err := tbl.ResolveOrCreate(ctx, l1, g1, t0)
	if err != nil || !created1 {
		t.Fatalf("first lead: created=%v err=%v", created1, err)
	}
	p2, created2, err := tbl.ResolveOrCreate(ctx, l2, g2, t0.Add(time.Hour))
	if err != nil || created2 {
		t.Fatalf("second lead: created=%v err=%v", created2, err)
	}
	if p2.ID != p1.ID {
		t.Fatalf("the same phone made two profiles: %s and %s", p1.ID, p2.ID)
	}
	got, _, err := tbl.GetProfile(ctx, p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Li Lei" || got.Phone != "+8613800138000" || got.Email != "" {
		t.Fatalf("the second form changed the profile: %+v", got)
	}
	touches, err := tbl.Touches(ctx, p1.ID)
	if err != nil || len(touches) != 2 {
		t.Fatalf("timeline touches: %d, %v", len(touches), err)
	}
	if touches[1].Touch.UTM.Source != "wechat" || touches[1].Proposed == nil || touches[1].Proposed.Email != "lilei@example.com" {
		t.Fatalf("the second touch does not carry what the form proposed: %+v", touches[1])
	}
	// An e-mail only a form gave never becomes the person's key: a form with just that
	// e-mail is somebody new.
	l3, g3 := lead(t, customer.LeadForm{Email: "LiLei@Example.com"}, t0.Add(2*time.Hour))
	p3, created3, err := tbl.ResolveOrCreate(ctx, l3, g3, t0.Add(2*time.Hour))
	if err != nil || !created3 || p3.ID == p1.ID {
		t.Fatalf("an e-mail the profile never held resolved to it: id=%s created=%v err=%v", p3.ID, created3, err)
	}
}

// rawProfile reads the stored profile item as DynamoDB holds it.
func rawProfile(t *testing.T, tbl *store.Table, id string) map[string]types.AttributeValue {
	t.Helper()
	k := store.CustomerKey(id)
	out, err := storetest.Emulators(t).DynamoDBClient().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(tbl.Name), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: k.PK}, "SK": &types.AttributeValueMemberS{Value: k.SK}}})
	if err != nil || out.Item == nil {
		t.Fatalf("read profile %s: %v", id, err)
	}
	return out.Item
}

// Finding 4 of issue #10: a form posted with a known person's phone filled their blank
// e-mail and birthday, renamed nothing but granted (and on a second post withdrew)
// marketing consent. Now nothing stored changes — not one attribute of the item — and
// the form's values are on its touch for staff.
func TestAKnownPersonsFormChangesNothingStored(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	nat, e164 := randomMobile()
	yes, no := customer.Checkbox{Set: true, Value: true}, customer.Checkbox{Set: true, Value: false}
	l1, g1 := lead(t, customer.LeadForm{Name: "Han Meimei", Phone: nat, Interest: "whitening", ConsentService: yes, ConsentTextVersion: "v1"}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l1, g1, t0)
	if err != nil {
		t.Fatal(err)
	}
	before := rawProfile(t, tbl, p.ID)
	email := "planted-" + storetest.Suffix() + "@example.com"
	forms := []customer.LeadForm{
		{Name: "Someone Else", Phone: e164, Email: email, Birthday: "1990-05-01", Store: "bj-01", Interest: "laser",
			ConsentMarketingSMS: yes, ConsentMarketingEmail: yes, ConsentTextVersion: "2025-01", ReferralCode: p.ReferralCode},
		{Phone: e164, ConsentService: no, ConsentMarketingSMS: no},
	}
	var results []store.LeadResult
	for i, f := range forms {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		l, g := lead(t, f, at)
		r, err := tbl.ResolveLead(ctx, l, g, at)
		if err != nil || r.Created || r.Profile.ID != p.ID {
			t.Fatalf("form %d: created=%v id=%s err=%v", i, r.Created, r.Profile.ID, err)
		}
		results = append(results, r)
	}
	if after := rawProfile(t, tbl, p.ID); !reflect.DeepEqual(before, after) {
		t.Fatalf("the stored profile changed:\nbefore %v\nafter  %v", before, after)
	}
	if _, found, err := tbl.CustomerByContact(ctx, "", email); err != nil || found {
		t.Fatalf("the form's e-mail became a key of the known person (err %v)", err)
	}
	touches, err := tbl.Touches(ctx, p.ID)
	if err != nil || len(touches) != 3 {
		t.Fatalf("touches: %d, %v", len(touches), err)
	}
	first := touches[1]
	if first.Proposed == nil || first.Proposed.Name != "Someone Else" || first.Proposed.Email != email || first.Proposed.Store != "bj-01" {
		t.Fatalf("the first form's proposal: %+v", first.Proposed)
	}
	if fmt.Sprint(first.Conflicts) != "[name store]" {
		t.Errorf("conflicts %v, want [name store]", first.Conflicts)
	}
	if len(first.PendingConsents) != 2 || len(results[0].Confirm) != 2 {
		t.Errorf("two marketing grants should wait for confirmation: %+v", first.PendingConsents)
	}
	if fmt.Sprint(results[0].Matched) != "[sms]" {
		t.Errorf("matched %v, want only the phone (the e-mail is the form's, not the person's)", results[0].Matched)
	}
	second := touches[2]
	if second.Proposed == nil || len(second.Proposed.Consents) != 1 || second.Proposed.Consents[0].Granted || len(second.PendingConsents) != 0 {
		t.Errorf("the withdrawal should be proposed (service), never pending: %+v", second)
	}
}

func TestPhoneOfXAndEmailOfYLandOnXWithoutMovingTheEmail(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	_, phoneX := randomMobile()
	emailY := "y-" + storetest.Suffix() + "@example.com"
	lx, gx := lead(t, customer.LeadForm{Phone: phoneX}, t0)
	ly, gy := lead(t, customer.LeadForm{Email: emailY}, t0)
	x, _, err := tbl.ResolveOrCreate(ctx, lx, gx, t0)
	if err != nil {
		t.Fatal(err)
	}
	y, _, err := tbl.ResolveOrCreate(ctx, ly, gy, t0)
	if err != nil {
		t.Fatal(err)
	}
	both, gb := lead(t, customer.LeadForm{Phone: phoneX, Email: emailY}, t0.Add(time.Minute))
	r, err := tbl.ResolveLead(ctx, both, gb, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r.Profile.ID != x.ID || r.Profile.Email != "" {
		t.Fatalf("want the touch on X without the e-mail, got id=%s email=%q", r.Profile.ID, r.Profile.Email)
	}
	if !slices.Contains(r.Conflicts, "email:belongs-to-another-customer") {
		t.Fatalf("the contested e-mail is not recorded as a conflict: %v", r.Conflicts)
	}
	owner, found, err := tbl.CustomerByContact(ctx, "", emailY)
	if err != nil || !found || owner != y.ID {
		t.Fatalf("the e-mail moved: owner=%s found=%v err=%v", owner, found, err)
	}
}

func TestReferralCodeAttributesTheLead(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	_, ph := randomMobile()
	lr, gr := lead(t, customer.LeadForm{Phone: ph}, t0)
	referrer, _, err := tbl.ResolveOrCreate(ctx, lr, gr, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(referrer.ReferralCode) != customer.ReferralCodeLen {
		t.Fatalf("a new customer has no referral code: %q", referrer.ReferralCode)
	}
	_, ph2 := randomMobile()
	l, g := lead(t, customer.LeadForm{Phone: ph2, ReferralCode: referrer.ReferralCode[:4] + "-" + referrer.ReferralCode[4:]}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l, g, t0)
	if err != nil {
		t.Fatal(err)
	}
	if p.ReferredBy != referrer.ID {
		t.Fatalf("referred by %q, want %q", p.ReferredBy, referrer.ID)
	}
}

// One person submitting 1,000 times at once, in varied spellings, is one profile.
func TestConcurrentSubmissionsOfOnePersonMakeOneProfile(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	n := rand.IntN(100000000)
	email := fmt.Sprintf("c%08d@example.com", n)
	// Every spelling carries the phone, so every submission names the same person; the
	// first one stored creates the profile and every other one is a touch on it.
	formats := []customer.LeadForm{
		{Phone: fmt.Sprintf("137 %04d %04d", n/10000, n%10000)},
		{Phone: fmt.Sprintf("+86 137-%04d-%04d", n/10000, n%10000)},
		{Phone: fmt.Sprintf("0086137%08d", n), Email: email},
		{Phone: fmt.Sprintf("(+86) 137 %08d", n), Email: fmt.Sprintf("C%08d@EXAMPLE.com", n)},
		{Phone: fmt.Sprintf("137%08d", n), Name: "Concurrent Person"},
	}
	const total, workers = 1000, 50
	// Validate every submission here: lead calls t.Fatalf, which only the test's own
	// goroutine may call.
	type submission struct {
		l  customer.Lead
		g  customer.Grading
		at time.Time
	}
	subs := make([]submission, total)
	for i := range subs {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		l, g := lead(t, formats[i%len(formats)], at)
		subs[i] = submission{l, g, at}
	}
	jobs := make(chan int)
	ids := make(chan string, total)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				s := subs[i]
				p, _, err := tbl.ResolveOrCreate(ctx, s.l, s.g, s.at)
				if err != nil {
					errs <- err
					continue
				}
				ids <- p.ID
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatalf("a submission failed: %v", err)
	}
	distinct := map[string]int{}
	for id := range ids {
		distinct[id]++
	}
	if len(distinct) != 1 {
		t.Fatalf("want one profile, got %d: %v", len(distinct), distinct)
	}
	for id := range distinct {
		touches, err := tbl.Touches(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(touches) != total {
			t.Fatalf("%d touches on the timeline, want %d", len(touches), total)
		}
		created := 0
		for _, tc := range touches {
			if tc.Created {
				created++
			}
		}
		if created != 1 {
			t.Fatalf("%d touches created the profile, want 1", created)
		}
	}
}

func TestGetProfileOfNobodyIsNotFound(t *testing.T) {
	tbl := storetest.Table(t)
	if _, _, err := tbl.GetProfile(context.Background(), "nobody-"+storetest.Suffix()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

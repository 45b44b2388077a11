package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
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
	if got.Name != "Li Lei" || got.Phone != "+8613800138000" || got.Email != "lilei@example.com" {
		t.Fatalf("merged profile lost or missed data: %+v", got)
	}
	if len(got.Touches) != 2 || got.Touches[1].UTM.Source != "wechat" {
		t.Fatalf("want two touches, the second from wechat; got %+v", got.Touches)
	}
	touches, err := tbl.Touches(ctx, p1.ID)
	if err != nil || len(touches) != 2 {
		t.Fatalf("timeline touches: %d, %v", len(touches), err)
	}
	// The e-mail the second form added now finds the same person.
	l3, g3 := lead(t, customer.LeadForm{Email: "LiLei@Example.com"}, t0.Add(2*time.Hour))
	p3, created3, err := tbl.ResolveOrCreate(ctx, l3, g3, t0.Add(2*time.Hour))
	if err != nil || created3 || p3.ID != p1.ID {
		t.Fatalf("e-mail did not resolve to the profile: id=%s created=%v err=%v", p3.ID, created3, err)
	}
}

func TestMergeNeverBlanksOrOverwritesKnownData(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	nat, e164 := randomMobile()
	l1, g1 := lead(t, customer.LeadForm{Name: "Han Meimei", Phone: nat, Birthday: "1990-05-01", Interest: "whitening",
		ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l1, g1, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Same phone, a different name, no birthday: known data stays, the name is a conflict.
	l2, g2 := lead(t, customer.LeadForm{Name: "Someone Else", Phone: e164}, t0.Add(time.Minute))
	r, err := tbl.ResolveLead(ctx, l2, g2, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := tbl.GetProfile(ctx, p.ID)
	if got.Name != "Han Meimei" || got.Birthday != "1990-05-01" || got.Interest != "whitening" {
		t.Fatalf("known data was changed: %+v", got)
	}
	if !got.Consents.Granted(model.CategoryService, model.ChannelSMS) {
		t.Fatal("consent given on the first form was lost")
	}
	if len(r.Conflicts) != 1 || r.Conflicts[0] != "name" {
		t.Fatalf("want the name recorded as a conflict, got %v", r.Conflicts)
	}
	touches, _ := tbl.Touches(ctx, p.ID)
	if len(touches) != 2 || len(touches[1].Conflicts) != 1 {
		t.Fatalf("the conflict is not on the touch: %+v", touches)
	}
}

func TestPhoneOfXAndEmailOfYMergeIntoXWithoutMovingTheEmail(t *testing.T) {
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
		t.Fatalf("want a merge into X without the e-mail, got id=%s email=%q", r.Profile.ID, r.Profile.Email)
	}
	if len(r.Conflicts) == 0 {
		t.Fatal("the contested e-mail is not recorded as a conflict")
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
	// e-mail rides along in varied case and is filled once.
	formats := []customer.LeadForm{
		{Phone: fmt.Sprintf("137 %04d %04d", n/10000, n%10000)},
		{Phone: fmt.Sprintf("+86 137-%04d-%04d", n/10000, n%10000)},
		{Phone: fmt.Sprintf("0086137%08d", n), Email: email},
		{Phone: fmt.Sprintf("(+86) 137 %08d", n), Email: fmt.Sprintf("C%08d@EXAMPLE.com", n)},
		{Phone: fmt.Sprintf("137%08d", n), Name: "Concurrent Person"},
	}
	const total, workers = 1000, 50
	jobs := make(chan int)
	ids := make(chan string, total)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				l, g := lead(t, formats[i%len(formats)], at)
				p, _, err := tbl.ResolveOrCreate(ctx, l, g, at)
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
		p, _, err := tbl.GetProfile(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Email != email || p.Name != "Concurrent Person" || len(p.Touches) != customer.MaxTouches {
			t.Fatalf("merged profile: email=%q name=%q touches=%d", p.Email, p.Name, len(p.Touches))
		}
	}
}

func TestGetProfileOfNobodyIsNotFound(t *testing.T) {
	tbl := storetest.Table(t)
	if _, _, err := tbl.GetProfile(context.Background(), "nobody-"+storetest.Suffix()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

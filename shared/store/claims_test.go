package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// ownerOf is whose the phone (or e-mail) key says it is; "" for nobody.
func ownerOf(t *testing.T, tbl *store.Table, phone, email string) string {
	t.Helper()
	id, _, err := tbl.CustomerByContact(context.Background(), phone, email)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A creation that died between its claims and its profile leaves the phone and e-mail
// naming an id without a profile. Within ClaimGrace that is a creation in flight, and a
// lead for the person is a retryable conflict; once the grace has passed, concurrent
// leads of the person release the dangling keys and make exactly one customer.
func TestACreationThatDiedAfterItsClaimsHoldsThePhoneOnlyForTheGrace(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	_, phone := randomMobile()
	email := fmt.Sprintf("dangling-%s@example.com", storetest.Suffix())
	l, _ := lead(t, customer.LeadForm{Phone: phone, Email: email, Name: "Dangling Person"}, t0)
	ghost, _, err := tbl.DieAfterClaims(ctx, l, nil, t0)
	if err != nil {
		t.Fatal(err)
	}

	early := t0.Add(store.ClaimGrace / 2)
	l2, g2 := lead(t, customer.LeadForm{Phone: phone}, early)
	if _, err := tbl.ResolveLead(ctx, l2, g2, early); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("a lead within the grace of a claim without profile: %v, want a retryable conflict", err)
	}
	if o := ownerOf(t, tbl, phone, ""); o != ghost {
		t.Fatalf("within the grace the phone names %q, want the claim %q kept", o, ghost)
	}

	late := t0.Add(store.ClaimGrace + time.Second)
	// Every form carries the phone, so every one names the same person (a form with only
	// the e-mail could be someone else's).
	forms := []customer.LeadForm{{Phone: phone}, {Phone: phone, Email: email}, {Phone: phone, Email: email, Name: "Dangling Person"}}
	const n = 12
	type res struct {
		r   store.LeadResult
		err error
	}
	results := make([]res, n)
	leads := make([]customer.Lead, n)
	grades := make([]customer.Grading, n)
	for i := range n {
		leads[i], grades[i] = lead(t, forms[i%len(forms)], late)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := tbl.ResolveLead(ctx, leads[i], grades[i], late)
			results[i] = res{r, err}
		}()
	}
	wg.Wait()
	ids, created := map[string]bool{}, 0
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("a lead after the grace: %v", r.err)
		}
		ids[r.r.Profile.ID] = true
		if r.r.Created {
			created++
		}
	}
	if len(ids) != 1 || created != 1 {
		t.Fatalf("after the grace %d leads made %d customers (%d created), want 1", n, len(ids), created)
	}
	for id := range ids {
		if id == ghost {
			t.Fatalf("the leads landed on the dead creation's id %s", id)
		}
		if o := ownerOf(t, tbl, phone, ""); o != id {
			t.Fatalf("the phone names %q, want %q", o, id)
		}
		if e := ownerOf(t, tbl, "", email); e == ghost {
			t.Fatalf("the e-mail still names the dead creation")
		}
		touches, err := tbl.Touches(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(touches) != n {
			t.Fatalf("%d touches, want %d", len(touches), n)
		}
		for _, tc := range touches {
			if len(tc.Conflicts) > 0 {
				t.Fatalf("a touch notes conflicts %v: the dead creation's e-mail is nobody's", tc.Conflicts)
			}
		}
	}
}

// A creation whose e-mail is someone else's gives back the phone it had claimed: the
// phone stays free for its owner's next form.
func TestAnEmailClashReleasesThePhoneTheCreationClaimed(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	_, p1 := randomMobile()
	_, p2 := randomMobile()
	email := fmt.Sprintf("clash-%s@example.com", storetest.Suffix())
	lx, gx := lead(t, customer.LeadForm{Phone: p1, Email: email}, t0)
	x, err := tbl.ResolveLead(ctx, lx, gx, t0)
	if err != nil {
		t.Fatal(err)
	}
	ly, gy := lead(t, customer.LeadForm{Phone: p2, Email: email}, t0)
	if _, err := tbl.CreateByContact(ctx, ly, gy, t0); !errors.Is(err, access.ErrTaken) {
		t.Fatalf("creating with another customer's e-mail: %v, want access.ErrTaken", err)
	}
	if o := ownerOf(t, tbl, p2, ""); o != "" {
		t.Fatalf("the phone of the failed creation still names %q", o)
	}
	if o := ownerOf(t, tbl, "", email); o != x.Profile.ID {
		t.Fatalf("the e-mail names %q, want its owner %q", o, x.Profile.ID)
	}
	lz, gz := lead(t, customer.LeadForm{Phone: p2}, t0)
	z, err := tbl.ResolveLead(ctx, lz, gz, t0)
	if err != nil || !z.Created {
		t.Fatalf("the released phone's own form: created=%v, %v", z.Created, err)
	}
}

// A customer number whose creation died is nobody's: looking it up finds no one, creating
// it is refused while the claim may still be in flight, and succeeds after the grace.
func TestADeadCreationsCustomerNumberIsCreatedAfterTheGrace(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	ref := access.Ref{Store: "sh-01", Number: "D-" + storetest.Suffix()}
	l := customer.Lead{Store: ref.Store, Submission: customer.Submission{At: t0, Channel: "api"}}
	ghost, _, err := tbl.DieAfterClaims(ctx, l, &ref, t0)
	if err != nil {
		t.Fatal(err)
	}
	found, err := tbl.CustomersByRef(ctx, []access.Ref{ref})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := found[ref]; ok {
		t.Fatalf("the dead creation's number finds %q (its claim %q)", id, ghost)
	}
	if _, err := tbl.CreateByRef(ctx, ref, t0.Add(time.Minute)); !errors.Is(err, access.ErrTaken) {
		t.Fatalf("creating the number within the grace: %v, want access.ErrTaken", err)
	}
	id, err := tbl.CreateByRef(ctx, ref, t0.Add(store.ClaimGrace+time.Second))
	if err != nil {
		t.Fatalf("creating the number after the grace: %v", err)
	}
	if id == ghost {
		t.Fatal("created under the dead creation's id")
	}
	if found, err = tbl.CustomersByRef(ctx, []access.Ref{ref}); err != nil || found[ref] != id {
		t.Fatalf("the number finds %q (%v), want %q", found[ref], err, id)
	}
}

// A referral code claimed by a creation that died names nobody: a lead carrying it is
// nobody's referee.
func TestADeadCreationsReferralCodeRefersNobody(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	_, phone := randomMobile()
	l, _ := lead(t, customer.LeadForm{Phone: phone}, t0)
	_, code, err := tbl.DieAfterClaims(ctx, l, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, other := randomMobile()
	lr, gr := lead(t, customer.LeadForm{Phone: other, ReferralCode: code}, t0)
	r, err := tbl.ResolveLead(ctx, lr, gr, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Created || r.Profile.ReferredBy != "" {
		t.Fatalf("created=%v referred by %q, want a new customer referred by nobody", r.Created, r.Profile.ReferredBy)
	}
}

// A staff edit giving a customer a phone that a dead creation claimed: refused as
// another customer's while the claim may be in flight, saved once the grace has passed.
func TestAStaffEditTakesAPhoneADeadCreationClaimedOnceTheGraceHasPassed(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	_, own := randomMobile()
	_, dead := randomMobile()
	l, g := lead(t, customer.LeadForm{Phone: own}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l, g, t0)
	if err != nil {
		t.Fatal(err)
	}
	ld, _ := lead(t, customer.LeadForm{Phone: dead}, t0)
	ghost, _, err := tbl.DieAfterClaims(ctx, ld, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	desk := store.NewStaff(tbl, store.StaffDeps{})
	admin := auth.Principal{Sub: "admin-1", Role: model.RoleAdmin, Stores: []string{"sh-01"}}
	edit := func(at time.Time) error {
		c, err := access.New(access.Ports{Customers: tbl, Audit: tbl}, nil).Customer(ctx, admin, p.ID, access.EditCustomer)
		if err != nil {
			t.Fatal(err)
		}
		next := c.View().Profile
		next.Phone = dead
		return desk.SaveProfile(ctx, c, next, nil, at)
	}
	var taken *store.ContactTakenError
	if err := edit(t0.Add(time.Minute)); !errors.As(err, &taken) || taken.Owner != ghost {
		t.Fatalf("within the grace: %v, want the phone taken", err)
	}
	if err := edit(t0.Add(store.ClaimGrace + time.Second)); err != nil {
		t.Fatalf("after the grace: %v", err)
	}
	if o := ownerOf(t, tbl, dead, ""); o != p.ID {
		t.Fatalf("the phone names %q, want %q", o, p.ID)
	}
}

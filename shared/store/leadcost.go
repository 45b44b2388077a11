package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
)

// Issue #13's lead budgets, in write request units: a new person's lead, and a known
// person's (whose form only adds a touch; the profile is never rewritten).
const (
	BudgetNewLeadWRU   = 6
	BudgetKnownLeadWRU = 4
)

// LeadUnits measures the request units the lead path's resolution consumes on t (against
// DynamoDB Local, from ReturnConsumedCapacity): a new person's form (lookup, then its
// referral code, phone and e-mail claimed, the profile and its store-index entry, the first
// touch: a conditional PutItem each, 6 WRU) and the same person's second form. It writes one synthetic customer (example.com, a number reserved for
// fiction). The make cost harness calls it; TestLeadsStayWithinTheirBudget asserts it.
func LeadUnits(ctx context.Context, t *Table, now time.Time) (newLead, knownLead Units, err error) {
	// A lead of a store, as every real one is: the profile is then also written to the
	// store index (GSI4), which the units include.
	rules := customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01"}, DefaultStore: "sh-01"}
	n := rand.IntN(100000000)
	form := customer.LeadForm{Name: "Cost Person", Phone: fmt.Sprintf("+86135%08d", n),
		Email: fmt.Sprintf("cost-%08d-%s@example.com", n, NewID()[:6]), Interest: "whitening", UTMSource: "baidu",
		ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}
	measure := func(f customer.LeadForm, at time.Time) (Units, error) {
		l, err := rules.Validate(f, customer.Submission{At: at, IP: "203.0.113.9", Channel: "form"})
		if err != nil {
			return Units{}, fmt.Errorf("lead cost: %w", err)
		}
		before := t.Units.Snapshot()
		if _, err := t.ResolveLead(ctx, l, customer.DefaultGradePolicy().Grade(l), at); err != nil {
			return Units{}, fmt.Errorf("lead cost: %w", err)
		}
		return t.Units.Snapshot().Sub(before), nil
	}
	if newLead, err = measure(form, now); err != nil {
		return
	}
	knownLead, err = measure(customer.LeadForm{Phone: form.Phone, UTMSource: "wechat", Interest: "whitening"}, now.Add(time.Minute))
	return
}

package store_test

import (
	"context"
	"testing"

	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// Issue #13: a new person's lead ≤ 6 WRU, a known person's ≤ 4 WRU; a change that adds a
// write to the lead path fails here.
func TestLeadsStayWithinTheirBudget(t *testing.T) {
	tbl := storetest.Table(t)
	nl, kl, err := store.LeadUnits(context.Background(), tbl, t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new lead %.1f RRU %.1f WRU in %d calls; known person's lead %.1f RRU %.1f WRU in %d calls", nl.Read, nl.Write, nl.Calls, kl.Read, kl.Write, kl.Calls)
	if nl.Write > store.BudgetNewLeadWRU || nl.Write == 0 {
		t.Errorf("a new lead costs %.1f WRU, budget %d", nl.Write, store.BudgetNewLeadWRU)
	}
	if kl.Write > store.BudgetKnownLeadWRU || kl.Write == 0 {
		t.Errorf("a known person's lead costs %.1f WRU, budget %d", kl.Write, store.BudgetKnownLeadWRU)
	}
}

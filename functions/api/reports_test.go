package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/tierflow/tierflow/shared/auth"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
)

// atRiskCustomer creates a profile through ingest and writes a tier and a prediction
// the way the nightly run does (SaveAssessment with the clv extra).
func atRiskCustomer(t *testing.T, table *store.Table, id, st string, tier model.Tier, pAlive float64, clv12m model.Money) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	_, err := table.ApplyTxnWith(ctx, store.Txn{Source: "test", ExternalID: id, CustomerID: id, Store: st, At: at, Amount: 1000, Currency: "CNY"}, at,
		func(_ *tiering.Aggregates, prev tiering.Assignment) tiering.Assignment { return prev }, store.ApplyOptions{CreateMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	row, _, err := table.ReadProfileRow(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	p := &store.ProfileCLV{PAlive: pAlive, ExpectedPurchases: 1, ExpectedSpend: 1000, CLV: clv12m, Risk: clv.DefaultRiskPolicy.Band(pAlive),
		ModelVersion: "night-test", Explanation: fmt.Sprintf("P(alive)=%.2f", pAlive), At: "2025-03-01"}
	err = table.SaveAssessment(ctx, row, tiering.Assignment{Tier: tier, Stage: model.StageActive}, "night-test", "", nil, store.Extras{CLV: p})
	if err != nil {
		t.Fatal(err)
	}
}

type atRiskPage struct {
	Total      int          `json:"total"`
	Items      []AtRiskItem `json:"items"`
	NextCursor string       `json:"nextCursor"`
}

func TestAtRiskReportSortsByExpectedLossWithinOneStore(t *testing.T) {
	a := testApp(t)
	table := tableOf(t)
	sfx := storetest.Suffix()
	mine, other := "sh-"+sfx, "bj-"+sfx
	// id, tier, P(alive), CLV → expected loss = CLV × (1 − P(alive))
	atRiskCustomer(t, table, "ar1"+sfx, mine, model.TierA, 0.2, 100000)  // 800.00
	atRiskCustomer(t, table, "ar2"+sfx, mine, model.TierB, 0.5, 300000)  // 1500.00
	atRiskCustomer(t, table, "ar3"+sfx, mine, model.TierA, 0.9, 200000)  // 200.00
	atRiskCustomer(t, table, "ar4"+sfx, mine, model.TierC, 0.1, 500000)  // C: only with minClv
	atRiskCustomer(t, table, "ar5"+sfx, other, model.TierA, 0.1, 900000) // another store

	get := func(role, store string, q map[string]string) (int, atRiskPage, string) {
		claims := map[string]string{"sub": role + "-1", auth.ClaimRole: role, auth.ClaimStores: store}
		resp := serveReq(t, a, map[string]string{}, "GET /v1/reports/{name}", "/v1/reports/at-risk", "", claims, q)
		var p atRiskPage
		_ = json.Unmarshal([]byte(resp.Body), &p)
		return resp.StatusCode, p, resp.Body
	}
	ids := func(p atRiskPage) (out []string) {
		for _, it := range p.Items {
			out = append(out, it.ID[:3])
		}
		return out
	}

	code, p, body := get("clinician", mine, nil)
	if code != 200 || fmt.Sprint(ids(p)) != "[ar2 ar1 ar3]" || p.Items[0].ExpectedLoss != "1500.00" || p.Items[0].Explanation == "" {
		t.Fatalf("clinician of %s: %d %v %s", mine, code, ids(p), body)
	}
	// A threshold brings in tier C customers worth at least that much.
	if code, p, body = get("admin", "*", map[string]string{"store": mine, "minClv": "4000"}); code != 200 || fmt.Sprint(ids(p)) != "[ar4 ar2 ar1 ar3]" {
		t.Fatalf("admin with minClv: %d %v %s", code, ids(p), body)
	}
	// Pages of one, in the same order.
	var paged []string
	q := map[string]string{"store": mine, "limit": "1"}
	for i := 0; i < 5; i++ {
		code, p, body = get("admin", "*", q)
		if code != 200 {
			t.Fatalf("page %d: %d %s", i, code, body)
		}
		paged = append(paged, ids(p)...)
		if p.NextCursor == "" {
			break
		}
		q["cursor"] = p.NextCursor
	}
	if fmt.Sprint(paged) != "[ar2 ar1 ar3]" {
		t.Fatalf("paged %v", paged)
	}
	// Another store's staff see nothing of this store; agents not at all; bad input named.
	if code, _, _ = get("clinician", other, map[string]string{"store": mine}); code != 404 {
		t.Fatalf("clinician of another store: %d", code)
	}
	if code, p, _ = get("clinician", other, nil); code != 200 || fmt.Sprint(ids(p)) != "[ar5]" {
		t.Fatalf("other store's own report: %d %v", code, ids(p))
	}
	if code, _, _ = get("agent", mine, nil); code != 403 {
		t.Fatalf("agent: %d", code)
	}
	for _, bad := range []map[string]string{{"store": mine, "limit": "0"}, {"store": mine, "cursor": "!!"}, {"store": mine, "minClv": "-1"}, {"store": mine, "sort": "x"}} {
		if code, _, body = get("admin", "*", bad); code != 400 {
			t.Fatalf("%v: %d %s", bad, code, body)
		}
	}
}

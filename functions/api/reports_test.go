package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/auth"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
	tapp "github.com/tierflow/tierflow/shared/tiering/app"
)

// ingestInto is tiering's ingest over the table (create: give an unknown customer a
// profile, as a tool building a base does).
func ingestInto(table *store.Table, create bool) *tapp.Ingest {
	return &tapp.Ingest{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policies: table, Ledger: table,
		Now: time.Now, CreateMissing: create}
}

// atRiskRow is one customer as the nightly run keeps them for the at-risk report.
func atRiskRow(id string, tier model.Tier, pAlive float64, clv12m model.Money) tapp.AtRiskRow {
	p := clv.ProfileCLV{PAlive: pAlive, ExpectedPurchases: 1, ExpectedSpend: 1000, CLV: clv12m, Risk: clv.DefaultRiskPolicy.Band(pAlive),
		ModelVersion: "night-test", At: "2025-03-01"}
	return tapp.AtRiskRow{ID: id, Tier: tier, Stage: model.StageActive, CLV: p, ExpectedLoss: p.ExpectedLoss()}
}

// plantAtRisk makes a finished run, the latest, whose store summaries keep rows.
func plantAtRisk(t *testing.T, table *store.Table, rows map[string][]tapp.AtRiskRow) {
	t.Helper()
	sums := map[string]*tapp.RunSummary{}
	for st, rs := range rows {
		s := tapp.NewRunSummary()
		s.AtRisk = rs
		sums[st] = s
	}
	id := "run-atrisk-" + storetest.Suffix()
	plantRun(t, table, id, false, tapp.NewRunSummary(), sums)
	if err := table.SetLatestRun(context.Background(), tapp.Run{ID: id, AsOf: time.Date(2099, 1, 1, 2, 0, 0, 0, time.UTC)}); err != nil {
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
	// id, tier, P(alive), CLV → expected loss = CLV × (1 − P(alive)), as the last run kept them
	plantAtRisk(t, table, map[string][]tapp.AtRiskRow{
		mine: {
			atRiskRow("ar4"+sfx, model.TierC, 0.1, 500000), // C: only with minClv
			atRiskRow("ar2"+sfx, model.TierB, 0.5, 300000), // 1500.00
			atRiskRow("ar1"+sfx, model.TierA, 0.2, 100000), // 800.00
			atRiskRow("ar3"+sfx, model.TierA, 0.9, 200000), // 200.00
		},
		other: {atRiskRow("ar5"+sfx, model.TierA, 0.1, 900000)}, // another store
	})

	get := func(role, store string, q map[string]string) (int, atRiskPage, string) {
		claims := map[string]string{"sub": role + "-1", auth.ClaimRole: role, auth.ClaimStores: store}
		resp := serveReq(t, a, map[string]string{}, "GET /v1/reports/{name}", "/v1/reports/at-risk", "", claims, q)
		var p atRiskPage
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
				t.Fatalf("at-risk page %s: %v", resp.Body, err)
			}
		}
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

// plantRun stores a finished run the way the retier function leaves it: the business
// summary on the header and, unless legacy, each store's summary beside it.
func plantRun(t *testing.T, table *store.Table, id string, legacy bool, total *tapp.RunSummary, stores map[string]*tapp.RunSummary) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	if err := table.CreateRun(ctx, tapp.Run{ID: id, AsOf: at, Day: "2025-03-01", Segments: 1, PolicyVersion: 1, Status: tapp.RunPass2, CreatedAt: at,
		CLV: &tapp.RunCLV{Business: tapp.ScopeFit{Status: tapp.FitFitted, Customers: 30}, Stores: map[string]tapp.ScopeFit{
			"sh-01": {Status: tapp.FitSkipped, Customers: 10}, "bj-01": {Status: tapp.FitSkipped, Customers: 20}}}}); err != nil {
		t.Fatal(err)
	}
	if !legacy {
		if err := table.PutStoreSummaries(ctx, id, stores); err != nil {
			t.Fatal(err)
		}
	}
	if err := table.AdvanceRun(ctx, id, tapp.RunPass2, tapp.RunDone, tapp.RunStep{Summary: total, PerStore: !legacy}); err != nil {
		t.Fatal(err)
	}
}

// storeSummary is a store's finished summary from its buyers' spends.
func storeSummary(tier string, spends ...model.Money) *tapp.RunSummary {
	s := tapp.NewRunSummary()
	for _, m := range spends {
		s.Customers++
		s.Tiers[tier]++
		s.Stages["active"]++
		s.Revenue[tier] += m
		s.TotalRevenue += m
	}
	s.Migrations["none>"+tier] = len(spends)
	s.FinishTop20(spends)
	return s
}

// Finding 5 and C3: reports and runs answer for the caller's stores (the business for
// all-stores staff); another store's figures are not in them, and a run that kept no
// per-store figures is "not found" for a store's staff.
func TestReportsAndRunsAnswerForTheCallersStores(t *testing.T) {
	a := testApp(t)
	table := tableOf(t)
	sh := storeSummary("A", 100000, 90000, 5000, 4000, 3000)   // top fifth: 1 of 5 → 1000.00
	bj := storeSummary("C", 800, 700, 600, 500, 400, 300, 200) // top fifth: 2 of 7 → 15.00
	total := tapp.NewRunSummary()
	total.Add(sh)
	total.Add(bj)
	total.FinishTop20([]model.Money{100000, 90000, 5000, 4000, 3000, 800, 700, 600, 500, 400, 300, 200})
	run, legacy := "run-stores-"+storetest.Suffix(), "run-legacy-"+storetest.Suffix()
	plantRun(t, table, run, false, total, map[string]*tapp.RunSummary{"sh-01": sh, "bj-01": bj})
	plantRun(t, table, legacy, true, total, nil)

	type tierReport struct {
		Scope        string   `json:"scope"`
		Stores       []string `json:"stores"`
		TotalRevenue string   `json:"totalRevenue"`
		Top20        float64  `json:"top20RevenueShare"`
		Method       string   `json:"top20Method"`
		MaxError     float64  `json:"top20MaxError"`
		Tiers        []TierRow
	}
	get := func(claims, q map[string]string, path string) (int, string) {
		resp := serveReq(t, a, map[string]string{}, "GET /v1/reports/{name}", path, "", claims, q)
		return resp.StatusCode, resp.Body
	}
	report := func(claims, q map[string]string) tierReport {
		code, body := get(claims, q, "/v1/reports/tiers")
		var r tierReport
		if err := json.Unmarshal([]byte(body), &r); err != nil || code != 200 {
			t.Fatalf("%v %v: %d %s", claims, q, code, body)
		}
		return r
	}
	shClin := staff("clinician", "sh-01")
	both := map[string]string{"sub": "clin-both", auth.ClaimRole: "clinician", auth.ClaimStores: "sh-01 bj-01"}

	if r := report(adminClaims, map[string]string{"run": run}); r.Scope != "business" || r.TotalRevenue != "2055.00" || r.Method != "exact" ||
		math.Abs(r.Top20-(1000.00+900.00+50.00)/2055.00) > 1e-9 { // ⌈12/5⌉ = 3 customers
		t.Fatalf("the business: %+v", r)
	}
	if r := report(shClin, map[string]string{"run": run}); r.TotalRevenue != "2020.00" || fmt.Sprint(r.Stores) != "[sh-01]" ||
		r.Method != "exact" || math.Abs(r.Top20-1000.00/2020.00) > 1e-9 || r.Tiers[2].Customers != 0 {
		t.Fatalf("sh-01's clinician sees: %+v", r)
	}
	if r := report(adminClaims, map[string]string{"run": run, "store": "bj-01"}); r.TotalRevenue != "35.00" || math.Abs(r.Top20-15.0/35.0) > 1e-9 {
		t.Fatalf("an all-stores admin asking for bj-01: %+v", r)
	}
	r := report(both, map[string]string{"run": run})
	if r.TotalRevenue != "2055.00" || r.Method != "sum of each store's top 20 %" || r.MaxError <= 0 ||
		math.Abs(r.Top20-(1000.00+15.00)/2055.00) > 1e-9 {
		t.Fatalf("two stores together: %+v", r)
	}
	// The joint top fifth (⌈12/5⌉ = 3 customers: 1000 + 900 + 50) lies within the stated error.
	if exact := (1000.00 + 900.00 + 50.00) / 2055.00; exact < r.Top20 || exact > r.Top20+r.MaxError {
		t.Fatalf("the exact joint share %.4f is outside [%.4f, %.4f]", exact, r.Top20, r.Top20+r.MaxError)
	}

	missingRun, _ := get(shClin, map[string]string{"run": "run-nobody"}, "/v1/reports/tiers")
	for name, q := range map[string]map[string]string{
		"another store's report":     {"run": run, "store": "bj-01"},
		"a run without store shares": {"run": legacy},
	} {
		code, body := get(shClin, q, "/v1/reports/tiers")
		if code != 404 || missingRun != 404 {
			t.Fatalf("%s: %d %s", name, code, body)
		}
	}
	code, body := get(shClin, map[string]string{"run": run}, "/v1/reports/migration")
	var mig struct {
		Customers int            `json:"customers"`
		Matrix    []MigrationRow `json:"matrix"`
		Flows     []MigrationRow `json:"flows"`
	}
	if err := json.Unmarshal([]byte(body), &mig); err != nil || code != 200 || mig.Customers != 5 || len(mig.Flows) != 1 {
		t.Fatalf("sh-01's migration report: %d %s", code, body)
	}
	for _, c := range mig.Matrix {
		if (c.From == "C" || c.To == "C") && c.Customers != 0 {
			t.Fatalf("sh-01's migration report shows bj-01's flows: %s", body)
		}
	}
	if code, _ := get(staff("agent", "sh-01"), map[string]string{"run": run}, "/v1/reports/tiers"); code != 403 {
		t.Fatalf("an agent: %d", code)
	}

	runAs := func(claims map[string]string, id string) (int, string) {
		resp := serveReq(t, a, map[string]string{"RETIER_QUEUE_URL": storetest.Queue(t, "retier")}, "GET /v1/retier/{id}", "/v1/retier/"+id, "", claims, nil)
		return resp.StatusCode, resp.Body
	}
	code, body = runAs(shClin, run)
	if code != 200 || !strings.Contains(body, `"totalRevenue":202000`) || strings.Contains(body, `"business"`) || strings.Contains(body, "bj-01") {
		t.Fatalf("sh-01's clinician reading the run: %d %s", code, body)
	}
	if code, body = runAs(adminClaims, run); code != 200 || !strings.Contains(body, `"totalRevenue":205500`) || !strings.Contains(body, `"business"`) {
		t.Fatalf("an all-stores admin reading the run: %d %s", code, body)
	}
	legacyCode, legacyBody := runAs(shClin, legacy)
	unknownCode, unknownBody := runAs(shClin, "run-nobody-"+storetest.Suffix())
	if legacyCode != 404 || unknownCode != 404 || legacyBody[:strings.Index(legacyBody, `"instance"`)] != unknownBody[:strings.Index(unknownBody, `"instance"`)] {
		t.Fatalf("a run without store shares: %d %s; unknown: %d %s", legacyCode, legacyBody, unknownCode, unknownBody)
	}
}

// C3: what every store shares — the tier policy, a run over all customers — is changed
// only by an admin who covers every store.
func TestOnlyAnAllStoresAdminChangesThePolicyOrStartsARun(t *testing.T) {
	a := testApp(t)
	envs := map[string]string{"RETIER_QUEUE_URL": storetest.Queue(t, "retier")}
	shAdmin := map[string]string{"sub": "admin-sh", auth.ClaimRole: "admin", auth.ClaimStores: "sh-01"}
	before := serve(t, a, envs, "GET /v1/policy", "/v1/policy", "", adminClaims).Body
	next := tiering.DefaultPolicy()
	next.Version = 99
	b, err := json.Marshal(next)
	if err != nil {
		t.Fatal(err)
	}
	if r := serve(t, a, envs, "PUT /v1/policy", "/v1/policy", string(b), shAdmin); r.StatusCode != 403 {
		t.Fatalf("a store's admin changing the policy: %d %s", r.StatusCode, r.Body)
	}
	if after := serve(t, a, envs, "GET /v1/policy", "/v1/policy", "", adminClaims).Body; after != before {
		t.Fatal("the policy changed")
	}
	if r := serve(t, a, envs, "POST /v1/retier", "/v1/retier", "", shAdmin); r.StatusCode != 403 {
		t.Fatalf("a store's admin starting a run: %d %s", r.StatusCode, r.Body)
	}
	if r := serve(t, a, envs, "POST /v1/retier", "/v1/retier", "", adminClaims); r.StatusCode != 202 {
		t.Fatalf("an all-stores admin starting a run: %d %s", r.StatusCode, r.Body)
	}
}

// The latest run's report is there the moment the run says done: the pointer moves just
// before, naming the run it replaces, and a report asked in that instant reads the run
// before instead of finding nothing or an unfinished run.
func TestTheLatestReportIsTheLastFinishedRunWhileTheNextIsMarkedDone(t *testing.T) {
	a := testApp(t)
	table := tableOf(t)
	ctx := context.Background()
	sfx := storetest.Suffix()
	before, next := "run-before-"+sfx, "run-next-"+sfx
	older := storeSummary("A", 100000)
	plantRun(t, table, before, false, older, map[string]*tapp.RunSummary{"sh-01": older})
	if err := table.SetLatestRun(ctx, tapp.Run{ID: before, AsOf: time.Date(2100, 1, 1, 2, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2100, 1, 2, 2, 0, 0, 0, time.UTC)
	if err := table.CreateRun(ctx, tapp.Run{ID: next, AsOf: at, Day: "2100-01-02", Segments: 1, PolicyVersion: 1, Status: tapp.RunPass2, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	newer := storeSummary("B", 7000)
	if err := table.PutStoreSummaries(ctx, next, map[string]*tapp.RunSummary{"sh-01": newer}); err != nil {
		t.Fatal(err)
	}
	if err := table.SetLatestRun(ctx, tapp.Run{ID: next, AsOf: at, PreviousRunID: before}); err != nil {
		t.Fatal(err)
	}
	tiers := func() (int, string) {
		resp := serveReq(t, a, map[string]string{}, "GET /v1/reports/tiers", "/v1/reports/tiers", "", adminClaims, nil)
		return resp.StatusCode, resp.Body
	}
	if code, body := tiers(); code != 200 || !strings.Contains(body, `"totalRevenue":"1000.00"`) {
		t.Fatalf("while the next run is being marked done: %d %s, want the run before (1000.00)", code, body)
	}
	if err := table.AdvanceRun(ctx, next, tapp.RunPass2, tapp.RunDone, tapp.RunStep{Summary: newer, PerStore: true, PreviousRunID: before}); err != nil {
		t.Fatal(err)
	}
	if code, body := tiers(); code != 200 || !strings.Contains(body, `"totalRevenue":"70.00"`) {
		t.Fatalf("once it is done: %d %s, want it (70.00)", code, body)
	}
}

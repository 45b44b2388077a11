package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var shanghai = func() *time.Location { l, _ := time.LoadLocation("Asia/Shanghai"); return l }()

// newRetier gives each test its own model namespace (MODEL#clv-<suffix>): tests share
// the table, and one test's fitted model must not be another's "previous model".
func newRetier(tb testing.TB, table *store.Table, segments int, now time.Time) *Retier {
	planner, err := store.NewPlanner(table, func() time.Time { return now })
	if err != nil {
		tb.Fatal(err)
	}
	return &Retier{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Table: table,
		SQS: storetest.Emulators(tb).SQSClient(), QueueURL: storetest.Queue(tb, "retier"), Segments: segments,
		Zone: shanghai, Now: func() time.Time { return now },
		CLV: CLVConfig{Namespace: "clv-" + storetest.Suffix()}, Planner: planner}
}

// seed ingests a synthetic base through the same once-only write the ingest function
// uses, one goroutine per customer group; ids get a prefix unique to the test.
func seed(tb testing.TB, table *store.Table, n int, prefix string) (ids []string, buyers map[string]bool) {
	syn := dataset.Synth(dataset.SynthConfig{Seed: 7, Customers: n,
		From: time.Date(2023, 1, 1, 0, 0, 0, 0, shanghai), To: time.Date(2025, 1, 1, 0, 0, 0, 0, shanghai)})
	pol := tiering.DefaultPolicy()
	byCust := map[string][]model.Txn{}
	for _, t := range syn.Txns {
		byCust[t.CustomerID] = append(byCust[t.CustomerID], t)
	}
	buyers = map[string]bool{}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, c := range syn.Customers {
		id := prefix + c.ID
		ids = append(ids, id)
		txns := byCust[c.ID]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for _, t := range txns {
				txn := model.Txn{Source: "synth", ExternalID: prefix + t.ExternalID, CustomerID: id, Store: t.Store, At: t.At,
					Amount: t.Amount, Currency: "CNY", Refund: t.Refund}
				_, err := table.ApplyTxnWith(context.Background(), txn, t.At, func(agg *tiering.Aggregates, prev tiering.Assignment) tiering.Assignment {
					next, _ := tiering.InstantUpgrade(pol, agg, prev, t.At)
					return next
				}, store.ApplyOptions{CreateMissing: true})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if !t.Refund {
					buyers[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	return ids, buyers
}

// drain plays the event source mapping: receive segment messages, hand them to the
// handler as SQS events, delete what succeeded, until the run is done.
func drain(tb testing.TB, r *Retier, runID string) store.Run {
	tb.Helper()
	c := storetest.Emulators(tb).SQSClient()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		run, _, err := r.Table.GetRun(ctx, runID)
		if err != nil {
			tb.Fatal(err)
		}
		if run.Status == store.RunDone {
			return run
		}
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.QueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range out.Messages {
			ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)}}}
			resp, err := r.HandleSQS(ctx, ev)
			if err != nil {
				tb.Fatal(err)
			}
			if len(resp.BatchItemFailures) > 0 {
				tb.Fatalf("segment %s failed", aws.ToString(m.Body))
			}
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	tb.Fatalf("run %s not done within the deadline", runID)
	return store.Run{}
}

func start(tb testing.TB, r *Retier, ev string) string {
	tb.Helper()
	out, err := r.Handle(context.Background(), json.RawMessage(ev))
	if err != nil {
		tb.Fatal(err)
	}
	return out.(map[string]string)["runId"]
}

func TestNightlyRunTiersEveryBuyerAndIsStableWhenRepeated(t *testing.T) {
	table := storetest.Table(t)
	prefix := "rt" + storetest.Suffix() + "-"
	ids, buyers := seed(t, table, 300, prefix)
	asOf := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
	r := newRetier(t, table, 4, asOf)

	runID := start(t, r, `{"action":"nightly"}`)
	if runID != "night-2025-01-01" {
		t.Fatalf("run id %q", runID)
	}
	// The schedule firing twice the same night starts no second run.
	if again := start(t, r, `{"action":"nightly"}`); again != runID {
		t.Fatalf("second start made run %q", again)
	}
	run := drain(t, r, runID)
	s := run.Summary
	if s == nil || s.Customers < len(buyers) {
		t.Fatalf("summary %+v", s)
	}
	ctx := context.Background()
	tiers := map[model.Tier]int{}
	for _, id := range ids {
		st, found, err := table.ReadTierState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !buyers[id] {
			continue
		}
		a := st.Assignment
		if !found || a.Tier == model.TierNone || a.Stage == "" || a.Reason == "" || a.AssessedOn != "2025-01-01" {
			t.Fatalf("%s: found=%v assignment %+v", id, found, a)
		}
		tiers[a.Tier]++
	}
	if tiers[model.TierA] == 0 || tiers[model.TierB] == 0 || tiers[model.TierC] == 0 {
		t.Fatalf("tier spread %v", tiers)
	}
	if s.Top20Share <= 0.2 || s.Top20Share > 1 {
		t.Fatalf("top 20%% revenue share %.3f", s.Top20Share)
	}
	hist, err := table.TierHistory(ctx, ids[0])
	if err != nil || (buyers[ids[0]] && len(hist) == 0) {
		t.Fatalf("history of %s: %v %v", ids[0], hist, err)
	}
	t.Logf("tiers %v, stages %v, changed %d, top20 %.1f%%", s.Tiers, s.Stages, s.Changed, 100*s.Top20Share)
	checkStoreSummaries(t, table, run)
	preds := checkPredictions(t, table, run, ids, buyers)

	// Same as-of again (a manual re-run): nothing changes, nothing is written.
	again := fmt.Sprintf(`{"action":"nightly","runId":"rerun-%s","asOf":%q}`, storetest.Suffix(), asOf.Format(time.RFC3339))
	run2 := drain(t, r, start(t, r, again))
	if run2.Summary.Changed != 0 || run2.Summary.TierChanges != 0 {
		t.Fatalf("re-run changed %d profiles, %d tiers", run2.Summary.Changed, run2.Summary.TierChanges)
	}
	for k, v := range s.Tiers {
		if run2.Summary.Tiers[k] != v {
			t.Fatalf("re-run tiers %v, first run %v", run2.Summary.Tiers, s.Tiers)
		}
	}
	// The re-run refits on the same sample: the same model, so the same predictions.
	if run2.CLV == nil || run2.CLV.Business.Status != store.FitFitted || run2.Summary.RetentionDue != 0 ||
		run2.Summary.AtRiskA != s.AtRiskA || run2.Summary.Predicted != s.Predicted {
		t.Fatalf("re-run model %+v, summary %+v (first %+v)", run2.CLV, run2.Summary, s)
	}
	for id, p := range preds {
		row, _, err := table.ReadProfileRow(ctx, id)
		if err != nil || row.CLV == nil || *row.CLV != p {
			t.Fatalf("%s: prediction moved on a re-run: %+v → %+v (%v)", id, p, row.CLV, err)
		}
	}
}

// checkPredictions asserts the run fitted a business model and gave every buyer a
// finite prediction with an explanation; it returns them by id.
func checkPredictions(t *testing.T, table *store.Table, run store.Run, ids []string, buyers map[string]bool) map[string]store.ProfileCLV {
	t.Helper()
	ctx := context.Background()
	c := run.CLV
	if c == nil || c.Business.Status != store.FitFitted || c.Business.ModelVersion != run.ID || c.Business.N < 200 {
		t.Fatalf("business model %+v", c)
	}
	preds := map[string]store.ProfileCLV{}
	risk := map[string]int{}
	for _, id := range ids {
		if !buyers[id] {
			continue
		}
		row, found, err := table.ReadProfileRow(ctx, id)
		if err != nil || !found {
			t.Fatalf("%s: %v %v", id, found, err)
		}
		p := row.CLV
		if p == nil {
			t.Fatalf("%s bought but has no prediction", id)
		}
		for _, v := range []float64{p.PAlive, p.ExpectedPurchases} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s: prediction %+v", id, p)
			}
		}
		if p.PAlive > 1 || p.CLV < 0 || p.ExpectedSpend <= 0 || p.ModelVersion != run.ID || p.Risk == "" ||
			!strings.HasPrefix(p.Explanation, "P(alive)=") || !strings.Contains(p.Explanation, "BG/NBD r=") {
			t.Fatalf("%s: prediction %+v", id, p)
		}
		preds[id] = *p
		risk[string(p.Risk)]++
	}
	s := run.Summary
	if s.Predicted < len(preds) || risk["low"] == 0 {
		t.Fatalf("predicted %d (own buyers %d), risk bands %v", s.Predicted, len(preds), risk)
	}
	t.Logf("model n=%d ll=%.1f warnings=%v; own buyers by risk %v; tier A at risk %d, newly due %d, plan failures %d",
		c.Business.N, c.Business.LogLik, c.Business.Warnings, risk, s.AtRiskA, s.RetentionDue, s.FollowupPlanFails)
	return preds
}

func TestRedeliveredSegmentIsCountedOnce(t *testing.T) {
	table := storetest.Table(t)
	prefix := "rd" + storetest.Suffix() + "-"
	seed(t, table, 40, prefix)
	asOf := time.Date(2025, 1, 2, 2, 0, 0, 0, shanghai)
	r := newRetier(t, table, 2, asOf)
	runID := start(t, r, fmt.Sprintf(`{"action":"nightly","runId":"redo-%s"}`, storetest.Suffix()))
	ctx := context.Background()
	// Segment 0 of pass 1 delivered twice before anything else.
	for i := 0; i < 2; i++ {
		if err := r.Segment(ctx, SegmentMsg{RunID: runID, Pass: 1, Segment: 0}); err != nil {
			t.Fatal(err)
		}
	}
	run, _, _ := table.GetRun(ctx, runID)
	if run.Pass1Done != 1 || run.Status != store.RunPass1 {
		t.Fatalf("after a redelivered segment: pass1Done=%d status=%s", run.Pass1Done, run.Status)
	}
	done := drain(t, r, runID)
	// Redeliver a pass-2 segment after the run is done: no counts move.
	if err := r.Segment(ctx, SegmentMsg{RunID: runID, Pass: 2, Segment: 1}); err != nil {
		t.Fatal(err)
	}
	after, _, _ := table.GetRun(ctx, runID)
	if after.Pass2Done != 2 || after.Summary.Customers != done.Summary.Customers {
		t.Fatalf("pass2Done=%d customers %d→%d", after.Pass2Done, done.Summary.Customers, after.Summary.Customers)
	}
}

// A base the model cannot be fitted on finishes its run without a model and says why;
// once a model exists, a failed fit keeps it. Store models need enough customers.
func TestFailedFitKeepsThePreviousModelOrNoneAndSaysWhy(t *testing.T) {
	table := storetest.Table(t)
	prefix := "fk" + storetest.Suffix() + "-"
	ids, buyers := seed(t, table, 60, prefix)
	asOf := time.Date(2025, 1, 3, 2, 0, 0, 0, shanghai)
	r := newRetier(t, table, 2, asOf)
	ctx := context.Background()
	runAs := func(name string, cfg func(*CLVConfig)) store.Run {
		t.Helper()
		saved := r.CLV
		cfg(&r.CLV)
		defer func() { r.CLV = saved }()
		return drain(t, r, start(t, r, fmt.Sprintf(`{"action":"nightly","runId":"%s-%s"}`, name, storetest.Suffix())))
	}
	// The table is shared with other tests, so "too small" is a minimum above its size.
	tooSmall := func(c *CLVConfig) { c.MinCustomers = 1_000_000 }

	none := runAs("small", tooSmall)
	if none.Status != store.RunDone || none.CLV == nil || none.CLV.Business.Status != store.FitNone ||
		none.CLV.Business.ModelVersion != "" || !strings.Contains(none.CLV.Business.Reason, "insufficient data") {
		t.Fatalf("run without a model: status %s, clv %+v", none.Status, none.CLV)
	}
	if _, found, _ := table.CurrentModel(ctx, r.CLV.Namespace, store.ScopeBusiness); found {
		t.Fatal("a model was stored from a failed fit")
	}
	t.Logf("no model: %s", none.CLV.Business.Reason)

	// Store models from 30 customers up: each store with that many gets its own.
	fitted := runAs("fit", func(c *CLVConfig) { c.MinStoreCustomers = 30 })
	if fitted.CLV.Business.Status != store.FitFitted {
		t.Fatalf("business fit %+v", fitted.CLV.Business)
	}
	storeModels := 0
	for st, f := range fitted.CLV.Stores {
		switch {
		case f.Customers >= 30 && f.Status == store.FitFitted && f.ModelVersion == fitted.ID:
			storeModels++
		case f.Customers < 30 && f.Status == store.FitSkipped:
		default:
			t.Fatalf("store %s: %+v", st, f)
		}
	}
	if storeModels == 0 {
		t.Fatalf("no store model: %+v", fitted.CLV.Stores)
	}
	for _, id := range ids {
		row, _, _ := table.ReadProfileRow(ctx, id)
		if buyers[id] && (row.CLV == nil || row.CLV.ModelVersion != fitted.ID) {
			t.Fatalf("%s: %+v", id, row.CLV)
		}
		if buyers[id] && fitted.CLV.Stores[row.Store].Status == store.FitFitted && !strings.Contains(row.CLV.Explanation, "store model") {
			t.Fatalf("%s of %s not predicted by its store's model: %s", id, row.Store, row.CLV.Explanation)
		}
	}

	kept := runAs("kept", tooSmall)
	b := kept.CLV.Business
	if b.Status != store.FitKept || b.ModelVersion != fitted.ID || b.Reason == "" || kept.Summary.Predicted == 0 {
		t.Fatalf("after a failed fit: %+v, predicted %d", b, kept.Summary.Predicted)
	}
	cur, found, err := table.CurrentModel(ctx, r.CLV.Namespace, store.ScopeBusiness)
	if err != nil || !found || cur.Version != fitted.ID || cur.N < 200 {
		t.Fatalf("current model %+v %v %v", cur, found, err)
	}
}

// checkStoreSummaries recomputes, from every profile in the table, what each store's
// summary and the business's top fifth must be, and compares them with what the run kept:
// counts per store, and the top-20 % revenue exactly, for each store and for all of them.
func checkStoreSummaries(t *testing.T, table *store.Table, run store.Run) {
	t.Helper()
	ctx := context.Background()
	pol, err := tiering.ParsePolicy([]byte(run.Policy))
	if err != nil {
		t.Fatal(err)
	}
	customers, buyers := map[string]int{}, map[string]int{}
	spends := map[string][]model.Money{}
	var all []model.Money
	for seg := 0; seg < run.Segments; seg++ {
		err := table.ScanProfiles(ctx, seg, run.Segments, func(row store.ProfileRow) error {
			customers[row.Store]++
			m := row.Aggregates.Metrics(pol, run.AsOf)
			if m.HasHistory {
				buyers[row.Store]++
				spends[row.Store] = append(spends[row.Store], m.Monetary)
				all = append(all, m.Monetary)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var stores []string
	for st := range customers {
		if st != "" {
			stores = append(stores, st)
		}
	}
	got, err := table.StoreSummaries(ctx, run.ID, stores)
	if err != nil {
		t.Fatal(err)
	}
	if !run.PerStore || len(got) != len(stores) || len(stores) < 2 {
		t.Fatalf("per-store summaries of %v: %d kept (perStore=%v)", stores, len(got), run.PerStore)
	}
	for _, st := range stores {
		g := got[st]
		tiered := 0
		for _, n := range g.Tiers {
			tiered += n
		}
		top, k, _ := tiering.Top20(spends[st])
		if g.Customers != customers[st] || tiered != buyers[st] || g.Top20Revenue != top || g.Top20Customers != k || g.Top20Method != "exact" {
			t.Fatalf("store %s: customers %d tiered %d top %s of %d; want %d, %d, %s of %d", st,
				g.Customers, tiered, g.Top20Revenue, g.Top20Customers, customers[st], buyers[st], top, k)
		}
	}
	top, k, _ := tiering.Top20(all)
	if run.Summary.Top20Revenue != top || run.Summary.Top20Customers != k {
		t.Fatalf("business top fifth %s of %d, want %s of %d", run.Summary.Top20Revenue, run.Summary.Top20Customers, top, k)
	}
	t.Logf("%d stores, business top fifth %d customers, %.1f%% of revenue, exact per store", len(stores), k, 100*run.Summary.Top20Share)
}

package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// newNightly gives each test its own model namespace (MODEL#clv-<suffix>): tests share
// the table, and one test's fitted model must not be another's "previous model".
func newNightly(tb testing.TB, table *store.Table, segments int, now time.Time) *app.Nightly {
	planner, err := boot.Planner(table, func() time.Time { return now })
	if err != nil {
		tb.Fatal(err)
	}
	return &app.Nightly{Log: discard(), Policies: table, Runs: table, Profiles: table, Models: table, Queue: &queue.Memory{},
		Planner: planner, Segments: segments, Zone: shanghai, Now: func() time.Time { return now },
		CLV: app.CLVConfig{Namespace: "clv-" + storetest.Suffix()}}
}

// seed builds a synthetic base the way an import tool would, through the store's ledger
// write (once-marker, transaction, profile in one transaction) with only the instant
// rules applied, so the first night assesses every customer; one goroutine per customer
// group, ids with a prefix unique to the test.
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
				// Without their lines, as the figures in docs/scale.md were measured.
				t.Source, t.ExternalID, t.CustomerID, t.Currency, t.Items = "synth", prefix+t.ExternalID, id, "CNY", nil
				err := seedOne(table, pol, t)
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

func seedOne(table *store.Table, pol *tiering.Policy, t model.Txn) error {
	ctx := context.Background()
	for {
		st, found, err := table.ReadTierState(ctx, t.CustomerID)
		if err != nil {
			return err
		}
		w := app.TxnWrite{Txn: t, Version: st.Version, Store: t.Store, Create: !found, At: t.At,
			Aggregates: st.Aggregates, Occasions: st.OccasionsOrEstimate()}
		w.Aggregates.Apply(t)
		w.Occasions.Apply(t.At, t.Net(), t.Refund)
		w.Assignment, _ = tiering.InstantUpgrade(pol, &w.Aggregates, st.Assignment, t.At)
		_, taken, err := table.ApplyTxn(ctx, w)
		switch {
		case errors.Is(err, app.ErrConflict):
			continue
		case err != nil:
			return err
		case taken:
			return fmt.Errorf("seed %s: applied before", t.Ref())
		}
		return nil
	}
}

// drain plays the retier queue's event source mapping: hand each segment message to the
// run, first in first out, until the run is done.
func drain(tb testing.TB, n *app.Nightly, runID string) app.Run {
	tb.Helper()
	ctx := context.Background()
	q := n.Queue.(*queue.Memory)
	for {
		run, found, err := n.Runs.GetRun(ctx, runID)
		if err != nil || !found {
			tb.Fatalf("run %s: found=%v %v", runID, found, err)
		}
		if run.Status == app.RunDone {
			return run
		}
		body, ok := q.Pop()
		if !ok {
			tb.Fatalf("run %s is %s with nothing left on the queue", runID, run.Status)
		}
		var msg app.SegmentMsg
		if err := json.Unmarshal([]byte(body), &msg); err != nil {
			tb.Fatal(err)
		}
		if err := n.Segment(ctx, msg); err != nil {
			tb.Fatalf("segment %s: %v", body, err)
		}
	}
}

func start(tb testing.TB, n *app.Nightly, req app.StartRequest) string {
	tb.Helper()
	run, err := n.Start(context.Background(), req)
	if err != nil {
		tb.Fatal(err)
	}
	return run.ID
}

func TestNightlyRunTiersEveryBuyerAndIsStableWhenRepeated(t *testing.T) {
	table := storetest.Table(t)
	prefix := "rt" + storetest.Suffix() + "-"
	ids, buyers := seed(t, table, 300, prefix)
	asOf := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
	n := newNightly(t, table, 4, asOf)

	runID := start(t, n, app.StartRequest{Action: "nightly"})
	if runID != "night-2025-01-01" {
		t.Fatalf("run id %q", runID)
	}
	// The schedule firing twice the same night starts no second run.
	if again := start(t, n, app.StartRequest{Action: "nightly"}); again != runID {
		t.Fatalf("second start made run %q", again)
	}
	run := drain(t, n, runID)
	s := run.Summary
	if s == nil || s.Customers < len(buyers) {
		t.Fatalf("summary %+v", s)
	}
	ctx := context.Background()
	tiers := map[model.Tier]int{}
	for _, id := range ids {
		st, found := tierState(t, table, id)
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
	hist, err := table.TierHistory(ctx, ids[0])
	if err != nil || (buyers[ids[0]] && len(hist) == 0) {
		t.Fatalf("history of %s: %v %v", ids[0], hist, err)
	}
	t.Logf("tiers %v, stages %v, changed %d, top20 %.1f%%", s.Tiers, s.Stages, s.Changed, 100*s.Top20Share)
	checkStoreSummaries(t, table, run)
	preds := checkPredictions(t, table, run, ids, buyers)

	// Same as-of again (a manual re-run): nothing changes, nothing is written.
	run2 := drain(t, n, start(t, n, app.StartRequest{Action: "nightly", RunID: "rerun-" + storetest.Suffix(), AsOf: &asOf}))
	if run2.Summary.Changed != 0 || run2.Summary.TierChanges != 0 {
		t.Fatalf("re-run changed %d profiles, %d tiers", run2.Summary.Changed, run2.Summary.TierChanges)
	}
	for k, v := range s.Tiers {
		if run2.Summary.Tiers[k] != v {
			t.Fatalf("re-run tiers %v, first run %v", run2.Summary.Tiers, s.Tiers)
		}
	}
	// The re-run refits on the same sample: the same model, so the same predictions.
	if run2.CLV == nil || run2.CLV.Business.Status != app.FitFitted || run2.Summary.RetentionDue != 0 ||
		run2.Summary.AtRiskA != s.AtRiskA || run2.Summary.Predicted != s.Predicted {
		t.Fatalf("re-run model %+v, summary %+v (first %+v)", run2.CLV, run2.Summary, s)
	}
	for id, p := range preds {
		st, _ := tierState(t, table, id)
		if st.CLV == nil || *st.CLV != p {
			t.Fatalf("%s: prediction moved on a re-run: %+v → %+v", id, p, st.CLV)
		}
	}
}

// checkPredictions asserts the run fitted a business model and gave every buyer a
// finite prediction with an explanation; it returns them by id.
func checkPredictions(t *testing.T, table *store.Table, run app.Run, ids []string, buyers map[string]bool) map[string]clv.ProfileCLV {
	t.Helper()
	c := run.CLV
	if c == nil || c.Business.Status != app.FitFitted || c.Business.ModelVersion != run.ID || c.Business.N < 200 {
		t.Fatalf("business model %+v", c)
	}
	preds := map[string]clv.ProfileCLV{}
	risk := map[string]int{}
	storeOf := map[string]string{}
	for _, id := range ids {
		if !buyers[id] {
			continue
		}
		st, found := tierState(t, table, id)
		if !found {
			t.Fatalf("%s has no profile", id)
		}
		storeOf[id] = st.Store
		p := st.CLV
		if p == nil {
			t.Fatalf("%s bought but has no prediction", id)
		}
		for _, v := range []float64{p.PAlive, p.ExpectedPurchases} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s: prediction %+v", id, p)
			}
		}
		if p.PAlive > 1 || p.CLV < 0 || p.ExpectedSpend <= 0 || p.ModelVersion != run.ID || p.Risk == "" ||
			!strings.HasPrefix(p.Explanation, "P(alive)=") || !strings.Contains(p.Explanation, " model "+run.ID) {
			t.Fatalf("%s: prediction %+v", id, p)
		}
		preds[id] = *p
		risk[string(p.Risk)]++
	}
	checkAtRisk(t, table, run, preds, storeOf)
	s := run.Summary
	if s.Predicted < len(preds) || risk["low"] == 0 {
		t.Fatalf("predicted %d (own buyers %d), risk bands %v", s.Predicted, len(preds), risk)
	}
	t.Logf("model n=%d ll=%.1f warnings=%v; own buyers by risk %v; tier A at risk %d, newly due %d, plan failures %d",
		c.Business.N, c.Business.LogLik, c.Business.Warnings, risk, s.AtRiskA, s.RetentionDue, s.FollowupPlanFails)
	return preds
}

// checkAtRisk asserts each store's summary keeps the customers with the largest expected
// loss tonight, largest first, with tonight's prediction: every buyer of the store whose
// loss is above the smallest kept (or all of them, when fewer than app.AtRiskKept).
func checkAtRisk(t *testing.T, table *store.Table, run app.Run, preds map[string]clv.ProfileCLV, storeOf map[string]string) {
	t.Helper()
	var stores []string
	for _, st := range storeOf {
		if !slices.Contains(stores, st) {
			stores = append(stores, st)
		}
	}
	sums, err := table.StoreSummaries(context.Background(), run.ID, stores)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stores {
		rows := sums[st].AtRisk
		if len(rows) == 0 || len(rows) > app.AtRiskKept {
			t.Fatalf("store %s keeps %d at-risk rows", st, len(rows))
		}
		kept := map[string]bool{}
		for i, r := range rows {
			kept[r.ID] = true
			if i > 0 && !app.LossBefore(rows[i-1], r) {
				t.Fatalf("store %s: at-risk rows out of order at %d: %+v, %+v", st, i, rows[i-1], r)
			}
			if p, ours := preds[r.ID]; ours && (p.PAlive != r.CLV.PAlive || p.CLV != r.CLV.CLV || r.ExpectedLoss != p.ExpectedLoss()) {
				t.Fatalf("store %s keeps %s as %+v; tonight's prediction %+v", st, r.ID, r, p)
			}
		}
		floor := rows[len(rows)-1].ExpectedLoss
		for id, p := range preds {
			if storeOf[id] == st && !kept[id] && (len(rows) < app.AtRiskKept || p.ExpectedLoss() > floor) {
				t.Fatalf("store %s left out %s (loss %v; kept %d down to %v)", st, id, p.ExpectedLoss(), len(rows), floor)
			}
		}
	}
}

func getRun(t *testing.T, table *store.Table, id string) app.Run {
	t.Helper()
	run, found, err := table.GetRun(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("run %s: found=%v %v", id, found, err)
	}
	return run
}

func TestRedeliveredSegmentIsCountedOnce(t *testing.T) {
	table := storetest.Table(t)
	prefix := "rd" + storetest.Suffix() + "-"
	seed(t, table, 40, prefix)
	asOf := time.Date(2025, 1, 2, 2, 0, 0, 0, shanghai)
	n := newNightly(t, table, 2, asOf)
	runID := start(t, n, app.StartRequest{Action: "nightly", RunID: "redo-" + storetest.Suffix()})
	ctx := context.Background()
	// Segment 0 of pass 1 delivered twice before anything else.
	for i := 0; i < 2; i++ {
		if err := n.Segment(ctx, app.SegmentMsg{RunID: runID, Pass: 1, Segment: 0}); err != nil {
			t.Fatal(err)
		}
	}
	run := getRun(t, table, runID)
	if run.Pass1Done != 1 || run.Status != app.RunPass1 {
		t.Fatalf("after a redelivered segment: pass1Done=%d status=%s", run.Pass1Done, run.Status)
	}
	done := drain(t, n, runID)
	// Redeliver a pass-2 segment after the run is done: no counts move.
	if err := n.Segment(ctx, app.SegmentMsg{RunID: runID, Pass: 2, Segment: 1}); err != nil {
		t.Fatal(err)
	}
	after := getRun(t, table, runID)
	if after.Pass2Done != 2 || after.Summary.Customers != done.Summary.Customers {
		t.Fatalf("pass2Done=%d customers %d→%d", after.Pass2Done, done.Summary.Customers, after.Summary.Customers)
	}
	// A segment the run does not have is an error (its message ends in the DLQ).
	if err := n.Segment(ctx, app.SegmentMsg{RunID: runID, Pass: 2, Segment: 2}); err == nil {
		t.Fatal("segment 2 of a two-segment run was accepted")
	}
}

// A base the model cannot be fitted on finishes its run without a model and says why;
// once a model exists, a failed fit keeps it. Store models need enough customers.
func TestFailedFitKeepsThePreviousModelOrNoneAndSaysWhy(t *testing.T) {
	table := storetest.Table(t)
	prefix := "fk" + storetest.Suffix() + "-"
	ids, buyers := seed(t, table, 60, prefix)
	asOf := time.Date(2025, 1, 3, 2, 0, 0, 0, shanghai)
	n := newNightly(t, table, 2, asOf)
	ctx := context.Background()
	runAs := func(name string, cfg func(*app.CLVConfig)) app.Run {
		t.Helper()
		saved := n.CLV
		cfg(&n.CLV)
		defer func() { n.CLV = saved }()
		return drain(t, n, start(t, n, app.StartRequest{Action: "nightly", RunID: name + "-" + storetest.Suffix()}))
	}
	// The table is shared with other tests, so "too small" is a minimum above its size.
	tooSmall := func(c *app.CLVConfig) { c.MinCustomers = 1_000_000 }

	none := runAs("small", tooSmall)
	if none.Status != app.RunDone || none.CLV == nil || none.CLV.Business.Status != app.FitNone ||
		none.CLV.Business.ModelVersion != "" || !strings.Contains(none.CLV.Business.Reason, "insufficient data") {
		t.Fatalf("run without a model: status %s, clv %+v", none.Status, none.CLV)
	}
	if _, found, err := table.CurrentModel(ctx, n.CLV.Namespace, app.ScopeBusiness); err != nil || found {
		t.Fatalf("a model was stored from a failed fit (%v)", err)
	}
	t.Logf("no model: %s", none.CLV.Business.Reason)

	// Store models from 30 customers up: each store with that many gets its own.
	fitted := runAs("fit", func(c *app.CLVConfig) { c.MinStoreCustomers = 30 })
	if fitted.CLV.Business.Status != app.FitFitted {
		t.Fatalf("business fit %+v", fitted.CLV.Business)
	}
	storeModels := 0
	for st, f := range fitted.CLV.Stores {
		switch {
		case f.Customers >= 30 && f.Status == app.FitFitted && f.ModelVersion == fitted.ID:
			storeModels++
		case f.Customers < 30 && f.Status == app.FitSkipped:
		default:
			t.Fatalf("store %s: %+v", st, f)
		}
	}
	if storeModels == 0 {
		t.Fatalf("no store model: %+v", fitted.CLV.Stores)
	}
	for _, id := range ids {
		st, _ := tierState(t, table, id)
		if buyers[id] && (st.CLV == nil || st.CLV.ModelVersion != fitted.ID) {
			t.Fatalf("%s: %+v", id, st.CLV)
		}
		if buyers[id] && fitted.CLV.Stores[st.Store].Status == app.FitFitted && !strings.Contains(st.CLV.Explanation, "store model") {
			t.Fatalf("%s of %s not predicted by its store's model: %s", id, st.Store, st.CLV.Explanation)
		}
	}

	kept := runAs("kept", tooSmall)
	b := kept.CLV.Business
	if b.Status != app.FitKept || b.ModelVersion != fitted.ID || b.Reason == "" || kept.Summary.Predicted == 0 {
		t.Fatalf("after a failed fit: %+v, predicted %d", b, kept.Summary.Predicted)
	}
	cur, found, err := table.CurrentModel(ctx, n.CLV.Namespace, app.ScopeBusiness)
	if err != nil || !found || cur.Version != fitted.ID || cur.N < 200 {
		t.Fatalf("current model %+v %v %v", cur, found, err)
	}
}

// top20 is the top fifth by spend as the report defines it, recomputed here on its own:
// the ⌈n/5⌉ largest spends of the n buyers, and their share of all buyers' spend.
func top20(spends []model.Money) (sum model.Money, k int, share float64) {
	s := slices.Clone(spends)
	slices.Sort(s)
	slices.Reverse(s)
	k = (len(s) + 4) / 5
	var total model.Money
	for i, v := range s {
		total += v
		if i < k {
			sum += v
		}
	}
	if total > 0 {
		share = float64(sum) / float64(total)
	}
	return sum, k, share
}

// checkStoreSummaries recomputes, from every profile in the table, what each store's
// summary and the business's top fifth must be, and compares them with what the run kept:
// counts per store, and the top-20 % revenue and its share of revenue exactly, for each
// store and for all of them.
func checkStoreSummaries(t *testing.T, table *store.Table, run app.Run) {
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
		err := table.ScanTierStates(ctx, seg, run.Segments, func(st app.TierState) error {
			customers[st.Store]++
			m := st.Aggregates.Metrics(pol, run.AsOf)
			if m.HasHistory {
				buyers[st.Store]++
				spends[st.Store] = append(spends[st.Store], m.Monetary)
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
		top, k, share := top20(spends[st])
		if g.Customers != customers[st] || tiered != buyers[st] || g.Top20Revenue != top || g.Top20Customers != k ||
			g.Top20Method != "exact" || g.Top20Share != share {
			t.Fatalf("store %s: customers %d tiered %d top %s of %d (share %v); want %d, %d, %s of %d (share %v)", st,
				g.Customers, tiered, g.Top20Revenue, g.Top20Customers, g.Top20Share, customers[st], buyers[st], top, k, share)
		}
	}
	top, k, share := top20(all)
	if run.Summary.Top20Revenue != top || run.Summary.Top20Customers != k || run.Summary.Top20Share != share {
		t.Fatalf("business top fifth %s of %d (share %v), want %s of %d (share %v)",
			run.Summary.Top20Revenue, run.Summary.Top20Customers, run.Summary.Top20Share, top, k, share)
	}
	t.Logf("%d stores, business top fifth %d customers, %.1f%% of revenue, exact per store", len(stores), k, 100*share)
}

// historyLoser is the table with a night that stops after a profile's update and before
// its history entry, once per customer, as a crashed segment would.
type historyLoser struct {
	*store.Table
	mu   sync.Mutex
	lost map[string]bool
}

func (h *historyLoser) SaveAssessment(ctx context.Context, a app.Assessment) error {
	h.mu.Lock()
	lose := a.Change != nil && !h.lost[a.State.ID]
	if lose {
		h.lost[a.State.ID] = true
	}
	h.mu.Unlock()
	if !lose {
		return h.Table.SaveAssessment(ctx, a)
	}
	a.Change = nil
	if err := h.Table.SaveAssessment(ctx, a); err != nil {
		return err
	}
	return errors.New("crashed before the history entry")
}

// The profile's update and its history entry are two writes (issue #13): a segment that
// stopped between them is redelivered, finds the profile at this run's answer, and puts
// the entry it missed.
func TestARedeliveredSegmentPutsTheHistoryEntryItMissed(t *testing.T) {
	table := storetest.Table(t)
	prefix := "hl" + storetest.Suffix() + "-"
	ids, _ := seed(t, table, 30, prefix)
	asOf := time.Date(2025, 1, 2, 2, 0, 0, 0, shanghai)
	n := newNightly(t, table, 1, asOf)
	loser := &historyLoser{Table: table, lost: map[string]bool{}}
	n.Profiles = loser
	ctx := context.Background()
	runID := start(t, n, app.StartRequest{Action: "nightly", RunID: "hl-" + storetest.Suffix(), AsOf: &asOf})
	q := n.Queue.(*queue.Memory)
	for {
		body, ok := q.Pop()
		if !ok {
			break
		}
		var msg app.SegmentMsg
		if err := json.Unmarshal([]byte(body), &msg); err != nil {
			t.Fatal(err)
		}
		err := n.Segment(ctx, msg)
		for i := 0; err != nil && i <= len(ids); i++ { // redelivered until it succeeds (one crash per customer)
			err = n.Segment(ctx, msg)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if run := getRun(t, table, runID); run.Status != app.RunDone {
		t.Fatalf("run %s", run.Status)
	}
	if len(loser.lost) == 0 {
		t.Fatal("no tier moved: the test tests nothing")
	}
	for _, id := range ids {
		if !loser.lost[id] {
			continue
		}
		st, _ := tierState(t, table, id)
		h, err := table.TierHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].RunID != runID || h[0].To != st.Assignment.Tier {
			t.Fatalf("%s is %s with history %+v: want this run's entry", id, st.Assignment.Tier, h)
		}
	}
}

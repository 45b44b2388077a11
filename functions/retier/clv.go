package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
)

// CLVConfig is the customer-base model's part of the nightly run. The zero value gets
// the defaults (withDefaults).
type CLVConfig struct {
	Disabled          bool        // no sample, no fit, no prediction (CLV_DISABLED; benchmarks compare)
	Namespace         string      // model items live under MODEL#<ns>; "clv"
	MinCustomers      int         // smallest business sample a fit is tried on (50)
	MinStoreCustomers int         // a store gets its own model from this many customers with a purchase (200)
	SegmentSample     int         // customers sampled per segment and scope (2,000: 40 KB per item)
	FitSample         int         // customers a fit uses at most, per scope (20,000)
	Period            clv.Period  // the model's time unit (week, as in the paper)
	Outlook           clv.Outlook // 90-day purchases, 12-month CLV at 1%/month, risk bands 0.3/0.6
	// RetentionBelow: tier A customers with P(alive) under it are due a retention touch.
	RetentionBelow float64
}

func (c CLVConfig) withDefaults() CLVConfig {
	if c.Namespace == "" {
		c.Namespace = "clv"
	}
	if c.MinCustomers <= 0 {
		c.MinCustomers = 50
	}
	if c.MinStoreCustomers <= 0 {
		c.MinStoreCustomers = 200
	}
	if c.SegmentSample <= 0 {
		c.SegmentSample = 2000
	}
	if c.FitSample <= 0 {
		c.FitSample = 20000
	}
	if c.Period == "" {
		c.Period = clv.Week
	}
	if c.Outlook == (clv.Outlook{}) {
		c.Outlook = clv.DefaultOutlook
	}
	if c.RetentionBelow <= 0 {
		c.RetentionBelow = c.Outlook.Risk.HighBelow
	}
	return c
}

// RetentionPlanner is the follow-up planner (shared/followup/app.Planner); nil leaves
// only the retentionDue flag on the profile.
type RetentionPlanner interface {
	Handle(ctx context.Context, t followup.Trigger) (fapp.PlanResult, error)
}

// idHash picks sample members: the same customers whatever the scan order or redelivery.
func idHash(id string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return h.Sum32()
}

// sampler keeps, per scope, the summaries of the customers with the lowest id hashes.
type sampler struct {
	cap       int
	entries   map[string][]store.SampleEntry
	customers map[string]int
}

func newSampler(capacity int) *sampler {
	return &sampler{cap: capacity, entries: map[string][]store.SampleEntry{}, customers: map[string]int{}}
}

func (s *sampler) add(scope string, e store.SampleEntry) {
	s.customers[scope]++
	s.entries[scope] = append(s.entries[scope], e)
	if len(s.entries[scope]) >= 2*s.cap { // keep memory bounded on big segments
		s.entries[scope] = s.trim(s.entries[scope])
	}
}

func (s *sampler) trim(es []store.SampleEntry) []store.SampleEntry {
	sort.Slice(es, func(i, j int) bool { return es[i].Hash < es[j].Hash })
	if len(es) > s.cap {
		es = es[:s.cap]
	}
	return es
}

// save writes one item per scope.
func (r *Retier) saveSamples(ctx context.Context, runID string, seg int, s *sampler) error {
	scopes := make([]string, 0, len(s.entries))
	for k := range s.entries {
		scopes = append(scopes, k)
	}
	sort.Strings(scopes)
	for _, scope := range scopes {
		es := s.trim(s.entries[scope])
		if err := r.Table.PutSample(ctx, runID, seg, scope, s.customers[scope], es, s.customers[scope] > len(es)); err != nil {
			return err
		}
	}
	return nil
}

// sampleRow adds one customer to the pass-1 sample, business-wide and for its store.
func (r *Retier) sampleRow(s *sampler, run store.Run, row store.ProfileRow) {
	if r.CLV.Disabled {
		return
	}
	occ := row.OccasionsOrEstimate()
	sum, ok := occ.Summary(run.Day, r.clv().Period)
	if !ok || sum.Validate() != nil {
		return
	}
	e := store.SampleEntry{Hash: idHash(row.ID), S: sum}
	s.add(store.ScopeBusiness, e)
	if row.Store != "" && row.Store != store.ScopeBusiness {
		s.add(row.Store, e)
	}
}

func (r *Retier) clv() CLVConfig { return r.CLV.withDefaults() }

// fitModels runs once per run, by the last pass-1 finisher: one fit per business and per
// store with enough customers. A fit that fails keeps the scope's previous model; the
// outcome of every scope is recorded on the run. Refitting on a redelivery gives the
// same model (the sample is chosen by hash), so the step is safe to repeat.
func (r *Retier) fitModels(ctx context.Context, run store.Run) (*store.RunCLV, error) {
	cfg := r.clv()
	if cfg.Disabled {
		return nil, nil
	}
	samples, err := r.Table.Samples(ctx, run.ID, cfg.FitSample)
	if err != nil {
		return nil, err
	}
	out := &store.RunCLV{Stores: map[string]store.ScopeFit{}}
	biz := samples[store.ScopeBusiness]
	if biz == nil {
		biz = &store.ScopeSample{}
	}
	if out.Business, err = r.fitScope(ctx, run, store.ScopeBusiness, biz, cfg.MinCustomers); err != nil {
		return nil, err
	}
	stores := make([]string, 0, len(samples))
	for k := range samples {
		if k != store.ScopeBusiness {
			stores = append(stores, k)
		}
	}
	sort.Strings(stores)
	for _, st := range stores {
		smp := samples[st]
		if smp.Customers < cfg.MinStoreCustomers {
			out.Stores[st] = store.ScopeFit{Status: store.FitSkipped, Customers: smp.Customers,
				Reason: fmt.Sprintf("%d customers with a purchase, a store model needs %d: the business model applies", smp.Customers, cfg.MinStoreCustomers)}
			continue
		}
		if out.Stores[st], err = r.fitScope(ctx, run, st, smp, cfg.MinStoreCustomers); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *Retier) fitScope(ctx context.Context, run store.Run, scope string, smp *store.ScopeSample, minN int) (store.ScopeFit, error) {
	cfg := r.clv()
	sf := store.ScopeFit{Customers: smp.Customers, N: len(smp.Entries)}
	ss := make([]clv.Summary, len(smp.Entries))
	for i, e := range smp.Entries {
		ss[i] = e.S
	}
	cal := clv.Calibration{End: dayStart(run.Day), Period: cfg.Period}
	m, fitErr := clv.Fit(ss, cal, run.ID, clv.FitOptions{MinCustomers: minN})
	if fitErr == nil {
		sm := store.StoredModel{Version: run.ID, Scope: scope, AsOf: run.AsOf, N: m.Purchases.Fit.N,
			LogLik: m.Purchases.Fit.LogLik, Warnings: warnings(m), Model: m}
		fitErr = r.Table.PutModel(ctx, cfg.Namespace, sm)
		if fitErr != nil && !errors.Is(fitErr, store.ErrNonFinite) {
			return sf, fitErr // a store error: the segment is retried
		}
	}
	if fitErr == nil {
		sf.Status, sf.ModelVersion = store.FitFitted, run.ID
		sf.N, sf.LogLik, sf.Iterations = m.Purchases.Fit.N, m.Purchases.Fit.LogLik, m.Purchases.Fit.Iterations
		sf.Warnings, sf.SpendError = warnings(m), m.SpendError
		return sf, nil
	}
	sf.Reason = fitErr.Error()
	prev, found, err := r.Table.CurrentModel(ctx, cfg.Namespace, scope)
	if err != nil {
		return sf, err
	}
	if found {
		sf.Status, sf.ModelVersion = store.FitKept, prev.Version
	} else {
		sf.Status = store.FitNone
	}
	r.Log.WarnContext(ctx, "retier: model not fitted", "run", run.ID, "scope", scope, "status", sf.Status, "n", sf.N, "reason", sf.Reason)
	return sf, nil
}

func warnings(m clv.Model) []string {
	w := append([]string(nil), m.Purchases.Fit.Warnings...)
	if m.Spend != nil {
		w = append(w, m.Spend.Fit.Warnings...)
	}
	return w
}

// dayStart is the business day as a date (what the model counts days by).
func dayStart(day string) time.Time {
	t, _ := time.Parse(time.DateOnly, day)
	return t
}

// models are the fitted models pass 2 applies, by scope.
type models map[string]*store.StoredModel

// loadModels reads the versions the run chose (a few GetItems per segment).
func (r *Retier) loadModels(ctx context.Context, run store.Run) (models, error) {
	out := models{}
	if run.CLV == nil {
		return out, nil
	}
	scopes := map[string]store.ScopeFit{store.ScopeBusiness: run.CLV.Business}
	for k, v := range run.CLV.Stores {
		scopes[k] = v
	}
	for scope, sf := range scopes {
		if sf.ModelVersion == "" {
			continue
		}
		m, found, err := r.Table.ModelVersion(ctx, r.clv().Namespace, scope, sf.ModelVersion)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("run %s: model %s of %s not found", run.ID, sf.ModelVersion, scope)
		}
		out[scope] = &m
	}
	return out, nil
}

// forStore is the store's own model if it has one, else the business model (nil: none).
func (ms models) forStore(st string) *store.StoredModel {
	if m := ms[st]; m != nil && st != "" {
		return m
	}
	return ms[store.ScopeBusiness]
}

// predict is the customer's prediction as of the run; nil when there is no model or the
// customer never bought.
func (r *Retier) predict(run store.Run, ms models, row store.ProfileRow) (*store.ProfileCLV, error) {
	m := ms.forStore(row.Store)
	if m == nil {
		return nil, nil
	}
	cfg := r.clv()
	occ := row.OccasionsOrEstimate()
	s, ok := occ.Summary(run.Day, m.Model.Calibration.Period)
	if !ok {
		return nil, nil
	}
	p, err := m.Model.Predict(s, cfg.Outlook)
	if err != nil {
		return nil, fmt.Errorf("predict %s: %w", row.ID, err)
	}
	out := &store.ProfileCLV{
		PAlive: round(p.PAlive, 4), ExpectedPurchases: round(p.ExpectedPurchases, 4),
		ExpectedSpend: money(p.ExpectedSpend), CLV: money(p.CLV), Risk: p.Risk,
		ModelVersion: m.Version, At: run.Day,
	}
	out.Explanation = explain(*out, occ, m, cfg)
	if !out.Finite() {
		return nil, fmt.Errorf("predict %s: %w", row.ID, store.ErrNonFinite)
	}
	return out, nil
}

// explain says why, in one line with no personal data:
// "P(alive)=0.27 (high risk): last purchase 2024-08-14 after 6 purchase days; …".
func explain(p store.ProfileCLV, occ store.Occasions, m *store.StoredModel, cfg CLVConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "P(alive)=%.2f (%s risk): last purchase %s after %d purchase day", p.PAlive, p.Risk, occ.Last, occ.Days)
	if occ.Days != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, "; %.2f purchases expected in %d days", p.ExpectedPurchases, cfg.Outlook.PurchaseDays)
	if m.Model.Spend != nil {
		fmt.Fprintf(&b, ", %d-month CLV %s", cfg.Outlook.CLVMonths, p.CLV.String())
	}
	scope := "business"
	if m.Scope != store.ScopeBusiness {
		scope = "store"
	}
	bg := m.Model.Purchases
	fmt.Fprintf(&b, "; %s model %s BG/NBD r=%.3g α=%.3g a=%.3g b=%.3g", scope, m.Version, bg.R, bg.Alpha, bg.A, bg.B)
	return b.String()
}

func round(v float64, places int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	k := math.Pow(10, float64(places))
	return math.Round(v*k) / k
}

// money rounds to minor units, saturating instead of overflowing.
func money(v float64) model.Money {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64/2:
		return math.MaxInt64 / 2
	case v <= -math.MaxInt64/2:
		return -math.MaxInt64 / 2
	}
	return model.Money(math.Round(v))
}

// clvMoved says whether a new prediction differs materially from the stored one: another
// risk band, or a value more than 1% (relative) away. A new model version alone is not a
// change, so a night that refits an unchanged base writes nothing.
func clvMoved(prev, next *store.ProfileCLV) bool {
	if next == nil {
		return false
	}
	if prev == nil || prev.Risk != next.Risk {
		return true
	}
	rel := func(a, b, floor float64) bool {
		d := math.Abs(a - b)
		return d > floor && d > 0.01*math.Max(math.Abs(a), math.Abs(b))
	}
	return rel(prev.PAlive, next.PAlive, 1e-4) || rel(prev.ExpectedPurchases, next.ExpectedPurchases, 1e-4) ||
		rel(float64(prev.ExpectedSpend), float64(next.ExpectedSpend), 1) || rel(float64(prev.CLV), float64(next.CLV), 1)
}

// retentionRule is the policy rule "P(alive) below the threshold and tier A".
func (r *Retier) retentionRule(tier model.Tier, p *store.ProfileCLV) bool {
	return p != nil && tier == model.TierA && p.PAlive < r.clv().RetentionBelow
}

// planRetention hands a newly at-risk tier A customer to the follow-up planner as a
// tier-change trigger from A to B ("downgrade risk"); the ref makes it once per run.
func (r *Retier) planRetention(ctx context.Context, run store.Run, id string, sum *store.RunSummary) {
	if r.Planner == nil {
		return
	}
	_, err := r.Planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: id,
		Ref: "clv-retention#" + run.ID, At: run.AsOf, FromTier: model.TierA, ToTier: model.TierB})
	if err != nil {
		sum.FollowupPlanFails++
		r.Log.WarnContext(ctx, "retier: retention follow-up not planned; retentionDue stays on the profile", "run", run.ID, "customer", id, "err", err)
	}
}

// planMoves hands tonight's tier and stage moves to the follow-up planner: a tier up
// is congratulated, a tier down gets a retention call, a customer entering dormant,
// sleeping or churned gets the cadence the policy names for that stage. The first tier a
// customer ever gets is not a move. Refs carry the run id, so a redelivered segment plans
// nothing twice.
func (r *Retier) planMoves(ctx context.Context, run store.Run, row store.ProfileRow, from model.Tier, next tiering.Assignment, sum *store.RunSummary) {
	if r.Planner == nil {
		return
	}
	var ts []followup.Trigger
	if from != "" && next.Tier != "" && next.Tier != from {
		ts = append(ts, followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: row.ID,
			Ref: "tier#" + run.ID, At: run.AsOf, FromTier: from, ToTier: next.Tier, Stage: next.Stage})
	}
	prevStage := row.Assignment.Stage
	if row.LastRun == run.ID {
		prevStage = "" // already planned by the delivery that wrote this run's answer
	}
	if prevStage != "" && next.Stage != prevStage {
		ts = append(ts, followup.Trigger{Kind: followup.TriggerStageEntered, CustomerID: row.ID,
			Ref: "stage-" + string(next.Stage) + "#" + run.ID, At: run.AsOf, Stage: next.Stage})
	}
	for _, t := range ts {
		if _, err := r.Planner.Handle(ctx, t); err != nil {
			sum.FollowupPlanFails++
			r.Log.WarnContext(ctx, "retier: follow-up not planned", "run", run.ID, "customer", row.ID, "trigger", string(t.Kind), "err", err)
		}
	}
}

// assessCLV is pass 2's model step for one customer: the prediction, whether it moved,
// and the retention flag when the rule newly holds.
func (r *Retier) assessCLV(run store.Run, ms models, row store.ProfileRow, next tiering.Assignment) (pred *store.ProfileCLV, extras store.Extras, moved, retain, flagged bool, err error) {
	pred, err = r.predict(run, ms, row)
	if err != nil || pred == nil {
		return nil, store.Extras{}, false, false, false, err
	}
	retain = r.retentionRule(next.Tier, pred)
	already := row.RetentionRun == run.ID // this run flagged it (a redelivered segment)
	before := r.retentionRule(row.Assignment.Tier, row.CLV)
	if clvMoved(row.CLV, pred) {
		extras.CLV, moved = pred, true
	}
	if retain && !before && !already {
		at := run.AsOf
		extras.RetentionDue, extras.CLV, moved = &at, pred, true
	}
	return pred, extras, moved, retain, retain && (already || extras.RetentionDue != nil), nil
}

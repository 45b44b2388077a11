package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/model"
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
	// RetentionBelow: tier A customers with P(alive) under it are due a retention touch
	// (the retention rule, retention.go).
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

// ScopeBusiness names the whole-business sample and model; a store's is its name.
const ScopeBusiness = "*"

// SampleEntry is one customer in a pass-1 sample: the hash that chose it, and its summary.
type SampleEntry struct {
	Hash uint32
	S    clv.Summary
}

// SegmentSample is one segment's sample of one scope: the customers with a purchase it
// saw in the scope, and the entries with the lowest hashes. Threshold is the highest hash
// kept when the segment had more customers than the sample holds (the sample is complete
// below it), math.MaxUint32 when it kept them all.
type SegmentSample struct {
	Segment   int
	Scope     string
	Customers int
	Threshold uint32
	Entries   []SampleEntry
}

// ScopeSample is what pass 1 collected for one scope over all segments.
type ScopeSample struct {
	Customers int           // customers with a purchase in the scope (all of them, not only the sample)
	Entries   []SampleEntry // the lowest hashes, at most the cap asked for
}

// StoredModel is one fitted model version of one scope.
type StoredModel struct {
	Version  string    `dynamodbav:"version" json:"version"` // the run that fitted it
	Scope    string    `dynamodbav:"scope" json:"scope"`
	AsOf     time.Time `dynamodbav:"asOf" json:"asOf"`
	N        int       `dynamodbav:"n" json:"n"` // customers in the fit
	LogLik   float64   `dynamodbav:"logLik" json:"logLik"`
	Warnings []string  `dynamodbav:"warnings,omitempty" json:"warnings,omitempty"`
	Model    clv.Model `dynamodbav:"-" json:"model"`
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
	entries   map[string][]SampleEntry
	customers map[string]int
}

func newSampler(capacity int) *sampler {
	return &sampler{cap: capacity, entries: map[string][]SampleEntry{}, customers: map[string]int{}}
}

func (s *sampler) add(scope string, e SampleEntry) {
	s.customers[scope]++
	s.entries[scope] = append(s.entries[scope], e)
	if len(s.entries[scope]) >= 2*s.cap { // keep memory bounded on big segments
		s.entries[scope] = s.trim(s.entries[scope])
	}
}

func (s *sampler) trim(es []SampleEntry) []SampleEntry {
	sort.Slice(es, func(i, j int) bool { return es[i].Hash < es[j].Hash })
	if len(es) > s.cap {
		es = es[:s.cap]
	}
	return es
}

// segmentSamples is the segment's sample of each scope, in scope order.
func (s *sampler) segmentSamples(seg int) []SegmentSample {
	scopes := make([]string, 0, len(s.entries))
	for k := range s.entries {
		scopes = append(scopes, k)
	}
	sort.Strings(scopes)
	out := make([]SegmentSample, 0, len(scopes))
	for _, scope := range scopes {
		es := s.trim(s.entries[scope])
		threshold := uint32(math.MaxUint32)
		if s.customers[scope] > len(es) && len(es) > 0 {
			threshold = 0
			for _, e := range es {
				threshold = max(threshold, e.Hash)
			}
		}
		out = append(out, SegmentSample{Segment: seg, Scope: scope, Customers: s.customers[scope], Threshold: threshold, Entries: es})
	}
	return out
}

// mergeSamples merges every segment's samples per scope: the entries whose hash is below
// every full segment's threshold (so each segment contributes at the same rate), then at
// most maxPerScope of them with the lowest hashes. The result is a uniform sample of the
// scope's customers chosen by hash, the same however the table was split into segments
// and however often a segment was redelivered.
func mergeSamples(segs []SegmentSample, maxPerScope int) map[string]*ScopeSample {
	out := map[string]*ScopeSample{}
	threshold := map[string]uint32{}
	for _, s := range segs {
		m := out[s.Scope]
		if m == nil {
			m = &ScopeSample{}
			out[s.Scope] = m
			threshold[s.Scope] = math.MaxUint32
		}
		threshold[s.Scope] = min(threshold[s.Scope], s.Threshold)
		m.Customers += s.Customers
		m.Entries = append(m.Entries, s.Entries...)
	}
	for scope, m := range out {
		kept := m.Entries[:0]
		for _, e := range m.Entries {
			if e.Hash <= threshold[scope] {
				kept = append(kept, e)
			}
		}
		m.Entries = kept
		sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Hash < m.Entries[j].Hash })
		if len(m.Entries) > maxPerScope {
			m.Entries = m.Entries[:maxPerScope]
		}
	}
	return out
}

func (n *Nightly) clv() CLVConfig { return n.CLV.withDefaults() }

// sampleState adds one customer to the pass-1 sample, business-wide and for its store.
func (n *Nightly) sampleState(s *sampler, run Run, p TierState) {
	if n.CLV.Disabled {
		return
	}
	occ := p.OccasionsOrEstimate()
	sum, ok := occ.Summary(run.Day, n.clv().Period)
	if !ok || sum.Validate() != nil {
		return
	}
	e := SampleEntry{Hash: idHash(p.ID), S: sum}
	s.add(ScopeBusiness, e)
	if p.Store != "" && p.Store != ScopeBusiness {
		s.add(p.Store, e)
	}
}

// saveSamples writes the segment's sample of each scope.
func (n *Nightly) saveSamples(ctx context.Context, runID string, seg int, s *sampler) error {
	for _, smp := range s.segmentSamples(seg) {
		if err := n.Models.PutSample(ctx, runID, smp); err != nil {
			return err
		}
	}
	return nil
}

// fitModels runs once per run, by the last pass-1 finisher: one fit per business and per
// store with enough customers. A fit that fails keeps the scope's previous model; the
// outcome of every scope is recorded on the run. Refitting on a redelivery gives the
// same model (the sample is chosen by hash), so the step is safe to repeat.
func (n *Nightly) fitModels(ctx context.Context, run Run) (*RunCLV, error) {
	cfg := n.clv()
	if cfg.Disabled {
		return nil, nil
	}
	segs, err := n.Models.Samples(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	samples := mergeSamples(segs, cfg.FitSample)
	out := &RunCLV{Stores: map[string]ScopeFit{}}
	biz := samples[ScopeBusiness]
	if biz == nil {
		biz = &ScopeSample{}
	}
	if out.Business, err = n.fitScope(ctx, run, ScopeBusiness, biz, cfg.MinCustomers); err != nil {
		return nil, err
	}
	stores := make([]string, 0, len(samples))
	for k := range samples {
		if k != ScopeBusiness {
			stores = append(stores, k)
		}
	}
	sort.Strings(stores)
	for _, st := range stores {
		smp := samples[st]
		if smp.Customers < cfg.MinStoreCustomers {
			out.Stores[st] = ScopeFit{Status: FitSkipped, Customers: smp.Customers,
				Reason: fmt.Sprintf("%d customers with a purchase, a store model needs %d: the business model applies", smp.Customers, cfg.MinStoreCustomers)}
			continue
		}
		if out.Stores[st], err = n.fitScope(ctx, run, st, smp, cfg.MinStoreCustomers); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (n *Nightly) fitScope(ctx context.Context, run Run, scope string, smp *ScopeSample, minN int) (ScopeFit, error) {
	cfg := n.clv()
	sf := ScopeFit{Customers: smp.Customers, N: len(smp.Entries)}
	ss := make([]clv.Summary, len(smp.Entries))
	for i, e := range smp.Entries {
		ss[i] = e.S
	}
	cal := clv.Calibration{End: dayStart(run.Day), Period: cfg.Period}
	m, fitErr := clv.Fit(ss, cal, run.ID, clv.FitOptions{MinCustomers: minN})
	if fitErr == nil {
		sm := StoredModel{Version: run.ID, Scope: scope, AsOf: run.AsOf, N: m.Purchases.Fit.N,
			LogLik: m.Purchases.Fit.LogLik, Warnings: warnings(m), Model: m}
		fitErr = n.Models.PutModel(ctx, cfg.Namespace, sm)
		if fitErr != nil && !errors.Is(fitErr, ErrNonFinite) {
			return sf, fitErr // a store error: the segment is retried
		}
	}
	if fitErr == nil {
		sf.Status, sf.ModelVersion = FitFitted, run.ID
		sf.N, sf.LogLik, sf.Iterations = m.Purchases.Fit.N, m.Purchases.Fit.LogLik, m.Purchases.Fit.Iterations
		sf.Warnings, sf.SpendError = warnings(m), m.SpendError
		return sf, nil
	}
	sf.Reason = fitErr.Error()
	prev, found, err := n.Models.CurrentModel(ctx, cfg.Namespace, scope)
	if err != nil {
		return sf, err
	}
	if found {
		sf.Status, sf.ModelVersion = FitKept, prev.Version
	} else {
		sf.Status = FitNone
	}
	n.Log.WarnContext(ctx, "retier: model not fitted", "run", run.ID, "scope", scope, "status", sf.Status, "n", sf.N, "reason", sf.Reason)
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
type models map[string]*StoredModel

// loadModels reads the versions the run chose (a few reads per segment).
func (n *Nightly) loadModels(ctx context.Context, run Run) (models, error) {
	out := models{}
	if run.CLV == nil {
		return out, nil
	}
	scopes := map[string]ScopeFit{ScopeBusiness: run.CLV.Business}
	for k, v := range run.CLV.Stores {
		scopes[k] = v
	}
	for scope, sf := range scopes {
		if sf.ModelVersion == "" {
			continue
		}
		m, found, err := n.Models.ModelVersion(ctx, n.clv().Namespace, scope, sf.ModelVersion)
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
func (ms models) forStore(st string) *StoredModel {
	if m := ms[st]; m != nil && st != "" {
		return m
	}
	return ms[ScopeBusiness]
}

// predict is the customer's prediction as of the run; nil when there is no model or the
// customer never bought.
func (n *Nightly) predict(run Run, ms models, p TierState) (*clv.ProfileCLV, error) {
	m := ms.forStore(p.Store)
	if m == nil {
		return nil, nil
	}
	cfg := n.clv()
	occ := p.OccasionsOrEstimate()
	s, ok := occ.Summary(run.Day, m.Model.Calibration.Period)
	if !ok {
		return nil, nil
	}
	pr, err := m.Model.Predict(s, cfg.Outlook)
	if err != nil {
		return nil, fmt.Errorf("predict %s: %w", p.ID, err)
	}
	out := &clv.ProfileCLV{
		PAlive: round(pr.PAlive, 4), ExpectedPurchases: round(pr.ExpectedPurchases, 4),
		ExpectedSpend: money(pr.ExpectedSpend), CLV: money(pr.CLV), Risk: pr.Risk,
		ModelVersion: m.Version, At: run.Day,
	}
	out.StoreModel = m.Scope != ScopeBusiness
	out.Explanation = out.Explain()
	if !out.Finite() {
		return nil, fmt.Errorf("predict %s: %w", p.ID, ErrNonFinite)
	}
	return out, nil
}

// modelStep is pass 2's customer-base model step for one customer: tonight's prediction,
// the one to write (it moved materially, or the retention flag goes with it; nil:
// nothing to write for the model) and the retention rule's outcome.
type modelStep struct {
	pred  *clv.ProfileCLV
	write *clv.ProfileCLV
	retention
}

func (n *Nightly) modelStep(run Run, ms models, p TierState, next tiering.Assignment) (modelStep, error) {
	pred, err := n.predict(run, ms, p)
	if err != nil || pred == nil {
		return modelStep{}, err
	}
	st := modelStep{pred: pred, retention: retentionOf(run, p, next, pred, n.clv().RetentionBelow)}
	if clvMoved(p.CLV, pred) || st.due != nil {
		st.write = pred
	}
	return st, nil
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

// clvMoved says whether a new prediction differs materially from the stored one: the
// first one, another risk band, or a CLV more than 25 % (relative) away from the stored
// one. P(alive) and the expected figures drift every night as recency grows; a 1 % rule
// rewrote most buyers every night (issue #13), the bands rewrite a customer when people
// or rules would see a difference. A new model version alone is not a change.
func clvMoved(prev, next *clv.ProfileCLV) bool {
	if next == nil {
		return false
	}
	if prev == nil || prev.Risk != next.Risk {
		return true
	}
	a, b := float64(prev.CLV), float64(next.CLV)
	d := math.Abs(a - b)
	return d > 1 && d > 0.25*math.Max(math.Abs(a), math.Abs(b))
}

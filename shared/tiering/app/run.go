package app

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Run statuses, in order.
const (
	RunPass1 = "pass1" // segments summarise the base
	RunPass2 = "pass2" // segments assess every customer
	RunDone  = "done"
)

// Run is a nightly (or requested) re-tier run: the header item RUN#id / RUN.
type Run struct {
	ID            string      `dynamodbav:"id" json:"id"`
	AsOf          time.Time   `dynamodbav:"asOf" json:"asOf"`
	Day           string      `dynamodbav:"day" json:"day"` // business day of AsOf
	Segments      int         `dynamodbav:"segments" json:"segments"`
	PolicyVersion int         `dynamodbav:"policyVersion" json:"policyVersion"`
	Policy        string      `dynamodbav:"policy" json:"-"` // the document every worker uses
	Status        string      `dynamodbav:"status" json:"status"`
	Pass1Done     int         `dynamodbav:"pass1Done" json:"pass1Done"`
	Pass2Done     int         `dynamodbav:"pass2Done" json:"pass2Done"`
	Base          string      `dynamodbav:"base,omitempty" json:"-"` // merged quantile summary (JSON)
	CreatedAt     time.Time   `dynamodbav:"createdAt" json:"createdAt"`
	Pass1At       *time.Time  `dynamodbav:"pass1At,omitempty" json:"pass1At,omitempty"`
	FinishedAt    *time.Time  `dynamodbav:"finishedAt,omitempty" json:"finishedAt,omitempty"`
	Summary       *RunSummary `dynamodbav:"summary,omitempty" json:"summary,omitempty"`
	// PerStore: the run kept each store's summary (runs before it did are answered to
	// all-stores staff only).
	PerStore bool `dynamodbav:"perStore,omitempty" json:"-"`
	// CLV says which customer-base model each scope uses in pass 2, set by the last
	// pass-1 finisher: fitted this run, or kept from before with the reason.
	CLV *RunCLV `dynamodbav:"clv,omitempty" json:"clv,omitempty"`
	// PreviousRunID is the latest finished run when this one finished: the assessment its
	// migrations are measured against ("" for the first run).
	PreviousRunID string `dynamodbav:"previousRunId,omitempty" json:"previousRunId,omitempty"`
}

// RunCLV is the model outcome of a run, per scope.
type RunCLV struct {
	Business ScopeFit            `dynamodbav:"business" json:"business,omitzero"`
	Stores   map[string]ScopeFit `dynamodbav:"stores,omitempty" json:"stores,omitempty"`
}

// Fit outcomes of a scope.
const (
	FitFitted  = "fitted"  // a new model from this run
	FitKept    = "kept"    // this run's fit failed; the previous model stays
	FitNone    = "none"    // no model: the fit failed and there was none before
	FitSkipped = "skipped" // a store below the minimum: its customers use the business model
)

// ScopeFit is how one scope's fit went and which model version pass 2 uses.
type ScopeFit struct {
	Status       string   `dynamodbav:"status" json:"status"`
	ModelVersion string   `dynamodbav:"modelVersion,omitempty" json:"modelVersion,omitempty"` // "" with FitNone/FitSkipped
	Customers    int      `dynamodbav:"customers" json:"customers"`                           // with a purchase, in the scope
	N            int      `dynamodbav:"n" json:"n"`                                           // in the sample fitted
	LogLik       float64  `dynamodbav:"logLik,omitempty" json:"logLik,omitempty"`
	Iterations   int      `dynamodbav:"iterations,omitempty" json:"iterations,omitempty"`
	Warnings     []string `dynamodbav:"warnings,omitempty" json:"warnings,omitempty"`
	Reason       string   `dynamodbav:"reason,omitempty" json:"reason,omitempty"` // why not fitted
	SpendError   string   `dynamodbav:"spendError,omitempty" json:"spendError,omitempty"`
}

// RunSummary counts one run's outcome (or one segment's share of it).
type RunSummary struct {
	Customers int `dynamodbav:"customers" json:"customers"` // profiles seen
	// ReadUnits and WriteUnits are the request units the run's segments consumed, both
	// passes (Nightly.Units; 0 when not metered): what the night cost (issue #13).
	ReadUnits    float64                `dynamodbav:"rru" json:"rru"`
	WriteUnits   float64                `dynamodbav:"wru" json:"wru"`
	Leads        int                    `dynamodbav:"leads" json:"leads"`     // no transaction yet
	Changed      int                    `dynamodbav:"changed" json:"changed"` // profiles written
	TierChanges  int                    `dynamodbav:"tierChanges" json:"tierChanges"`
	Tiers        map[string]int         `dynamodbav:"tiers" json:"tiers"`
	Stages       map[string]int         `dynamodbav:"stages" json:"stages"`
	Revenue      map[string]model.Money `dynamodbav:"revenue" json:"revenue"` // net spend in the window per tier
	Migrations   map[string]int         `dynamodbav:"migrations" json:"migrations"`
	TotalRevenue model.Money            `dynamodbav:"totalRevenue" json:"totalRevenue"`
	// Top20Revenue is the net spend of the top fifth of customers by spend (the ⌈n/5⌉
	// largest, n = customers with a purchase in the window), computed when the run is done
	// from every customer's spend: exact for the business and for each store.
	Top20Revenue   model.Money `dynamodbav:"top20Revenue" json:"top20Revenue"`
	Top20Customers int         `dynamodbav:"top20Customers" json:"top20Customers"` // that ⌈n/5⌉
	Top20Cut       model.Money `dynamodbav:"top20Cut" json:"top20Cut"`             // the lowest spend among them
	// Shares are filled in when the run is done.
	RevenueShare map[string]float64 `dynamodbav:"revenueShare,omitempty" json:"revenueShare,omitempty"`
	Top20Share   float64            `dynamodbav:"top20Share" json:"top20Share"`
	// Top20Method says how Top20Share was reached: "exact" (one store, or the business),
	// or for several stores "sum of each store's top 20 %" — a lower bound of the stores'
	// joint share, at most Top20MaxError below it (docs/tiering.md).
	Top20Method   string   `dynamodbav:"top20Method,omitempty" json:"top20Method,omitempty"`
	Top20MaxError float64  `dynamodbav:"top20MaxError,omitempty" json:"top20MaxError,omitempty"`
	Stores        []string `dynamodbav:"stores,omitempty" json:"stores,omitempty"` // the stores a combined summary is of
	// Customer-base model: customers given a prediction, per risk band, and the retention
	// rule "P(alive) below the threshold and tier A": how many meet it tonight, how many
	// newly (flagged retentionDue on the profile), and follow-up plans that failed.
	Predicted         int            `dynamodbav:"predicted" json:"predicted"`
	Risk              map[string]int `dynamodbav:"risk,omitempty" json:"risk,omitempty"`
	AtRiskA           int            `dynamodbav:"atRiskA" json:"atRiskA"`
	RetentionDue      int            `dynamodbav:"retentionDue" json:"retentionDue"`
	FollowupPlanFails int            `dynamodbav:"followupPlanFails,omitempty" json:"followupPlanFails,omitempty"`
	// Report aggregates (issue #12, shared/tiering/{pareto,cohorts}.go): the Pareto curve
	// (exact for the business and for each store, set with the top fifth; merged for
	// several stores with ParetoMaxError), cohort retention and acquisition sources.
	Pareto         []tiering.ParetoPoint `dynamodbav:"pareto,omitempty" json:"pareto,omitempty"`
	ParetoMaxError float64               `dynamodbav:"paretoMaxError,omitempty" json:"paretoMaxError,omitempty"`
	Cohorts        tiering.Cohorts       `dynamodbav:"cohorts,omitempty" json:"-"` // served by the cohorts report
	Sources        tiering.Sources       `dynamodbav:"sources,omitempty" json:"-"` // served by the sources report
	// AtRisk is, in a store's summary, its AtRiskKept customers with the largest expected
	// loss tonight, largest first: the at-risk report reads it (no index of every
	// customer's prediction, so a prediction or a tier move writes the profile alone).
	AtRisk []AtRiskRow `dynamodbav:"atRisk,omitempty" json:"-"`
}

// AtRiskKept is how many customers of a store a run keeps for the at-risk report.
const AtRiskKept = 200

// AtRiskRow is one customer of the at-risk report: no contact data, only what the model
// and the tier say.
type AtRiskRow struct {
	ID           string         `dynamodbav:"id" json:"id"`
	Tier         model.Tier     `dynamodbav:"tier" json:"tier"`
	Stage        model.Stage    `dynamodbav:"stage" json:"stage"`
	CLV          clv.ProfileCLV `dynamodbav:"clv" json:"clv"`
	ExpectedLoss model.Money    `dynamodbav:"loss" json:"expectedLoss"`
}

// LossBefore orders the at-risk report: larger expected loss first, then by id.
func LossBefore(a, b AtRiskRow) bool {
	if a.ExpectedLoss != b.ExpectedLoss {
		return a.ExpectedLoss > b.ExpectedLoss
	}
	return a.ID < b.ID
}

// keepAtRisk adds a row, trimming to the AtRiskKept largest losses once the list holds
// twice as many (amortised: a segment of a million customers sorts a few thousand rows
// at a time).
func (s *RunSummary) keepAtRisk(r AtRiskRow) {
	s.AtRisk = append(s.AtRisk, r)
	if len(s.AtRisk) >= 2*AtRiskKept {
		s.trimAtRisk()
	}
}

// trimAtRisk sorts the list and keeps the AtRiskKept largest losses.
func (s *RunSummary) trimAtRisk() {
	slices.SortFunc(s.AtRisk, func(a, b AtRiskRow) int {
		switch {
		case LossBefore(a, b):
			return -1
		case LossBefore(b, a):
			return 1
		}
		return 0
	})
	if len(s.AtRisk) > AtRiskKept {
		s.AtRisk = slices.Clip(s.AtRisk[:AtRiskKept])
	}
}

// NewRunSummary returns an empty summary with its maps made.
func NewRunSummary() *RunSummary {
	return &RunSummary{Tiers: map[string]int{}, Stages: map[string]int{}, Revenue: map[string]model.Money{}, Migrations: map[string]int{},
		Risk: map[string]int{}}
}

// Add merges another segment's counts.
func (s *RunSummary) Add(o *RunSummary) {
	s.Customers += o.Customers
	s.ReadUnits += o.ReadUnits
	s.WriteUnits += o.WriteUnits
	s.Leads += o.Leads
	s.Changed += o.Changed
	s.TierChanges += o.TierChanges
	s.TotalRevenue += o.TotalRevenue
	s.Top20Revenue += o.Top20Revenue
	s.Top20Customers += o.Top20Customers
	s.Predicted += o.Predicted
	s.AtRiskA += o.AtRiskA
	s.RetentionDue += o.RetentionDue
	s.FollowupPlanFails += o.FollowupPlanFails
	if s.Risk == nil {
		s.Risk = map[string]int{}
	}
	for k, v := range o.Risk {
		s.Risk[k] += v
	}
	for k, v := range o.Tiers {
		s.Tiers[k] += v
	}
	for k, v := range o.Stages {
		s.Stages[k] += v
	}
	for k, v := range o.Revenue {
		s.Revenue[k] += v
	}
	for k, v := range o.Migrations {
		s.Migrations[k] += v
	}
	if len(o.Cohorts) > 0 {
		if s.Cohorts == nil {
			s.Cohorts = tiering.Cohorts{}
		}
		s.Cohorts.Add(o.Cohorts)
	}
	if len(o.Sources) > 0 {
		if s.Sources == nil {
			s.Sources = tiering.Sources{}
		}
		s.Sources.Add(o.Sources)
	}
	if len(o.AtRisk) > 0 {
		s.AtRisk = append(s.AtRisk, o.AtRisk...)
		s.trimAtRisk()
	}
}

// countReports adds one assessed customer to the report aggregates (cohorts and sources).
func countReports(s *RunSummary, pol *tiering.Policy, asOf time.Time, p TierState, next tiering.Assignment) {
	if s.Cohorts == nil {
		s.Cohorts = tiering.Cohorts{}
	}
	if s.Sources == nil {
		s.Sources = tiering.Sources{}
	}
	s.Cohorts.Count(pol, &p.Aggregates, next.Tier, asOf)
	s.Sources.Count(p.Source, p.Campaign, next.Metrics.HasHistory, next.Metrics.Monetary)
}

// Finish computes the shares.
func (s *RunSummary) Finish() {
	s.RevenueShare = map[string]float64{}
	if s.TotalRevenue <= 0 {
		return
	}
	for k, v := range s.Revenue {
		s.RevenueShare[k] = float64(v) / float64(s.TotalRevenue)
	}
	s.Top20Share = float64(s.Top20Revenue) / float64(s.TotalRevenue)
}

// NoStore stands for "customers without a store" in a run's per-store shares: a name no
// store can have (store ids are [A-Za-z0-9._:-]), counted in the business total only.
const NoStore = "~"

// Pass1Result is what a pass-1 segment leaves: its customers' quantile summary
// (tiering.Base as JSON) and how many customers it saw.
type Pass1Result struct {
	Base      string `dynamodbav:"base"`
	Customers int    `dynamodbav:"customers"`
	// The request units the segment's pass 1 consumed (Nightly.Units).
	ReadUnits  float64 `dynamodbav:"rru,omitempty"`
	WriteUnits float64 `dynamodbav:"wru,omitempty"`
}

// RunStep is what a status change records on the run header besides the status.
type RunStep struct {
	Pass1At    *time.Time  // pass1 → pass2
	Summary    *RunSummary // pass2 → done: the business total
	PerStore   bool        // pass2 → done: each store's summary was kept (RUN#id / STORE#…)
	FinishedAt *time.Time  // pass2 → done
	// PreviousRunID: pass2 → done, the latest finished run before this one.
	PreviousRunID string
}

// SegmentMsg is one unit of work on the retier queue (its JSON is the message body).
// Pass 0 is a start request queued by the API (POST /v1/retier).
type SegmentMsg struct {
	RunID   string     `json:"runId"`
	Pass    int        `json:"pass"`
	Segment int        `json:"segment"`
	AsOf    *time.Time `json:"asOf,omitempty"` // pass 0 only
}

// StartRequest starts a run: the schedule sends {"action":"nightly"}; the API may give an
// as-of time (a re-run of the same as-of changes nothing).
type StartRequest struct {
	Action string     `json:"action"`
	AsOf   *time.Time `json:"asOf,omitempty"`
	RunID  string     `json:"runId,omitempty"`
}

// NightlyID is the id of the schedule's run of a business day: a schedule that fires
// twice starts one run.
func NightlyID(asOf time.Time) string { return "night-" + asOf.Format(time.DateOnly) }

// NewRunID names a run requested by hand.
func NewRunID(asOf time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "run-" + asOf.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// FinishTop20 sets a summary's top-fifth figures from its customers' spends, exactly,
// then its shares.
func (s *RunSummary) FinishTop20(spends []model.Money) {
	s.Top20Revenue, s.Top20Customers, s.Top20Cut = tiering.Top20(spends)
	s.Top20Method, s.Top20MaxError = "exact", 0
	s.Pareto, s.ParetoMaxError = tiering.Pareto(spends), 0
	s.Finish()
}

// CombineStores is the summary of several stores from each one's finished summary. Counts
// and revenue add up exactly. The top fifth of several stores together is not in their
// summaries; the share given is that of each store's own top fifth (Σ top_i / Σ revenue_i),
// a lower bound of the joint share. Whatever the stores' customers, the joint top K
// (K = Σ k_i) differs from the union of the stores' tops only by customers traded across
// stores' cuts, each worth between the lowest and highest cut, and at most min(K, n−K) of
// them: Top20MaxError = min(K, n−K)·(max cut − min cut) / total revenue (0 when every
// store's cut is the same, or for one store).
func CombineStores(parts map[string]*RunSummary, stores []string) *RunSummary {
	out := NewRunSummary()
	out.Stores = slices.Clone(stores)
	slices.Sort(out.Stores)
	var withBuyers []*RunSummary
	var curves [][]tiering.ParetoPoint
	for _, st := range out.Stores {
		p, ok := parts[st]
		if !ok {
			continue
		}
		out.Add(p)
		curves = append(curves, p.Pareto)
		if p.Top20Customers > 0 {
			withBuyers = append(withBuyers, p)
		}
	}
	out.Finish()
	out.Pareto, out.ParetoMaxError = tiering.MergePareto(curves)
	switch len(withBuyers) {
	case 0:
		out.Top20Method = "exact"
	case 1:
		out.Top20Cut, out.Top20Method = withBuyers[0].Top20Cut, "exact"
	default:
		out.Top20Method = "sum of each store's top 20 %"
		lo, hi := withBuyers[0].Top20Cut, withBuyers[0].Top20Cut
		for _, p := range withBuyers[1:] {
			lo, hi = min(lo, p.Top20Cut), max(hi, p.Top20Cut)
		}
		n := 0
		for _, v := range out.Tiers {
			n += v
		}
		traded := min(out.Top20Customers, n-out.Top20Customers)
		if out.TotalRevenue > 0 {
			out.Top20MaxError = math.Min(1-out.Top20Share, float64(traded)*float64(hi-lo)/float64(out.TotalRevenue))
		}
	}
	return out
}

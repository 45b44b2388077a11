package tiering

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// ErrNoCuts is returned when a quantile policy is assessed without the base's cut points.
var ErrNoCuts = errors.New("quantile scoring needs the base's cut points (pass 1)")

// Scores are the RFM-T scores: R, F and M from 1 (lowest fifth or threshold) to 5, T the
// growth of spend as a fraction (+0.18 is +18%).
type Scores struct {
	R int     `json:"r"`
	F int     `json:"f"`
	M int     `json:"m"`
	T float64 `json:"t"`
}

// Assignment is what the engine decides for one customer on one day, with the state the
// downgrade grace needs for the next night.
type Assignment struct {
	Tier          model.Tier  `json:"tier"`
	Stage         model.Stage `json:"stage"`
	Scores        Scores      `json:"scores"`
	Metrics       Metrics     `json:"metrics"`
	Computed      model.Tier  `json:"computed"` // what tonight's scores alone say
	Reason        string      `json:"reason"`
	PolicyVersion int         `json:"policyVersion"`
	AssessedOn    string      `json:"assessedOn"`           // business day, YYYY-MM-DD
	BelowSince    string      `json:"belowSince,omitempty"` // first night scores said lower
	GraceNights   int         `json:"graceNights,omitempty"`
}

// Changed reports whether next crosses a boundary a person or a follow-up rule acts on —
// tier, stage, the tier the scores alone say, entering or leaving the downgrade grace,
// the policy — so the nightly run writes only customers whose answer moved. Scores,
// metrics and the grace's night count drift every night as recency grows; they are
// stored as of AssessedOn, the last night that wrote, and recomputed by every night.
func (a Assignment) Changed(next Assignment) bool {
	return a.Tier != next.Tier || a.Stage != next.Stage || a.Computed != next.Computed ||
		a.BelowSince != next.BelowSince || a.PolicyVersion != next.PolicyVersion
}

// nightsSince counts the business days from since to day, both included (YYYY-MM-DD).
func nightsSince(since, day string) int {
	s, err1 := time.Parse(time.DateOnly, since)
	d, err2 := time.Parse(time.DateOnly, day)
	if err1 != nil || err2 != nil || d.Before(s) {
		return 1
	}
	return int(d.Sub(s).Hours()/24) + 1
}

// Score turns metrics into RFM-T scores. id breaks ties in quantile mode.
func (p *Policy) Score(m Metrics, cuts *Cuts, id string) (Scores, error) {
	s := Scores{T: m.Trend}
	if !m.HasHistory {
		return s, nil
	}
	if p.Scoring.Mode == ModeQuantile {
		if cuts == nil {
			return s, ErrNoCuts
		}
		s.R = 5 - cuts.R.Quintile(int64(m.RecencyDays), id)
		s.F = 1 + cuts.F.Quintile(int64(m.Frequency), id)
		s.M = 1 + cuts.M.Quintile(int64(m.Monetary), id)
		return s, nil
	}
	sc := p.Scoring
	s.R, s.F, s.M = 1, 1, 1
	for i, days := range sc.RecencyDays {
		if m.RecencyDays <= days {
			s.R = i + 2
		}
	}
	perMonth := float64(m.Frequency) / float64(max(m.ActiveMonths, 1))
	for i, f := range sc.FrequencyPerMonth {
		if perMonth >= f {
			s.F = i + 2
		}
	}
	for i, a := range sc.AverageOrder {
		if m.Frequency > 0 && m.AverageOrder > model.Money(a) {
			s.M = i + 2
		}
	}
	return s, nil
}

// Total is the combined score the tier thresholds apply to.
func (p *Policy) Total(s Scores) int {
	w := p.Tiers.Weights
	total := w.R*s.R + w.F*s.F + w.M*s.M
	switch {
	case p.Trend.Points == 0:
	case s.T >= p.Trend.BoostAbove:
		total += p.Trend.Points
	case s.T <= p.Trend.PenaltyBelow:
		total -= p.Trend.Points
	}
	return total
}

// TierFor maps scores to a tier.
func (p *Policy) TierFor(s Scores) model.Tier {
	switch t := p.Total(s); {
	case t >= p.Tiers.AMin:
		return model.TierA
	case t >= p.Tiers.BMin:
		return model.TierB
	}
	return model.TierC
}

// StageFor places a customer in the lifecycle from recency and tenure.
func (p *Policy) StageFor(m Metrics) model.Stage {
	l := p.Lifecycle
	switch {
	case !m.HasHistory:
		return model.StageLead
	case m.RecencyDays > l.ChurnedDays:
		return model.StageChurned
	case m.RecencyDays > l.SleepingDays:
		return model.StageSleeping
	case m.RecencyDays > l.DormantDays:
		return model.StageDormant
	case m.TenureDays <= l.NewDays:
		return model.StageNew
	}
	return model.StageActive
}

// instantTier is the highest tier an instant rule grants, and the rule that grants it.
func (p *Policy) instantTier(spend model.Money) (model.Tier, *InstantRule) {
	best, rule := model.TierNone, (*InstantRule)(nil)
	for i := range p.InstantUpgrades {
		r := &p.InstantUpgrades[i]
		if spend > model.Money(r.WindowSpendOver) && r.Tier.Rank() > best.Rank() {
			best, rule = r.Tier, r
		}
	}
	return best, rule
}

// Assess decides one customer's tier and stage for the business day of asOf. prev is the
// stored assignment (zero for a customer never assessed). Upgrades apply at once; a
// downgrade waits until the scores have said "lower" for GraceNights consecutive nights,
// so a customer between two tiers does not flicker. Running the same night twice gives
// the same answer: a night below is counted once per business day.
func Assess(p *Policy, cuts *Cuts, id string, agg *Aggregates, prev Assignment, asOf time.Time) (Assignment, error) {
	m := agg.Metrics(p, asOf)
	s, err := p.Score(m, cuts, id)
	if err != nil {
		return Assignment{}, fmt.Errorf("assess customer: %w", err)
	}
	day := asOf.Format(time.DateOnly)
	a := Assignment{Stage: p.StageFor(m), Scores: s, Metrics: m, PolicyVersion: p.Version, AssessedOn: day}
	if !m.HasHistory {
		a.Reason = fmt.Sprintf("lead: no purchase yet, policy v%d", p.Version)
		return a, nil
	}
	computed := p.TierFor(s)
	why := ""
	if t, rule := p.instantTier(m.Monetary); t.Rank() > computed.Rank() {
		computed, why = t, fmt.Sprintf(" (instant rule %q)", rule.Name)
	}
	a.Computed = computed

	switch {
	case prev.Tier == model.TierNone || computed.Rank() >= prev.Tier.Rank():
		a.Tier = computed
	default:
		// The grace is counted from the date it began, not by a count each night adds
		// to: a quiet night computes the same answer without writing one (issue #13).
		since := prev.BelowSince
		if since == "" {
			since = day
		}
		nights := nightsSince(since, day)
		if nights >= p.Downgrade.GraceNights {
			a.Tier = computed
			why += fmt.Sprintf(" after %d nights below %s", nights, prev.Tier)
			break
		}
		a.Tier, a.GraceNights, a.BelowSince = prev.Tier, nights, prev.BelowSince
		if a.BelowSince == "" {
			a.BelowSince = day
		}
		why = fmt.Sprintf(" held: scores say %s%s, night %d of %d", computed, why, nights, p.Downgrade.GraceNights)
	}
	a.Reason = fmt.Sprintf("%s (%s)%s: R=%d F=%d M=%d T=%s, policy v%d",
		a.Tier, p.Name(a.Tier), why, s.R, s.F, s.M, formatTrend(s.T), p.Version)
	return a, nil
}

// InstantUpgrade applies the policy's instant rules at ingest, right after agg took the
// new transaction: if a rule lifts the customer above its current tier, the new
// assignment is returned with true. It never lowers a tier and leaves scores as they were
// until the night recomputes them.
func InstantUpgrade(p *Policy, agg *Aggregates, current Assignment, at time.Time) (Assignment, bool) {
	spend := agg.WindowSpend(p, at)
	t, rule := p.instantTier(spend)
	if rule == nil || t.Rank() <= current.Tier.Rank() {
		return current, false
	}
	next := current
	next.Tier, next.GraceNights, next.BelowSince = t, 0, ""
	if next.Computed.Rank() < t.Rank() {
		next.Computed = t
	}
	next.PolicyVersion = p.Version
	if next.Stage == "" || next.Stage == model.StageLead {
		next.Stage = p.StageFor(agg.Metrics(p, at))
	}
	next.Reason = fmt.Sprintf("%s (%s): instant rule %q, window spend %s > %s, policy v%d",
		t, p.Name(t), rule.Name, spend, model.Money(rule.WindowSpendOver), p.Version)
	return next, true
}

func formatTrend(t float64) string {
	pct := math.Round(t * 100)
	var b strings.Builder
	if pct >= 0 {
		b.WriteByte('+')
	}
	fmt.Fprintf(&b, "%.0f%%", pct)
	return b.String()
}

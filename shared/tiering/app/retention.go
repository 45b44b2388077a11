package app

import (
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// AtRisk is the retention rule: a tier A customer whose P(alive) the customer-base model
// puts below the threshold (CLVConfig.RetentionBelow, by default the model's high-risk
// band, 0.3) is due a retention call.
func AtRisk(tier model.Tier, p *clv.ProfileCLV, below float64) bool {
	return p != nil && tier == model.TierA && p.PAlive < below
}

// retention is the rule's outcome for one customer on one night.
type retention struct {
	atRisk  bool       // the rule holds tonight
	due     *time.Time // it newly holds: flag the profile (retentionDue) and plan the call
	flagged bool       // this run flagged it, tonight or on an earlier delivery of the segment
}

// retentionOf fires the rule on its edge: the first night it holds for a customer, not
// again while it keeps holding, and once per run however often a segment is redelivered
// (the profile remembers the run that flagged it).
func retentionOf(run Run, p TierState, next tiering.Assignment, pred *clv.ProfileCLV, below float64) retention {
	r := retention{atRisk: AtRisk(next.Tier, pred, below)}
	already := p.RetentionRun == run.ID
	before := AtRisk(p.Assignment.Tier, p.CLV, below)
	if r.atRisk && !before && !already {
		at := run.AsOf
		r.due = &at
	}
	r.flagged = r.atRisk && (already || r.due != nil)
	return r
}

// retentionTrigger hands a newly at-risk tier A customer to follow-up as a tier change
// from A to B ("downgrade risk"), which the follow-up policy answers with a retention
// call (shared/followup/policy.json, tier_down_retention); the ref makes it once per run.
func retentionTrigger(run Run, customerID string) followup.Trigger {
	return followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: customerID,
		Ref: "clv-retention#" + run.ID, At: run.AsOf, FromTier: model.TierA, ToTier: model.TierB}
}

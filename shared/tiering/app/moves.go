package app

import (
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
)

// Move is a change of one customer's standing — tier and stage — that follow-up acts on,
// as ingest (an instant upgrade, the first stage) or the night (tonight's assessment)
// decided it. Exactly one of TxnRef and RunID says what made it: the refs of the triggers
// derive from it, so that planning the same move twice plans once.
type Move struct {
	CustomerID         string
	At                 time.Time
	FromTier, ToTier   model.Tier
	FromStage, ToStage model.Stage
	TxnRef             string // ingest: the transaction's Ref
	RunID              string // the night: the run's id
}

// MoveTriggers is the one place a move becomes follow-up triggers:
//   - a tier move raises tier_changed: up is congratulated, down (once the downgrade
//     grace is over) gets a retention call. The first tier a customer ever gets is not
//     a move.
//   - a stage move raises stage_entered: entering dormant, sleeping or churned gets the
//     cadence the follow-up policy names for it; returning to active cancels win-back
//     offers. The first stage, and leaving "lead" (the first purchase, which raises its
//     own purchase trigger), are not moves.
func MoveTriggers(m Move) []followup.Trigger {
	var out []followup.Trigger
	if m.FromTier != model.TierNone && m.ToTier != model.TierNone && m.ToTier != m.FromTier {
		t := followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: m.CustomerID, At: m.At,
			FromTier: m.FromTier, ToTier: m.ToTier}
		if m.RunID != "" {
			t.Ref, t.Stage = "tier#"+m.RunID, m.ToStage
		} else {
			t.Ref = m.TxnRef + "#tier"
		}
		out = append(out, t)
	}
	if m.FromStage != "" && m.FromStage != model.StageLead && m.ToStage != "" && m.ToStage != m.FromStage {
		ref := "stage-" + string(m.ToStage) + "#" + m.RunID
		if m.RunID == "" {
			ref = m.TxnRef + "#stage-" + string(m.ToStage)
		}
		out = append(out, followup.Trigger{Kind: followup.TriggerStageEntered, CustomerID: m.CustomerID,
			Ref: ref, At: m.At, Stage: m.ToStage})
	}
	return out
}

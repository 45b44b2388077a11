package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/tierflow/tierflow/shared/events"
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

// MoveDetail is the detail of a tier.changed or stage.changed event: ids and codes only.
type MoveDetail struct {
	CustomerID string      `json:"customerId"`
	From       string      `json:"from"`
	To         string      `json:"to"`
	Stage      model.Stage `json:"stage,omitempty"` // tier.changed: the stage after the move
	Reason     string      `json:"reason,omitempty"`
	RunID      string      `json:"runId,omitempty"`  // the night that decided it
	TxnRef     string      `json:"txnRef,omitempty"` // or the transaction (an instant upgrade)
}

// MoveEvents are the events out of a move, for the same moves MoveTriggers plans (the
// first tier and the first stage are not moves). Their ids derive from the customer and
// what decided the move, so a redelivered segment or message publishes the same ids.
func MoveEvents(m Move, store, reason string) []events.Event {
	decidedBy := m.RunID
	if decidedBy == "" {
		decidedBy = m.TxnRef
	}
	var out []events.Event
	for _, t := range MoveTriggers(m) {
		d := MoveDetail{CustomerID: m.CustomerID, RunID: m.RunID, TxnRef: m.TxnRef}
		typ := events.StageChanged
		if t.Kind == followup.TriggerTierChanged {
			typ = events.TierChanged
			d.From, d.To, d.Stage, d.Reason = string(m.FromTier), string(m.ToTier), m.ToStage, reason
		} else {
			d.From, d.To = string(m.FromStage), string(m.ToStage)
		}
		out = append(out, events.Event{ID: events.Key(typ, m.CustomerID, decidedBy), Type: typ, Time: m.At,
			Store: store, Detail: d})
	}
	return out
}

// publish hands evs to pub (nil: nowhere). Events go out after the change is stored and
// are best-effort: a failure is logged, and the work it follows stands.
func publish(ctx context.Context, log *slog.Logger, pub events.Publisher, evs []events.Event) {
	if pub == nil || len(evs) == 0 {
		return
	}
	if err := pub.Publish(ctx, evs...); err != nil {
		log.WarnContext(ctx, "events: not published", "events", len(evs), "type", evs[0].Type, "err", err)
	}
}

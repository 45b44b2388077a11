package app

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

type recordingPlanner struct{ got []followup.Trigger }

func (p *recordingPlanner) Handle(_ context.Context, t followup.Trigger) (fapp.PlanResult, error) {
	p.got = append(p.got, t)
	return fapp.PlanResult{}, nil
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func kinds(ts []followup.Trigger) (out []string) {
	for _, t := range ts {
		out = append(out, string(t.Kind)+" "+t.Ref)
	}
	return out
}

// The one rule for "tier or stage move → follow-up", for ingest and the night alike.
func TestMovesBecomeFollowUpTriggers(t *testing.T) {
	at := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	night := func(from, to model.Tier, fromSt, toSt model.Stage) Move {
		return Move{CustomerID: "c1", At: at, FromTier: from, ToTier: to, FromStage: fromSt, ToStage: toSt, RunID: "night-2025-03-01"}
	}
	ingest := func(from, to model.Tier, fromSt, toSt model.Stage) Move {
		return Move{CustomerID: "c1", At: at, FromTier: from, ToTier: to, FromStage: fromSt, ToStage: toSt, TxnRef: "pos#INV-1"}
	}
	tests := []struct {
		name string
		move Move
		want []string
	}{
		{"a tier up at night is a tier change", night(model.TierB, model.TierA, model.StageActive, model.StageActive), []string{"tier_changed tier#night-2025-03-01"}},
		{"a tier down at night is a tier change (retention call)", night(model.TierA, model.TierB, model.StageActive, model.StageActive), []string{"tier_changed tier#night-2025-03-01"}},
		{"going quiet for 91 days enters dormant", night(model.TierC, model.TierC, model.StageActive, model.StageDormant), []string{"stage_entered stage-dormant#night-2025-03-01"}},
		{"a tier and a stage move raise both", night(model.TierB, model.TierC, model.StageActive, model.StageDormant),
			[]string{"tier_changed tier#night-2025-03-01", "stage_entered stage-dormant#night-2025-03-01"}},
		{"a first tier is not a move", night(model.TierNone, model.TierC, model.StageNew, model.StageNew), nil},
		{"a first stage is not a move", night(model.TierNone, model.TierNone, "", model.StageLead), nil},
		{"nothing moved, nothing planned", night(model.TierC, model.TierC, model.StageActive, model.StageActive), nil},
		{"an instant upgrade at ingest is a tier change named after the transaction", ingest(model.TierC, model.TierB, model.StageActive, model.StageActive), []string{"tier_changed pos#INV-1#tier"}},
		{"a lead's first purchase is not a stage move (the purchase trigger covers it)", ingest(model.TierNone, model.TierNone, model.StageLead, model.StageNew), nil},
		{"a first purchase lifting a lead to B is not a tier move", ingest(model.TierNone, model.TierB, model.StageLead, model.StageNew), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MoveTriggers(tc.move)
			if !slices.Equal(kinds(got), tc.want) {
				t.Fatalf("triggers %v, want %v", kinds(got), tc.want)
			}
			for _, tr := range got {
				if err := tr.Validate(); err != nil || tr.CustomerID != "c1" || !tr.At.Equal(at) {
					t.Fatalf("trigger %+v: %v", tr, err)
				}
			}
		})
	}
}

// A transaction raises its purchase (made in a win-back stage), each product's
// repurchase reminder and, once, the tier move an instant rule made; a redelivery raises
// the purchase ones again (planning is idempotent by ref) but not the move.
func TestATransactionRaisesItsFollowUp(t *testing.T) {
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	txn := model.Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", At: at, Amount: 600_000,
		Items: []model.TxnItem{{SKU: "FILL", EffectDays: 180}, {SKU: "SERUM"}}}
	up := Applied{Prev: tiering.Assignment{Tier: model.TierC, Stage: model.StageActive}, Next: tiering.Assignment{Tier: model.TierB, Stage: model.StageActive}}
	refund := txn
	refund.Refund = true
	winback := up
	winback.PlanPurchase = true
	dup := winback
	dup.Duplicate = true
	tests := []struct {
		name string
		txn  model.Txn
		res  Applied
		want []string
	}{
		{"a purchase in a win-back stage with an effect product that lifts the tier", txn, winback, []string{"purchase pos#INV-1", "product_effect_ending pos#INV-1#FILL", "tier_changed pos#INV-1#tier"}},
		{"a purchase of an active customer has no win-back offer to cancel", txn, up, []string{"product_effect_ending pos#INV-1#FILL", "tier_changed pos#INV-1#tier"}},
		{"a redelivered purchase plans its purchase again, not the move", txn, dup, []string{"purchase pos#INV-1", "product_effect_ending pos#INV-1#FILL"}},
		{"a refund raises nothing", refund, Applied{Prev: up.Prev, Next: up.Prev}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := kinds(ingestTriggers(tc.txn, tc.res)); !slices.Equal(got, tc.want) {
				t.Fatalf("triggers %v, want %v", got, tc.want)
			}
		})
	}
}

// The night plans a customer's moves once: a redelivered segment finds this run's answer
// on the profile and plans the tier change again under the same ref (nothing new), and
// no stage move.
func TestTheNightPlansMovesOncePerRun(t *testing.T) {
	run := Run{ID: "night-2025-03-01", AsOf: time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)}
	next := tiering.Assignment{Tier: model.TierC, Stage: model.StageDormant}
	tests := []struct {
		name  string
		state TierState
		from  model.Tier
		want  []string
	}{
		{"tonight's tier and stage move", TierState{ID: "c1", Assignment: tiering.Assignment{Tier: model.TierB, Stage: model.StageActive}}, model.TierB,
			[]string{"tier_changed tier#" + run.ID, "stage_entered stage-dormant#" + run.ID}},
		{"a redelivered segment: the profile holds this run's answer", TierState{ID: "c1", LastRun: run.ID, PrevTier: model.TierB, Assignment: next}, model.TierB,
			[]string{"tier_changed tier#" + run.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &recordingPlanner{}
			n := &Nightly{Log: discard(), Planner: p}
			sum := NewRunSummary()
			n.planNight(context.Background(), run, tc.state, tc.from, next, false, sum)
			if got := kinds(p.got); !slices.Equal(got, tc.want) || sum.FollowupPlanFails != 0 {
				t.Fatalf("planned %v (fails %d), want %v", got, sum.FollowupPlanFails, tc.want)
			}
		})
	}
}

// A move goes out as events with ids derived from the customer and what decided it, so
// a redelivered segment or message publishes the same ids; a first tier is no event.
func TestAMoveIsPublishedWithTheIDsOfWhatDecidedIt(t *testing.T) {
	at := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	night := Move{CustomerID: "c1", At: at, FromTier: model.TierA, ToTier: model.TierB,
		FromStage: model.StageActive, ToStage: model.StageDormant, RunID: "night-2025-03-01"}
	evs := MoveEvents(night, "sh-01", "B (Regular)")
	if len(evs) != 2 || evs[0].Type != events.TierChanged || evs[1].Type != events.StageChanged {
		t.Fatalf("events %+v, want tier.changed and stage.changed", evs)
	}
	again := MoveEvents(night, "sh-01", "B (Regular)")
	if evs[0].ID != again[0].ID || evs[1].ID != again[1].ID || evs[0].ID == evs[1].ID {
		t.Fatalf("ids %s %s then %s %s: want the same per move, distinct per type", evs[0].ID, evs[1].ID, again[0].ID, again[1].ID)
	}
	d, ok := evs[0].Detail.(MoveDetail)
	if !ok || d.CustomerID != "c1" || d.From != "A" || d.To != "B" || d.RunID != night.RunID || evs[0].Store != "sh-01" {
		t.Fatalf("tier.changed %+v", evs[0])
	}
	first := Move{CustomerID: "c1", At: at, ToTier: model.TierB, FromStage: model.StageLead, ToStage: model.StageNew, TxnRef: "pos#1"}
	if evs := MoveEvents(first, "sh-01", ""); len(evs) != 0 {
		t.Fatalf("a first tier and a lead's first purchase published %+v", evs)
	}
}

package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
)

type recordingPlanner struct{ got []followup.Trigger }

func (p *recordingPlanner) Handle(_ context.Context, t followup.Trigger) (fapp.PlanResult, error) {
	p.got = append(p.got, t)
	return fapp.PlanResult{}, nil
}

// testModel is the CDNOW fit of Fader, Hardie & Lee (2005), set by hand (weekly units).
func testModel(t *testing.T) models {
	t.Helper()
	m := clv.Model{Version: "m1", Algorithm: clv.Algorithm,
		Calibration: clv.Calibration{End: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Period: clv.Week},
		Purchases:   clv.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
		Spend:       &clv.GammaGamma{P: 6.25, Q: 3.74, Gamma: 1544}}
	return models{store.ScopeBusiness: &store.StoredModel{Version: "m1", Scope: store.ScopeBusiness, Model: m}}
}

// The retention rule fires once, on the night a tier A customer's P(alive) falls below
// 0.3: the profile is flagged and the planner gets a downgrade-risk trigger; a later
// night that still sees the customer at risk writes and plans nothing new.
func TestRetentionRuleFiresOnceForTierAAtRisk(t *testing.T) {
	ms := testModel(t)
	p := &recordingPlanner{}
	r := &Retier{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Planner: p}
	run := store.Run{ID: "night-2025-01-01", Day: "2025-01-01", AsOf: time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC)}
	// Ten purchase days in the first two months of 2024, nothing since.
	row := store.ProfileRow{ID: "c1", Occasions: &store.Occasions{Days: 10, First: "2024-01-02", Last: "2024-02-27", FirstNet: 1000, Net: 12000},
		Assignment: tiering.Assignment{Tier: model.TierA}}
	next := tiering.Assignment{Tier: model.TierA}

	pred, extras, moved, retain, flagged, err := r.assessCLV(run, ms, row, next)
	if err != nil || pred == nil {
		t.Fatal(pred, err)
	}
	if pred.PAlive >= 0.3 || pred.Risk != clv.RiskHigh {
		t.Fatalf("expected a customer at high risk, got %+v", pred)
	}
	if !moved || !retain || !flagged || extras.RetentionDue == nil || !extras.RetentionDue.Equal(run.AsOf) || extras.CLV == nil {
		t.Fatalf("moved=%v retain=%v flagged=%v extras=%+v", moved, retain, flagged, extras)
	}
	sum := store.NewRunSummary()
	r.planRetention(context.Background(), run, row.ID, sum)
	if len(p.got) != 1 || p.got[0].Kind != followup.TriggerTierChanged || p.got[0].FromTier != model.TierA || p.got[0].Ref != "clv-retention#"+run.ID {
		t.Fatalf("planned %+v", p.got)
	}
	t.Logf("%s", pred.Explanation)

	// The same run redelivered: the profile already holds the flag from this run.
	row.CLV, row.RetentionRun = pred, run.ID
	_, extras, moved, _, flagged, _ = r.assessCLV(run, ms, row, next)
	if moved || extras.RetentionDue != nil || !flagged {
		t.Fatalf("redelivery: moved=%v flagged=%v extras=%+v", moved, flagged, extras)
	}
	// The next night, still at risk: nothing new.
	run2 := store.Run{ID: "night-2025-01-02", Day: "2025-01-02", AsOf: run.AsOf.Add(24 * time.Hour)}
	_, extras, _, retain, flagged, _ = r.assessCLV(run2, ms, row, next)
	if !retain || flagged || extras.RetentionDue != nil {
		t.Fatalf("next night: retain=%v flagged=%v extras=%+v", retain, flagged, extras)
	}
	// A tier B customer with the same history is not on the list.
	row.Assignment.Tier, row.CLV, row.RetentionRun = model.TierB, nil, ""
	_, _, _, retain, _, _ = r.assessCLV(run, ms, row, tiering.Assignment{Tier: model.TierB})
	if retain {
		t.Fatal("tier B flagged for retention")
	}
}

func TestOccasionsCountPurchaseDaysAndRepeatSpend(t *testing.T) {
	sh := func(s string) time.Time { v, _ := time.ParseInLocation("2006-01-02 15:04", s, shanghai); return v }
	var o store.Occasions
	o.Apply(sh("2024-01-02 10:00"), 500, false)
	o.Apply(sh("2024-01-02 18:00"), 300, false) // same day: one occasion
	o.Apply(sh("2024-01-09 10:00"), 1000, false)
	o.Apply(sh("2024-01-10 10:00"), -200, true) // refund after the second occasion
	o.Apply(sh("2024-01-16 10:00"), 600, false)
	s, ok := o.Summary("2024-01-30", clv.Week)
	want := clv.Summary{X: 2, Tx: 2, T: 4, MeanSpend: 700}
	if !ok || s != want || o.FirstNet != 800 {
		t.Fatalf("summary %+v (first %d), want %+v", s, o.FirstNet, want)
	}
	// The same purchases through the model's own summariser agree.
	cal := clv.Calibration{End: time.Date(2024, 1, 30, 0, 0, 0, 0, time.UTC), Period: clv.Week}
	ref, _, err := cal.Summarize([]clv.Purchase{{At: sh("2024-01-02 10:00"), Amount: 500}, {At: sh("2024-01-02 18:00"), Amount: 300},
		{At: sh("2024-01-09 10:00"), Amount: 1000}, {At: sh("2024-01-10 10:00"), Amount: -200}, {At: sh("2024-01-16 10:00"), Amount: 600}})
	if err != nil || ref != s {
		t.Fatalf("clv.Summarize %+v, occasions %+v (%v)", ref, s, err)
	}
	if _, ok := o.Summary("2023-12-31", clv.Week); ok {
		t.Fatal("a summary before the first purchase")
	}
}

func TestMaterialChangeIgnoresNoiseAndModelVersion(t *testing.T) {
	a := &store.ProfileCLV{PAlive: 0.5, ExpectedPurchases: 1.2, ExpectedSpend: 10000, CLV: 50000, Risk: clv.RiskMedium, ModelVersion: "n1"}
	b := *a
	b.ModelVersion, b.CLV, b.PAlive = "n2", 50100, 0.503
	if clvMoved(a, &b) {
		t.Fatal("a 0.2% CLV move and a new model version counted as a change")
	}
	b.CLV = 51000
	if !clvMoved(a, &b) {
		t.Fatal("a 2% CLV move not counted")
	}
	c := *a
	c.Risk = clv.RiskHigh
	if !clvMoved(a, &c) || !clvMoved(nil, a) || clvMoved(a, nil) {
		t.Fatal("risk band or first prediction not counted")
	}
}

// Tonight's moves become follow-up triggers: up is congratulated, down gets a
// retention call, a new stage gets its cadence; a first tier and a redelivered segment
// plan nothing.
func TestTierAndStageMovesArePlanned(t *testing.T) {
	run := store.Run{ID: "night-2025-03-01", AsOf: time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)}
	tests := []struct {
		name  string
		row   store.ProfileRow
		from  model.Tier
		next  tiering.Assignment
		kinds []followup.TriggerKind
	}{
		{"a tier up is a tier change", store.ProfileRow{ID: "c1", Assignment: tiering.Assignment{Tier: model.TierB, Stage: model.StageActive}},
			model.TierB, tiering.Assignment{Tier: model.TierA, Stage: model.StageActive}, []followup.TriggerKind{followup.TriggerTierChanged}},
		{"going quiet for 91 days enters dormant", store.ProfileRow{ID: "c2", Assignment: tiering.Assignment{Tier: model.TierC, Stage: model.StageActive}},
			model.TierC, tiering.Assignment{Tier: model.TierC, Stage: model.StageDormant}, []followup.TriggerKind{followup.TriggerStageEntered}},
		{"a first tier is not a move", store.ProfileRow{ID: "c3", Assignment: tiering.Assignment{Stage: model.StageNew}},
			"", tiering.Assignment{Tier: model.TierC, Stage: model.StageNew}, nil},
		{"a redelivered segment plans nothing twice", store.ProfileRow{ID: "c4", LastRun: run.ID, Assignment: tiering.Assignment{Tier: model.TierC, Stage: model.StageDormant}},
			model.TierC, tiering.Assignment{Tier: model.TierC, Stage: model.StageDormant}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &recordingPlanner{}
			r := &Retier{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Planner: p}
			r.planMoves(context.Background(), run, tt.row, tt.from, tt.next, store.NewRunSummary())
			var got []followup.TriggerKind
			for _, tr := range p.got {
				got = append(got, tr.Kind)
				if tr.CustomerID != tt.row.ID || !strings.Contains(tr.Ref, run.ID) {
					t.Errorf("trigger %+v: want customer %s and a ref naming the run", tr, tt.row.ID)
				}
			}
			if !slices.Equal(got, tt.kinds) {
				t.Fatalf("planned %v, want %v", got, tt.kinds)
			}
		})
	}
}

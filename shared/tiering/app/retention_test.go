package app

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// testModel is the CDNOW fit of Fader, Hardie & Lee (2005), set by hand (weekly units).
func testModel() models {
	m := clv.Model{Version: "m1", Algorithm: clv.Algorithm,
		Calibration: clv.Calibration{End: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Period: clv.Week},
		Purchases:   clv.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
		Spend:       &clv.GammaGamma{P: 6.25, Q: 3.74, Gamma: 1544}}
	return models{ScopeBusiness: &StoredModel{Version: "m1", Scope: ScopeBusiness, Model: m}}
}

func TestTheRetentionRule(t *testing.T) {
	tests := []struct {
		name string
		tier model.Tier
		p    *clv.ProfileCLV
		want bool
	}{
		{"tier A with P(alive) 0.29 is due a call", model.TierA, &clv.ProfileCLV{PAlive: 0.29}, true},
		{"tier A at exactly 0.3 is not", model.TierA, &clv.ProfileCLV{PAlive: 0.3}, false},
		{"tier B at risk is not", model.TierB, &clv.ProfileCLV{PAlive: 0.05}, false},
		{"without a prediction nobody is", model.TierA, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AtRisk(tc.tier, tc.p, CLVConfig{}.withDefaults().RetentionBelow); got != tc.want {
				t.Fatalf("AtRisk = %v, want %v", got, tc.want)
			}
		})
	}
}

// The retention rule fires once, on the night a tier A customer's P(alive) falls below
// 0.3: the profile is flagged and the planner gets a downgrade-risk trigger; a later
// night that still sees the customer at risk writes and plans nothing new.
func TestRetentionRuleFiresOnceForTierAAtRisk(t *testing.T) {
	ms := testModel()
	p := &recordingPlanner{}
	n := &Nightly{Log: discard(), Planner: p}
	run := Run{ID: "night-2025-01-01", Day: "2025-01-01", AsOf: time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC)}
	// Ten purchase days in the first two months of 2024, nothing since.
	st := TierState{ID: "c1", Occasions: &clv.Occasions{Days: 10, First: "2024-01-02", Last: "2024-02-27", FirstNet: 1000, Net: 12000},
		Assignment: tiering.Assignment{Tier: model.TierA}}
	next := tiering.Assignment{Tier: model.TierA}

	step, err := n.modelStep(run, ms, st, next)
	if err != nil || step.pred == nil {
		t.Fatal(step.pred, err)
	}
	if step.pred.PAlive >= 0.3 || step.pred.Risk != clv.RiskHigh {
		t.Fatalf("expected a customer at high risk, got %+v", step.pred)
	}
	if step.write == nil || !step.atRisk || !step.flagged || step.due == nil || !step.due.Equal(run.AsOf) {
		t.Fatalf("step %+v", step)
	}
	sum := NewRunSummary()
	n.planNight(context.Background(), run, st, model.TierA, next, step.flagged, sum)
	if len(p.got) != 1 || p.got[0].Kind != followup.TriggerTierChanged || p.got[0].FromTier != model.TierA || p.got[0].Ref != "clv-retention#"+run.ID {
		t.Fatalf("planned %+v", p.got)
	}
	t.Logf("%s", step.pred.Explanation)

	// The same run redelivered: the profile already holds the flag from this run.
	st.CLV, st.RetentionRun = step.pred, run.ID
	if step, err = n.modelStep(run, ms, st, next); err != nil {
		t.Fatal(err)
	}
	if step.write != nil || step.due != nil || !step.flagged {
		t.Fatalf("redelivery: %+v", step)
	}
	// The next night, still at risk: nothing new.
	run2 := Run{ID: "night-2025-01-02", Day: "2025-01-02", AsOf: run.AsOf.Add(24 * time.Hour)}
	if step, err = n.modelStep(run2, ms, st, next); err != nil {
		t.Fatal(err)
	}
	if !step.atRisk || step.flagged || step.due != nil {
		t.Fatalf("next night: %+v", step)
	}
	// A tier B customer with the same history is not on the list.
	st.Assignment.Tier, st.CLV, st.RetentionRun = model.TierB, nil, ""
	if step, err = n.modelStep(run, ms, st, tiering.Assignment{Tier: model.TierB}); err != nil {
		t.Fatal(err)
	}
	if step.atRisk {
		t.Fatal("tier B flagged for retention")
	}
}

// A prediction is rewritten on a band crossing only: another risk band or a CLV a
// quarter away, not the nightly drift of P(alive) (issue #13's write share).
func TestMaterialChangeIgnoresNoiseAndModelVersion(t *testing.T) {
	a := &clv.ProfileCLV{PAlive: 0.5, ExpectedPurchases: 1.2, ExpectedSpend: 10000, CLV: 50000, Risk: clv.RiskMedium, ModelVersion: "n1"}
	b := *a
	b.ModelVersion, b.CLV, b.PAlive, b.ExpectedPurchases = "n2", 55000, 0.45, 1.1
	if clvMoved(a, &b) {
		t.Fatal("a 10% CLV move, a drifting P(alive) and a new model version counted as a change")
	}
	b.CLV = 70000
	if !clvMoved(a, &b) {
		t.Fatal("a 40% CLV move not counted")
	}
	c := *a
	c.Risk = clv.RiskHigh
	if !clvMoved(a, &c) || !clvMoved(nil, a) || clvMoved(a, nil) {
		t.Fatal("risk band or first prediction not counted")
	}
}

// The sample a fit gets is the same however the table was split into scan segments: the
// customers with the lowest id hashes, each segment contributing at the same rate.
func TestTheModelSampleDoesNotDependOnTheSegments(t *testing.T) {
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = "c" + strconv.Itoa(i*7919)
	}
	sampleOver := func(segments, capacity int) []uint32 {
		var segs []SegmentSample
		for seg := 0; seg < segments; seg++ {
			s := newSampler(capacity)
			for i, id := range ids {
				if i%segments == seg {
					s.add(ScopeBusiness, SampleEntry{Hash: idHash(id), S: clv.Summary{T: 10}})
				}
			}
			segs = append(segs, s.segmentSamples(seg)...)
		}
		var out []uint32
		for _, e := range mergeSamples(segs, 40)[ScopeBusiness].Entries {
			out = append(out, e.Hash)
		}
		return out
	}
	one, four := sampleOver(1, 40), sampleOver(4, 40)
	if len(one) != 40 || !equalHashes(one, four) {
		t.Fatalf("one segment sampled %d: %v\nfour segments: %v", len(one), one, four)
	}
	// Segments that each keep fewer than the fit takes: the merge keeps only what is
	// complete below every full segment's threshold, still the lowest hashes overall.
	small := sampleOver(5, 12)
	if len(small) == 0 || !equalHashes(small, one[:len(small)]) {
		t.Fatalf("five small segments: %v, want a prefix of %v", small, one)
	}
}

func equalHashes(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package tiering

import (
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/model"
)

func TestTheIngestRule(t *testing.T) {
	p := DefaultPolicy() // spend over 5000 in the window → B at once
	lead := Assignment{Stage: model.StageLead}
	dormantC := Assignment{Tier: model.TierC, Stage: model.StageDormant, PolicyVersion: 1, Reason: "C (Regular): …"}
	tests := []struct {
		name      string
		agg       *Aggregates
		prev      Assignment
		tier      model.Tier
		stage     model.Stage
		reasonHas string
	}{
		{"a lead's first purchase makes them new, tier at the night", aggOf(buy(0, 10_000)), lead, model.TierNone, model.StageNew, "first transaction"},
		{"a first big purchase lifts a lead to B at once", aggOf(buy(0, 600_000)), lead, model.TierB, model.StageNew, "instant rule"},
		{"a purchase keeps the night's tier and stage", aggOf(buy(200, 10_000), buy(0, 10_000)), dormantC, model.TierC, model.StageDormant, "C (Regular)"},
		{"spend over 5000 lifts a dormant C to B", aggOf(buy(200, 300_000), buy(0, 300_000)), dormantC, model.TierB, model.StageDormant, "instant rule"},
		{"a refund alone never lowers a tier", aggOf(refund(0, 900_000)), Assignment{Tier: model.TierA, Stage: model.StageActive}, model.TierA, model.StageActive, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AtIngest(p, tc.agg, tc.prev, asOf)
			if got.Tier != tc.tier || got.Stage != tc.stage || !strings.Contains(got.Reason, tc.reasonHas) ||
				(tc.prev.Stage == model.StageLead && got.PolicyVersion != p.Version) {
				t.Fatalf("got %s/%s v%d %q, want %s/%s with %q", got.Tier, got.Stage, got.PolicyVersion, got.Reason, tc.tier, tc.stage, tc.reasonHas)
			}
		})
	}
}

// A late transaction (here an old one arriving after a newer one) is judged as of the
// latest purchase seen: the window is that purchase's, and months before it are dropped.
func TestTheIngestRuleJudgesAsOfTheLatestPurchase(t *testing.T) {
	p := DefaultPolicy()
	agg := aggOf(buy(3000, 300_000), buy(2990, 300_000), buy(800, 100))
	got := AtIngest(p, agg, Assignment{Stage: model.StageLead}, daysAgo(2990))
	if got.Stage != model.StageActive || got.Tier != model.TierNone {
		t.Fatalf("judged as of the last purchase %s: got %s/%s (%s)", agg.LastPurchase.Format("2006-01-02"), got.Tier, got.Stage, got.Reason)
	}
	if len(agg.Months) != 1 {
		t.Fatalf("months kept %v; want only the latest purchase's window", agg.Months)
	}
}

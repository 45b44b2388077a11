package tiering

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

func absolutePolicy() *Policy {
	p := DefaultPolicy()
	p.Scoring.Mode = ModeAbsolute
	return p
}

func TestAbsoluteScoresFollowTheSeedThresholds(t *testing.T) {
	p := absolutePolicy()
	tests := []struct {
		name    string
		agg     *Aggregates
		r, f, m int
	}{
		// An old customer (first purchase 300 days ago: 11 active months) isolates R.
		{"bought 30 days ago scores R=5", aggOf(buy(300, 100), buy(30, 100)), 5, 1, 1},
		{"bought 31 days ago scores R=4", aggOf(buy(300, 100), buy(31, 100)), 4, 1, 1},
		{"bought 241 days ago scores R=1", aggOf(buy(300, 100), buy(241, 100)), 1, 1, 1},
		{"two purchases a month score F=5", aggOf(buy(40, 100), buy(35, 100), buy(20, 100), buy(10, 100), buy(5, 100)), 5, 5, 1},
		{"one purchase a month scores F=4", aggOf(buy(40, 100), buy(5, 100)), 5, 4, 1},
		{"frequency counts months since the first purchase", aggOf(buy(5, 100)), 5, 4, 1},
		{"an average order of 2000.01 scores M=5", aggOf(buy(5, 200_001)), 5, 4, 5},
		{"an average order of exactly 2000 scores M=4", aggOf(buy(5, 200_000)), 5, 4, 4},
		{"a refund lowers the average order", aggOf(buy(5, 300_000), refund(4, 150_000)), 5, 4, 4},
		{"one purchase in a year is under a quarter a month", aggOf(buy(360, 100)), 1, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := p.Score(tc.agg.Metrics(p, asOf), nil, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if s.R != tc.r || s.F != tc.f || s.M != tc.m {
				t.Errorf("R=%d F=%d M=%d, want R=%d F=%d M=%d", s.R, s.F, s.M, tc.r, tc.f, tc.m)
			}
		})
	}
}

func TestScoresCombineIntoTiers(t *testing.T) {
	p := DefaultPolicy() // A from 14, B from 10, trend ±1 at +25% / −50%
	tests := []struct {
		name string
		s    Scores
		want model.Tier
	}{
		{"R=5 F=4 M=5 is A", Scores{R: 5, F: 4, M: 5}, model.TierA},
		{"a total of 11 is B", Scores{R: 4, F: 4, M: 3}, model.TierB},
		{"a total of 13 growing 30% is A", Scores{R: 5, F: 4, M: 4, T: 0.30}, model.TierA},
		{"a total of 14 whose spend halved is B", Scores{R: 5, F: 5, M: 4, T: -0.5}, model.TierB},
		{"a total of 9 is C", Scores{R: 3, F: 3, M: 3}, model.TierC},
	}
	for _, tc := range tests {
		if got := p.TierFor(tc.s); got != tc.want {
			t.Errorf("%s: got %s", tc.name, got)
		}
	}
}

func TestQuantileAssessmentNeedsCutPoints(t *testing.T) {
	_, err := Assess(DefaultPolicy(), nil, "c1", aggOf(buy(1, 1)), Assignment{}, asOf)
	if !errors.Is(err, ErrNoCuts) {
		t.Fatalf("want ErrNoCuts, got %v", err)
	}
}

// night assesses a customer on consecutive nights with absolute scoring, whose tier
// depends only on the customer's own history.
func night(t *testing.T, p *Policy, agg *Aggregates, prev Assignment, day int) Assignment {
	t.Helper()
	a, err := Assess(p, nil, "c1", agg, prev, asOf.Add(time.Duration(day)*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDowngradeGrace(t *testing.T) {
	p := absolutePolicy()
	p.Downgrade.GraceNights = 3
	p.InstantUpgrades = nil
	p.Trend.Points = 0
	vip := aggOf(buy(40, 300_000), buy(30, 300_000), buy(20, 300_000), buy(10, 300_000), buy(2, 300_000))
	start := night(t, p, vip, Assignment{}, 0)
	if start.Tier != model.TierA {
		t.Fatalf("setup: a frequent big spender should be A, got %s (%s)", start.Tier, start.Reason)
	}
	fallen := aggOf(buy(40, 300_000), buy(30, 300_000), buy(20, 300_000), buy(10, 300_000), buy(2, 300_000),
		refund(1, 1_400_000)) // most of it refunded: M drops to 1, the scores now say B

	t.Run("one night below does not demote", func(t *testing.T) {
		a := night(t, p, fallen, start, 1)
		if a.Tier != model.TierA || a.Computed == model.TierA || a.GraceNights != 1 {
			t.Fatalf("got %s computed %s nights %d", a.Tier, a.Computed, a.GraceNights)
		}
		if !strings.Contains(a.Reason, "held") || !strings.Contains(a.Reason, "night 1 of 3") {
			t.Errorf("the reason must say the tier is held: %q", a.Reason)
		}
	})
	t.Run("the third consecutive night below demotes", func(t *testing.T) {
		a := start
		for d := 1; d <= 3; d++ {
			a = night(t, p, fallen, a, d)
		}
		if a.Tier != a.Computed || a.Tier == model.TierA || a.GraceNights != 0 {
			t.Fatalf("after 3 nights below: tier %s computed %s nights %d", a.Tier, a.Computed, a.GraceNights)
		}
	})
	t.Run("a night back at the tier resets the count", func(t *testing.T) {
		a := night(t, p, fallen, start, 1)
		a = night(t, p, fallen, a, 2)
		a = night(t, p, vip, a, 3)
		a = night(t, p, fallen, a, 4)
		if a.Tier != model.TierA || a.GraceNights != 1 {
			t.Fatalf("tier %s nights %d, want A held on night 1 again", a.Tier, a.GraceNights)
		}
	})
	t.Run("running the same night twice counts one night", func(t *testing.T) {
		a := night(t, p, fallen, start, 1)
		b := night(t, p, fallen, a, 1)
		if a.Changed(b) || b.GraceNights != 1 {
			t.Fatalf("re-run changed the answer: %+v → %+v", a, b)
		}
	})
	t.Run("an upgrade is immediate", func(t *testing.T) {
		low := night(t, p, aggOf(buy(200, 100)), Assignment{}, 0)
		up := night(t, p, vip, low, 1)
		if low.Tier != model.TierC || up.Tier != model.TierA {
			t.Fatalf("C → A should take one night: %s → %s", low.Tier, up.Tier)
		}
	})
	t.Run("zero grace demotes at once", func(t *testing.T) {
		q := p.Clone()
		q.Downgrade.GraceNights = 0
		if a := night(t, q, fallen, start, 1); a.Tier == model.TierA {
			t.Fatal("with no grace the tier must follow the scores")
		}
	})
}

func TestReasonExplainsTheTier(t *testing.T) {
	p := absolutePolicy()
	p.Version = 3
	agg := aggOf(
		model.Txn{At: time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), Amount: 1_000_000},
		model.Txn{At: time.Date(2024, 4, 10, 0, 0, 0, 0, time.UTC), Amount: 1_180_000},
		buy(14, 300_000), buy(10, 300_000), buy(6, 300_000), buy(2, 300_000))
	a := night(t, p, agg, Assignment{}, 0)
	want := "A (VIP): R=5 F=4 M=5 T=+18%, policy v3"
	if a.Reason != want || a.PolicyVersion != 3 {
		t.Errorf("reason = %q, want %q", a.Reason, want)
	}
}

func TestLeadsHaveAStageButNoTier(t *testing.T) {
	a := night(t, absolutePolicy(), &Aggregates{}, Assignment{}, 0)
	if a.Stage != model.StageLead || a.Tier != model.TierNone || !strings.HasPrefix(a.Reason, "lead") {
		t.Errorf("lead got %+v", a)
	}
}

func TestInstantUpgrade(t *testing.T) {
	p := DefaultPolicy() // spend over 5000 → Silver
	regular := Assignment{Tier: model.TierC, Stage: model.StageActive, PolicyVersion: 1}
	tests := []struct {
		name    string
		agg     *Aggregates
		current Assignment
		want    model.Tier
		changed bool
	}{
		{"spend over 5000 makes a Regular Silver at once", aggOf(buy(100, 300_000), buy(0, 200_001)), regular, model.TierB, true},
		{"spend of exactly 5000 does not", aggOf(buy(100, 300_000), buy(0, 200_000)), regular, model.TierC, false},
		{"spend refunded below 5000 does not", aggOf(buy(10, 600_000), refund(0, 200_000)), regular, model.TierC, false},
		{"spend outside the window does not", aggOf(buy(600, 900_000), buy(0, 100)), regular, model.TierC, false},
		{"a VIP is never lowered by an instant rule", aggOf(buy(0, 900_000)), Assignment{Tier: model.TierA}, model.TierA, false},
		{"a first big purchase lifts a lead", aggOf(buy(0, 600_000)), Assignment{Stage: model.StageLead}, model.TierB, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := InstantUpgrade(p, tc.agg, tc.current, asOf)
			if got.Tier != tc.want || changed != tc.changed {
				t.Fatalf("got %s changed=%v, want %s changed=%v (%s)", got.Tier, changed, tc.want, tc.changed, got.Reason)
			}
			if changed && (!strings.Contains(got.Reason, `"spend over 5000"`) || got.Stage == model.StageLead) {
				t.Errorf("upgrade must name its rule and leave the lead stage: %+v", got)
			}
		})
	}
}

// Without this the night would undo the instant upgrade after the grace period.
func TestTheNightKeepsAnInstantUpgrade(t *testing.T) {
	p := absolutePolicy()
	p.Downgrade.GraceNights = 0
	agg := aggOf(buy(200, 600_000)) // one old big purchase: scores alone say C
	a := night(t, p, agg, Assignment{}, 0)
	if a.Tier != model.TierB || !strings.Contains(a.Reason, "instant rule") {
		t.Errorf("got %s: %s", a.Tier, a.Reason)
	}
}

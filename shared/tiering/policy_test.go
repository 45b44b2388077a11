package tiering

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/model"
)

func TestDefaultPolicyCarriesTheSeedRules(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"tiers are named VIP, Silver and Regular", p.Name(model.TierA) == "VIP" && p.Name(model.TierB) == "Silver" && p.Name(model.TierC) == "Regular"},
		{"R of at most 30 days scores 5", p.Scoring.RecencyDays[3] == 30},
		{"F of at least 2 a month scores 5", p.Scoring.FrequencyPerMonth[3] == 2},
		{"average order above 2000 scores 5", p.Scoring.AverageOrder[3] == 200_000},
		{"trend compares 3 months with the 3 before", p.Trend.Months == 3},
		{"dormant after 90 days, sleeping after 180, churned after 365", p.Lifecycle.DormantDays == 90 && p.Lifecycle.SleepingDays == 180 && p.Lifecycle.ChurnedDays == 365},
		{"spend over 5000 is Silver at once", len(p.InstantUpgrades) == 1 && p.InstantUpgrades[0].WindowSpendOver == 500_000 && p.InstantUpgrades[0].Tier == model.TierB},
		{"downgrades wait some nights", p.Downgrade.GraceNights > 1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: policy is %+v", c.name, p)
		}
	}
}

func TestPolicyRoundTripsThroughJSON(t *testing.T) {
	p := DefaultPolicy()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"windowSpendOver":"5000.00"`) {
		t.Errorf("money must be written as a decimal string: %s", b)
	}
	q, err := ParsePolicy(b)
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	b2, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Errorf("round trip changed the policy:\n%s\n%s", b, b2)
	}
}

func TestValidateNamesTheFieldAtFault(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Policy)
		field string
	}{
		{"a policy needs a version", func(p *Policy) { p.Version = 0 }, "/version"},
		{"every tier needs a name", func(p *Policy) { delete(p.TierNames, model.TierB) }, "/tierNames/B"},
		{"two tiers cannot share a name", func(p *Policy) { p.TierNames[model.TierC] = "VIP" }, "/tierNames/C"},
		{"there is no tier D", func(p *Policy) { p.TierNames["D"] = "Bronze" }, "/tierNames/D"},
		{"the window is at most five years", func(p *Policy) { p.WindowMonths = 61 }, "/windowMonths"},
		{"scoring mode is quantile or absolute", func(p *Policy) { p.Scoring.Mode = "median" }, "/scoring/mode"},
		{"recency thresholds fall as the score rises", func(p *Policy) { p.Scoring.RecencyDays[2] = 200 }, "/scoring/recencyDays/2"},
		{"frequency needs four thresholds", func(p *Policy) { p.Scoring.FrequencyPerMonth = []float64{1, 2} }, "/scoring/frequencyPerMonth"},
		{"absolute mode needs average-order thresholds", func(p *Policy) {
			p.Scoring.Mode = ModeAbsolute
			p.Scoring.AverageOrder = nil
		}, "/scoring/averageOrder"},
		{"trend history must fit in the window", func(p *Policy) { p.WindowMonths = 4 }, "/trend/months"},
		{"a boost must be above the penalty", func(p *Policy) { p.Trend.BoostAbove = -0.6 }, "/trend/boostAbove"},
		{"an unreachable A is a mistake", func(p *Policy) { p.Tiers.AMin = 30 }, "/tiers/aMin"},
		{"B cannot need more than A", func(p *Policy) { p.Tiers.BMin = 15 }, "/tiers/bMin"},
		{"weights cannot all be zero", func(p *Policy) { p.Tiers.Weights = Weights{} }, "/tiers/weights"},
		{"sleeping comes after dormant", func(p *Policy) { p.Lifecycle.SleepingDays = 90 }, "/lifecycle/sleepingDays"},
		{"churned comes after sleeping", func(p *Policy) { p.Lifecycle.ChurnedDays = 100 }, "/lifecycle/churnedDays"},
		{"an instant rule cannot upgrade to C", func(p *Policy) { p.InstantUpgrades[0].Tier = model.TierC }, "/instantUpgrades/0/tier"},
		{"an instant rule needs a threshold", func(p *Policy) { p.InstantUpgrades[0].WindowSpendOver = 0 }, "/instantUpgrades/0/windowSpendOver"},
		{"grace is at most a year", func(p *Policy) { p.Downgrade.GraceNights = 400 }, "/downgrade/graceNights"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.edit(p)
			err := p.Validate()
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("want ErrInvalidPolicy, got %v", err)
			}
			var list ValidationErrors
			if !errors.As(err, &list) {
				t.Fatalf("want ValidationErrors, got %T", err)
			}
			for _, e := range list {
				if e.Field == tc.field {
					return
				}
			}
			t.Errorf("no error for %s in %v", tc.field, err)
		})
	}
}

func TestParsePolicyRejectsUnknownFields(t *testing.T) {
	_, err := ParsePolicy([]byte(`{"version": 2, "graceNight": 3}`))
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "graceNight") {
		t.Fatalf("a misspelt field must be reported, got %v", err)
	}
}

func TestPolicyCloneIsIndependent(t *testing.T) {
	p := DefaultPolicy()
	c := p.Clone()
	c.TierNames[model.TierA] = "Gold"
	c.Scoring.RecencyDays[0] = 1
	c.InstantUpgrades[0].Name = "x"
	if p.Name(model.TierA) != "VIP" || p.Scoring.RecencyDays[0] != 240 || p.InstantUpgrades[0].Name == "x" {
		t.Error("editing a clone changed the original")
	}
}

func TestAmountParsing(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		bad  bool
	}{
		{`"5000"`, 500_000, false},
		{`"2000.5"`, 200_050, false},
		{`5000`, 500_000, false},
		{`"0.01"`, 1, false},
		{`"1.005"`, 0, true},
		{`"1e3"`, 0, true},
		{`"abc"`, 0, true},
	}
	for _, tc := range tests {
		var a Amount
		err := json.Unmarshal([]byte(tc.in), &a)
		if (err != nil) != tc.bad || (!tc.bad && a != tc.want) {
			t.Errorf("%s → %v, %v; want %v bad=%v", tc.in, int64(a), err, int64(tc.want), tc.bad)
		}
	}
}

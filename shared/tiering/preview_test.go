package tiering

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// previewBase is n customers with varied purchases, each holding what p assigns them
// tonight (as if the night just ran under p); every fifth is a lead.
func previewBase(p *Policy, n int, asOf time.Time) []PreviewCustomer {
	cs := make([]PreviewCustomer, n)
	for i := range cs {
		a := &Aggregates{}
		if i%5 != 0 {
			for v := 0; v <= i%4; v++ {
				at := asOf.AddDate(0, -(i%11)-v, -(i % 20))
				a.Apply(model.Txn{ExternalID: fmt.Sprint(i, v), At: at, Amount: model.Money(5000 + (i*7919)%400000)})
			}
		}
		cs[i] = PreviewCustomer{ID: fmt.Sprintf("c%04d", i), Agg: a, InScope: true}
	}
	out, err := Replay(p, asOf, cs)
	if err != nil {
		panic(err)
	}
	now := map[string]PreviewMove{}
	for _, m := range out.Moves {
		now[m.ID] = m
	}
	for i := range cs {
		if m, ok := now[cs[i].ID]; ok {
			cs[i].Current = Assignment{Tier: m.ToTier, Stage: m.ToStage}
		}
	}
	return cs
}

func TestReplayOfAPolicyPreviewsItsMatrix(t *testing.T) {
	asOf := time.Date(2024, 12, 10, 0, 0, 0, 0, time.UTC)
	current := DefaultPolicy()
	stricter := DefaultPolicy()
	stricter.Tiers.AMin, stricter.Tiers.BMin = 15, 12
	stricter.InstantUpgrades = nil
	shorter := DefaultPolicy()
	shorter.Lifecycle.DormantDays, shorter.Lifecycle.SleepingDays = 60, 120
	cases := []struct {
		name     string
		proposed *Policy
		check    func(o PreviewOutcome) error
	}{
		{"the policy in force changes nobody", current, func(o PreviewOutcome) error {
			if o.Changed != 0 {
				return fmt.Errorf("%d changed", o.Changed)
			}
			return nil
		}},
		{"higher thresholds only move customers down", stricter, func(o PreviewOutcome) error {
			for _, c := range o.Matrix {
				if c.Customers > 0 && c.From != "none" && c.To != "none" && c.To < c.From {
					return fmt.Errorf("%s → %s: %d up", c.From, c.To, c.Customers)
				}
			}
			if o.Changed == 0 {
				return fmt.Errorf("nobody moved")
			}
			return nil
		}},
		{"shorter lifecycle days move stages but no tier", shorter, func(o PreviewOutcome) error {
			for _, m := range o.Moves {
				if m.FromTier != m.ToTier {
					return fmt.Errorf("%s moved tier %s → %s", m.ID, m.FromTier, m.ToTier)
				}
			}
			if o.Changed == 0 {
				return fmt.Errorf("no stage moved")
			}
			return nil
		}},
	}
	cs := previewBase(current, 500, asOf)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Replay(tc.proposed, asOf, cs)
			if err != nil {
				t.Fatal(err)
			}
			sum, leads := 0, 0
			for _, c := range o.Matrix {
				sum += c.Customers
				if c.From == "none" && c.To == "none" {
					leads = c.Customers
				}
			}
			if len(o.Matrix) != 16 || sum != 500 || o.Customers != 500 || leads != 100 {
				t.Fatalf("matrix of %d cells sums to %d (%d leads), want 16 cells, 500 customers, 100 leads", len(o.Matrix), sum, leads)
			}
			if err := tc.check(o); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Customers out of scope feed the cut points but are not counted.
	for i := range cs {
		cs[i].InScope = i < 100
	}
	if o, err := Replay(current, asOf, cs); err != nil || o.Customers != 100 || o.Changed != 0 {
		t.Fatalf("scoped replay: %+v %v", o.Customers, err)
	}
}

func TestScaleCountsKeepTheTotalExactly(t *testing.T) {
	cases := []struct {
		counts []int
		total  int
		want   string
	}{
		{[]int{1, 1, 1}, 10, "[4 3 3]"},
		{[]int{0, 0}, 5, "[0 0]"},
		{[]int{5, 0, 5}, 10, "[5 0 5]"},
		{[]int{2, 3, 5}, 1000000, "[200000 300000 500000]"},
	}
	for _, tc := range cases {
		if got := fmt.Sprint(ScaleCounts(tc.counts, tc.total)); got != tc.want {
			t.Errorf("ScaleCounts(%v, %d) = %s, want %s", tc.counts, tc.total, got, tc.want)
		}
	}
}

func TestSampleMarginShrinksWithTheSampleAndVanishesForTheWholeBase(t *testing.T) {
	if m := SampleMargin(100, 1000, 1000); m != 0 {
		t.Fatalf("whole base: %f", m)
	}
	small, preview := SampleMargin(1000, 10000, 1000000), SampleMargin(2000, 20000, 1000000)
	// p = 0.1 on 10,000 of 1 M: 1.96·√(0.09/10000)·1e6·√0.99 ≈ 5,851 customers; on the
	// preview's 20,000: ≈ 4,116 (docs/tiering.md).
	if math.Round(small) != 5851 || math.Round(preview) != 4116 {
		t.Fatalf("margins %f (n=10k), %f (n=20k)", small, preview)
	}
}

package tiering

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tierflow/tierflow/shared/model"
)

func TestParetoIsTheExactConcentrationCurve(t *testing.T) {
	hundred := make([]model.Money, 100)
	for i := range hundred {
		hundred[i] = model.Money(i + 1) // 1..100, total 5050
	}
	cases := []struct {
		name   string
		spends []model.Money
		points int
		at     map[float64]float64 // customer share → revenue share
	}{
		{"nobody bought: no curve", nil, 0, nil},
		{"no revenue (refunds ate it): no curve", []model.Money{100, -100}, 0, nil},
		{"one customer brings everything", []model.Money{700}, 1, map[float64]float64{1: 1}},
		{"four customers: a point each, largest first", []model.Money{10, 40, 30, 20}, 4,
			map[float64]float64{0.25: 0.4, 0.5: 0.7, 0.75: 0.9, 1: 1}},
		{"a hundred customers: one point a percent", hundred, 100,
			map[float64]float64{0.01: 100.0 / 5050, 0.2: float64(5050-(80*81/2)) / 5050, 1: 1}},
		{"a refund below zero ends the curve at exactly 1", []model.Money{300, 100, -100}, 3,
			map[float64]float64{1.0 / 3: 1, 2.0 / 3: 4.0 / 3, 1: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Pareto(slices.Clone(tc.spends))
			if len(c) != tc.points {
				t.Fatalf("%d points, want %d: %v", len(c), tc.points, c)
			}
			for share, want := range tc.at {
				if got := ShareAt(c, share); math.Abs(got-want) > 1e-12 {
					t.Errorf("at %.2f: %.6f, want %.6f", share, got, want)
				}
			}
		})
	}
}

// The 20 % point is the top fifth Top20 computes, for any base size.
func TestParetoAtTwentyPercentIsTopTwenty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 7, 99, 100, 101, 4371, 20000} {
		spends := make([]model.Money, n)
		var total model.Money
		for i := range spends {
			spends[i] = model.Money(r.ExpFloat64()*10000) + 1
			total += spends[i]
		}
		top, _, _ := Top20(slices.Clone(spends))
		c := Pareto(spends)
		if len(c) != min(n, ParetoPoints) || c[len(c)-1].CustomerShare != 1 || math.Abs(c[len(c)-1].RevenueShare-1) > 1e-12 {
			t.Fatalf("n=%d: %d points ending at %+v", n, len(c), c[len(c)-1])
		}
		if n >= 5 && ShareAt(c, 0.2) != float64(top)/float64(total) {
			t.Fatalf("n=%d: 20 %% point %.6f, Top20 share %.6f", n, ShareAt(c, 0.2), float64(top)/float64(total))
		}
		for i := 1; i < len(c); i++ {
			if c[i].CustomerShare <= c[i-1].CustomerShare || c[i].RevenueShare < c[i-1].RevenueShare {
				t.Fatalf("n=%d: not ascending at %d: %+v %+v", n, i, c[i-1], c[i])
			}
		}
	}
}

func TestMergeParetoOfOneStoreIsThatStoresCurve(t *testing.T) {
	c := Pareto([]model.Money{10, 40, 30, 20})
	m, e := MergePareto([][]ParetoPoint{nil, c, {}})
	if e != 0 || !slices.Equal(m, c) {
		t.Fatalf("merge of one curve: %v (error %f), want %v", m, e, c)
	}
	if m, e := MergePareto(nil); m != nil || e != 0 {
		t.Fatalf("merge of nothing: %v %f", m, e)
	}
}

// Merging stores' curves gives a lower bound of the stores' joint curve, within the
// stated error, whatever the stores' spends.
func TestMergeParetoIsWithinItsErrorOfTheJointCurve(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		var all []model.Money
		var curves [][]ParetoPoint
		for s := 0; s < 1+r.IntN(4); s++ {
			n := 1 + r.IntN(3000)
			scale := 1000 + r.Float64()*50000
			spends := make([]model.Money, n)
			for i := range spends {
				spends[i] = model.Money(r.ExpFloat64() * scale)
			}
			all = append(all, spends...)
			curves = append(curves, Pareto(slices.Clone(spends)))
		}
		joint := Pareto(all)
		merged, maxErr := MergePareto(curves)
		if len(merged) != len(joint) {
			t.Fatalf("trial %d: %d merged points, %d joint", trial, len(merged), len(joint))
		}
		for i := range joint {
			gap := joint[i].RevenueShare - merged[i].RevenueShare
			if gap < -1e-9 || gap > maxErr+1e-9 {
				t.Fatalf("trial %d at %.2f: joint %.5f, merged %.5f, stated error %.5f", trial, joint[i].CustomerShare,
					joint[i].RevenueShare, merged[i].RevenueShare, maxErr)
			}
		}
	}
}

package tiering

import (
	"math"
	"slices"
	"sort"

	"github.com/tierflow/tierflow/shared/model"
)

// ParetoPoints bounds a Pareto curve: one point per customer percentile.
const ParetoPoints = 100

// ParetoPoint is one point of the Pareto (concentration) curve: the customerShare of
// customers with the highest net spend bring revenueShare of the revenue.
type ParetoPoint struct {
	CustomerShare float64 `json:"customerShare" dynamodbav:"c"`
	RevenueShare  float64 `json:"revenueShare" dynamodbav:"r"`
	// Customers and Revenue are the point's counts (the ⌈customerShare·n⌉ largest spenders
	// and their net spend): what lets curves of several stores be merged.
	Customers int         `json:"-" dynamodbav:"n"`
	Revenue   model.Money `json:"-" dynamodbav:"m"`
}

// Pareto is the exact concentration curve of spends: for n ≥ 100 customers the points
// at customer shares 1 %, 2 %, …, 100 %, each the net spend of the ⌈k·n/100⌉ largest
// spenders over the total (so the 20 % point is Top20's share); for fewer customers one
// point per customer. Ascending in both shares when every spend is positive; empty
// when there is no revenue (a total ≤ 0 has no shares). spends is sorted in place.
func Pareto(spends []model.Money) []ParetoPoint {
	n := len(spends)
	var total model.Money
	for _, v := range spends {
		total += v
	}
	if n == 0 || total <= 0 {
		return nil
	}
	slices.SortFunc(spends, func(a, b model.Money) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	steps := min(n, ParetoPoints)
	out := make([]ParetoPoint, 0, steps)
	var cum model.Money
	taken := 0
	for k := 1; k <= steps; k++ {
		upto := (k*n + steps - 1) / steps // ⌈k·n/steps⌉
		for ; taken < upto; taken++ {
			cum += spends[taken]
		}
		out = append(out, ParetoPoint{CustomerShare: float64(k) / float64(steps), RevenueShare: float64(cum) / float64(total),
			Customers: upto, Revenue: cum})
	}
	return out
}

// MergePareto is the curve of several scopes (a store manager's stores) from each one's
// curve. The customers between two points of a curve are taken as all spending that
// segment's mean (the chord), and segments of every curve are laid end to end from the
// highest mean down; the merged curve is then read at 1 %, …, 100 %. Exact when only
// one curve has customers (it is returned as is). Otherwise a lower bound of the joint
// curve: the joint top x is the best split x = Σ xᵢ of Σ Lᵢ(xᵢ) over the stores' true
// curves Lᵢ, the greedy merge is the best split over the chords, and a true curve lies
// above its chord by less than the revenue of the segment it is in; so the merge is at
// most maxError = Σᵢ (store i's largest segment revenue) / total revenue below.
func MergePareto(curves [][]ParetoPoint) (merged []ParetoPoint, maxError float64) {
	var nonEmpty [][]ParetoPoint
	for _, c := range curves {
		if len(c) > 0 {
			nonEmpty = append(nonEmpty, c)
		}
	}
	switch len(nonEmpty) {
	case 0:
		return nil, 0
	case 1:
		return nonEmpty[0], 0
	}
	type segment struct {
		customers int
		revenue   model.Money
	}
	var segs []segment
	var n int
	var total, gaps model.Money
	for _, c := range nonEmpty {
		prevN, prevM, gap := 0, model.Money(0), model.Money(0)
		for _, p := range c {
			if p.Customers > prevN {
				segs = append(segs, segment{p.Customers - prevN, p.Revenue - prevM})
				gap = max(gap, p.Revenue-prevM)
			}
			prevN, prevM = p.Customers, p.Revenue
		}
		n += prevN
		total += prevM
		gaps += gap
	}
	if n == 0 || total <= 0 {
		return nil, 0
	}
	// Highest mean first: a·d > b·c compares a/c with b/d without rounding.
	sort.SliceStable(segs, func(i, j int) bool {
		return int64(segs[i].revenue)*int64(segs[j].customers) > int64(segs[j].revenue)*int64(segs[i].customers)
	})
	maxError = math.Min(1, float64(gaps)/float64(total))
	steps := min(n, ParetoPoints)
	merged = make([]ParetoPoint, 0, steps)
	i, before, cum := 0, 0, 0.0 // segment, customers before it, revenue before it
	for k := 1; k <= steps; k++ {
		upto := (k*n + steps - 1) / steps
		for i < len(segs) && before+segs[i].customers <= upto {
			before += segs[i].customers
			cum += float64(segs[i].revenue)
			i++
		}
		at := cum
		if i < len(segs) && upto > before {
			at += float64(segs[i].revenue) * float64(upto-before) / float64(segs[i].customers)
		}
		merged = append(merged, ParetoPoint{CustomerShare: float64(k) / float64(steps), RevenueShare: at / float64(total),
			Customers: upto, Revenue: model.Money(math.Round(at))})
	}
	return merged, maxError
}

// ShareAt reads a curve at a customer share (the first point at or past it); 0 for an
// empty curve.
func ShareAt(curve []ParetoPoint, customerShare float64) float64 {
	for _, p := range curve {
		if p.CustomerShare >= customerShare-1e-12 {
			return p.RevenueShare
		}
	}
	return 0
}

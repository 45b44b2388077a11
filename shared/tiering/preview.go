package tiering

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// PreviewCustomer is what a policy preview needs of one profile: its aggregates and the
// assignment it holds today. Every customer read feeds the proposed policy's cut points
// (the night's are over the whole base); only those InScope (the caller's stores) are
// counted.
type PreviewCustomer struct {
	ID      string
	Agg     *Aggregates
	Current Assignment
	InScope bool
}

// PreviewMove is one counted customer whose tier or stage the proposed policy moves.
type PreviewMove struct {
	ID                 string
	FromTier, ToTier   model.Tier
	FromStage, ToStage model.Stage
}

// MatrixCell is one from → to cell of a tier matrix ("none": no tier, a lead).
type MatrixCell struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Customers int    `json:"customers"`
}

// PreviewOutcome is the replay of a proposed policy over customers.
type PreviewOutcome struct {
	Customers int          // counted
	Changed   int          // counted customers whose tier or stage moves
	Matrix    []MatrixCell // current → proposed, every cell, summing to Customers
	Moves     []PreviewMove
}

var matrixTiers = []string{"A", "B", "C", "none"}

func tierName(t model.Tier) string {
	if t == model.TierNone {
		return "none"
	}
	return string(t)
}

// Replay assesses every customer under p as of asOf with the night's engine (Assess, the
// cut points computed from these customers under p) and compares with what they hold.
// The proposed tier is where the policy puts the customer once any downgrade grace has
// passed (Assignment.Computed): a preview answers "what does this policy do", not "what
// changes on the first night".
func Replay(p *Policy, asOf time.Time, cs []PreviewCustomer) (PreviewOutcome, error) {
	base := NewBase(0)
	for _, c := range cs {
		base.Add(c.Agg.Metrics(p, asOf))
	}
	cuts := base.Freeze()
	cells := map[[2]string]int{}
	out := PreviewOutcome{}
	for _, c := range cs {
		if !c.InScope {
			continue
		}
		next, err := Assess(p, cuts, c.ID, c.Agg, Assignment{}, asOf)
		if err != nil {
			return PreviewOutcome{}, fmt.Errorf("preview: %w", err)
		}
		to := next.Computed
		if !next.Metrics.HasHistory {
			to = model.TierNone
		}
		out.Customers++
		cells[[2]string{tierName(c.Current.Tier), tierName(to)}]++
		if to != c.Current.Tier || next.Stage != c.Current.Stage {
			out.Changed++
			out.Moves = append(out.Moves, PreviewMove{ID: c.ID, FromTier: c.Current.Tier, ToTier: to, FromStage: c.Current.Stage, ToStage: next.Stage})
		}
	}
	for _, f := range matrixTiers {
		for _, t := range matrixTiers {
			out.Matrix = append(out.Matrix, MatrixCell{From: f, To: t, Customers: cells[[2]string{f, t}]})
		}
	}
	return out, nil
}

// ScaleCounts scales counts from a sample to a total: each count × total/Σcounts,
// rounded so that the scaled counts still sum to total exactly (largest remainder).
func ScaleCounts(counts []int, total int) []int {
	n := 0
	for _, c := range counts {
		n += c
	}
	out := make([]int, len(counts))
	if n == 0 {
		return out
	}
	type rem struct {
		i    int
		frac float64
	}
	rems := make([]rem, len(counts))
	given := 0
	for i, c := range counts {
		x := float64(c) * float64(total) / float64(n)
		out[i] = int(math.Floor(x))
		given += out[i]
		rems[i] = rem{i, x - math.Floor(x)}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
	for k := 0; given < total && k < len(rems); k++ {
		out[rems[k].i]++
		given++
	}
	return out
}

// SampleMargin is the 95 % margin, in customers of a base of total, of a count seen k
// times in a simple random sample of n: 1.96·√(p̂(1−p̂)/n)·total·√(1 − n/total) (the
// finite-population correction makes it 0 when the sample is the whole base).
func SampleMargin(k, n, total int) float64 {
	if n <= 0 || total <= 0 || n >= total {
		return 0
	}
	p := float64(k) / float64(n)
	return 1.96 * math.Sqrt(p*(1-p)/float64(n)) * float64(total) * math.Sqrt(1-float64(n)/float64(total))
}

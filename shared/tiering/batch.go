package tiering

import (
	"fmt"
	"time"
)

// Customer pairs an id with its aggregates and last assignment, for runs over a base
// held in memory (the analysts' CLI, the demo, tests).
type Customer struct {
	ID   string
	Agg  *Aggregates
	Prev Assignment
}

// AssessAll runs both passes of a night over an in-memory base: the quantile summary
// (skipped for absolute policies), then every assignment, in the order given. capacity is
// the summary's exactness limit (≤ 0: DefaultSketchCapacity).
func AssessAll(p *Policy, customers []Customer, asOf time.Time, capacity int) ([]Assignment, error) {
	var cuts *Cuts
	if p.Scoring.Mode == ModeQuantile {
		base := NewBase(capacity)
		for _, c := range customers {
			base.Add(c.Agg.Metrics(p, asOf))
		}
		cuts = base.Freeze()
	}
	out := make([]Assignment, len(customers))
	for i, c := range customers {
		a, err := Assess(p, cuts, c.ID, c.Agg, c.Prev, asOf)
		if err != nil {
			return nil, fmt.Errorf("customer %d of %d: %w", i+1, len(customers), err)
		}
		out[i] = a
	}
	return out, nil
}

package tiering

import (
	"sort"
	"time"

	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/model"
)

// baseOf folds transactions into one Customer per id, sorted by id, applying only those
// before until (zero: all).
func baseOf(txns []model.Txn, until time.Time) []Customer {
	byID := map[string]*Aggregates{}
	for _, t := range txns {
		if !until.IsZero() && !t.At.Before(until) {
			continue
		}
		a := byID[t.CustomerID]
		if a == nil {
			a = &Aggregates{}
			byID[t.CustomerID] = a
		}
		a.Apply(t)
	}
	out := make([]Customer, 0, len(byID))
	for id, a := range byID {
		out = append(out, Customer{ID: id, Agg: a})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var (
	synthFrom = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	synthTo   = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

func synthBase(n int) dataset.Synthetic {
	return dataset.Synth(dataset.SynthConfig{Seed: 42, Customers: n, From: synthFrom, To: synthTo})
}

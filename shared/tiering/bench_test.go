package tiering

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkOnlineRetailRFM is the tier engine alone on the full UCI file (transactions
// already parsed, in memory): fold 22,190 invoices into per-customer aggregates, build the
// quantile summary, score RFM-T and assign tier and stage for all 4,372 customers. A
// pandas RFM takes about 0.23 s on this data.
func BenchmarkOnlineRetailRFM(b *testing.B) {
	txns, _ := onlineRetail(b)
	asOf := retailAsOf(b)
	p := DefaultPolicy()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		customers := baseOf(txns, time.Time{})
		out, err := AssessAll(p, customers, asOf, 0)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	if n != 4_372 {
		b.Fatalf("assessed %d customers: the README's figure is for all 4,372 of the file", n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1000, "ms/run")
}

// BenchmarkAssess is pass 2 for one customer, as a nightly worker does it: aggregates
// and cut points in hand, metrics + scores + tier + stage + grace.
func BenchmarkAssess(b *testing.B) {
	customers := baseOf(synthBase(5000).Txns, time.Time{})
	p := DefaultPolicy()
	base := NewBase(0)
	for _, c := range customers {
		base.Add(c.Agg.Metrics(p, synthTo))
	}
	cuts := base.Freeze()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := customers[i%len(customers)]
		if _, err := Assess(p, cuts, c.ID, c.Agg, Assignment{}, synthTo); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}

// BenchmarkBaseMerge is pass 1's reduce step: a segment summary of 10,000 customers
// through JSON (as it travels between workers) and merged into the run's summary.
func BenchmarkBaseMerge(b *testing.B) {
	customers := baseOf(synthBase(10_000).Txns, time.Time{})
	p := DefaultPolicy()
	seg := NewBase(0)
	for _, c := range customers {
		seg.Add(c.Agg.Metrics(p, synthTo))
	}
	raw, err := json.Marshal(seg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var s Base
		if err := json.Unmarshal(raw, &s); err != nil {
			b.Fatal(err)
		}
		total := NewBase(0)
		total.Merge(&s)
	}
	b.ReportMetric(float64(len(raw)), "summary-bytes")
}

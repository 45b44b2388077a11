package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/store/storetest"
)

// BenchmarkNightlyRun measures a whole two-pass run over N customers against DynamoDB
// Local: the first night writes every customer (changed), the second the same night
// writes none (unchanged). Request units come from ReturnConsumedCapacity.
func BenchmarkNightlyRun(b *testing.B) {
	for _, n := range []int{300, 1000} {
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			table := storetest.Table(b)
			prefix := "bn" + storetest.Suffix() + "-"
			seed(b, table, n, prefix)
			asOf := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
			r := newRetier(b, table, 4, asOf)
			b.ResetTimer()
			var changedRU, unchangedRU, changedSec, unchangedSec float64
			var customers int
			for i := 0; i < b.N; i++ {
				for night, dst := range []*float64{&changedRU, &unchangedRU} {
					before := table.Units.Snapshot()
					t0 := time.Now()
					run := drain(b, r, start(b, r, fmt.Sprintf(`{"action":"nightly","runId":"b%d-%d-%s","asOf":%q}`, i, night, storetest.Suffix(), asOf.Format(time.RFC3339))))
					took := time.Since(t0).Seconds()
					*dst += table.Units.Snapshot().Sub(before).Total()
					customers = run.Summary.Customers
					if night == 0 {
						changedSec += took
					} else {
						unchangedSec += took
					}
				}
			}
			// The table holds other tests' customers too: per-customer figures divide by
			// what the run actually saw.
			c := float64(customers * b.N)
			b.ReportMetric(changedRU/c, "RU/customer-first-night")
			b.ReportMetric(unchangedRU/c, "RU/customer-unchanged")
			b.ReportMetric(changedSec/float64(b.N), "s/run-first-night")
			b.ReportMetric(unchangedSec/float64(b.N), "s/run-unchanged")
			b.ReportMetric(float64(customers), "customers-scanned")
		})
	}
}

package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// BenchmarkIngest measures request units and time per applied transaction (existing
// customer) and per redelivered duplicate, against DynamoDB Local: what the ingest
// function does per message after its one policy read per batch.
func BenchmarkIngest(b *testing.B) {
	in, table := newIngest(b)
	ctx := context.Background()
	pol, err := in.Policy(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cust := customerOf(b, table, "sh-01")
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, shanghai)
	first := purchase(cust, "INV-first-"+storetest.Suffix(), at, 1000)
	if _, err := in.Apply(ctx, pol, first); err != nil {
		b.Fatal(err)
	}
	b.Run("new-transaction", func(b *testing.B) {
		before := table.Units.Snapshot()
		for i := 0; i < b.N; i++ {
			txn := purchase(cust, "INV-"+storetest.Suffix(), at.Add(time.Duration(i)*time.Minute), 1000)
			if res, err := in.Apply(ctx, pol, txn); err != nil || res.Duplicate {
				b.Fatal(res, err)
			}
		}
		u := table.Units.Snapshot().Sub(before)
		if r, w := u.Read/float64(b.N), u.Write/float64(b.N); r > 1 || w > 4 {
			b.Fatalf("%.2f RRU + %.2f WRU per new transaction: docs/scale.md says 1 + 4 (two eventually consistent reads; marker, profile and its store-index copy, transaction item)", r, w)
		}
		b.ReportMetric(u.Total()/float64(b.N), "RU/txn")
		b.ReportMetric(u.Read/float64(b.N), "RRU/txn")
		b.ReportMetric(u.Write/float64(b.N), "WRU/txn")
		b.ReportMetric(float64(u.Calls)/float64(b.N), "calls/txn")
	})
	b.Run("duplicate", func(b *testing.B) {
		before := table.Units.Snapshot()
		for i := 0; i < b.N; i++ {
			if res, err := in.Apply(ctx, pol, first); err != nil || !res.Duplicate {
				b.Fatal(res, err)
			}
		}
		u := table.Units.Snapshot().Sub(before)
		if u.Write != 0 || u.Read/float64(b.N) > 1 {
			b.Fatalf("a duplicate cost %.1f RRU + %.1f WRU per delivery; docs/scale.md says 1 + 0", u.Read/float64(b.N), u.Write/float64(b.N))
		}
		b.ReportMetric(u.Total()/float64(b.N), "RU/txn")
		b.ReportMetric(u.Read/float64(b.N), "RRU/txn")
		b.ReportMetric(u.Write/float64(b.N), "WRU/txn")
		b.ReportMetric(float64(u.Calls)/float64(b.N), "calls/txn")
	})
}

// BenchmarkNightlyRun measures a whole two-pass run over N customers against DynamoDB
// Local: the first night writes every customer (changed), the second the same night
// writes none (unchanged). Request units come from ReturnConsumedCapacity.
func BenchmarkNightlyRun(b *testing.B) {
	for _, n := range []int{300, 1000} {
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			table := storetest.Table(b)
			prefix := "bn" + storetest.Suffix() + "-"
			_, buyers := seed(b, table, n, prefix)
			asOf := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
			night := newNightly(b, table, 4, asOf)
			b.ResetTimer()
			var changedRU, unchangedRU, changedSec, unchangedSec float64
			var customers int
			for i := 0; i < b.N; i++ {
				for k, dst := range []*float64{&changedRU, &unchangedRU} {
					before := table.Units.Snapshot()
					t0 := time.Now()
					run := drain(b, night, start(b, night, app.StartRequest{Action: "nightly",
						RunID: fmt.Sprintf("b%d-%d-%s", i, k, storetest.Suffix()), AsOf: &asOf}))
					took := time.Since(t0).Seconds()
					u := table.Units.Snapshot().Sub(before)
					*dst += u.Total()
					customers = run.Summary.Customers
					// The figures are of a night that writes every customer and of one that
					// writes none: check that each night is that night.
					switch s := run.Summary; {
					case k == 0 && s.Changed < len(buyers):
						// Customers of an earlier sub-benchmark may be current already.
						b.Fatalf("first night wrote %d customers, fewer than the %d buyers seeded for it", s.Changed, len(buyers))
					case k == 1 && (s.Changed != 0 || s.TierChanges != 0):
						b.Fatalf("the same night again changed %d profiles, %d tiers; it must write none", s.Changed, s.TierChanges)
					case k == 1 && u.Write >= float64(s.Customers):
						// The run's own items (run, segment and store summaries, the model's
						// sample and fits) are written every night; a write per customer would
						// be at least one unit each.
						b.Fatalf("the same night again wrote %.0f units for %d customers: customers were written", u.Write, s.Customers)
					}
					if k == 0 {
						changedSec += took
					} else {
						unchangedSec += took
						// The figure says the same night again writes nothing: hold it to that.
						if run.Summary.Changed != 0 {
							b.Fatalf("the same night again changed %d customers", run.Summary.Changed)
						}
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

// BenchmarkModelCost measures what the customer-base model adds to a night, on the
// same customers and the same as-of: (1) a night without the model and its re-run, then
// (2) the model's first night, which writes every buyer's prediction (the tiers are
// already current, so those writes are the model's alone), and its re-run, which writes
// nothing. The unchanged difference is the steady-state cost per customer: the sample
// items, the fits, the model reads and the larger profile item the scans read.
func BenchmarkModelCost(b *testing.B) {
	for _, n := range []int{300, 1000} {
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			table := storetest.Table(b)
			seed(b, table, n, "bm"+storetest.Suffix()+"-")
			asOf := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
			night := newNightly(b, table, 4, asOf)
			runNight := func(i int, name string, disabled bool) (ru, sec float64, run app.Run) {
				night.CLV.Disabled = disabled
				before := table.Units.Snapshot()
				t0 := time.Now()
				run = drain(b, night, start(b, night, app.StartRequest{Action: "nightly",
					RunID: fmt.Sprintf("m%d-%s-%s", i, name, storetest.Suffix()), AsOf: &asOf}))
				return table.Units.Snapshot().Sub(before).Total(), time.Since(t0).Seconds(), run
			}
			b.ResetTimer()
			var offRU, offSec, onRU, onSec, firstRU, firstSec float64
			var customers, predicted int
			for i := 0; i < b.N; i++ {
				if i == 0 {
					runNight(i, "tiers", true) // the tiers' own first night
				}
				ru, sec, _ := runNight(i, "off", true)
				offRU, offSec = offRU+ru, offSec+sec
				if i == 0 {
					ru, sec, run := runNight(i, "first", false)
					firstRU, firstSec, predicted = ru, sec, run.Summary.Predicted
				}
				ru, sec, run := runNight(i, "on", false)
				onRU, onSec = onRU+ru, onSec+sec
				customers = run.Summary.Customers
				if run.Summary.Changed != 0 {
					b.Fatalf("model re-run changed %d", run.Summary.Changed)
				}
			}
			c := float64(customers * b.N)
			b.ReportMetric((onRU-offRU)/c, "extraRU/customer-unchanged")
			b.ReportMetric((onSec-offSec)/c*1000, "extra-ms/customer-unchanged")
			b.ReportMetric(offRU/c, "RU/customer-unchanged-without-model")
			b.ReportMetric(firstRU/float64(customers), "RU/customer-model-first-night")
			b.ReportMetric(firstSec/float64(customers)*1000, "ms/customer-model-first-night")
			b.ReportMetric(float64(predicted), "predicted")
			b.ReportMetric(float64(customers), "customers-scanned")
		})
	}
}

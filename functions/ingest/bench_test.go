package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/store/storetest"
)

// BenchmarkIngest measures request units and time per applied transaction (existing
// customer) and per redelivered duplicate, against DynamoDB Local.
func BenchmarkIngest(b *testing.B) {
	h, table := newHandlerTB(b)
	ctx := context.Background()
	cust := customerOf(b, table, "sh-01")
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, shanghai)
	first := purchase(cust, "INV-first-"+storetest.Suffix(), at, 1000)
	if _, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msgTB(b, "m", first)}}); err != nil {
		b.Fatal(err)
	}
	b.Run("new-transaction", func(b *testing.B) {
		before := table.Units.Snapshot()
		for i := 0; i < b.N; i++ {
			txn := purchase(cust, "INV-"+storetest.Suffix(), at.Add(time.Duration(i)*time.Minute), 1000)
			resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msgTB(b, "m", txn)}})
			if err != nil || len(resp.BatchItemFailures) > 0 {
				b.Fatal(err)
			}
		}
		u := table.Units.Snapshot().Sub(before)
		if ru := u.Total() / float64(b.N); ru != 7 {
			b.Fatalf("%.2f RU per new transaction: the README and docs/scale.md say 7 (1 read + 6 transactional writes)", ru)
		}
		b.ReportMetric(u.Total()/float64(b.N), "RU/txn")
		b.ReportMetric(u.Read/float64(b.N), "RRU/txn")
		b.ReportMetric(u.Write/float64(b.N), "WRU/txn")
		b.ReportMetric(float64(u.Calls)/float64(b.N), "calls/txn")
	})
	b.Run("duplicate", func(b *testing.B) {
		before := table.Units.Snapshot()
		for i := 0; i < b.N; i++ {
			if _, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msgTB(b, "m", first)}}); err != nil {
				b.Fatal(err)
			}
		}
		u := table.Units.Snapshot().Sub(before)
		if u.Write != 0 {
			b.Fatalf("redelivered duplicates wrote %.0f units: a transaction is applied once", u.Write)
		}
		b.ReportMetric(u.Total()/float64(b.N), "RU/txn")
		b.ReportMetric(u.Read/float64(b.N), "RRU/txn")
		b.ReportMetric(u.Write/float64(b.N), "WRU/txn")
		b.ReportMetric(float64(u.Calls)/float64(b.N), "calls/txn")
	})
}

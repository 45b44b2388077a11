package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
)

// BenchmarkDispatch measures the dispatcher's own cost per message (claim, checks, caps,
// render, send, record) over the in-memory ports; adapter latency comes on top.
func BenchmarkDispatch(b *testing.B) {
	r := newRig(b, sh("2025-03-03 11:00"))
	ctx := context.Background()
	var ids []string
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("c%d", i)
		v := customer(id)
		r.store.PutCustomer(v)
		res, err := r.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerComplaint, CustomerID: id, Ref: "cx", At: r.clock.Now()})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range res.Created {
			if !c.IsTask() {
				ids = append(ids, c.ID)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for _, id := range ids {
		if res, err := r.disp.Handle(ctx, id); err != nil || res != "sent" {
			b.Fatalf("%s: %s %v", id, res, err)
		}
	}
	b.ReportMetric(float64(len(ids))/time.Since(start).Seconds(), "msgs/s")
}

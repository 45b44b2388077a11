package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/store"
)

// BenchmarkKnownPersonLeadRequestUnits reports the DynamoDB request units (read from
// ReturnConsumedCapacity) of one form posted by a person already known — same phone,
// another name — through the whole handler: both rate limits, resolution, the touch and
// the follow-up it plans. Each iteration uses a fresh person, created outside the
// measurement, so every figure is the cost of exactly one such post:
//   - call-open: the person's first-contact call is still open (no new task);
//   - callback: that call was done, so the form plans a call-back task;
//   - callback+confirm: as callback, with a marketing box ticked, so a confirmation
//     message is planned too.
func BenchmarkKnownPersonLeadRequestUnits(b *testing.B) {
	for _, tc := range []struct {
		name      string
		callDone  bool
		extraBody string
	}{
		{"call-open", false, ``},
		{"callback", true, ``},
		{"callback+confirm", true, `,"consent_marketing_sms":true,"consent_text_version":"2025-01"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			g := newLeadRig(b)
			g.h.perPhone.Limit, g.h.perIP.Limit = 1<<30, 1<<30
			f := g.withPlanner()
			var total store.Units
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				nat, e164 := uniqueMobile()
				if r := g.post("application/json", fmt.Sprintf(`{"name":"Bench Known","phone":%q,"store":"sh-01","consent_service":true,"consent_text_version":"2025-01"}`, nat)); r.StatusCode >= 300 {
					b.Fatalf("first lead: %d %s", r.StatusCode, r.Body)
				}
				if tc.callDone {
					open, err := f.OpenForCustomer(ctx, g.customerOf(e164))
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range open {
						if done, err := r.Complete("agent-1", followup.OutcomeReached, leadClock); err == nil {
							if _, err := f.Update(ctx, done); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				before := g.tbl.Units.Snapshot()
				b.StartTimer()
				if r := g.post("application/json", fmt.Sprintf(`{"name":"Someone Else","phone":%q,"utm_source":"wechat"%s}`, e164, tc.extraBody)); r.StatusCode >= 300 {
					b.Fatalf("known lead: %d %s", r.StatusCode, r.Body)
				}
				d := g.tbl.Units.Snapshot().Sub(before)
				total.Read, total.Write, total.Calls = total.Read+d.Read, total.Write+d.Write, total.Calls+d.Calls
			}
			b.ReportMetric(total.Read/float64(b.N), "RRU/lead")
			b.ReportMetric(total.Write/float64(b.N), "WRU/lead")
			b.ReportMetric(float64(total.Calls)/float64(b.N), "calls/lead")
		})
	}
}

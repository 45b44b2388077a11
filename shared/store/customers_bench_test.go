package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// BenchmarkLeadRequestUnits reports the DynamoDB request units one lead costs, read from
// ReturnConsumedCapacity: a new person (lookup + three claims, profile and touch, each a
// conditional PutItem) and a known one (lookup + read + one touch PutItem; the profile is
// never written).
func BenchmarkLeadRequestUnits(b *testing.B) {
	ctx := context.Background()
	form := func() customer.LeadForm {
		n := rand.IntN(100000000)
		return customer.LeadForm{Name: "Bench Person", Phone: fmt.Sprintf("+86133%08d", n),
			Email: fmt.Sprintf("b%08d-%s@example.com", n, storetest.Suffix()), Interest: "whitening", UTMSource: "baidu",
			ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}
	}
	b.Run("new", func(b *testing.B) {
		tbl := storetest.Table(b)
		before := tbl.Units.Snapshot()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			l, g := lead(b, form(), t0)
			if _, _, err := tbl.ResolveOrCreate(ctx, l, g, t0); err != nil {
				b.Fatal(err)
			}
		}
		u := tbl.Units.Snapshot().Sub(before)
		if ru := u.Total() / float64(b.N); ru != 6 {
			b.Fatalf("%.2f RU per new lead: the README and docs/leads.md say 6", ru)
		}
		b.ReportMetric(u.Read/float64(b.N), "RRU/lead")
		b.ReportMetric(u.Write/float64(b.N), "WRU/lead")
		b.ReportMetric(float64(u.Calls)/float64(b.N), "calls/lead")
	})
	b.Run("known", func(b *testing.B) {
		tbl := storetest.Table(b)
		f := form()
		l, g := lead(b, f, t0)
		if _, _, err := tbl.ResolveOrCreate(ctx, l, g, t0); err != nil {
			b.Fatal(err)
		}
		before := tbl.Units.Snapshot()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			at := t0.Add(time.Duration(i+1) * time.Second)
			l, g := lead(b, customer.LeadForm{Phone: f.Phone, UTMSource: "wechat"}, at)
			if _, _, err := tbl.ResolveOrCreate(ctx, l, g, at); err != nil {
				b.Fatal(err)
			}
		}
		u := tbl.Units.Snapshot().Sub(before)
		// The property behind the figure: a known person's form writes its touch (1 unit)
		// and never rewrites the profile.
		if u.Write/float64(b.N) != 1 || u.Total()/float64(b.N) != 3 {
			b.Fatalf("%.2f RU (%.2f written) per known person's lead: the README and docs/leads.md say 3, one of them the touch", u.Total()/float64(b.N), u.Write/float64(b.N))
		}
		b.ReportMetric(u.Read/float64(b.N), "RRU/lead")
		b.ReportMetric(u.Write/float64(b.N), "WRU/lead")
		b.ReportMetric(float64(u.Calls)/float64(b.N), "calls/lead")
	})
}

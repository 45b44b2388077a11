// Package coldstart measures each function's cold start through the local runtime: the
// real bootstrap of this checkout (native architecture), started from scratch ten times,
// from process start to its first response (issue #13). Run by make bench:
//
//	go run ./infra/local/cmd/tierflow-local test -- go test -run '^$' -bench . -benchtime 1x ./infra/local/coldstart
package coldstart

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/infra/local/stack/stacktest"
)

var st *stack.Stack

// TestMain starts a stack only when benchmarks run: make test runs this package too and
// must not pay for seven builds and a stack it does not use.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	os.Exit(stacktest.Main(m, nil, &st))
}

const starts = 10

// What each function is invoked with: the cheapest event it answers without an error.
var functions = []struct{ name, event string }{
	{"api", `{"version":"2.0","routeKey":"GET /v1/customers","rawPath":"/v1/customers","requestContext":{"http":{"method":"GET","path":"/v1/customers"}}}`},
	{"public-api", `{"version":"2.0","routeKey":"GET /health","rawPath":"/health","requestContext":{"http":{"method":"GET","path":"/health"}}}`},
	{"ingest", `{"Records":[]}`},
	{"retier", `{"Records":[]}`},
	{"sweep", `{"action":"sweep"}`},
	{"dispatch", `{"Records":[]}`},
	{"web", `{"version":"2.0","routeKey":"GET /app","rawPath":"/app","requestContext":{"http":{"method":"GET","path":"/app"}}}`},
}

func BenchmarkColdStart(b *testing.B) {
	for _, fn := range functions {
		b.Run(fn.name, func(b *testing.B) {
			for b.Loop() {
				var first, init []time.Duration
				for range starts {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					c, err := st.ColdStart(ctx, fn.name, []byte(fn.event))
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					first, init = append(first, c.FirstResponse), append(init, c.Init)
				}
				slices.Sort(first)
				slices.Sort(init)
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(first[0]), "min-ms")
				b.ReportMetric(ms(first[len(first)/2]), "median-ms")
				b.ReportMetric(ms(first[len(first)-1]), "max-ms")
				b.ReportMetric(ms(init[len(init)/2]), "init-median-ms")
				fmt.Printf("cold start %-10s %d starts: first response min %.1f / median %.1f / max %.1f ms (init median %.1f ms)\n",
					fn.name, len(first), ms(first[0]), ms(first[len(first)/2]), ms(first[len(first)-1]), ms(init[len(init)/2]))
			}
		})
	}
}

package emulators

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStart measures start-up to readiness of each emulator (they start in
// parallel, so the total is the slowest one). "warm": the DynamoDB launcher is already
// compiled in the shared cache; "cold": a fresh cache, so it is compiled first. Run with
// -benchtime 3x for a few samples.
func BenchmarkStart(b *testing.B) {
	root, err := FindRoot()
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			sum := map[string]time.Duration{}
			var total time.Duration
			for i := 0; i < b.N; i++ {
				state := b.TempDir()
				cache := filepath.Join(root, ".local", "cache")
				if mode == "cold" {
					cache = filepath.Join(state, "cache")
				}
				t0 := time.Now()
				e, err := Start(context.Background(), Options{StateDir: state, CacheDir: cache})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
				for k, v := range e.Startup {
					sum[k] += v
				}
				if err := e.Stop(); err != nil {
					b.Fatal(err)
				}
			}
			for k, v := range sum {
				b.ReportMetric(float64(v.Milliseconds())/float64(b.N), k+"-ms")
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "all-ready-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

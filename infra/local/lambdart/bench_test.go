package lambdart_test

import (
	"context"
	"testing"
)

// BenchmarkColdStart measures process start → first response: a new pool per iteration,
// so every invocation starts a bootstrap.
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		p, _ := newPool(b, nil)
		if _, err := p.Invoke(ctx, []byte(`{"action":"echo"}`)); err != nil {
			b.Fatal(err)
		}
		if st := p.Stats(); st.ColdStarts != 1 {
			b.Fatalf("stats %+v: the figure is one cold start per invocation", st)
		}
		p.Stop()
	}
}

// BenchmarkWarmInvoke measures one invocation through the Runtime API of a warm process.
func BenchmarkWarmInvoke(b *testing.B) {
	ctx := context.Background()
	p, _ := newPool(b, nil)
	if _, err := p.Invoke(ctx, []byte(`{"action":"echo"}`)); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"action":"echo","customer":"c-1","amount":"120.00"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
	if st := p.Stats(); st.ColdStarts != 1 {
		b.Fatalf("stats %+v: a warm figure must come from one process started once", st)
	}
}

// BenchmarkWarmInvokeParallel measures throughput with a pool of four processes.
func BenchmarkWarmInvokeParallel(b *testing.B) {
	ctx := context.Background()
	p, _ := newPool(b, nil)
	payload := []byte(`{"action":"echo"}`)
	b.RunParallel(func(pb *testing.PB) {
		// RunParallel's goroutines are not the benchmark's: Error and stop, never Fatal.
		for pb.Next() {
			if _, err := p.Invoke(ctx, payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

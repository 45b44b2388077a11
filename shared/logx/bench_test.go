package logx_test

import (
	"io"
	"testing"

	"github.com/tierflow/tierflow/shared/logx"
)

// BenchmarkRedactedLine is the cost of one typical handler log line through redaction.
func BenchmarkRedactedLine(b *testing.B) {
	l := logx.New(io.Discard, logx.Options{HashKey: []byte("k")})
	b.ReportAllocs()
	for b.Loop() {
		l.Info("lead merged", "customer_id", "cus_01HZX3", "store", "sh-01", "phone", "+8613800138000",
			"detail", "second form from 138 0013 8000", "status", 200)
	}
}

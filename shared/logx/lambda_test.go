package logx

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestEveryLineOfAnInvocationCarriesItsRequestIDColdStartAndTrace(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, Options{HashKey: []byte("0123456789abcdef")})
	inv := func(id, trace string) context.Context {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
		return context.WithValue(ctx, "x-amzn-trace-id", trace) //nolint:staticcheck // the key aws-lambda-go sets
	}
	log.InfoContext(inv("req-1", "Root=1-abc"), "first")
	log.InfoContext(inv("req-1", "Root=1-abc"), "first again")
	log.InfoContext(inv("req-2", "Root=1-def"), "second")
	log.Info("outside an invocation")
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	want := []struct {
		id, trace string
		cold      any
	}{{"req-1", "Root=1-abc", true}, {"req-1", "Root=1-abc", true}, {"req-2", "Root=1-def", false}, {"", "", nil}}
	for i, w := range want {
		got := lines[i]
		if id, _ := got["lambda_request_id"].(string); id != w.id {
			t.Errorf("line %d: lambda_request_id %q, want %q", i, id, w.id)
		}
		if tr, _ := got["trace_id"].(string); tr != w.trace {
			t.Errorf("line %d: trace_id %q, want %q", i, tr, w.trace)
		}
		if got["cold_start"] != w.cold {
			t.Errorf("line %d: cold_start %v, want %v", i, got["cold_start"], w.cold)
		}
	}
}

func TestMetricsAreEmbeddedMetricFormat(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "tierflow-dev-dispatch", func() time.Time { return time.UnixMilli(1700000000000) })
	m.Put(context.Background(), "Messages", "Count", 1, "Disposition", "suppressed", "Reason", "quiet_hours")
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function, Disposition, Reason string
		Messages                      float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != 1700000000000 || len(cw) != 1 || cw[0].Namespace != Namespace || cw[0].Metrics[0].Name != "Messages" || cw[0].Metrics[0].Unit != "Count" {
		t.Fatalf("EMF envelope: %s", buf.String())
	}
	if d := cw[0].Dimensions; len(d) != 1 || strings.Join(d[0], ",") != "Function,Disposition,Reason" {
		t.Errorf("dimensions %v", d)
	}
	if doc.Function != "tierflow-dev-dispatch" || doc.Disposition != "suppressed" || doc.Reason != "quiet_hours" || doc.Messages != 1 {
		t.Errorf("values: %+v", doc)
	}
}

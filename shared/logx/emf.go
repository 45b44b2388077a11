package logx

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every tierflow metric.
const Namespace = "Tierflow"

// Metrics writes CloudWatch Embedded Metric Format lines: one JSON object per
// observation, which CloudWatch Logs turns into a metric without an API call. Every
// metric carries the dimension Function plus the ones given.
type Metrics struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// NewMetrics writes to w for the named function.
func NewMetrics(w io.Writer, function string, now func() time.Time) *Metrics {
	return &Metrics{w: w, function: function, now: now}
}

var (
	defaultMetrics     *Metrics
	defaultMetricsOnce sync.Once
)

// Metric is the process's writer: stdout, Function from AWS_LAMBDA_FUNCTION_NAME.
func Metric() *Metrics {
	defaultMetricsOnce.Do(func() {
		defaultMetrics = NewMetrics(os.Stdout, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), time.Now)
	})
	return defaultMetrics
}

// Count records n of name ("Messages") with dimension pairs ("Disposition", "sent").
func Count(ctx context.Context, name string, n float64, dims ...string) {
	Metric().Put(ctx, name, "Count", n, dims...)
}

// Duration records d in milliseconds.
func Duration(ctx context.Context, name string, d time.Duration, dims ...string) {
	Metric().Put(ctx, name, "Milliseconds", float64(d)/float64(time.Millisecond), dims...)
}

// Put writes one EMF line. dims are key, value pairs; an odd trailing key is dropped.
// Values must not be personal data: they become metric dimensions.
func (m *Metrics) Put(ctx context.Context, name, unit string, value float64, dims ...string) {
	doc := map[string]any{"Function": m.function, name: value}
	keys := []string{"Function"}
	for i := 0; i+1 < len(dims); i += 2 {
		doc[dims[i]] = dims[i+1]
		keys = append(keys, dims[i])
	}
	if id := lambdaRequestID(ctx); id != "" {
		doc["lambda_request_id"] = id // a property, not a dimension: links the metric to its log lines
	}
	doc["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{keys},
			"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(b, '\n'))
}

// IngestLag records the time since an SQS message's SentTimestamp attribute
// (milliseconds since the epoch) as IngestLag; an unreadable attribute records nothing.
func IngestLag(ctx context.Context, sentTimestamp string) {
	ms, err := strconv.ParseInt(sentTimestamp, 10, 64)
	if err != nil || ms <= 0 {
		return
	}
	m := Metric()
	Duration(ctx, "IngestLag", m.now().Sub(time.UnixMilli(ms)))
}

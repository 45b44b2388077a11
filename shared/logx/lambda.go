package logx

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Lambda invocation fields on every log line written with the invocation's context:
// lambda_request_id, cold_start (the first invocation this execution environment
// serves) and trace_id (X-Ray).
var (
	firstMu  sync.Mutex
	firstReq string
)

func lambdaRequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc != nil {
		return lc.AwsRequestID
	}
	return ""
}

// coldStart reports whether id is the first invocation this process served.
func coldStart(id string) bool {
	firstMu.Lock()
	defer firstMu.Unlock()
	if firstReq == "" {
		firstReq = id
	}
	return firstReq == id
}

func traceID(ctx context.Context) string {
	if v, ok := ctx.Value("x-amzn-trace-id").(string); ok && v != "" {
		return v
	}
	return os.Getenv("_X_AMZN_TRACE_ID")
}

// lambdaAttrs are the invocation fields for ctx, none outside an invocation.
func lambdaAttrs(ctx context.Context) []slog.Attr {
	id := lambdaRequestID(ctx)
	if id == "" {
		return nil
	}
	attrs := []slog.Attr{slog.String("lambda_request_id", id), slog.Bool("cold_start", coldStart(id))}
	if t := traceID(ctx); t != "" {
		attrs = append(attrs, slog.String("trace_id", t))
	}
	return attrs
}

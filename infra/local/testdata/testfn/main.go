// Command testfn is the function the local runtime's tests run: one bootstrap whose
// behaviour is chosen by the event, so a single build covers every case.
//
//	{"action":"echo", ...}            → the event back
//	{"action":"error","message":"m"}  → a returned error
//	{"action":"panic"}                → a panic (aws-lambda-go reports it, then exits)
//	{"action":"exit"}                 → the process dies mid-invocation
//	{"action":"sleep","ms":N}         → sleeps N ms (past the timeout in tests), then echoes
//	an API Gateway v2 event           → 200 with the event as the body; rawPath /crash exits,
//	                                    /error returns an error, /binary returns base64 bytes
//	an SQS event                      → batch item failures for bodies "fail"; a body
//	                                    "invalid" makes the whole response invalid
//
// With TESTFN_INIT_FAIL set it fails at cold start instead.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

var log = slog.New(slog.NewJSONHandler(os.Stdout, nil))

func main() {
	if os.Getenv("TESTFN_INIT_FAIL") != "" {
		log.Error("cold start failed on purpose")
		os.Exit(3)
	}
	lambda.Start(handle)
}

type probe struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	MS      int    `json:"ms"`
	Version string `json:"version"`
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var p probe
	_ = json.Unmarshal(raw, &p)
	lc, _ := lambdacontext.FromContext(ctx)
	log.Info("invoked", "action", p.Action, "requestId", lc.AwsRequestID)
	switch {
	case p.Version == "2.0":
		return httpEvent(raw)
	case len(p.Records) > 0 && p.Records[0].EventSource == "aws:sqs":
		return sqsEvent(raw)
	}
	switch p.Action {
	case "error":
		return nil, errors.New(p.Message)
	case "panic":
		panic("testfn: panic on purpose")
	case "exit":
		os.Exit(7)
	case "sleep":
		time.Sleep(time.Duration(p.MS) * time.Millisecond)
	case "env":
		return map[string]string{
			"AWS_LAMBDA_FUNCTION_NAME": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
			"AWS_REGION":               os.Getenv("AWS_REGION"),
			"TESTFN_VALUE":             os.Getenv("TESTFN_VALUE"),
			"arn":                      lc.InvokedFunctionArn,
			"pid":                      fmt.Sprint(os.Getpid()),
		}, nil
	}
	return raw, nil
}

func httpEvent(raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch req.RawPath {
	case "/crash":
		os.Exit(9)
	case "/error":
		return events.APIGatewayV2HTTPResponse{}, errors.New("handler failed")
	case "/binary":
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true,
			Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body:    base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})}, nil
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode:        200,
		Headers:           map[string]string{"Content-Type": "application/json", "X-Route": req.RouteKey},
		MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}},
		Cookies:           []string{"seen=1; Path=/"},
		Body:              string(raw),
	}, nil
}

func sqsEvent(raw json.RawMessage) (any, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		log.Info("message", "id", r.MessageId, "body", r.Body, "receiveCount", r.Attributes["ApproximateReceiveCount"])
		switch r.Body {
		case "fail":
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		case "invalid":
			return map[string]any{"batchItemFailures": []map[string]string{{"itemIdentifier": "no-such-id"}}}, nil
		case "error":
			return nil, errors.New("batch failed")
		}
	}
	return resp, nil
}

package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"

	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
)

func newHealth(a *app, e *env.Reader) healthChecker {
	return healthChecker{
		table:  a.table.Ping,
		queues: []string{e.Required("INGEST_QUEUE_URL"), e.Required("DISPATCH_QUEUE_URL"), e.Required("RETIER_QUEUE_URL")},
		sqs:    a.sqs,
		ses:    sesv2.NewFromConfig(a.cfg),
	}
}

// healthChecker asks each dependency a cheap, read-only question. It reports every
// dependency's state rather than stopping at the first failure, so an operator sees the
// whole picture in one request.
type healthChecker struct {
	table  func(context.Context) error // store.Table.Ping
	queues []string
	sqs    *sqs.Client
	ses    *sesv2.Client
}

type dependency struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	LatencyMS int64  `json:"latencyMs"`
	Error     string `json:"error,omitempty"`
}

type healthReport struct {
	Status       string       `json:"status"`
	Dependencies []dependency `json:"dependencies"`
}

func (h healthChecker) check(ctx context.Context) healthReport {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	probes := []struct {
		name string
		run  func(context.Context) error
	}{
		{"dynamodb", h.table},
		{"sqs", func(ctx context.Context) error {
			for _, q := range h.queues {
				if _, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
					QueueUrl:       aws.String(q),
					AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
				}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"ses", func(ctx context.Context) error {
			_, err := h.ses.GetAccount(ctx, &sesv2.GetAccountInput{})
			return err
		}},
	}
	report := healthReport{Status: "ok", Dependencies: make([]dependency, len(probes))}
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := p.run(ctx)
			d := dependency{Name: p.name, Status: "ok", LatencyMS: time.Since(start).Milliseconds()}
			if err != nil {
				d.Status, d.Error = "down", errorCode(err)
			}
			report.Dependencies[i] = d
		}()
	}
	wg.Wait()
	for _, d := range report.Dependencies {
		if d.Status != "ok" {
			report.Status = "degraded"
		}
	}
	return report
}

// handle answers 200 when every dependency answered and 503 otherwise, with the state of
// each, so a load balancer and a person read the same document.
func (h healthChecker) handle(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	report := h.check(ctx)
	status := http.StatusOK
	if report.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return httpx.JSON(status, report), nil
}

// errorCode keeps the AWS error code (or "timeout"/"unreachable") and drops the rest: this
// is a public route, and request ids, ARNs and endpoints are for the logs.
func errorCode(err error) string {
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "unreachable"
}

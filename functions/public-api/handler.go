package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

type handler struct {
	log    *slog.Logger
	health healthChecker
}

func (h *handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RouteKey {
	case "GET /v1/health":
		report := h.health.check(ctx)
		status := http.StatusOK
		if report.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		body, _ := json.Marshal(report)
		h.log.Info("health", "requestId", req.RequestContext.RequestID, "status", report.Status)
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotFound, Headers: map[string]string{"Content-Type": "application/problem+json"}, Body: `{"title":"Not Found","status":404}`}, nil
}

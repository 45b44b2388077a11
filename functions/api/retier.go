package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
)

func init() {
	areas = append(areas, func(a *app, r *httpx.Router, e *env.Reader) {
		h := &retierAPI{app: a, queueURL: e.Required("RETIER_QUEUE_URL")}
		r.Handle("POST /v1/retier", h.start)
		r.Handle("GET /v1/retier/{id}", h.get)
	})
}

type retierAPI struct {
	*app
	queueURL string
}

// start queues a run for the retier function (pass 0 on its queue: the function
// creates the run and hands out the segments). Body (optional): {"asOf": RFC 3339}.
func (h *retierAPI) start(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := requireRole(req, model.RoleAdmin); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var in struct {
		AsOf *time.Time `json:"asOf"`
	}
	if req.Body != "" {
		if err := httpx.DecodeJSON(req, &in, 4<<10); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	asOf := h.now().In(h.zone)
	if in.AsOf != nil {
		if in.AsOf.After(asOf) {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("asOf", "must not be in the future")
		}
		asOf = in.AsOf.In(h.zone)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := "run-" + asOf.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
	body, _ := json.Marshal(map[string]any{"runId": id, "pass": 0, "segment": 0, "asOf": asOf})
	if _, err := h.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(h.queueURL), MessageBody: aws.String(string(body))}); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	h.log.InfoContext(ctx, "retier requested", "run", id)
	resp := httpx.JSON(http.StatusAccepted, map[string]any{"runId": id, "status": "queued", "asOf": asOf, "href": "/v1/retier/" + id})
	resp.Headers["Location"] = "/v1/retier/" + id
	return resp, nil
}

// get shows a run's progress and, once done, its summary.
func (h *retierAPI) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := requireRole(req, model.RoleAdmin, model.RoleClinician); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	run, found, err := h.table.GetRun(ctx, req.PathParameters["id"])
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !found {
		return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("Run")
	}
	return httpx.JSON(http.StatusOK, run), nil
}

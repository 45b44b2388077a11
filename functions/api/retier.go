package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/queue"
	tapp "github.com/tierflow/tierflow/shared/tiering/app"
)

func newRetierAPI(a *app, e *env.Reader) *retierAPI {
	return &retierAPI{app: a, desk: a.desk, runs: queue.New(a.sqs, e.Required("RETIER_QUEUE_URL"))}
}

type retierAPI struct {
	*app
	desk reportDesk
	runs *queue.Queue // the retier queue: pass 0 of a run starts it
}

// earliestAsOf: nothing the business records happened before it (the same floor as a
// transaction's time).
var earliestAsOf = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// start queues a run for the retier function (pass 0 on its queue: the function
// creates the run and hands out the segments). Body (optional): {"asOf": RFC 3339}. A
// run re-tiers every store's customers, so only an admin of every store starts one (C3).
func (h *retierAPI) start(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := access.Require(p, access.StartRun); err != nil {
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
		if in.AsOf.After(asOf) || in.AsOf.Before(earliestAsOf) {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("asOf", "must be between 2000-01-01 and now")
		}
		asOf = in.AsOf.In(h.zone)
	}
	id := tapp.NewRunID(asOf)
	body, _ := json.Marshal(tapp.SegmentMsg{RunID: id, Pass: 0, Segment: 0, AsOf: &asOf}) // strings, ints and a time: cannot fail
	if _, err := h.runs.Send(ctx, []string{string(body)}); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	h.log.InfoContext(ctx, "retier requested", "run", id)
	resp := httpx.JSON(http.StatusAccepted, map[string]any{"runId": id, "status": "queued", "asOf": asOf, "href": "/v1/retier/" + id})
	resp.Headers["Location"] = "/v1/retier/" + id
	return resp, nil
}

// get shows a run's progress and, once done, its summary: the business's for all-stores
// staff, the caller's stores' otherwise (C3).
func (h *retierAPI) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	id := req.PathParameters["id"]
	if id == "" {
		return events.APIGatewayV2HTTPResponse{}, access.NotFound("Run")
	}
	ref, err := h.acc.Run(p, id, "", access.ReadRuns)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	run, found, err := h.desk.Run(ctx, ref)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !found {
		return events.APIGatewayV2HTTPResponse{}, access.NotFound("Run")
	}
	return httpx.JSON(http.StatusOK, run), nil
}

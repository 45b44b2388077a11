package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

// audit answers GET /v1/audit?customer=: the append-only log of who read, changed,
// exported or erased a customer. Admins only; reading the log is itself not personal data.
func (c *customers) audit(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := p.Require(model.RoleAdmin); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	id := req.QueryStringParameters["customer"]
	if id == "" {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("customer", "is required")
	}
	es, next, err := c.table.AuditLog(ctx, id, 100, req.QueryStringParameters["cursor"])
	if errors.Is(err, store.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("cursor", "is not a cursor of this log")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if es == nil {
		es = []store.AuditEntry{}
	}
	return httpx.JSON(http.StatusOK, map[string]any{"items": es, "nextCursor": next}), nil
}

package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// audit answers GET /v1/audit?customer=: the append-only log of who read, changed,
// exported or erased a customer, or tried to. Admins only, and only of a customer they
// may see: another store's customer and an unknown id are the same 404, so the log does
// not tell which ids exist.
func (c *customers) audit(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := access.Require(p, access.ReadAudit); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	id, ok := req.QueryStringParameters["customer"]
	if !ok || id == "" {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("customer", "is required")
	}
	cu, err := c.acc.Customer(ctx, p, id, access.ReadAudit)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	es, next, err := c.desk.AuditLog(ctx, cu, 100, req.QueryStringParameters["cursor"])
	if errors.Is(err, store.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("cursor", "is not a cursor of this log")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if es == nil {
		es = []customer.AuditEntry{}
	}
	return httpx.JSON(http.StatusOK, map[string]any{"items": es, "nextCursor": next}), nil
}

package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// staffLister lists a store's staff directory (store.StaffDirectory).
type staffLister interface {
	Of(ctx context.Context, st access.Store) ([]store.StaffMember, error)
}

// list answers GET /v1/staff?store=: the staff members of one store the caller covers
// (sub and role), for reassigning a task.
func (s *staffFollowup) staff(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := s.principal(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	for k := range req.QueryStringParameters {
		if k != "store" {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a known parameter")
		}
	}
	st, err := s.acc.Store(p, req.QueryStringParameters["store"], s.stores, access.WorkTasks)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	members, err := s.directory.Of(ctx, st)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if members == nil {
		members = []store.StaffMember{}
	}
	return httpx.JSON(200, map[string]any{"store": st.ID(), "items": members}), nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
)

type policyAPI struct{ *app }

// PolicyResponse is the policy in force; Stored=false means the embedded default.
type PolicyResponse struct {
	Version int             `json:"version"`
	Stored  bool            `json:"stored"`
	Policy  *tiering.Policy `json:"policy"`
}

// get returns the current policy, or every stored version with ?history=1. Admin only:
// thresholds are business decisions.
func (h *policyAPI) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := requireAction(req, access.ReadPolicy); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if v := req.QueryStringParameters["history"]; v == "1" || v == "true" {
		hist, err := h.policies.PolicyHistory(ctx)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if hist == nil {
			hist = []store.PolicyVersion{}
		}
		return httpx.JSON(http.StatusOK, map[string]any{"versions": hist, "defaultVersion": store.DefaultPolicyVersion}), nil
	}
	p, stored, err := h.policies.CurrentPolicy(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return httpx.JSON(http.StatusOK, PolicyResponse{Version: p.Version, Stored: stored, Policy: p}), nil
}

// put stores a new version. The body's version must be the current one plus one, so two
// admins editing at once cannot overwrite each other (409 for the later one). The policy
// tiers every store, so only an admin of every store changes it (C3).
func (h *policyAPI) put(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := access.Require(p, access.ChangePolicy); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if mt, err := httpx.MediaType(req); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	} else if mt != "" && mt != httpx.MediaJSON {
		return events.APIGatewayV2HTTPResponse{}, httpx.UnsupportedMediaType(httpx.MediaJSON)
	}
	body, err := httpx.Body(req, 64<<10)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	pol, err := tiering.ParsePolicy(body)
	var verrs tiering.ValidationErrors
	if errors.As(err, &verrs) {
		fields := make([]httpx.FieldError, len(verrs))
		for i, v := range verrs {
			fields[i] = httpx.FieldError{Field: v.Field, Reason: v.Reason}
		}
		return events.APIGatewayV2HTTPResponse{}, httpx.Invalid(fields...)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cur, _, err := h.policies.CurrentPolicy(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if pol.Version != cur.Version+1 {
		return events.APIGatewayV2HTTPResponse{}, httpx.Conflict(fmt.Sprintf("The current policy is version %d; send version %d.", cur.Version, cur.Version+1))
	}
	v, err := h.policies.PutPolicy(ctx, pol, cur.Version, p.Sub, h.now())
	if errors.Is(err, store.ErrPolicyConflict) {
		return events.APIGatewayV2HTTPResponse{}, httpx.Conflict("Someone else changed the policy meanwhile; read it again.")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	pol.Version = v
	h.log.InfoContext(ctx, "policy stored", "version", v)
	return httpx.JSON(http.StatusOK, PolicyResponse{Version: v, Stored: true, Policy: pol}), nil
}

// requireAction reads the principal and checks that they may do a.
func requireAction(req events.APIGatewayV2HTTPRequest, a access.Action) error {
	p, err := auth.FromRequest(req)
	if err != nil {
		return err
	}
	return access.Require(p, a)
}

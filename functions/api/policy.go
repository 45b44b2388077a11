package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

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
	// At and By say when and by whom an old version (?version=N) was stored.
	At *time.Time `json:"at,omitempty"`
	By string     `json:"by,omitempty"`
}

// get returns the current policy, one old version with ?version=N (the embedded default
// is version 1 until an admin stores one), or every stored version with ?history=1.
// Admin only: thresholds are business decisions.
func (h *policyAPI) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := requireAction(req, access.ReadPolicy); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	q := req.QueryStringParameters
	for k := range q {
		if k != "history" && k != "version" {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a parameter of the policy")
		}
	}
	if s, ok := q["version"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("version", "must be a policy version (a whole number from 1)")
		}
		return h.version(ctx, n)
	}
	if v := q["history"]; v == "1" || v == "true" {
		hist, err := h.policies.PolicyHistory(ctx)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if hist == nil {
			hist = []store.PolicyVersion{}
		}
		return httpx.JSON(http.StatusOK, map[string]any{"versions": hist, "defaultVersion": store.DefaultPolicyVersion}), nil
	} else if v != "" {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("history", "must be 1 or true")
	}
	p, stored, err := h.policies.CurrentPolicy(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return httpx.JSON(http.StatusOK, PolicyResponse{Version: p.Version, Stored: stored, Policy: p}), nil
}

// version answers one version: a stored one as it was stored, the default's while none
// replaced it (once one is stored, version 1 is the first stored or the default it
// replaced, whichever the store holds), 404 for a version never made.
func (h *policyAPI) version(ctx context.Context, n int) (events.APIGatewayV2HTTPResponse, error) {
	v, found, err := h.policies.PolicyAt(ctx, n)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if found {
		return httpx.JSON(http.StatusOK, PolicyResponse{Version: v.Version, Stored: true, Policy: v.Policy, At: &v.At, By: v.By}), nil
	}
	if n == store.DefaultPolicyVersion {
		return httpx.JSON(http.StatusOK, PolicyResponse{Version: n, Stored: false, Policy: tiering.DefaultPolicy()}), nil
	}
	return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("Policy version")
}

// PolicyVersionRow is one line of the version list: who stored which version when.
type PolicyVersionRow struct {
	Version int        `json:"version"`
	Stored  bool       `json:"stored"`
	Current bool       `json:"current"`
	At      *time.Time `json:"at"`
	By      string     `json:"by,omitempty"`
}

// versions lists every version the editor can open, newest first: the stored ones and,
// below them, the embedded default (version 1) they started from. Admin only.
func (h *policyAPI) versions(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := requireAction(req, access.ReadPolicy); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	for k := range req.QueryStringParameters {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a parameter of the version list")
	}
	stored, err := h.policies.PolicyVersions(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cur, _, err := h.policies.CurrentPolicy(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	rows := []PolicyVersionRow{}
	hasDefault := false
	for _, v := range stored {
		at := v.At
		rows = append(rows, PolicyVersionRow{Version: v.Version, Stored: true, Current: v.Version == cur.Version, At: &at, By: v.By})
		hasDefault = hasDefault || v.Version == store.DefaultPolicyVersion
	}
	if !hasDefault {
		rows = append(rows, PolicyVersionRow{Version: store.DefaultPolicyVersion, Current: cur.Version == store.DefaultPolicyVersion})
	}
	return httpx.JSON(http.StatusOK, map[string]any{"current": cur.Version, "versions": rows}), nil
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
	pol, err := policyFromBody(req)
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

// policyFromBody reads a policy document from a request's JSON body (64 KiB at most): a
// policy that breaks a rule answers 400 naming each field, anything else that is not a
// policy document 400 naming the body.
func policyFromBody(req events.APIGatewayV2HTTPRequest) (*tiering.Policy, error) {
	if mt, err := httpx.MediaType(req); err != nil {
		return nil, err
	} else if mt != "" && mt != httpx.MediaJSON {
		return nil, httpx.UnsupportedMediaType(httpx.MediaJSON)
	}
	body, err := httpx.Body(req, 64<<10)
	if err != nil {
		return nil, err
	}
	pol, err := tiering.ParsePolicy(body)
	var verrs tiering.ValidationErrors
	if errors.As(err, &verrs) {
		fields := make([]httpx.FieldError, len(verrs))
		for i, v := range verrs {
			fields[i] = httpx.FieldError{Field: v.Field, Reason: v.Reason}
		}
		return nil, httpx.Invalid(fields...)
	}
	if err != nil {
		return nil, httpx.BadRequest("body", "must be a policy document")
	}
	return pol, nil
}

package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/apikey"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// apiKeysAPI is /v1/api-keys: admins create, list, rotate and revoke the keys of the
// stores they cover (access.ManageAPIKeys, access.MayManageKey). The secret is in the
// answer to create and rotate, and nowhere else, ever.
type apiKeysAPI struct {
	*app
	stores []string // every store of the business (STORES); empty: any valid id
}

func newAPIKeysAPI(a *app, e *env.Reader) *apiKeysAPI {
	return &apiKeysAPI{app: a, stores: e.List("STORES")}
}

// keyCreated is the answer to create and rotate: the only time the secret is shown.
type keyCreated struct {
	Key    apikey.Key `json:"key"`
	Secret string     `json:"secret"`
}

func (h *apiKeysAPI) admin(req events.APIGatewayV2HTTPRequest) (auth.Principal, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return p, err
	}
	return p, access.Require(p, access.ManageAPIKeys)
}

func (h *apiKeysAPI) create(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := h.admin(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var in apikey.CreateRequest
	if err := httpx.DecodeJSON(req, &in, 16<<10); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := h.now().UTC()
	valid := func(s string) bool { return access.ValidID(s) && (len(h.stores) == 0 || slices.Contains(h.stores, s)) }
	k, err := in.Validate(valid, p.CanSeeStore, now)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	k.ID, k.CreatedBy, k.CreatedAt = store.NewID(), p.Sub, now
	s, err := apikey.NewSecret(k.ID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := h.keys.CreateAPIKey(ctx, k, s); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	k.Hint = s.Hint
	h.log.InfoContext(ctx, "api key created", "key", k.ID, "by", p.Sub, "stores", k.Stores, "permissions", k.Permissions)
	resp := httpx.JSON(http.StatusCreated, keyCreated{Key: k, Secret: s.Plain})
	resp.Headers["Location"] = "/v1/api-keys/" + k.ID
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

func (h *apiKeysAPI) list(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := h.admin(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	all, err := h.keys.APIKeys(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	items := []apikey.Key{}
	for _, k := range all {
		if access.MayManageKey(p, k.Stores) {
			items = append(items, k)
		}
	}
	return httpx.JSON(http.StatusOK, map[string]any{"items": items}), nil
}

// resolve reads the key the path names, if p may manage it: another store's key and an
// unknown id are the same 404.
func (h *apiKeysAPI) resolve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (auth.Principal, apikey.Key, error) {
	p, err := h.admin(req)
	if err != nil {
		return p, apikey.Key{}, err
	}
	id := req.PathParameters["id"]
	if !access.ValidID(id) {
		return p, apikey.Key{}, httpx.NotFound("API key")
	}
	k, err := h.keys.APIKey(ctx, id)
	if errors.Is(err, store.ErrNoAPIKey) || (err == nil && !access.MayManageKey(p, k.Stores)) {
		return p, apikey.Key{}, httpx.NotFound("API key")
	}
	return p, k, err
}

func (h *apiKeysAPI) revoke(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, k, err := h.resolve(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := h.keys.RevokeAPIKey(ctx, k.ID); errors.Is(err, store.ErrNoAPIKey) {
		return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("API key")
	} else if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	h.log.InfoContext(ctx, "api key revoked", "key", k.ID, "by", p.Sub)
	return httpx.NoContent(), nil
}

func (h *apiKeysAPI) rotate(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, k, err := h.resolve(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s, err := apikey.NewSecret(k.ID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	k, err = h.keys.RotateAPIKey(ctx, k.ID, s, h.now())
	if errors.Is(err, store.ErrNoAPIKey) {
		return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("API key")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	h.log.InfoContext(ctx, "api key rotated", "key", k.ID, "by", p.Sub)
	resp := httpx.JSON(http.StatusOK, keyCreated{Key: k, Secret: s.Plain})
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// machine serves a /v1/machine/ route: the caller must be an API key (the authorizer's
// context), and each key has its own budget of requests per minute; over it, 429 with
// Retry-After. The handler behind is the staff route's own.
func (a *app) machine(next httpx.HandlerFunc) httpx.HandlerFunc {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		p, err := auth.FromRequest(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if !p.IsKey() {
			return events.APIGatewayV2HTTPResponse{}, httpx.Unauthorized("This route takes an API key (X-Api-Key).")
		}
		rate := p.Key.RatePerMinute
		if rate <= 0 {
			rate = apikey.DefaultRatePerMinute
		}
		ok, wait, err := a.limits.Allow(ctx, store.RateLimit{Scope: "api-key", Limit: int64(rate), Window: time.Minute}, p.Key.ID, a.now())
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if !ok {
			a.log.InfoContext(ctx, "api key over its rate", "key", p.Key.ID, "perMinute", rate)
			return events.APIGatewayV2HTTPResponse{}, httpx.TooManyRequests(wait)
		}
		return next(ctx, req)
	}
}

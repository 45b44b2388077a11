package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/apikey"
	"github.com/tierflow/tierflow/shared/auth"
)

// Header is the header a machine sends its key in.
const Header = "x-api-key"

// TouchEvery is how often a key's last-used time is written: at most once a minute per
// key and warm authorizer, so a busy POS costs one write a minute, not one per request.
const TouchEvery = time.Minute

// Keys is what the authorizer reads and writes of keys (store.Table).
type Keys interface {
	APIKeyBySecretHash(ctx context.Context, hash string) (apikey.Key, bool, error)
	TouchAPIKey(ctx context.Context, id string, now time.Time) error
}

// Authorizer decides on one request.
type Authorizer struct {
	keys Keys
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	touched map[string]time.Time
}

// New returns an authorizer over keys.
func New(keys Keys, now func() time.Time, log *slog.Logger) *Authorizer {
	return &Authorizer{keys: keys, now: now, log: log, touched: map[string]time.Time{}}
}

var deny = events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}

// Handle answers API Gateway: authorized with the key's context, or not (API Gateway
// then answers 403 itself; without the header it answers 401 before calling us).
// A lookup that fails is an error, which API Gateway answers with 500 and does not cache.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	secret := headerOf(req.Headers, Header)
	hash, id, err := apikey.Check(secret)
	if err != nil {
		a.log.InfoContext(ctx, "api key refused", "reason", "malformed", "route", req.RouteKey)
		return deny, nil
	}
	k, found, err := a.keys.APIKeyBySecretHash(ctx, hash)
	if err != nil {
		a.log.ErrorContext(ctx, "api key lookup failed", "err", err)
		return deny, errors.New("api key lookup failed")
	}
	now := a.now()
	switch {
	case !found || k.ID != id:
		a.log.InfoContext(ctx, "api key refused", "reason", "unknown or revoked", "key", id, "route", req.RouteKey)
		return deny, nil
	case k.Expired(now):
		a.log.InfoContext(ctx, "api key refused", "reason", "expired", "key", id, "route", req.RouteKey)
		return deny, nil
	}
	a.touch(ctx, k.ID, now)
	perms := make([]string, len(k.Permissions))
	for i, p := range k.Permissions {
		perms[i] = string(p)
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true,
		Context: auth.KeyContext(k.ID, k.Stores, perms, k.RatePerMinute)}, nil
}

// touch writes the last-used time unless this process wrote it less than TouchEvery ago.
// A failed write is logged: it must not refuse a valid key.
func (a *Authorizer) touch(ctx context.Context, id string, now time.Time) {
	a.mu.Lock()
	last, ok := a.touched[id]
	due := !ok || now.Sub(last) >= TouchEvery
	if due {
		a.touched[id] = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if err := a.keys.TouchAPIKey(ctx, id, now); err != nil {
		a.log.WarnContext(ctx, "api key last-used not recorded", "key", id, "err", err)
	}
}

func headerOf(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

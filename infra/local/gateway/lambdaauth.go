package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// lambdaCache is API Gateway's authorizer cache: the authorizer's answer per authorizer
// and identity (the identity headers' values), kept for the authorizer's TTL. A revoked
// key therefore keeps working locally exactly as long as it would in AWS.
type lambdaCache struct {
	mu sync.Mutex
	m  map[string]cachedAnswer
}

type cachedAnswer struct {
	resp  events.APIGatewayV2CustomAuthorizerSimpleResponse
	until time.Time
}

// lambdaAuthorize does what an HTTP API REQUEST authorizer with simple responses does:
// a request without every identity header is 401 without calling the function; the
// function's answer (cached per identity for the TTL) is 403 when not authorized, 500
// when the function fails, and otherwise its context becomes requestContext.authorizer.lambda.
func (g *Gateway) lambdaAuthorize(ctx context.Context, r *http.Request, a *samtemplate.LambdaAuthorizer, name string,
	ev events.APIGatewayV2HTTPRequest) (map[string]any, int, error) {
	identity := make([]string, 0, len(a.Headers))
	for _, h := range a.Headers {
		v := r.Header.Get(h)
		if v == "" {
			return nil, http.StatusUnauthorized, fmt.Errorf("no %s header", h)
		}
		identity = append(identity, v)
	}
	cacheKey := name + "\x00" + strings.Join(identity, "\x00")
	now := time.Now()
	g.authCache.mu.Lock()
	c, ok := g.authCache.m[cacheKey]
	g.authCache.mu.Unlock()
	if !ok || !now.Before(c.until) {
		req := events.APIGatewayV2CustomAuthorizerV2Request{
			Version: "2.0", Type: "REQUEST",
			RouteArn:       fmt.Sprintf("arn:aws:execute-api:local:%s:%s/$default/%s%s", g.cfg.Account, g.cfg.APIID, r.Method, r.URL.Path),
			IdentitySource: identity, RouteKey: ev.RouteKey, RawPath: ev.RawPath, RawQueryString: ev.RawQueryString,
			Cookies: ev.Cookies, Headers: ev.Headers, QueryStringParameters: ev.QueryStringParameters,
			RequestContext: ev.RequestContext, PathParameters: ev.PathParameters,
		}
		payload, err := json.Marshal(req)
		if err != nil {
			return nil, http.StatusInternalServerError, err
		}
		out, err := g.cfg.Invoker.Invoke(ctx, a.Function, payload)
		if err != nil {
			return nil, http.StatusInternalServerError, fmt.Errorf("authorizer %s failed: %w", a.Function, err)
		}
		var resp events.APIGatewayV2CustomAuthorizerSimpleResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return nil, http.StatusInternalServerError, fmt.Errorf("authorizer %s answered %q: %w", a.Function, out, err)
		}
		c = cachedAnswer{resp: resp, until: now.Add(a.TTL)}
		if a.TTL > 0 {
			g.authCache.mu.Lock()
			if g.authCache.m == nil {
				g.authCache.m = map[string]cachedAnswer{}
			}
			g.authCache.m[cacheKey] = c
			g.authCache.mu.Unlock()
		}
	}
	if !c.resp.IsAuthorized {
		return nil, http.StatusForbidden, fmt.Errorf("authorizer %s refused", a.Function)
	}
	// The integration sees the context after a JSON round trip, as in AWS.
	ctxMap := map[string]any{}
	raw, _ := json.Marshal(c.resp.Context)
	_ = json.Unmarshal(raw, &ctxMap)
	return ctxMap, 0, nil
}

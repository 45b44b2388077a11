package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tierflow/tierflow/shared/logx"
)

// HandlerFunc handles one request. Failures are returned as errors, never written as
// responses, so that the status mapping lives in one place.
type HandlerFunc func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

type route struct {
	method   string
	segments []string // "{id}" is a parameter, "{rest+}" takes the remaining path
	key      string
	h        HandlerFunc
}

// Router dispatches on the API Gateway RouteKey ("POST /v1/leads"). When the key is not
// one of ours (a "$default" route, the local runtime, tests) it matches method and path
// against the same patterns and fills PathParameters itself.
//
// CORS is not the router's business: the HTTP API's CorsConfiguration answers preflights
// and sets the CORS headers, and API Gateway ignores any a function returns.
type Router struct {
	Log *slog.Logger // nil: slog.Default()
	// Now measures latency for the access log; nil means time.Now.
	Now    func() time.Time
	routes []route
	errs   []error
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{} }

// Handle registers h for a route key such as "GET /v1/customers/{id}". A malformed key is
// recorded and reported by Err and by every request (as a 500), rather than panicking.
func (r *Router) Handle(routeKey string, h HandlerFunc) *Router {
	method, path, ok := strings.Cut(strings.TrimSpace(routeKey), " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") || h == nil {
		r.errs = append(r.errs, fmt.Errorf("route %q: want \"METHOD /path\" and a handler", routeKey))
		return r
	}
	r.routes = append(r.routes, route{
		method:   strings.ToUpper(method),
		segments: split(path),
		key:      strings.ToUpper(method) + " " + path,
		h:        h,
	})
	return r
}

// Err reports malformed routes; main should fail fast on it at cold start.
func (r *Router) Err() error { return errors.Join(r.errs...) }

func split(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

func (rt route) match(segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, s := range rt.segments {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if greedy, ok := strings.CutSuffix(name, "+"); ok {
				if i >= len(segs) {
					return nil, false
				}
				params[greedy] = strings.Join(segs[i:], "/")
				return params, true
			}
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			params[name] = segs[i]
			continue
		}
		if i >= len(segs) || segs[i] != s {
			return nil, false
		}
	}
	return params, len(segs) == len(rt.segments)
}

// find returns the route for req, or the methods the path accepts when none matches.
func (r *Router) find(req *events.APIGatewayV2HTTPRequest) (*route, []string) {
	for i := range r.routes {
		if r.routes[i].key == req.RouteKey {
			rt := &r.routes[i]
			if req.PathParameters == nil {
				req.PathParameters, _ = rt.match(split(Path(*req)))
			}
			return rt, nil
		}
	}
	method, segs := Method(*req), split(Path(*req))
	var allow []string
	for i := range r.routes {
		params, ok := r.routes[i].match(segs)
		if !ok {
			continue
		}
		if r.routes[i].method == method {
			req.PathParameters = params
			return &r.routes[i], nil
		}
		if !slices.Contains(allow, r.routes[i].method) {
			allow = append(allow, r.routes[i].method)
		}
	}
	return nil, allow
}

// Serve is the Lambda handler. It never returns an error: a Lambda error would reach the
// client as API Gateway's own opaque 500 instead of a problem document.
func (r *Router) Serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	reqID := RequestID(req)
	ctx = logx.WithRequestID(ctx, reqID)
	resp, err := r.dispatch(ctx, &req)
	if err != nil {
		resp = ErrorResponse(err, reqID)
	}
	r.logAccess(ctx, req, resp.StatusCode, err, now().Sub(start))
	return resp, nil
}

func (r *Router) dispatch(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := r.Err(); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	rt, allow := r.find(req)
	if rt == nil {
		if len(allow) > 0 {
			return events.APIGatewayV2HTTPResponse{}, MethodNotAllowed(allow...)
		}
		return events.APIGatewayV2HTTPResponse{}, NotFound("Route")
	}
	return rt.h(ctx, *req)
}

func (r *Router) logAccess(ctx context.Context, req events.APIGatewayV2HTTPRequest, status int, err error, took time.Duration) {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	attrs := []slog.Attr{
		slog.String("method", Method(req)),
		slog.String("route", req.RouteKey),
		slog.Int("status", status),
		slog.Float64("ms", float64(took.Microseconds())/1000),
	}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("problem", classify(err).Slug))
		if status >= 500 {
			// The client got a generic detail; the cause goes to the log, where the
			// redacting handler keeps personal data out of it.
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", err.Error()))
		}
	}
	log.LogAttrs(ctx, level, "http request", attrs...)
}

package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// MaxBody is API Gateway's payload limit.
const MaxBody = 10 << 20

// IntegrationTimeout is API Gateway's longest wait for a Lambda integration.
const IntegrationTimeout = 30 * time.Second

// Invoker runs a function by logical id.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, function string, payload []byte) ([]byte, error)

// Invoke implements Invoker.
func (f InvokerFunc) Invoke(ctx context.Context, fn string, p []byte) ([]byte, error) {
	return f(ctx, fn, p)
}

// Config is what the gateway serves.
type Config struct {
	Routes   []samtemplate.Route
	API      samtemplate.HTTPAPI
	Keyfunc  jwt.Keyfunc // verifies staff token signatures: the dev issuer's key
	Invoker  Invoker
	Account  string // requestContext.accountId; default 000000000000
	APIID    string // requestContext.apiId; default "local"
	PagesDir string // static pages served at /; "" serves none
	Admin    http.Handler
	Logger   *slog.Logger
}

// Gateway is an http.Handler.
type Gateway struct {
	cfg    Config
	routes []route
	cors   cors
	pages  http.Handler
	log    *slog.Logger
	// authCache holds Lambda authorizers' answers for their TTL (lambdaauth.go).
	authCache lambdaCache
}

// New checks that every route's authorizer exists and returns the gateway.
func New(cfg Config) (*Gateway, error) {
	for _, r := range cfg.Routes {
		if r.Authorizer == "" {
			continue
		}
		if _, ok := cfg.API.Authorizers[r.Authorizer]; !ok {
			return nil, fmt.Errorf("route %s %s uses authorizer %q, which the API does not define", r.Method, r.Path, r.Authorizer)
		}
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.APIID == "" {
		cfg.APIID = "local"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, routes: compileRoutes(cfg.Routes), cors: cors{cfg.API.CORS}, log: cfg.Logger}
	if cfg.PagesDir != "" {
		g.pages = http.FileServer(http.Dir(cfg.PagesDir))
	}
	return g, nil
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_local/") && g.cfg.Admin != nil {
		g.cfg.Admin.ServeHTTP(w, r)
		return
	}
	if g.cors.enabled() && isPreflight(r) {
		g.cors.preflight(w, r)
		return
	}
	rt, params := match(g.routes, r.Method, r.URL.Path)
	if rt == nil {
		if g.servePage(w, r) {
			return
		}
		if pathMatchesAny(g.routes, r.URL.Path) {
			g.log.Info("no route for method", "method", r.Method, "path", r.URL.Path)
		}
		g.message(w, r, http.StatusNotFound, "Not Found")
		return
	}
	g.serveRoute(w, r, rt, params)
}

// servePage serves a static file for GET/HEAD outside the API's routes.
func (g *Gateway) servePage(w http.ResponseWriter, r *http.Request) bool {
	if g.pages == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	name := r.URL.Path
	if strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	if st, err := os.Stat(g.cfg.PagesDir + "/" + strings.TrimPrefix(name, "/")); err != nil || st.IsDir() {
		if err == nil && st.IsDir() {
			g.pages.ServeHTTP(w, r) // redirects to the folder's slash form
			return true
		}
		return false
	}
	g.pages.ServeHTTP(w, r)
	return true
}

// message writes API Gateway's own {"message": ...} answers.
func (g *Gateway) message(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	g.cors.decorate(h, r.Header.Get("Origin"))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (g *Gateway) serveRoute(w http.ResponseWriter, r *http.Request, rt *route, params map[string]string) {
	start := time.Now()
	reqID := newRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	log := g.log.With("requestId", reqID, "route", rt.key, "function", rt.Function)

	if r.ContentLength > MaxBody {
		g.message(w, r, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		g.message(w, r, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxBody {
		g.message(w, r, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	var authz *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	if az := g.cfg.API.Authorizers[rt.Authorizer]; rt.Authorizer != "" && az.Lambda != nil {
		ctxMap, status, err := g.lambdaAuthorize(r.Context(), r, az.Lambda, rt.Authorizer, g.event(r, rt, params, nil, reqID, start, nil))
		switch status {
		case 0:
			authz = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: ctxMap}
		case http.StatusUnauthorized:
			log.Info("unauthorized", "reason", err)
			g.message(w, r, status, "Unauthorized")
			return
		case http.StatusForbidden:
			log.Info("forbidden", "reason", err)
			g.message(w, r, status, "Forbidden")
			return
		default:
			log.Warn("authorizer failed", "err", err)
			g.message(w, r, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	} else if rt.Authorizer != "" {
		claims, scopes, err := authorize(r, g.cfg.API.Authorizers[rt.Authorizer], rt.Scopes, g.cfg.Keyfunc)
		if errors.Is(err, errForbidden) {
			log.Info("forbidden: token lacks the route's scopes")
			w.Header().Set("Www-Authenticate", fmt.Sprintf(`Bearer scope=%q error="insufficient_scope" error_description="the token does not have the required scopes"`, strings.Join(rt.Scopes, " ")))
			g.message(w, r, http.StatusForbidden, "Forbidden")
			return
		}
		if err != nil {
			log.Info("unauthorized", "reason", err)
			w.Header().Set("Www-Authenticate", `Bearer scope="" error="invalid_token"`)
			g.message(w, r, http.StatusUnauthorized, "Unauthorized")
			return
		}
		authz = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes},
		}
	}

	ev := g.event(r, rt, params, body, reqID, start, authz)
	payload, err := json.Marshal(ev)
	if err != nil {
		g.problem(w, r, reqID, fmt.Sprintf("encode event: %v", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), IntegrationTimeout)
	defer cancel()
	out, err := g.cfg.Invoker.Invoke(ctx, rt.Function, payload)
	if err != nil {
		log.Warn("integration failed", "err", err, "took", time.Since(start))
		g.problem(w, r, reqID, fmt.Sprintf("%s failed: %v", rt.Function, err))
		return
	}
	if err := g.writeResponse(w, r, out); err != nil {
		log.Warn("invalid function response", "err", err)
		g.problem(w, r, reqID, fmt.Sprintf("%s returned an invalid response: %v", rt.Function, err))
		return
	}
	log.Debug("served", "took", time.Since(start))
}

// problem answers 502 when the integration failed (error, crash, timeout, bad response).
func (g *Gateway) problem(w http.ResponseWriter, r *http.Request, reqID, detail string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	g.cors.decorate(h, r.Header.Get("Origin"))
	w.WriteHeader(http.StatusBadGateway)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": "Bad Gateway", "status": http.StatusBadGateway,
		"detail": detail, "instance": r.URL.Path, "requestId": reqID,
	})
}

// event builds the payload format 2.0 request.
func (g *Gateway) event(r *http.Request, rt *route, params map[string]string, body []byte, reqID string, at time.Time,
	authz *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	host := r.Host
	headers["host"] = host
	if r.ContentLength >= 0 && len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	srcIP, port, _ := net.SplitHostPort(r.RemoteAddr)
	headers["x-forwarded-for"] = srcIP
	if _, p, err := net.SplitHostPort(host); err == nil {
		port = p
	}
	headers["x-forwarded-port"] = port
	headers["x-forwarded-proto"] = "http"

	var query map[string]string
	for k, vs := range r.URL.Query() {
		if query == nil {
			query = map[string]string{}
		}
		query[k] = strings.Join(vs, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.key,
			AccountID:    g.cfg.Account,
			Stage:        "$default",
			RequestID:    reqID,
			Authorizer:   authz,
			APIID:        g.cfg.APIID,
			DomainName:   hostOnly(host),
			DomainPrefix: strings.Split(hostOnly(host), ".")[0],
			Time:         at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  srcIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// isText decides whether the body goes to the function as is or base64-encoded.
func isText(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "":
		return utf8.Valid(body)
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "json"), strings.HasSuffix(mt, "xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/graphql":
		return utf8.Valid(body)
	}
	return false
}

// writeResponse maps the function's result back: a payload 2.0 response object when it
// has statusCode, otherwise (as API Gateway does) 200 application/json with the result as
// the body.
func (g *Gateway) writeResponse(w http.ResponseWriter, r *http.Request, out []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(out) {
			return errors.New("not JSON")
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		g.cors.decorate(h, r.Header.Get("Origin"))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return err
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("body is marked base64 but is not: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	g.cors.decorate(h, r.Header.Get("Origin"))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]) + "="
}

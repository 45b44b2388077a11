package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/infra/local/devjwt"
	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/lambdart"
	"github.com/tierflow/tierflow/infra/local/lambdart/lambdarttest"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

const issuerURL = "http://127.0.0.1:3000/_local/issuer"

const adminKey = "test-admin-key-0123456789abcdef0123456789"

type fixture struct {
	srv     *httptest.Server
	issuer  *devjwt.Issuer
	invokes atomic.Int64
	minted  atomic.Int64
	sms     string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	pool, err := lambdart.NewPool(lambdart.Config{Name: "EchoFunction", Binary: lambdarttest.Bootstrap(t), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Stop)
	f := &fixture{}
	f.issuer, err = devjwt.Open(t.TempDir(), issuerURL, "tierflow-staff")
	if err != nil {
		t.Fatal(err)
	}
	pages := t.TempDir()
	if err := os.WriteFile(filepath.Join(pages, "index.html"), []byte("<h1>lead form</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.sms = filepath.Join(t.TempDir(), "sms-outbox.jsonl")
	invoke := func(ctx context.Context, fn string, payload []byte) ([]byte, error) {
		if fn != "EchoFunction" {
			return nil, gateway.ErrUnknown
		}
		f.invokes.Add(1)
		return pool.Invoke(ctx, payload)
	}
	admin := &gateway.Admin{
		Invoke:    invoke,
		JWKS:      f.issuer.JWKS(),
		Issuer:    f.issuer.Handler(),
		SMSOutbox: f.sms,
		Status:    func() any { return map[string]any{"EchoFunction": pool.Stats()} },
		Token: func(role string, stores []string, sub string) (string, error) {
			f.minted.Add(1)
			return f.issuer.Mint(role, stores, sub, time.Hour)
		},
		Key: adminKey,
	}
	gw, err := gateway.New(gateway.Config{
		Routes: []samtemplate.Route{
			{Method: "POST", Path: "/v1/echo", Function: "EchoFunction"},
			{Method: "GET", Path: "/crash", Function: "EchoFunction"},
			{Method: "GET", Path: "/error", Function: "EchoFunction"},
			{Method: "GET", Path: "/binary", Function: "EchoFunction"},
			{Method: "GET", Path: "/v1/customers/{id}", Authorizer: "StaffJwt", Scopes: []string{"tierflow/staff"}, Function: "EchoFunction"},
			{Method: "GET", Path: "/v1/customers/export", Authorizer: "StaffJwt", Scopes: []string{"tierflow/staff"}, Function: "EchoFunction"},
			{Method: "GET", Path: "/v1/unscoped", Authorizer: "StaffJwt", Function: "EchoFunction"},
		},
		API: samtemplate.HTTPAPI{
			CORS: samtemplate.CORS{AllowOrigins: []string{"http://127.0.0.1:3000"}, AllowMethods: []string{"GET", "POST"},
				AllowHeaders: []string{"Authorization", "Content-Type"}, MaxAge: 600},
			Authorizers: map[string]samtemplate.JWTAuthorizer{"StaffJwt": {Name: "StaffJwt",
				IdentitySource: "$request.header.Authorization", Issuer: issuerURL, Audience: []string{"tierflow-staff"}}},
		},
		Keyfunc:  f.issuer.Keyfunc,
		Invoker:  gateway.InvokerFunc(invoke),
		PagesDir: pages,
		Admin:    admin.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(gw)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t testing.TB, method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	return resp, b
}

func TestPublicRouteRoundTrip(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "POST", "/v1/echo?store=s1&tag=a&tag=b", strings.NewReader(`{"name":"Li"}`),
		map[string]string{"Content-Type": "application/json", "Cookie": "a=1; b=2", "X-Custom": "x"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"version":    {ev.Version, "2.0"},
		"routeKey":   {ev.RouteKey, "POST /v1/echo"},
		"rawPath":    {ev.RawPath, "/v1/echo"},
		"query":      {ev.RawQueryString, "store=s1&tag=a&tag=b"},
		"tag":        {ev.QueryStringParameters["tag"], "a,b"},
		"header":     {ev.Headers["x-custom"], "x"},
		"stage":      {ev.RequestContext.Stage, "$default"},
		"method":     {ev.RequestContext.HTTP.Method, "POST"},
		"sourceIp":   {ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		"body":       {ev.Body, `{"name":"Li"}`},
		"cookies":    {strings.Join(ev.Cookies, "|"), "a=1|b=2"},
		"no cookie":  {ev.Headers["cookie"], ""},
		"request id": {resp.Header.Get("Apigw-Requestid"), ev.RequestContext.RequestID},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if ev.IsBase64Encoded || ev.RequestContext.Authorizer != nil {
		t.Errorf("base64=%v authorizer=%v, want plain body and no authorizer", ev.IsBase64Encoded, ev.RequestContext.Authorizer)
	}
	if got := resp.Header.Values("X-Multi"); strings.Join(got, ",") != "a,b" {
		t.Errorf("multi-value header = %v", got)
	}
	if got := resp.Header.Get("Set-Cookie"); got != "seen=1; Path=/" {
		t.Errorf("Set-Cookie = %q", got)
	}
}

func TestBinaryBodiesAreBase64BothWays(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "POST", "/v1/echo", bytes.NewReader([]byte{0xff, 0x00, 0x10}), map[string]string{"Content-Type": "application/octet-stream"})
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s %v", resp.StatusCode, body, err)
	}
	if !ev.IsBase64Encoded || ev.Body != "/wAQ" {
		t.Fatalf("body=%q base64=%v", ev.Body, ev.IsBase64Encoded)
	}
	_, body = f.do(t, "GET", "/binary", nil, nil)
	if !bytes.Equal(body, []byte{0, 1, 2, 255}) {
		t.Fatalf("binary response = %v", body)
	}
}

func TestJWTAuthorizer(t *testing.T) {
	f := newFixture(t)
	good, err := f.issuer.Mint("admin", []string{"s1", "s2"}, "u-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": issuerURL, "aud": "tierflow-staff", "sub": "u-1", "exp": time.Now().Add(time.Hour).Unix(), "scope": "tierflow/staff"}
		mut(c)
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok, err := f.issuer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := jwt.NewWithClaims(jwt.SigningMethodES256, claims(func(jwt.MapClaims) {}))
	forged.Header["kid"] = mustHeaderKid(t, good) // the right kid, the wrong key
	// An empty token would be refused for the wrong reason.
	forgedTok, err := forged.SignedString(otherKey)
	if err != nil {
		t.Fatal(err)
	}

	rejected := map[string]string{
		"no token":             "",
		"not a jwt":            "Bearer nonsense",
		"forged":               "Bearer " + forgedTok,
		"expired":              "Bearer " + sign(claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
		"not yet valid":        "Bearer " + sign(claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })),
		"wrong audience":       "Bearer " + sign(claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })),
		"wrong issuer":         "Bearer " + sign(claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"no expiry":            "Bearer " + sign(claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"issued in the future": "Bearer " + sign(claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() })),
		// API Gateway reads client_id only when there is no aud: a wrong aud is not saved
		// by a matching client_id.
		"wrong audience, right client_id": "Bearer " + sign(claims(func(c jwt.MapClaims) { c["aud"] = "someone-else"; c["client_id"] = "tierflow-staff" })),
		"no audience, wrong client_id":    "Bearer " + sign(claims(func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "someone-else" })),
	}
	for name, auth := range rejected {
		t.Run(name, func(t *testing.T) {
			before := f.invokes.Load()
			resp, body := f.do(t, "GET", "/v1/customers/c-1", nil, map[string]string{"Authorization": auth})
			if resp.StatusCode != 401 || strings.TrimSpace(string(body)) != `{"message":"Unauthorized"}` {
				t.Fatalf("%d %s, want 401 Unauthorized", resp.StatusCode, body)
			}
			if f.invokes.Load() != before {
				t.Fatal("the function was invoked for a rejected token")
			}
		})
	}

	// A route's AuthorizationScopes: the token must carry one of them, in scope or scp,
	// or the answer is 403 before the function runs. An ID token carries no scope.
	scoped := map[string]struct {
		token  string
		status int
	}{
		"an ID token (aud, no scope)":       {sign(claims(func(c jwt.MapClaims) { delete(c, "scope"); c["token_use"] = "id" })), 403},
		"an access token for another scope": {sign(claims(func(c jwt.MapClaims) { c["scope"] = "openid profile" })), 403},
		"the scope among others":            {sign(claims(func(c jwt.MapClaims) { c["scope"] = "openid tierflow/staff" })), 200},
		"the scope in scp":                  {sign(claims(func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = []string{"tierflow/staff"} })), 200},
		"a Cognito access token: client_id, no aud": {sign(claims(func(c jwt.MapClaims) {
			delete(c, "aud")
			c["client_id"] = "tierflow-staff"
			c["token_use"] = "access"
		})), 200},
	}
	for name, tc := range scoped {
		t.Run(name, func(t *testing.T) {
			before := f.invokes.Load()
			resp, body := f.do(t, "GET", "/v1/customers/c-1", nil, map[string]string{"Authorization": "Bearer " + tc.token})
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == 403 {
				if strings.TrimSpace(string(body)) != `{"message":"Forbidden"}` || !strings.Contains(resp.Header.Get("Www-Authenticate"), "insufficient_scope") {
					t.Fatalf("403 body %s, WWW-Authenticate %q", body, resp.Header.Get("Www-Authenticate"))
				}
				if f.invokes.Load() != before {
					t.Fatal("the function was invoked for a token without the route's scope")
				}
			}
		})
	}
	// A route without AuthorizationScopes takes any valid token, as in API Gateway.
	noScope := sign(claims(func(c jwt.MapClaims) { delete(c, "scope") }))
	if resp, body := f.do(t, "GET", "/v1/unscoped", nil, map[string]string{"Authorization": "Bearer " + noScope}); resp.StatusCode != 200 {
		t.Fatalf("unscoped route: %d %s", resp.StatusCode, body)
	}

	resp, body := f.do(t, "GET", "/v1/customers/c-42", nil, map[string]string{"Authorization": "Bearer " + good})
	if resp.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", resp.StatusCode, body)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.RequestContext.Authorizer.JWT.Claims
	if c[devjwt.ClaimRole] != "admin" || c[devjwt.ClaimStores] != "s1,s2" || c["sub"] != "u-1" || c["iss"] != issuerURL {
		t.Fatalf("claims = %v", c)
	}
	if ev.PathParameters["id"] != "c-42" || ev.RouteKey != "GET /v1/customers/{id}" {
		t.Fatalf("route %q params %v", ev.RouteKey, ev.PathParameters)
	}
	// A literal segment beats a path parameter, as in API Gateway.
	_, body = f.do(t, "GET", "/v1/customers/export", nil, map[string]string{"Authorization": "Bearer " + good})
	ev = events.APIGatewayV2HTTPRequest{}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("not an event: %s: %v", body, err)
	}
	if ev.RouteKey != "GET /v1/customers/export" {
		t.Fatalf("routeKey = %q", ev.RouteKey)
	}
}

func mustHeaderKid(t *testing.T, tok string) string {
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Header["kid"].(string)
}

func TestFailuresAre502AndTheGatewayKeepsServing(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/crash", "/error"} {
		resp, body := f.do(t, "GET", path, nil, nil)
		if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil || p["status"] != float64(502) {
			t.Fatalf("%s: problem = %s", path, body)
		}
	}
	if resp, body := f.do(t, "POST", "/v1/echo", strings.NewReader(`{}`), nil); resp.StatusCode != 200 {
		t.Fatalf("after a crash: %d %s", resp.StatusCode, body)
	}
}

func TestUnknownRouteAndOversizedBody(t *testing.T) {
	f := newFixture(t)
	if resp, body := f.do(t, "GET", "/v1/nope", nil, nil); resp.StatusCode != 404 || !strings.Contains(string(body), "Not Found") {
		t.Fatalf("unknown route: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, "DELETE", "/v1/echo", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("wrong method: %d", resp.StatusCode)
	}
	big := bytes.Repeat([]byte("a"), gateway.MaxBody+1)
	before := f.invokes.Load()
	if resp, _ := f.do(t, "POST", "/v1/echo", bytes.NewReader(big), nil); resp.StatusCode != 413 {
		t.Fatalf("oversized body: %d", resp.StatusCode)
	}
	if f.invokes.Load() != before {
		t.Fatal("function invoked for an oversized body")
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t)
	pre := map[string]string{"Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
	resp, _ := f.do(t, "OPTIONS", "/v1/echo", nil, pre)
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:3000" || resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	pre["Origin"] = "https://evil.example"
	resp, _ = f.do(t, "OPTIONS", "/v1/echo", nil, pre)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from a foreign origin was allowed: %v", resp.Header)
	}
	resp, _ = f.do(t, "POST", "/v1/echo", strings.NewReader(`{}`), map[string]string{"Origin": "http://127.0.0.1:3000"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:3000" {
		t.Fatalf("actual request lacks CORS headers: %v", resp.Header)
	}
}

func TestPagesAndAdmin(t *testing.T) {
	f := newFixture(t)
	if resp, body := f.do(t, "GET", "/", nil, nil); resp.StatusCode != 200 || !strings.Contains(string(body), "lead form") {
		t.Fatalf("index page: %d %s", resp.StatusCode, body)
	}
	key := map[string]string{gateway.KeyHeader: adminKey}
	resp, body := f.do(t, "POST", "/_local/invoke/EchoFunction", strings.NewReader(`{"action":"echo","x":1}`), key)
	if resp.StatusCode != 200 || string(body) != `{"action":"echo","x":1}` {
		t.Fatalf("admin invoke: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, "POST", "/_local/invoke/EchoFunction", strings.NewReader(`{"action":"error","message":"boom"}`), key)
	if resp.Header.Get("X-Amz-Function-Error") != "errorString" || !strings.Contains(string(body), "boom") {
		t.Fatalf("admin invoke error: %v %s", resp.Header, body)
	}
	if resp, _ := f.do(t, "POST", "/_local/invoke/NoSuchFunction", nil, key); resp.StatusCode != 404 {
		t.Fatalf("unknown function: %d", resp.StatusCode)
	}
	if resp, body := f.do(t, "GET", "/_local/issuer/.well-known/jwks.json", nil, nil); resp.StatusCode != 200 || !bytes.Equal(bytes.TrimSpace(body), f.issuer.JWKS()) {
		t.Fatalf("issuer jwks: %d %s", resp.StatusCode, body)
	}
	if err := os.WriteFile(f.sms, []byte(`{"to":"+8613800000000","body":"hi"}`+"\n"+`{"to":"+86139`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, body = f.do(t, "GET", "/_local/sms", nil, nil)
	if strings.TrimSpace(string(body)) != `[{"to":"+8613800000000","body":"hi"}]` {
		t.Fatalf("sms outbox = %s", body)
	}
	_, body = f.do(t, "GET", "/_local/sms", nil, map[string]string{"Accept": "text/html"})
	if !strings.Contains(string(body), "SMS outbox") || !strings.Contains(string(body), "8613800000000") {
		t.Fatalf("sms page = %s", body)
	}
}

// TestAdminDoor: the /_local routes that act (invoke a function with forged claims, mint
// an admin token) answer only the local CLI, never a web page the developer happens to
// open, and never a request for another host name (DNS rebinding).
func TestAdminDoor(t *testing.T) {
	f := newFixture(t)
	port := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
	cases := []struct {
		name, method, path, host string
		hdr                      map[string]string
		body                     string
		status                   int
	}{
		{"a token minted without the key", "POST", "/_local/token?role=admin&stores=*", "", nil, "", 401},
		{"a token minted with a wrong key", "POST", "/_local/token?role=admin&stores=*", "",
			map[string]string{gateway.KeyHeader: adminKey + "x"}, "", 401},
		{"an invoke without the key", "POST", "/_local/invoke/EchoFunction", "", nil, `{"action":"echo"}`, 401},
		{"a schedule fired without the key", "POST", "/_local/schedules/EchoFunction/Nightly", "", nil, "", 401},
		{"a text/plain cross-site form post, key guessed empty", "POST", "/_local/token?role=admin&stores=*", "",
			map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example", gateway.KeyHeader: ""}, "x", 403},
		{"a cross-site post even with the key", "POST", "/_local/token?role=admin&stores=*", "",
			map[string]string{"Origin": "https://evil.example", gateway.KeyHeader: adminKey}, "", 403},
		{"a cross-site fetch marked by the browser", "POST", "/_local/token?role=admin&stores=*", "",
			map[string]string{"Sec-Fetch-Site": "cross-site", gateway.KeyHeader: adminKey}, "", 403},
		{"a DNS-rebound host name, with the key", "POST", "/_local/token?role=admin&stores=*", "evil.example:" + port,
			map[string]string{gateway.KeyHeader: adminKey}, "", 403},
		{"the loopback address on another port", "POST", "/_local/token?role=admin&stores=*", "127.0.0.1:1",
			map[string]string{gateway.KeyHeader: adminKey}, "", 403},
		{"a DNS-rebound host reading the SMS outbox", "GET", "/_local/sms", "evil.example:" + port, nil, "", 403},
		{"a DNS-rebound host reading status", "GET", "/_local/status", "rebind.example:" + port, nil, "", 403},
		{"the CLI with the key", "POST", "/_local/token?role=agent&stores=s1", "", map[string]string{gateway.KeyHeader: adminKey}, "", 200},
		{"the CLI through localhost", "POST", "/_local/token?role=agent&stores=s1", "localhost:" + port,
			map[string]string{gateway.KeyHeader: adminKey}, "", 200},
		{"the developer's browser on the SMS outbox page", "GET", "/_local/sms", "localhost:" + port,
			map[string]string{"Accept": "text/html", "Origin": "http://localhost:" + port}, "", 200},
		{"the developer's browser on status", "GET", "/_local/status", "", nil, "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			minted, invoked := f.minted.Load(), f.invokes.Load()
			req, err := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("the admin API granted CORS: %v", resp.Header)
			}
			if tc.status != 200 {
				if f.minted.Load() != minted || f.invokes.Load() != invoked {
					t.Fatal("a refused request still minted a token or invoked a function")
				}
				if strings.Contains(string(body), "eyJ") {
					t.Fatalf("a refused request answered a token: %s", body)
				}
			}
		})
	}
	// A browser's preflight for the key header is never granted.
	resp, _ := f.do(t, "OPTIONS", "/_local/token", nil, map[string]string{"Origin": "https://evil.example",
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": gateway.KeyHeader})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Fatalf("preflight for the admin key was granted: %d %v", resp.StatusCode, resp.Header)
	}
}

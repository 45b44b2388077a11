package httpx_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
)

func req(method, path, ctype, body string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{
		RawPath: path, Body: body, Headers: map[string]string{},
		RouteKey: "$default",
	}
	r.RequestContext.HTTP.Method = method
	r.RequestContext.HTTP.Path = path
	r.RequestContext.HTTP.SourceIP = "203.0.113.9"
	r.RequestContext.RequestID = "rid-1"
	if ctype != "" {
		r.Headers["content-type"] = ctype
	}
	return r
}

func problem(t *testing.T, resp events.APIGatewayV2HTTPResponse) httpx.Problem {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("content-type = %q, want application/problem+json (body %s)", ct, resp.Body)
	}
	var p httpx.Problem
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if p.Status != resp.StatusCode {
		t.Errorf("problem status %d differs from response status %d", p.Status, resp.StatusCode)
	}
	return p
}

type leadIn struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Age   int    `json:"age"`
	Tags  []string
}

type domainFields []string // stands in for a domain package's validation error

func (d domainFields) Error() string { return "invalid" }
func (d domainFields) EachField(f func(string, string)) {
	for _, n := range d {
		f(n, "is wrong")
	}
}

func TestErrorsMapToStatusInOnePlace(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		status     int
		field      string
		header     string
		headerWant string
	}{
		{"a bad field is 400 and names the field", httpx.BadRequest("phone", "is not a phone number"), 400, "phone", "", ""},
		{"a wrapped httpx error keeps its status", fmt.Errorf("load: %w", httpx.NotFound("Customer")), 404, "", "", ""},
		{"a domain validation error is 400 with its fields", fmt.Errorf("validate: %w", domainFields{"email"}), 400, "email", "", ""},
		{"rate limiting tells when to retry, rounded up", httpx.TooManyRequests(1500 * time.Millisecond), 429, "", "Retry-After", "2"},
		{"method not allowed lists the allowed methods", httpx.MethodNotAllowed("GET", "PATCH"), 405, "", "Allow", "GET, PATCH"},
		{"conflict is 409", httpx.Conflict("lost a race"), 409, "", "", ""},
		{"unauthorized is 401", httpx.Unauthorized("token expired"), 401, "", "", ""},
		{"forbidden is 403", httpx.Forbidden("agents may not"), 403, "", "", ""},
		{"too large is 413", httpx.PayloadTooLarge(10), 413, "", "", ""},
		{"wrong media type is 415", httpx.UnsupportedMediaType("application/json"), 415, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := httpx.ErrorResponse(tc.err, "rid-1")
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			p := problem(t, resp)
			if p.Instance != "rid-1" || !strings.HasPrefix(p.Type, httpx.ProblemTypeBase) || p.Title == "" {
				t.Errorf("problem lacks type/title/instance: %+v", p)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors = %+v, want field %q named", p.Errors, tc.field)
			}
			if tc.header != "" && resp.Headers[tc.header] != tc.headerWant {
				t.Errorf("%s = %q, want %q", tc.header, resp.Headers[tc.header], tc.headerWant)
			}
		})
	}
}

func TestUnknownErrorsAre500WithoutInternals(t *testing.T) {
	resp := httpx.ErrorResponse(errors.New("dynamodb: table tierflow-prod ConditionalCheckFailed at 10.0.3.4"), "rid-9")
	p := problem(t, resp)
	if p.Status != 500 {
		t.Fatalf("status %d", p.Status)
	}
	for _, leak := range []string{"dynamodb", "tierflow-prod", "10.0.3.4"} {
		if strings.Contains(resp.Body, leak) {
			t.Errorf("500 body leaks %q: %s", leak, resp.Body)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	big := `{"name":"` + strings.Repeat("a", 2000) + `"}`
	cases := []struct {
		name   string
		r      events.APIGatewayV2HTTPRequest
		limit  int64
		status int
		field  string
	}{
		{"a well-formed body decodes", req("POST", "/", "application/json; charset=utf-8", `{"name":"Li","phone":"138"}`), 0, 0, ""},
		{"an unknown field is refused and named", req("POST", "/", "application/json", `{"name":"Li","isAdmin":true}`), 0, 400, "isAdmin"},
		{"a field of the wrong type is named", req("POST", "/", "application/json", `{"age":"old"}`), 0, 400, "age"},
		{"malformed JSON is 400", req("POST", "/", "application/json", `{"name":`), 0, 400, ""},
		{"an empty body is 400", req("POST", "/", "application/json", ``), 0, 400, ""},
		{"trailing data after the object is 400", req("POST", "/", "application/json", `{"name":"a"}{"name":"b"}`), 0, 400, ""},
		{"a body over the limit is 413", req("POST", "/", "application/json", big), 1000, 413, ""},
		{"invalid UTF-8 is 400", req("POST", "/", "application/json", "{\"name\":\"\xff\xfe\"}"), 0, 400, ""},
		{"a form content type is 415 for a JSON endpoint", req("POST", "/", "application/x-www-form-urlencoded", `name=a`), 0, 415, ""},
		{"a non-UTF-8 charset is 415", req("POST", "/", "application/json; charset=gbk", `{}`), 0, 415, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v leadIn
			err := httpx.DecodeJSON(tc.r, &v, tc.limit)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if v.Name != "Li" || v.Phone != "138" {
					t.Errorf("decoded %+v", v)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %d, got nil", tc.status)
			}
			p := httpx.ProblemFor(err, "")
			if p.Status != tc.status {
				t.Fatalf("status = %d, want %d (%v)", p.Status, tc.status, err)
			}
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors = %+v, want %q named", p.Errors, tc.field)
			}
		})
	}
}

func TestBase64BodiesAreDecodedAndLimitedBeforeDecoding(t *testing.T) {
	r := req("POST", "/", "application/json", base64.StdEncoding.EncodeToString([]byte(`{"name":"Li","phone":"1"}`)))
	r.IsBase64Encoded = true
	var v leadIn
	if err := httpx.DecodeJSON(r, &v, 0); err != nil || v.Name != "Li" {
		t.Fatalf("decoded %+v, %v", v, err)
	}
	huge := req("POST", "/", "application/json", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 10<<20)))
	huge.IsBase64Encoded = true
	if err := httpx.DecodeJSON(huge, &v, 0); httpx.StatusOf(err) != 413 {
		t.Errorf("10 MB base64 body: status %d, want 413", httpx.StatusOf(err))
	}
}

func TestDecodeForm(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		status int
		field  string
		want   map[string]string
	}{
		{"a plain form decodes, plus signs as spaces", "name=%E7%8E%8B%E8%8A%B3&phone=138+0013+8000", 0, "", map[string]string{"name": "王芳", "phone": "138 0013 8000"}},
		{"an escaped invalid UTF-8 value names the field", "name=%FF%FE", 400, "name", nil},
		{"a malformed escape is 400", "name=%zz", 400, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := httpx.DecodeForm(req("POST", "/", "application/x-www-form-urlencoded", tc.body), 0)
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				for k, w := range tc.want {
					if vals.Get(k) != w {
						t.Errorf("%s = %q, want %q", k, vals.Get(k), w)
					}
				}
				return
			}
			p := httpx.ProblemFor(err, "")
			if p.Status != tc.status || (tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field)) {
				t.Errorf("got %+v, want %d naming %q", p, tc.status, tc.field)
			}
		})
	}
}

func echo(name string) httpx.HandlerFunc {
	return func(_ context.Context, r events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return httpx.JSON(200, map[string]any{"h": name, "params": r.PathParameters}), nil
	}
}

func newRouter(log *bytes.Buffer) *httpx.Router {
	r := httpx.NewRouter().
		Handle("POST /v1/leads", echo("leads")).
		Handle("GET /v1/customers/{id}", echo("get")).
		Handle("PATCH /v1/customers/{id}", echo("patch")).
		Handle("GET /v1/customers/{id}/timeline", echo("timeline")).
		Handle("GET /v1/boom", func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("boom: phone 13800138000")
		})
	if log != nil {
		r.Log = logx.New(log, logx.Options{HashKey: []byte("k")})
	} else {
		r.Log = slog.New(slog.DiscardHandler)
	}
	return r
}

func TestRouter(t *testing.T) {
	type result struct {
		H      string            `json:"h"`
		Params map[string]string `json:"params"`
	}
	byKey := req("GET", "/v1/customers/c-9", "", "")
	byKey.RouteKey = "GET /v1/customers/{id}"
	byKey.PathParameters = map[string]string{"id": "c-9"}
	cases := []struct {
		name    string
		r       events.APIGatewayV2HTTPRequest
		status  int
		handler string
		id      string
		allow   string
	}{
		{"the API Gateway route key picks the handler", byKey, 200, "get", "c-9", ""},
		{"a path matches a pattern and fills the id", req("GET", "/v1/customers/c-1", "", ""), 200, "get", "c-1", ""},
		{"a longer path picks the longer pattern", req("GET", "/v1/customers/c-1/timeline", "", ""), 200, "timeline", "c-1", ""},
		{"an unknown path is 404", req("GET", "/v1/nope", "", ""), 404, "", "", ""},
		{"a known path with another method is 405", req("DELETE", "/v1/customers/c-1", "", ""), 405, "", "", "GET, PATCH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newRouter(nil).Serve(context.Background(), tc.r)
			if err != nil {
				t.Fatalf("Serve returned an error; it must answer: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status != 200 {
				problem(t, resp)
				if tc.allow != "" && resp.Headers["Allow"] != tc.allow {
					t.Errorf("Allow = %q, want %q", resp.Headers["Allow"], tc.allow)
				}
				return
			}
			var got result
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if got.H != tc.handler || got.Params["id"] != tc.id {
				t.Errorf("got %+v, want handler %s id %s", got, tc.handler, tc.id)
			}
		})
	}
}

func TestAFailingHandlerIsA500LoggedWithoutPersonalData(t *testing.T) {
	var log bytes.Buffer
	resp, err := newRouter(&log).Serve(context.Background(), req("GET", "/v1/boom", "", ""))
	if err != nil {
		t.Fatalf("Serve returned %v: a handler's failure is a response, never a Lambda error", err)
	}
	p := problem(t, resp)
	if p.Status != 500 || strings.Contains(resp.Body, "boom") {
		t.Errorf("want a generic 500, got %s", resp.Body)
	}
	if !strings.Contains(log.String(), `"request_id":"rid-1"`) || !strings.Contains(log.String(), "boom") {
		t.Errorf("the cause and request id should be logged: %s", log.String())
	}
	if strings.Contains(log.String(), "13800138000") {
		t.Errorf("log leaks a phone: %s", log.String())
	}
}

// TestFunctionsSetNoCORSHeaders: API Gateway ignores a function's CORS headers when the
// HTTP API has a CorsConfiguration, so a function that sets them only misleads whoever
// reads it; the template's CorsConfiguration is the one place CORS is decided.
func TestFunctionsSetNoCORSHeaders(t *testing.T) {
	post := req("POST", "/v1/leads", "application/json", "{}")
	post.Headers["origin"] = "https://www.example.com"
	for _, r := range []events.APIGatewayV2HTTPRequest{post, req("OPTIONS", "/v1/leads", "", "")} {
		resp, err := newRouter(nil).Serve(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		for k := range resp.Headers {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s %s: the function set %s", r.RequestContext.HTTP.Method, r.RawPath, k)
			}
		}
	}
}

func TestResponses(t *testing.T) {
	r := httpx.SeeOther("https://www.example.com/thanks")
	if r.StatusCode != http.StatusSeeOther || r.Headers["Location"] != "https://www.example.com/thanks" {
		t.Errorf("SeeOther: %+v", r)
	}
	j := httpx.JSON(201, map[string]string{"id": "c1"})
	if j.StatusCode != 201 || j.Headers["Content-Type"] != "application/json" || j.Body != `{"id":"c1"}` {
		t.Errorf("JSON: %+v", j)
	}
	bad := httpx.JSON(200, map[string]any{"f": func() {}})
	if bad.StatusCode != 500 {
		t.Errorf("an unencodable value must be a 500, got %d", bad.StatusCode)
	}
}

func TestAMalformedRouteIsReportedNotPanicked(t *testing.T) {
	r := httpx.NewRouter().Handle("leads", echo("x"))
	if r.Err() == nil {
		t.Fatal("a route key without a method must be reported")
	}
	resp, err := r.Serve(context.Background(), req("GET", "/", "", ""))
	if err != nil || resp.StatusCode != 500 {
		t.Errorf("a misconfigured router must answer 500, got %d", resp.StatusCode)
	}
}

func TestRequestAccessors(t *testing.T) {
	r := req("GET", "/", "", "")
	r.Headers["Idempotency-Key"] = "k1"
	if httpx.Header(r, "idempotency-key") != "k1" || httpx.RequestID(r) != "rid-1" || httpx.SourceIP(r) != "203.0.113.9" {
		t.Errorf("accessors: %q %q %q", httpx.Header(r, "idempotency-key"), httpx.RequestID(r), httpx.SourceIP(r))
	}
}

func TestRedirectTargetIsAllowListed(t *testing.T) {
	origins := []string{"https://www.example.com"}
	const thanks = "https://www.example.com/thanks"
	cases := []struct{ name, target, want string }{
		{"a page on an allowed origin is used", "https://www.example.com/landing/thanks?x=1", "https://www.example.com/landing/thanks?x=1"},
		{"another site falls back", "https://evil.example/phish", thanks},
		{"a look-alike host falls back", "https://www.example.com.evil.example/", thanks},
		{"a protocol-relative URL falls back", "//evil.example/", thanks},
		{"a javascript URL falls back", "javascript:alert(1)", thanks},
		{"credentials in the URL fall back", "https://www.example.com@evil.example/", thanks},
		{"blank falls back", "", thanks},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpx.RedirectTarget(tc.target, origins, thanks); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

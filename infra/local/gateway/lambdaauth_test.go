package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// TestTheKeyAuthorizerIsCalledLikeAPIGatewayCallsIt: no header is 401 without a call,
// a refusal is 403, the answer is cached per key for the TTL, and the function receives
// the authorizer's context as requestContext.authorizer.lambda.
func TestTheKeyAuthorizerIsCalledLikeAPIGatewayCallsIt(t *testing.T) {
	var calls atomic.Int64
	inv := gateway.InvokerFunc(func(_ context.Context, fn string, payload []byte) ([]byte, error) {
		switch fn {
		case "AuthzFunction":
			calls.Add(1)
			var req events.APIGatewayV2CustomAuthorizerV2Request
			if err := json.Unmarshal(payload, &req); err != nil || req.Type != "REQUEST" || len(req.IdentitySource) != 1 {
				t.Errorf("authorizer request: %s (%v)", payload, err)
			}
			ok := req.Headers["x-api-key"] == "good"
			return json.Marshal(events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: ok, Context: map[string]any{"keyId": "k1", "ratePerMinute": 60}})
		case "Fn":
			var ev events.APIGatewayV2HTTPRequest
			_ = json.Unmarshal(payload, &ev)
			body, _ := json.Marshal(ev.RequestContext.Authorizer.Lambda)
			return json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body)})
		}
		return nil, gateway.ErrUnknown
	})
	api := samtemplate.HTTPAPI{Authorizers: map[string]samtemplate.Authorizer{
		"ApiKey": {Name: "ApiKey", Lambda: &samtemplate.LambdaAuthorizer{Function: "AuthzFunction", Headers: []string{"X-Api-Key"}, TTL: time.Hour}}}}
	gw, err := gateway.New(gateway.Config{API: api, Invoker: inv,
		Routes: []samtemplate.Route{{Method: "POST", Path: "/v1/machine/x", Function: "Fn", Authorizer: "ApiKey"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	post := func(key string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/machine/x", strings.NewReader("{}"))
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, _ := post(""); code != 401 || calls.Load() != 0 {
		t.Fatalf("no key: %d after %d authorizer calls, want 401 without a call", code, calls.Load())
	}
	if code, body := post("bad"); code != 403 || !strings.Contains(body, "Forbidden") {
		t.Fatalf("refused key: %d %s, want 403", code, body)
	}
	for i := 0; i < 3; i++ {
		if code, body := post("good"); code != 200 || !strings.Contains(body, `"keyId":"k1"`) || !strings.Contains(body, `"ratePerMinute":60`) {
			t.Fatalf("good key: %d %s", code, body)
		}
	}
	post("bad")
	if calls.Load() != 2 {
		t.Fatalf("authorizer called %d times for two distinct keys within the TTL, want 2", calls.Load())
	}
}

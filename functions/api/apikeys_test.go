package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// callKey calls a /v1/machine/ route as the API-key authorizer would hand it over.
func (g *custRig) callKey(id string, stores, perms []string, rate int, method, path, body string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.SourceIP = "192.0.2.45"
	req.RequestContext.RequestID = "req-" + storetest.Suffix()
	ctx, _ := json.Marshal(auth.KeyContext(id, stores, perms, rate))
	var lambda map[string]any
	_ = json.Unmarshal(ctx, &lambda)
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambda}
	resp, err := g.r.Serve(context.Background(), req)
	if err != nil {
		g.t.Fatalf("%s %s: Serve returned %v", method, path, err)
	}
	return resp
}

func TestAnAdminManagesOnlyTheKeysOfTheirStoresAndSeesTheSecretOnce(t *testing.T) {
	g := newCustRig(t)
	r := g.call("admin", "sh-01", "POST", "/v1/api-keys", `{"name":"bj till","stores":["bj-01"],"permissions":["transactions:write"]}`, nil)
	if r.StatusCode != 400 || !strings.Contains(r.Body, "/stores/0") {
		t.Fatalf("a key for a store the admin does not cover: %d %s", r.StatusCode, r.Body)
	}
	if r := g.call("clinician", "sh-01", "POST", "/v1/api-keys", `{"name":"x","stores":["sh-01"],"permissions":["transactions:write"]}`, nil); r.StatusCode != 403 {
		t.Fatalf("a clinician creating a key: %d", r.StatusCode)
	}
	r = g.call("admin", "sh-01", "POST", "/v1/api-keys", `{"name":"sh till","stores":["sh-01"],"permissions":["transactions:write","customers:read"]}`, nil)
	var created struct {
		Key struct {
			ID, Hint string
		}
		Secret string
	}
	if r.StatusCode != 201 || json.Unmarshal([]byte(r.Body), &created) != nil || !strings.HasPrefix(created.Secret, "tfk_"+created.Key.ID+"_") {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	list := g.call("admin", "sh-01", "GET", "/v1/api-keys", "", nil)
	if list.StatusCode != 200 || !strings.Contains(list.Body, created.Key.ID) || strings.Contains(list.Body, created.Secret) || strings.Contains(list.Body, "secretHash") {
		t.Fatalf("list: %d %s", list.StatusCode, list.Body)
	}
	if other := g.call("admin", "bj-01", "GET", "/v1/api-keys", "", nil); strings.Contains(other.Body, created.Key.ID) {
		t.Fatalf("a bj-01 admin lists an sh-01 key: %s", other.Body)
	}
	if r := g.call("admin", "bj-01", "DELETE", "/v1/api-keys/"+created.Key.ID, "", nil); r.StatusCode != 404 {
		t.Fatalf("a bj-01 admin revoking an sh-01 key: %d", r.StatusCode)
	}
	rot := g.call("admin", "*", "POST", "/v1/api-keys/"+created.Key.ID+"/rotate", "", nil)
	if rot.StatusCode != 200 || strings.Contains(rot.Body, created.Secret) || !strings.Contains(rot.Body, `"secret":"tfk_`) {
		t.Fatalf("rotate: %d %s", rot.StatusCode, rot.Body)
	}
	if r := g.call("admin", "sh-01", "DELETE", "/v1/api-keys/"+created.Key.ID, "", nil); r.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.Body)
	}
	if r := g.call("admin", "sh-01", "DELETE", "/v1/api-keys/"+created.Key.ID, "", nil); r.StatusCode != 404 {
		t.Fatalf("revoke twice: %d", r.StatusCode)
	}
}

func TestAKeyReadsOnlyItsStoresCustomersIsAuditedAsTheKeyAndIsRateLimited(t *testing.T) {
	g := newCustRig(t)
	sh := g.newCustomer("Key SH", mobile(), "")
	bj := g.inStore(g.newCustomer("Key BJ", mobile(), ""), "bj-01")
	id := "k" + storetest.Suffix()
	read := []string{"customers:read"}
	if r := g.callKey(id, []string{"sh-01"}, read, 100, "GET", "/v1/machine/customers/"+sh.ID, ""); r.StatusCode != 200 {
		t.Fatalf("own store's customer: %d %s", r.StatusCode, r.Body)
	}
	if r := g.callKey(id, []string{"sh-01"}, read, 100, "GET", "/v1/machine/customers/"+bj.ID, ""); r.StatusCode != 404 {
		t.Fatalf("another store's customer: %d %s", r.StatusCode, r.Body)
	}
	if r := g.callKey(id, []string{"sh-01"}, []string{"transactions:write"}, 100, "GET", "/v1/machine/customers/"+sh.ID, ""); r.StatusCode != 403 {
		t.Fatalf("a key without customers:read: %d %s", r.StatusCode, r.Body)
	}
	log := g.call("admin", "*", "GET", "/v1/audit", "", map[string]string{"customer": sh.ID})
	if !strings.Contains(log.Body, `"actor":"key:`+id+`"`) || !strings.Contains(log.Body, `"role":"key"`) {
		t.Fatalf("the audit log does not name the key: %s", log.Body)
	}
	rl := "r" + storetest.Suffix()
	for i := 0; i < 3; i++ {
		if r := g.callKey(rl, []string{"sh-01"}, read, 3, "GET", "/v1/machine/customers/"+sh.ID, ""); r.StatusCode != 200 {
			t.Fatalf("request %d within the rate: %d", i+1, r.StatusCode)
		}
	}
	r := g.callKey(rl, []string{"sh-01"}, read, 3, "GET", "/v1/machine/customers/"+sh.ID, "")
	if r.StatusCode != 429 || r.Headers["Retry-After"] == "" || !strings.Contains(r.Headers["Content-Type"], "problem+json") {
		t.Fatalf("over the rate: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	if r := g.call("admin", "*", "GET", "/v1/machine/customers/"+sh.ID, "", nil); r.StatusCode != 401 {
		t.Fatalf("a staff token on a machine route: %d", r.StatusCode)
	}
}

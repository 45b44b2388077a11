package auth_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
)

func withClaims(c map[string]string) events.APIGatewayV2HTTPRequest {
	var r events.APIGatewayV2HTTPRequest
	if c != nil {
		r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: c},
		}
	}
	return r
}

func TestPrincipalFromAuthorizerClaims(t *testing.T) {
	cases := []struct {
		name   string
		claims map[string]string
		status int
		want   auth.Principal
	}{
		{"an agent with two stores", map[string]string{"sub": "u1", auth.ClaimRole: "agent", auth.ClaimStores: "sh-01 sh-02"},
			0, auth.Principal{Sub: "u1", Role: model.RoleAgent, Stores: []string{"sh-01", "sh-02"}}},
		{"a store list rendered as an array by API Gateway", map[string]string{"sub": "u1", auth.ClaimRole: "clinician", auth.ClaimStores: "[sh-01,sh-02]"},
			0, auth.Principal{Sub: "u1", Role: model.RoleClinician, Stores: []string{"sh-01", "sh-02"}}},
		{"a role in a user-writable Cognito attribute is not read", map[string]string{"sub": "u1", "custom:role": "admin", "custom:stores": "*"},
			403, auth.Principal{}},
		{"a bare role claim is not read", map[string]string{"sub": "u1", "role": "admin", "stores": "*"},
			403, auth.Principal{}},
		{"the role claim is read case-insensitively", map[string]string{"sub": "u1", auth.ClaimRole: "Admin", auth.ClaimStores: "*"},
			0, auth.Principal{Sub: "u1", Role: model.RoleAdmin, Stores: []string{"*"}}},
		{"no authorizer context is 401", nil, 401, auth.Principal{}},
		{"no subject is 401", map[string]string{auth.ClaimRole: "admin"}, 401, auth.Principal{}},
		{"no role is 403", map[string]string{"sub": "u1"}, 403, auth.Principal{}},
		{"an unknown role is 403", map[string]string{"sub": "u1", auth.ClaimRole: "superuser"}, 403, auth.Principal{}},
		{"an ID token is 401 even with staff claims", map[string]string{"sub": "u1", "token_use": "id", auth.ClaimRole: "admin", auth.ClaimStores: "*"},
			401, auth.Principal{}},
		{"an access token is read", map[string]string{"sub": "u1", "token_use": "access", auth.ClaimRole: "agent", auth.ClaimStores: "sh-01"},
			0, auth.Principal{Sub: "u1", Role: model.RoleAgent, Stores: []string{"sh-01"}}},
		{"an agent for all stores is 403", map[string]string{"sub": "u1", auth.ClaimRole: "agent", auth.ClaimStores: "*"}, 403, auth.Principal{}},
		{"an agent for four stores is 403 under the default cap of three",
			map[string]string{"sub": "u1", auth.ClaimRole: "agent", auth.ClaimStores: "a b c d"}, 403, auth.Principal{}},
		{"an agent for three stores is read", map[string]string{"sub": "u1", auth.ClaimRole: "agent", auth.ClaimStores: "a,b,c"},
			0, auth.Principal{Sub: "u1", Role: model.RoleAgent, Stores: []string{"a", "b", "c"}}},
		{"a store named twice counts once", map[string]string{"sub": "u1", auth.ClaimRole: "agent", auth.ClaimStores: "a a a a b"},
			0, auth.Principal{Sub: "u1", Role: model.RoleAgent, Stores: []string{"a", "b"}}},
		{"a clinician for all stores is read: the cap is for agents", map[string]string{"sub": "u1", auth.ClaimRole: "clinician", auth.ClaimStores: "*"},
			0, auth.Principal{Sub: "u1", Role: model.RoleClinician, Stores: []string{"*"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := auth.FromRequest(withClaims(tc.claims))
			if tc.status != 0 {
				if httpx.StatusOf(err) != tc.status {
					t.Fatalf("status %d, want %d (%v)", httpx.StatusOf(err), tc.status, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Sub != tc.want.Sub || p.Role != tc.want.Role || strings.Join(p.Stores, ",") != strings.Join(tc.want.Stores, ",") {
				t.Errorf("got %+v, want %+v", p, tc.want)
			}
		})
	}
}

func TestStoreScoping(t *testing.T) {
	agent := auth.Principal{Sub: "a", Role: model.RoleAgent, Stores: []string{"sh-01"}}
	admin := auth.Principal{Sub: "b", Role: model.RoleAdmin, Stores: []string{"*"}}
	cases := []struct {
		name  string
		p     auth.Principal
		store string
		sees  bool
	}{
		{"an agent sees their own store", agent, "sh-01", true},
		{"an agent does not see another store", agent, "bj-01", false},
		{"an agent does not see a customer without a store", agent, "", false},
		{"all-stores sees any store", admin, "bj-01", true},
		{"all-stores sees a customer without a store", admin, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.CanSeeStore(tc.store); got != tc.sees {
				t.Errorf("CanSeeStore(%q) = %v, want %v", tc.store, got, tc.sees)
			}
			err := tc.p.CheckCustomerStore(tc.store)
			if tc.sees != (err == nil) {
				t.Fatalf("CheckCustomerStore = %v", err)
			}
			if !tc.sees {
				if httpx.StatusOf(err) != 404 {
					t.Errorf("another store's customer must look absent (404), got %d", httpx.StatusOf(err))
				}
				if got, missing := httpx.ErrorResponse(err, "").Body, httpx.ErrorResponse(httpx.NotFound("Customer"), "").Body; got != missing {
					t.Errorf("hidden and missing customers answer differently:\n%s\n%s", got, missing)
				}
			}
		})
	}
	if s, all := agent.StoreFilter(); all || len(s) != 1 || s[0] != "sh-01" {
		t.Errorf("agent list filter = %v %v", s, all)
	}
	if _, all := admin.StoreFilter(); !all {
		t.Error("admin list filter should be unrestricted")
	}
}

func TestRequireRole(t *testing.T) {
	agent := auth.Principal{Sub: "a", Role: model.RoleAgent}
	if err := agent.Require(model.RoleAdmin, model.RoleClinician); httpx.StatusOf(err) != 403 {
		t.Errorf("an agent reading the audit log: %v, want 403", err)
	}
	if err := agent.Require(model.RoleAgent, model.RoleAdmin); err != nil {
		t.Errorf("an agent doing agent work: %v", err)
	}
}

func TestAgentStoreCapFollowsMaxAgentStores(t *testing.T) {
	t.Cleanup(func() {
		if err := auth.SetMaxAgentStores(auth.DefaultMaxAgentStores); err != nil {
			t.Errorf("restore the default cap: %v", err)
		}
	})
	claims := map[string]string{"sub": "u1", auth.ClaimRole: "agent", auth.ClaimStores: "a b"}
	if err := auth.SetMaxAgentStores(1); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.FromClaims(claims); httpx.StatusOf(err) != 403 {
		t.Errorf("an agent with two stores under MAX_AGENT_STORES=1: %v, want 403", err)
	}
	if err := auth.SetMaxAgentStores(5); err != nil {
		t.Fatal(err)
	}
	claims[auth.ClaimStores] = "a b c d e"
	if _, err := auth.FromClaims(claims); err != nil {
		t.Errorf("an agent with five stores under MAX_AGENT_STORES=5: %v", err)
	}
	if err := auth.SetMaxAgentStores(0); err == nil {
		t.Error("MAX_AGENT_STORES=0 was accepted")
	}
}

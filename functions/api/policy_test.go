package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/auth"

	"github.com/tierflow/tierflow/shared/tiering"
)

// The policy item is shared by every test of this binary, so one test walks its life.
func TestPolicyIsVersionedValidatedAndGuarded(t *testing.T) {
	a := testApp(t)
	envs := map[string]string{}
	get := func() PolicyResponse {
		resp := serve(t, a, envs, "GET /v1/policy", "/v1/policy", "", adminClaims)
		var p PolicyResponse
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: %d %s", resp.StatusCode, resp.Body)
		}
		return p
	}
	cur := get()
	if cur.Stored || cur.Version != 1 {
		t.Fatalf("before any PUT: %+v, want the default v1", cur)
	}
	// Agents may not read or change thresholds.
	if resp := serve(t, a, envs, "PUT /v1/policy", "/v1/policy", "{}", map[string]string{"sub": "x", auth.ClaimRole: "agent", auth.ClaimStores: "*"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent PUT: %d", resp.StatusCode)
	}
	// Invalid thresholds: every field named.
	bad := tiering.DefaultPolicy()
	bad.Version = 2
	bad.Tiers.BMin = 99
	bad.Lifecycle.SleepingDays = 10
	b, err := json.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	resp := serve(t, a, envs, "PUT /v1/policy", "/v1/policy", string(b), adminClaims)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"/tiers/bMin"`) || !strings.Contains(resp.Body, `"/lifecycle/sleepingDays"`) {
		t.Fatalf("invalid PUT: %d %s", resp.StatusCode, resp.Body)
	}
	// A valid edit becomes v2; the same edit again is stale (409).
	next := tiering.DefaultPolicy()
	next.Version = 2
	next.Downgrade.GraceNights = 3
	if b, err = json.Marshal(next); err != nil {
		t.Fatal(err)
	}
	if resp := serve(t, a, envs, "PUT /v1/policy", "/v1/policy", string(b), adminClaims); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT v2: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := serve(t, a, envs, "PUT /v1/policy", "/v1/policy", string(b), adminClaims); resp.StatusCode != http.StatusConflict {
		t.Fatalf("stale PUT: %d %s", resp.StatusCode, resp.Body)
	}
	if cur := get(); !cur.Stored || cur.Version != 2 || cur.Policy.Downgrade.GraceNights != 3 {
		t.Fatalf("after PUT: %+v", cur)
	}
	req := serveQuery(t, a, "GET /v1/policy", "/v1/policy", map[string]string{"history": "1"})
	var hist struct {
		Versions []struct {
			Version int    `json:"version"`
			By      string `json:"by"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(req.Body), &hist); err != nil || len(hist.Versions) != 1 || hist.Versions[0].Version != 2 || hist.Versions[0].By != "admin-1" {
		t.Fatalf("history: %s", req.Body)
	}
}

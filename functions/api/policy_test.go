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
	// Old versions stay readable: the default it replaced is version 1, the stored one
	// version 2 with who stored it; a version never made is not found, a bad one named.
	version := func(q map[string]string) (int, PolicyResponse, string) {
		resp := serveQuery(t, a, "GET /v1/policy", "/v1/policy", q)
		var p PolicyResponse
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, p, resp.Body
	}
	if code, p, body := version(map[string]string{"version": "1"}); code != 200 || p.Stored || p.Version != 1 || p.Policy.Downgrade.GraceNights == 3 {
		t.Fatalf("version 1: %d %s", code, body)
	}
	if code, p, body := version(map[string]string{"version": "2"}); code != 200 || !p.Stored || p.By != "admin-1" || p.Policy.Downgrade.GraceNights != 3 || p.At == nil {
		t.Fatalf("version 2: %d %s", code, body)
	}
	if code, _, body := version(map[string]string{"version": "3"}); code != http.StatusNotFound {
		t.Fatalf("version 3: %d %s", code, body)
	}
	for _, bad := range []map[string]string{{"version": "0"}, {"version": "two"}, {"history": "yes"}, {"v": "1"}} {
		if code, _, body := version(bad); code != http.StatusBadRequest {
			t.Fatalf("%v: %d %s", bad, code, body)
		}
	}
	resp = serve(t, a, envs, "GET /v1/policy/versions", "/v1/policy/versions", "", adminClaims)
	var list struct {
		Current  int                `json:"current"`
		Versions []PolicyVersionRow `json:"versions"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &list); err != nil || resp.StatusCode != 200 || list.Current != 2 || len(list.Versions) != 2 ||
		list.Versions[0].Version != 2 || !list.Versions[0].Current || !list.Versions[0].Stored || list.Versions[1].Version != 1 || list.Versions[1].Stored {
		t.Fatalf("versions: %d %s", resp.StatusCode, resp.Body)
	}
	agent := map[string]string{"sub": "x", auth.ClaimRole: "agent", auth.ClaimStores: "*"}
	if resp := serve(t, a, envs, "GET /v1/policy/versions", "/v1/policy/versions", "", agent); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent listing versions: %d", resp.StatusCode)
	}
}

package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// Finding 8 (staff side) and C1: nothing a caller can put in a path, a query or a cursor
// makes a staff route answer 500. An id no item could have (5,000 characters, a key
// separator) is the very 404 of an unknown id; a cursor the API did not issue is 400.
func TestNoStaffRouteAnswers500ForWhatACallerSends(t *testing.T) {
	a := testApp(t)
	envs := map[string]string{"INGEST_QUEUE_URL": storetest.Queue(t, "ingest"), "RETIER_QUEUE_URL": storetest.Queue(t, "retier"), "STORES": "sh-01,bj-01"}
	admin := map[string]string{"sub": "admin-robust", auth.ClaimRole: "admin", auth.ClaimStores: "*"}
	agent := map[string]string{"sub": "agent-robust", auth.ClaimRole: "agent", auth.ClaimStores: "sh-01"}
	long := strings.Repeat("7", 5000)
	unknown := "nobody-" + storetest.Suffix()

	// Every route with an id in its path: the long id and a separator answer like nobody.
	paths := []struct{ routeKey, path, body string }{
		{"GET /v1/customers/{id}", "/v1/customers/%s", ""},
		{"PATCH /v1/customers/{id}", "/v1/customers/%s", `{"name":"X"}`},
		{"DELETE /v1/customers/{id}", "/v1/customers/%s", ""},
		{"GET /v1/customers/{id}/timeline", "/v1/customers/%s/timeline", ""},
		{"GET /v1/customers/{id}/export", "/v1/customers/%s/export", ""},
		{"POST /v1/customers/{id}/events", "/v1/customers/%s/events", `{"id":"e1","type":"contact"}`},
		{"POST /v1/tasks/{id}/complete", "/v1/tasks/%s/complete", `{"outcome":"reached"}`},
		{"POST /v1/tasks/{id}/reassign", "/v1/tasks/%s/reassign", `{"assignee":"admin-robust"}`},
		{"GET /v1/retier/{id}", "/v1/retier/%s", ""},
	}
	for _, p := range paths {
		t.Run(p.routeKey, func(t *testing.T) {
			want := serveReq(t, a, envs, p.routeKey, strings.Replace(p.path, "%s", unknown, 1), p.body, admin, nil)
			if want.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown id: %d %s", want.StatusCode, want.Body)
			}
			for _, id := range []string{long, "x%23PROFILE", "a b"} {
				got := serveReq(t, a, envs, p.routeKey, strings.Replace(p.path, "%s", id, 1), p.body, admin, nil)
				if !sameProblem(t, got, want) {
					t.Fatalf("id %.20q…: %d %s\nwant %s", id, got.StatusCode, got.Body, want.Body)
				}
			}
		})
	}

	cursor := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	tampered := []string{"!!!", cursor(`{}`), cursor(`{"GSI3PK":"ASSIGNEE#someone-else"}`),
		cursor(`{"GSI3PK":"ASSIGNEE#agent-robust"}`),
		cursor(`{"PK":"REM#x","SK":"REM","GSI3PK":"ASSIGNEE#agent-robust","GSI3SK":"zzz"}`),
		cursor(`{"PK":"REM#x","SK":"REM","GSI2PK":"STORETASK#bj-01","GSI2SK":"open#x"}`),
		cursor(`{"PK":"x","SK":"y","GSI2PK":"STORE#sh-01","GSI2SK":"` + long + `"}`),
		cursor(`{"PK":"AUDIT#x","SK":"` + long + `"}`)}
	type query struct {
		name     string
		routeKey string
		path     string
		claims   map[string]string
		query    map[string]string
		status   int
	}
	queries := []query{
		{"an audit log of a 5,000-character id", "GET /v1/audit", "/v1/audit", admin, map[string]string{"customer": long}, 404},
		{"a report of a 5,000-character run", "GET /v1/reports/{name}", "/v1/reports/tiers", admin, map[string]string{"run": long}, 404},
		{"a report of a 5,000-character store", "GET /v1/reports/{name}", "/v1/reports/tiers", admin, map[string]string{"store": long}, 404},
		{"an at-risk report of a 5,000-character store", "GET /v1/reports/{name}", "/v1/reports/at-risk", admin, map[string]string{"store": long}, 404},
		{"a customer list of a 5,000-character store", "GET /v1/customers", "/v1/customers", admin, map[string]string{"store": long}, 404},
		{"a task list of a 5,000-character store", "GET /v1/tasks", "/v1/tasks", admin, map[string]string{"view": "store", "store": long}, 404},
		{"a tier outside A, B, C", "GET /v1/customers", "/v1/customers", agent, map[string]string{"tier": "Z#"}, 400},
		{"a stage outside the lifecycle", "GET /v1/customers", "/v1/customers", agent, map[string]string{"stage": long}, 400},
		{"a 5,000-character tag", "GET /v1/customers", "/v1/customers", agent, map[string]string{"tag": long}, 400},
		{"a search of 5,000 characters", "GET /v1/customers", "/v1/customers", agent, map[string]string{"q": long}, 400},
	}
	for i, c := range tampered {
		queries = append(queries,
			query{"tampered cursor " + string(rune('a'+i)) + " on my tasks", "GET /v1/tasks", "/v1/tasks", agent, map[string]string{"view": "mine", "cursor": c}, 400},
			query{"tampered cursor " + string(rune('a'+i)) + " on a store's tasks", "GET /v1/tasks", "/v1/tasks", agent, map[string]string{"view": "store", "cursor": c}, 400},
			query{"tampered cursor " + string(rune('a'+i)) + " on customers", "GET /v1/customers", "/v1/customers", agent, map[string]string{"cursor": c}, 400},
		)
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			got := serveReq(t, a, envs, q.routeKey, q.path, "", q.claims, q.query)
			if got.StatusCode != q.status {
				t.Fatalf("%d %s, want %d", got.StatusCode, got.Body, q.status)
			}
		})
	}
	t.Run("a customer moved to a store no id could name", func(t *testing.T) {
		id := newCustRig(t).newCustomer("Robust Mover", mobile(), "").ID
		// Without a STORES list any store name passes the field rules; the id rule still holds.
		got := serveReq(t, a, map[string]string{}, "PATCH /v1/customers/{id}", "/v1/customers/"+id, `{"store":"`+long+`"}`, admin, nil)
		if got.StatusCode != 400 || !strings.Contains(got.Body, `"store"`) {
			t.Fatalf("%d %s", got.StatusCode, got.Body)
		}
	})
	t.Run("a run as of year 1", func(t *testing.T) {
		got := serveReq(t, a, envs, "POST /v1/retier", "/v1/retier", `{"asOf":"0001-01-01T00:00:00Z"}`, admin, nil)
		if got.StatusCode != 400 || !strings.Contains(got.Body, `"asOf"`) {
			t.Fatalf("%d %s", got.StatusCode, got.Body)
		}
	})
}

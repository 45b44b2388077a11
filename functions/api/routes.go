package main

import (
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
)

// routes is every route of the staff API (template.yaml's ApiFunction events: behind the
// JWT authorizer with the tierflow/staff scope, and /v1/machine/ behind the API-key one). Each handler resolves what the
// request names through a.acc and works on it through a.desk (app.go).
func routes(r *httpx.Router, a *app, e *env.Reader) {
	customers := newCustomers(a, e)
	imports := newCustomerImport(a, e)
	staff := newStaffFollowup(a, e)
	txns := newTransactionsAPI(a, e)
	policy := &policyAPI{a}
	retier := newRetierAPI(a, e)
	reports := &reportsAPI{app: a, desk: a.desk}
	preview := newPreviewAPI(a)
	referrals := newReferralsAPI(a)
	keys := newAPIKeysAPI(a, e)
	followupReports := newFollowupReports(a)

	r.Handle("GET /v1/customers", customers.list)
	r.Handle("POST /v1/customers", imports.post)
	r.Handle("GET /v1/customers/{id}", customers.get)
	r.Handle("PATCH /v1/customers/{id}", customers.patch)
	r.Handle("DELETE /v1/customers/{id}", customers.erase)
	r.Handle("GET /v1/customers/{id}/timeline", customers.timeline)
	r.Handle("GET /v1/customers/{id}/export", customers.export)
	r.Handle("POST /v1/customers/{id}/events", staff.event)
	r.Handle("GET /v1/audit", customers.audit)

	r.Handle("GET /v1/tasks", staff.list)
	r.Handle("POST /v1/tasks/{id}/complete", staff.complete)
	r.Handle("POST /v1/tasks/{id}/reassign", staff.reassign)
	r.Handle("GET /v1/staff", staff.staff)

	r.Handle("POST /v1/transactions", txns.post)

	r.Handle("GET /v1/policy", policy.get)
	r.Handle("PUT /v1/policy", policy.put)
	r.Handle("GET /v1/policy/versions", policy.versions)
	r.Handle("POST /v1/policy/preview", preview.preview)

	r.Handle("POST /v1/retier", retier.start)
	r.Handle("GET /v1/retier/{id}", retier.get)
	r.Handle("GET /v1/reports/followup", followupReports.followup)
	r.Handle("GET /v1/reports/messages", followupReports.messages)
	r.Handle("GET /v1/reports/feedback", followupReports.feedbackReport)
	r.Handle("GET /v1/reports/{name}", reports.get)
	r.Handle("GET /v1/referrals", referrals.list)

	r.Handle("GET /v1/api-keys", keys.list)
	r.Handle("POST /v1/api-keys", keys.create)
	r.Handle("DELETE /v1/api-keys/{id}", keys.revoke)
	r.Handle("POST /v1/api-keys/{id}/rotate", keys.rotate)

	// Machines with an API key (the ApiKey authorizer): the staff handlers above, each
	// key within its permissions (access.Require), its stores and its rate.
	r.Handle("POST /v1/machine/transactions", a.machine(txns.post))
	r.Handle("GET /v1/machine/customers", a.machine(customers.list))
	r.Handle("POST /v1/machine/customers", a.machine(imports.post))
	r.Handle("GET /v1/machine/customers/{id}", a.machine(customers.get))
	r.Handle("POST /v1/machine/customers/{id}/events", a.machine(staff.event))
}

package main

import (
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
)

// routes is every route of the staff API (template.yaml's ApiFunction events, all behind
// the JWT authorizer with the tierflow/staff scope). Each handler resolves what the
// request names through a.acc and works on it through a.desk (app.go).
func routes(r *httpx.Router, a *app, e *env.Reader) {
	customers := newCustomers(a, e)
	imports := newCustomerImport(a, e)
	staff := newStaffFollowup(a, e)
	txns := newTransactionsAPI(a, e)
	policy := &policyAPI{a}
	retier := newRetierAPI(a, e)
	reports := &reportsAPI{app: a, desk: a.desk}
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

	r.Handle("POST /v1/retier", retier.start)
	r.Handle("GET /v1/retier/{id}", retier.get)
	r.Handle("GET /v1/reports/followup", followupReports.followup)
	r.Handle("GET /v1/reports/messages", followupReports.messages)
	r.Handle("GET /v1/reports/feedback", followupReports.feedbackReport)
	r.Handle("GET /v1/reports/{name}", reports.get)
}

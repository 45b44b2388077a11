package main

import (
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
)

// routes is every route of the public function (template.yaml's PublicApiFunction
// events): the doors a stranger may knock on, none of them behind the JWT authorizer.
// The links dispatch puts in messages (shared/links) point at the unsubscribe, feedback
// and consent routes.
func routes(r *httpx.Router, a *app, e *env.Reader) {
	leads := newLeads(a, e)
	in := newInbound(a, e)
	health := newHealth(a, e)

	r.Handle("POST /v1/leads", leads.post)

	r.Handle("GET /v1/unsubscribe", in.unsubscribePage)
	r.Handle("POST /v1/unsubscribe", in.unsubscribe)
	r.Handle("GET /v1/feedback", in.surveyPage)
	r.Handle("POST /v1/feedback", in.surveyAnswer)
	r.Handle("GET /v1/consent/confirm", in.consentPage)
	r.Handle("POST /v1/consent/confirm", in.consentConfirm)
	r.Handle("POST /v1/sms/inbound", in.smsInbound)

	r.Handle("GET /v1/health", health.handle)
}

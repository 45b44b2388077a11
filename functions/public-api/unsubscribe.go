package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/env"
	tevents "github.com/tierflow/tierflow/shared/events"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/htmlx"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
)

// inbound holds what the customer-facing follow-up routes share: unsubscribe links,
// survey answers, consent confirmations and SMS replies name a customer by a token or a
// number (contacts) and end in the store's adapters and the planner.
type inbound struct {
	log       *slog.Logger
	contacts  *store.Contacts  // tokens and numbers → customers; opt-outs
	reminders *store.Reminders // the survey a link answers
	consents  *store.Consents  // double opt-in links
	feedback  *store.Feedback  // survey answers
	planner   *fapp.Planner
	replies   *fapp.Replies // STOP replies and unsubscribe links
	// events is where consent.changed goes (the app's publisher: the bus, or Nop).
	events tevents.Publisher
	now    func() time.Time
	// smsSecret verifies inbound SMS webhooks (SMS_INBOUND_SECRET).
	smsSecret []byte
}

func newInbound(a *app, e *env.Reader) *inbound {
	f := a.followup
	return &inbound{log: a.log, contacts: f.Contacts, reminders: f.Reminders, consents: store.NewConsents(a.table, a.now),
		feedback: store.NewFeedback(a.table), planner: f.Planner(), replies: f.Replies(a.events), events: a.events, now: a.now, smsSecret: []byte(e.Optional("SMS_INBOUND_SECRET", ""))}
}

// optOut records a marketing opt-out on every channel at once and cancels the
// customer's pending marketing reminders (shared/followup/app.Replies, shared with the
// delivery function's two-way SMS).
func (in *inbound) optOut(ctx context.Context, customerID, source string) error {
	return in.replies.OptOut(ctx, customerID, source)
}

// customerByToken resolves ?t=; an unknown token is a 404 naming nobody (what: the
// thing the link is for, as the 404 says it).
func (in *inbound) customerByToken(ctx context.Context, req events.APIGatewayV2HTTPRequest, what string) (string, error) {
	tok := strings.TrimSpace(req.QueryStringParameters["t"])
	if tok == "" {
		return "", httpx.BadRequest("t", "the link is missing its token")
	}
	id, err := in.contacts.CustomerByToken(ctx, tok)
	if errors.Is(err, store.ErrNotFound) {
		return "", httpx.NotFound(what)
	}
	return id, err
}

// The customer pages are written out, not executed by html/template: executing a
// template keeps every exported method of every type in the binary (shared/htmlx),
// 4 MB of this function's bootstrap. Every value is escaped by htmlx as html/template
// would escape it there (pages_test.go).

// page is a customer-facing HTML document around body; title and maxWidth are literals.
func page(title, maxWidth, body string) string {
	return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>` + title + `</title></head>
<body style="font-family:sans-serif;max-width:` + maxWidth + `;margin:3rem auto;padding:0 1rem">
` + body + `
</body></html>`
}

func htmlPage(status int, html string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: html, Headers: map[string]string{
		"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
	}}
}

// unsubscribePageHTML is the unsubscribe confirmation for token, or its outcome once done.
func unsubscribePageHTML(token string, done bool) string {
	const title, width = "退订 / Unsubscribe", "32rem"
	if done {
		return page(title, width, `<h1>已退订 · Unsubscribed</h1>
<p>您将不再收到营销短信和邮件。服务通知（如预约提醒）不受影响。</p>
<p>You will no longer receive marketing SMS or email. Service notices (such as appointment reminders) continue.</p>`)
	}
	return page(title, width, `<h1>退订营销消息 · Unsubscribe</h1>
<p>确认后，我们将停止向您发送所有营销短信和邮件。</p>
<p>Confirm to stop all marketing SMS and email from us.</p>
<form method="post" action="/v1/unsubscribe?t=`+htmlx.QueryValue(token)+`">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit" style="font-size:1.1rem;padding:.6rem 1.2rem">确认退订 · Unsubscribe</button>
</form>`)
}

// unsubscribePage answers GET /v1/unsubscribe?t=: a confirmation page with a button. A GET
// changes nothing, so mail scanners following the link do not unsubscribe anyone.
func (in *inbound) unsubscribePage(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if _, err := in.customerByToken(ctx, req, "Unsubscribe link"); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return htmlPage(http.StatusOK, unsubscribePageHTML(req.QueryStringParameters["t"], false)), nil
}

// unsubscribe answers POST /v1/unsubscribe?t=: RFC 8058 one-click (the mail client posts
// List-Unsubscribe=One-Click) and the page's button alike.
func (in *inbound) unsubscribe(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	id, err := in.customerByToken(ctx, req, "Unsubscribe link")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := in.optOut(ctx, id, "email-link"); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	in.log.InfoContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "marketing opt-out", "source", "email-link")
	return htmlPage(http.StatusOK, unsubscribePageHTML("", true)), nil
}

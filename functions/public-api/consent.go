package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/customer"
	tevents "github.com/tierflow/tierflow/shared/events"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/htmlx"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
)

// consentPageHTML is the confirmation page for the consents of a link (token), in the
// wording of version, or its outcome once done.
func consentPageHTML(token, version string, items []consentItem, done bool) string {
	const title, width = "确认授权 / Confirm your consent", "36rem"
	if done {
		return page(title, width, `<h1>已确认 · Confirmed</h1>
<p>谢谢，我们已记录您的授权。您可随时回复 TD 或点击邮件中的退订链接撤回。</p>
<p>Thank you, your consent is recorded. You can withdraw it at any time (reply TD, or the unsubscribe link in any e-mail).</p>`)
	}
	var b strings.Builder
	b.WriteString(`<h1>确认授权 · Confirm your consent</h1>
<p>有人通过我们的表单为您申请了以下授权。如是您本人，请点击确认；如不是，请关闭本页，我们不会做任何更改。</p>
<p>Someone used our form to ask for the following on your behalf. If it was you, confirm; if not, close this page and nothing changes.</p>
<ul>`)
	for _, it := range items {
		b.WriteString("<li><p>" + htmlx.Text(it.ZH) + "</p><p>" + htmlx.Text(it.EN) + "</p></li>")
	}
	b.WriteString(`</ul>
<p style="color:#666">授权文本版本 · Wording version ` + htmlx.Text(version) + `</p>
<form method="post" action="/v1/consent/confirm?t=` + htmlx.QueryValue(token) + `">
<input type="hidden" name="confirm" value="yes">
<button type="submit" style="font-size:1.1rem;padding:.6rem 1.2rem">确认 · Confirm</button>
</form>`)
	return page(title, width, b.String())
}

// consentItem is one consent as the page shows it, in both languages.
type consentItem struct{ ZH, EN string }

// consentLink maps what the store says about a link to what the person is told: an
// unknown token is a 404 naming nobody; a used or expired one is a 410 that says which,
// so a person who clicks twice is not alarmed.
func consentLink(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpx.NotFound("Confirmation link")
	case errors.Is(err, store.ErrLinkUsed):
		return httpx.Gone("This confirmation link was already used; the consent is recorded.")
	case errors.Is(err, store.ErrLinkExpired):
		return httpx.Gone("This confirmation link has expired; send the form again for a new one.")
	}
	return err
}

func linkToken(req events.APIGatewayV2HTTPRequest) (string, error) {
	tok := strings.TrimSpace(req.QueryStringParameters["t"])
	if tok == "" {
		return "", httpx.BadRequest("t", "the link is missing its token")
	}
	return tok, nil
}

// consentPage answers GET /v1/consent/confirm?t=: the wording of each consent the link
// stands for, in the version that will be recorded, and a button. A GET records nothing,
// so a mail scanner following the link confirms nothing.
func (in *inbound) consentPage(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	tok, err := linkToken(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cr, err := in.consents.Request(ctx, tok, in.now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, consentLink(err)
	}
	items := make([]consentItem, 0, len(cr.Consents))
	for _, c := range cr.Consents {
		zh, ok1 := customer.Wording(cr.TextVersion, c.Category, c.Channel, "zh-CN")
		en, ok2 := customer.Wording(cr.TextVersion, c.Category, c.Channel, "en")
		if !ok1 || !ok2 {
			// A link names only published versions (customer.WordingVersion); a gap here
			// is a defect to see, never a consent shown without its words.
			return events.APIGatewayV2HTTPResponse{}, errors.New("consent page: wording " + cr.TextVersion + " lacks " + string(c.Category) + "/" + string(c.Channel))
		}
		items = append(items, consentItem{ZH: zh, EN: en})
	}
	return htmlPage(http.StatusOK, consentPageHTML(tok, cr.TextVersion, items, false)), nil
}

// consentConfirm answers POST /v1/consent/confirm?t=: the consents the link stands for
// are recorded with the time, source "double-opt-in", this request's IP and the wording
// version, once. Nothing in the body can change what is recorded.
func (in *inbound) consentConfirm(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	tok, err := linkToken(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cr, err := in.consents.Confirm(ctx, tok, in.now(), httpx.SourceIP(req))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, consentLink(err)
	}
	ctx = logx.WithRequestID(ctx, httpx.RequestID(req))
	in.log.InfoContext(ctx, "consent confirmed",
		"customer", cr.CustomerID, "consents", len(cr.Consents), "changed", len(cr.Changed), "textVersion", cr.TextVersion)
	if err := in.consentChanged(ctx, cr); err != nil {
		// The consent is recorded and the link used: the person is told so; the lost
		// event is logged for the operator (the link cannot be replayed to resend it).
		in.log.ErrorContext(ctx, "consent.changed not published", "customer", cr.CustomerID, "err", err)
	}
	return htmlPage(http.StatusOK, consentPageHTML("", "", nil, true)), nil
}

// consentChanged publishes consent.changed for each grant the confirmation put in force
// (none when every grant already was), after it was stored; ids and codes only.
func (in *inbound) consentChanged(ctx context.Context, cr store.ConsentRequest) error {
	if in.events == nil || len(cr.Changed) == 0 {
		return nil
	}
	evs := make([]tevents.Event, 0, len(cr.Changed))
	for _, c := range cr.Changed {
		evs = append(evs, fapp.ConsentEvent(cr.CustomerID, cr.Store, string(c.Category), string(c.Channel), true, customer.ConfirmSource, c.At))
	}
	return in.events.Publish(ctx, evs...)
}

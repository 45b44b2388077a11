package main

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/customer"
	tevents "github.com/tierflow/tierflow/shared/events"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
)

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>确认授权 / Confirm your consent</title></head>
<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">
{{if .Done}}<h1>已确认 · Confirmed</h1>
<p>谢谢，我们已记录您的授权。您可随时回复 TD 或点击邮件中的退订链接撤回。</p>
<p>Thank you, your consent is recorded. You can withdraw it at any time (reply TD, or the unsubscribe link in any e-mail).</p>
{{else}}<h1>确认授权 · Confirm your consent</h1>
<p>有人通过我们的表单为您申请了以下授权。如是您本人，请点击确认；如不是，请关闭本页，我们不会做任何更改。</p>
<p>Someone used our form to ask for the following on your behalf. If it was you, confirm; if not, close this page and nothing changes.</p>
<ul>{{range .Items}}<li><p>{{.ZH}}</p><p>{{.EN}}</p></li>{{end}}</ul>
<p style="color:#666">授权文本版本 · Wording version {{.Version}}</p>
<form method="post" action="/v1/consent/confirm?t={{.Token}}">
<input type="hidden" name="confirm" value="yes">
<button type="submit" style="font-size:1.1rem;padding:.6rem 1.2rem">确认 · Confirm</button>
</form>{{end}}
</body></html>`))

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
	return htmlPage(http.StatusOK, consentTmpl, map[string]any{"Token": tok, "Items": items, "Version": cr.TextVersion})
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
	return htmlPage(http.StatusOK, consentTmpl, map[string]any{"Done": true})
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

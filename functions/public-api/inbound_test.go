package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/notify"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

const testSMSSecret = "test-inbound-secret-0123456789"

type inboundRig struct {
	t   *testing.T
	r   *httpx.Router
	in  *inbound
	tbl *store.Table
	now time.Time
}

func newInboundRig(t *testing.T) *inboundRig {
	t.Helper()
	tbl := storetest.Table(t)
	g := &inboundRig{t: t, tbl: tbl, now: leadClock}
	a := &app{log: logx.New(&bytes.Buffer{}, logx.Options{}), table: tbl, now: func() time.Time { return g.now }}
	g.in = newInbound(a, env.FromMap(map[string]string{"PUBLIC_BASE_URL": "https://t.example", "SMS_INBOUND_SECRET": testSMSSecret}))
	g.r = httpx.NewRouter()
	g.r.Log = a.log
	g.r.Handle("POST /v1/sms/inbound", g.in.smsInbound)
	g.r.Handle("GET /v1/unsubscribe", g.in.unsubscribePage)
	g.r.Handle("POST /v1/unsubscribe", g.in.unsubscribe)
	g.r.Handle("GET /v1/feedback", g.in.surveyPage)
	g.r.Handle("POST /v1/feedback", g.in.surveyAnswer)
	return g
}

func (g *inboundRig) do(method, path, contentType, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	u, _ := url.Parse(path)
	q := map[string]string{}
	for k, v := range u.Query() {
		q[k] = v[0]
	}
	req := events.APIGatewayV2HTTPRequest{RouteKey: method + " " + u.Path, RawPath: u.Path, RawQueryString: u.RawQuery,
		QueryStringParameters: q, Body: body, Headers: map[string]string{"content-type": contentType}}
	for k, v := range headers {
		req.Headers[strings.ToLower(k)] = v
	}
	req.RequestContext.RequestID = "req-" + storetest.Suffix()
	req.RequestContext.HTTP.Method = method
	resp, err := g.r.Serve(context.Background(), req)
	if err != nil {
		g.t.Fatal(err)
	}
	return resp
}

func (g *inboundRig) sms(from, body string, secret string) events.APIGatewayV2HTTPResponse {
	raw := fmt.Sprintf(`{"messageId":"m-%s","from":%q,"body":%q}`, storetest.Suffix(), from, body)
	ts := strconv.FormatInt(g.now.Unix(), 10)
	return g.do("POST", "/v1/sms/inbound", "application/json", raw, map[string]string{
		"X-Tierflow-Timestamp": ts, "X-Tierflow-Signature": notify.Sign([]byte(secret), ts, []byte(raw))})
}

func (g *inboundRig) customer(withEmail bool) (customer.Profile, string) {
	g.t.Helper()
	national, e164 := uniqueMobile()
	f := customer.LeadForm{Name: "Liu Yang", Phone: national, ConsentMarketingSMS: customer.Checkbox{Set: true, Value: true},
		ConsentMarketingEmail: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}
	if withEmail {
		f.Email = "liu-" + storetest.Suffix() + "@example.com"
	} else {
		f.ConsentMarketingEmail = customer.Checkbox{}
	}
	l, err := (customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01"}, DefaultStore: "sh-01"}).Validate(f, customer.Submission{At: g.now, IP: "203.0.113.1", Channel: "form"})
	if err != nil {
		g.t.Fatal(err)
	}
	p, _, err := g.tbl.ResolveOrCreate(context.Background(), l, customer.Grading{}, g.now)
	if err != nil {
		g.t.Fatal(err)
	}
	return p, e164
}

// A customer who replies STOP to an SMS gets no more marketing on any channel: the
// pending marketing SMS is cancelled and the next send would be refused, while service
// messages still reach them.
func TestStopReplyStopsMarketingOnEveryChannel(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, e164 := g.customer(true)
	plan, err := g.in.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerStageEntered, CustomerID: p.ID, Ref: "night-1", At: g.now, Stage: model.StageDormant})
	if err != nil || len(plan.Created) == 0 || plan.Created[0].Category != model.CategoryMarketing {
		t.Fatalf("plan a win-back SMS: %+v %v", plan.Created, err)
	}
	if resp := g.sms(e164, "stop", "wrong-secret-wrong-secret"); resp.StatusCode != 401 {
		t.Fatalf("forged reply: %d, want 401", resp.StatusCode)
	}
	if resp := g.sms(e164, " 退订！", testSMSSecret); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"optedOut":true`) {
		t.Fatalf("STOP reply: %d %s", resp.StatusCode, resp.Body)
	}
	open, _ := g.in.f.OpenForCustomer(ctx, p.ID)
	for _, r := range open {
		if r.Category == model.CategoryMarketing {
			t.Fatalf("marketing reminder %s still %s after STOP", r.Template, r.Status)
		}
	}
	v, _ := g.in.f.ContactView(ctx, p.ID)
	for _, ch := range []model.Channel{model.ChannelSMS, model.ChannelEmail} {
		if v.Permits(model.CategoryMarketing, ch) != followup.SkipOptedOut {
			t.Fatalf("marketing %s still permitted after STOP", ch)
		}
	}
	if v.Permits(model.CategoryService, model.ChannelSMS) != followup.SkipNone {
		t.Fatal("STOP must not stop service messages")
	}
	// Any other reply is a customer contact: staff get a 24 h reply task.
	if resp := g.sms(e164, "What time do you open tomorrow?", testSMSSecret); !strings.Contains(resp.Body, `"contactPlanned":true`) {
		t.Fatalf("question reply: %s", resp.Body)
	}
}

// The email link: GET shows a button and changes nothing; the RFC 8058 one-click POST
// opts out; an unknown token is a 404 problem.
func TestUnsubscribeLinkOneClick(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, _ := g.customer(true)
	tok, err := g.in.f.UnsubscribeToken(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := g.do("GET", "/v1/unsubscribe?t="+tok, "", "", nil)
	if page.StatusCode != 200 || !strings.Contains(page.Body, `<form method="post"`) || !strings.Contains(page.Headers["Content-Type"], "text/html") {
		t.Fatalf("page: %d %s", page.StatusCode, page.Body)
	}
	if v, _ := g.in.f.ContactView(ctx, p.ID); v.MarketingOptOut {
		t.Fatal("a GET opted the customer out")
	}
	if resp := g.do("POST", "/v1/unsubscribe?t="+tok, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", nil); resp.StatusCode != 200 {
		t.Fatalf("one-click: %d %s", resp.StatusCode, resp.Body)
	}
	if v, _ := g.in.f.ContactView(ctx, p.ID); !v.MarketingOptOut {
		t.Fatal("one-click POST did not opt out")
	}
	if resp := g.do("POST", "/v1/unsubscribe?t=nosuchtoken", "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", nil); resp.StatusCode != 404 || !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
		t.Fatalf("unknown token: %d %v", resp.StatusCode, resp.Headers)
	}
}

// A survey answer is recorded once; CSAT 2 opens the manager complaint task; bad scores
// are problems naming the field.
func TestSurveyAnswerLowScoreOpensManagerTaskOnce(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, _ := g.customer(false)
	tok, _ := g.in.f.UnsubscribeToken(ctx, p.ID)
	path := "/v1/feedback?t=" + tok + "&r=rem_survey1"
	if resp := g.do("POST", path, "application/json", `{"csat":9}`, nil); resp.StatusCode != 400 || !strings.Contains(resp.Body, `"csat"`) {
		t.Fatalf("out of range: %d %s", resp.StatusCode, resp.Body)
	}
	resp := g.do("POST", path, "application/x-www-form-urlencoded", "csat=2&nps=3", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "谢谢") {
		t.Fatalf("answer: %d %s", resp.StatusCode, resp.Body)
	}
	if again := g.do("POST", path, "application/json", `{"csat":2}`, nil); !strings.Contains(again.Body, `"recorded":false`) {
		t.Fatalf("double submit: %s", again.Body)
	}
	open, _ := g.in.f.OpenForCustomer(ctx, p.ID)
	managers := 0
	for _, r := range open {
		if r.IsTask() && r.Task.Role == model.RoleClinician && r.Trigger == followup.TriggerComplaint {
			managers++
			if d := r.Task.DeadlineAt.Sub(g.now); d > 24*time.Hour {
				t.Fatalf("complaint deadline in %v, want within 24 h", d)
			}
		}
	}
	if managers != 1 {
		t.Fatalf("%d manager complaint tasks, want 1", managers)
	}
	var score int
	if _, err := g.tbl.ProfileAttr(ctx, p.ID, "emotionScore", &score); err != nil || score != 35 {
		t.Fatalf("emotion score %d (%v), want 35 after one dissatisfied answer", score, err)
	}
}

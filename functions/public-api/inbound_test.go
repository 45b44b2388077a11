package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	tfevents "github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/links"
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
	return newInboundRigPublishing(t, nil)
}

// newInboundRigPublishing is newInboundRig with the routes publishing to pub (nil: the
// wiring's events.Nop).
func newInboundRigPublishing(t *testing.T, pub tfevents.Publisher) *inboundRig {
	t.Helper()
	tbl := storetest.Table(t)
	g := &inboundRig{t: t, tbl: tbl, now: leadClock}
	a, err := wire(logx.New(&bytes.Buffer{}, logx.Options{}), aws.Config{}, tbl, func() time.Time { return g.now }, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if pub != nil {
		a.events = pub
	}
	e := env.FromMap(map[string]string{"PUBLIC_BASE_URL": "https://t.example", "SMS_INBOUND_SECRET": testSMSSecret})
	g.in = newInbound(a, e) // the adapters the routes use, for the tests to look behind them
	g.r = httpx.NewRouter()
	g.r.Log = a.log
	routes(g.r, a, e)
	return g
}

// emotionScore reads the score a survey answer leaves on the stored profile.
func emotionScore(t *testing.T, tbl *store.Table, customerID string) (string, bool) {
	t.Helper()
	k := store.CustomerKey(customerID)
	out, err := storetest.Emulators(t).DynamoDBClient().GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(tbl.Name), ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("emotionScore"),
		Key: map[string]ddbtypes.AttributeValue{"PK": &ddbtypes.AttributeValueMemberS{Value: k.PK}, "SK": &ddbtypes.AttributeValueMemberS{Value: k.SK}}})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item["emotionScore"].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return "", false
	}
	return n.Value, true
}

func (g *inboundRig) do(method, path, contentType, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		g.t.Fatal(err)
	}
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
	open, err := g.in.reminders.OpenForCustomer(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range open {
		if r.Category == model.CategoryMarketing {
			t.Fatalf("marketing reminder %s still %s after STOP", r.Template, r.Status)
		}
	}
	v, err := g.in.contacts.ContactView(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
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
	tok := g.token(p.ID)
	page := g.do("GET", "/v1/unsubscribe?t="+tok, "", "", nil)
	if page.StatusCode != 200 || !strings.Contains(page.Body, `<form method="post"`) || !strings.Contains(page.Headers["Content-Type"], "text/html") {
		t.Fatalf("page: %d %s", page.StatusCode, page.Body)
	}
	if v, err := g.in.contacts.ContactView(ctx, p.ID); err != nil || v.MarketingOptOut {
		t.Fatalf("a GET opted the customer out (err %v)", err)
	}
	if resp := g.do("POST", "/v1/unsubscribe?t="+tok, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", nil); resp.StatusCode != 200 {
		t.Fatalf("one-click: %d %s", resp.StatusCode, resp.Body)
	}
	if v, err := g.in.contacts.ContactView(ctx, p.ID); err != nil || !v.MarketingOptOut {
		t.Fatalf("one-click POST did not opt out (err %v)", err)
	}
	if resp := g.do("POST", "/v1/unsubscribe?t=nosuchtoken", "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", nil); resp.StatusCode != 404 || !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
		t.Fatalf("unknown token: %d %v", resp.StatusCode, resp.Headers)
	}
}

// token is the customer's link token, as the messages carry it.
func (g *inboundRig) token(customerID string) string {
	g.t.Helper()
	tok, err := g.in.contacts.UnsubscribeToken(context.Background(), customerID)
	if err != nil {
		g.t.Fatal(err)
	}
	return tok
}

// sentSurvey plans the customer's survey e-mail and records it as sent at sentAt, as the
// dispatcher does, and returns its id: the r of the link the e-mail carried.
func (g *inboundRig) sentSurvey(customerID string, sentAt time.Time) string {
	g.t.Helper()
	ctx := context.Background()
	now := g.now
	g.now = sentAt // planned when it was due, not today: a month-old survey would be stale
	plan, err := g.in.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerSurveyDue, CustomerID: customerID, Ref: "visit-" + storetest.Suffix(), At: sentAt})
	g.now = now
	if err != nil || len(plan.Created) != 1 || !plan.Created[0].IsSurvey() {
		g.t.Fatalf("plan a survey: %+v %v", plan.Created, err)
	}
	r, err := plan.Created[0].Claim(sentAt, followup.Offset{Dur: time.Minute})
	if err == nil {
		r, err = g.in.reminders.Update(ctx, r)
	}
	if err == nil {
		r, err = r.MarkSent(sentAt, "provider-1")
	}
	if err == nil {
		_, err = g.in.reminders.Update(ctx, r)
	}
	if err != nil {
		g.t.Fatalf("record the survey as sent: %v", err)
	}
	return r.ID
}

func (g *inboundRig) complaintTasks(customerID string) int {
	g.t.Helper()
	open, err := g.in.reminders.OpenForCustomer(context.Background(), customerID)
	if err != nil {
		g.t.Fatal(err)
	}
	n := 0
	for _, r := range open {
		if r.IsTask() && r.Trigger == followup.TriggerComplaint {
			n++
		}
	}
	return n
}

// A survey answer is recorded once; CSAT 2 opens the manager complaint task; bad scores
// are problems naming the field.
func TestSurveyAnswerLowScoreOpensManagerTaskOnce(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, _ := g.customer(true)
	tok := g.token(p.ID)
	path := "/v1/feedback?t=" + tok + "&r=" + g.sentSurvey(p.ID, g.now.Add(-time.Hour))
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
	open, err := g.in.reminders.OpenForCustomer(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
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
	if score, found := emotionScore(t, g.tbl, p.ID); !found || score != "35" {
		t.Fatalf("emotion score %q, want 35 after one dissatisfied answer", score)
	}
}

// Finding 6 of issue #10: one survey token with invented r values made three complaint
// tasks. An answer counts only for a survey actually sent to the customer behind the
// token, within 30 days of sending; anything else is a 404 (a closed survey a 410), for
// the page and the answer alike, and records nothing.
func TestASurveyAnswerCountsOnlyForASurveySentToThatCustomer(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, _ := g.customer(true)
	other, _ := g.customer(true)
	tok := g.token(p.ID)
	othersSurvey := g.sentSurvey(other.ID, g.now.Add(-time.Hour))
	old := g.sentSurvey(p.ID, g.now.Add(-followup.SurveyAnswerWindow-time.Hour))
	plan, err := g.in.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerSurveyDue, CustomerID: p.ID, Ref: "unsent-" + storetest.Suffix(), At: g.now})
	if err != nil || len(plan.Created) != 1 {
		t.Fatalf("plan an unsent survey: %v", err)
	}
	unsent := plan.Created[0].ID
	cases := []struct {
		name, r string
		status  int
	}{
		{"an invented reference", "rem_invented1", 404},
		{"another invented reference", "x", 404},
		{"another customer's survey", othersSurvey, 404},
		{"a survey planned but never sent", unsent, 404},
		{"a survey sent more than 30 days ago", old, 410},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/feedback?t=" + tok + "&r=" + tc.r
			page := g.do("GET", path, "", "", nil)
			answer := g.do("POST", path, "application/x-www-form-urlencoded", "csat=1&nps=0", nil)
			for _, resp := range []events.APIGatewayV2HTTPResponse{page, answer} {
				if resp.StatusCode != tc.status || !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
					t.Errorf("got %d %s, want %d problem", resp.StatusCode, resp.Body, tc.status)
				}
			}
		})
	}
	if n := g.complaintTasks(p.ID); n != 0 {
		t.Fatalf("%d complaint tasks from answers that must not count", n)
	}
	if score, found := emotionScore(t, g.tbl, p.ID); found {
		t.Fatalf("an answer that must not count moved the emotion score to %s", score)
	}
	unknown := g.do("GET", "/v1/feedback?t=nosuchtoken&r="+othersSurvey, "", "", nil)
	invented := g.do("GET", "/v1/feedback?t="+tok+"&r=rem_invented1", "", "", nil)
	sameBody := func(a, b string) bool { // apart from the request id in "instance"
		var x, y map[string]any
		if err := json.Unmarshal([]byte(a), &x); err != nil {
			t.Fatalf("not JSON: %s: %v", a, err)
		}
		if err := json.Unmarshal([]byte(b), &y); err != nil {
			t.Fatalf("not JSON: %s: %v", b, err)
		}
		delete(x, "instance")
		delete(y, "instance")
		return len(x) > 0 && fmt.Sprint(x) == fmt.Sprint(y)
	}
	if unknown.StatusCode != 404 || !sameBody(unknown.Body, invented.Body) {
		t.Errorf("an unknown token and an invented survey must look alike: %d %s / %s", unknown.StatusCode, unknown.Body, invented.Body)
	}
}

// askingForConsent posts a form with the known person's phone asking for service
// consent, and returns the confirmation reminder the handler plans for it.
func (g *inboundRig) askingForConsent(p customer.Profile, e164 string) followup.Reminder {
	g.t.Helper()
	l, err := (customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01"}, DefaultStore: "sh-01"}).Validate(customer.LeadForm{Phone: e164,
		ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "2025-01"}, customer.Submission{At: g.now, IP: "203.0.113.2", Channel: "api"})
	if err != nil {
		g.t.Fatal(err)
	}
	res, err := g.tbl.ResolveLead(context.Background(), l, customer.Grading{}, g.now)
	if err != nil || len(res.Confirm) != 1 {
		g.t.Fatalf("a known person asking for service consent: %+v %v", res.Confirm, err)
	}
	return followup.Reminder{ID: "rem_c_" + storetest.Suffix(), CustomerID: p.ID, Trigger: followup.TriggerConsentRequested,
		TriggerRef: res.TouchRef, Channel: model.ChannelSMS}
}

// Every link a message carries (shared/links, as dispatch wires it) opens its page on a
// route of routes.go: the unsubscribe link, the survey link and the confirmation link.
func TestEveryLinkAMessageCarriesOpensItsPage(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, _ := g.customer(true)
	lk := links.New("https://t.example/", g.in.contacts, g.in.consents)
	if _, err := g.in.contacts.ContactView(ctx, p.ID); err != nil { // as the dispatcher does first
		t.Fatal(err)
	}
	survey := g.sentSurvey(p.ID, g.now.Add(-time.Hour))

	confirm, err := lk.ConsentConfirm(ctx, g.askingForConsent(g.customer(false)))
	if err != nil {
		t.Fatal(err)
	}
	for name, link := range map[string]string{"unsubscribe": lk.Unsubscribe(p.ID), "survey": lk.Survey(survey, p.ID), "confirmation": confirm} {
		path, ok := strings.CutPrefix(link, "https://t.example")
		if !ok {
			t.Errorf("%s link %q is not under the base URL", name, link)
			continue
		}
		if resp := g.do("GET", path, "", "", nil); resp.StatusCode != 200 || !strings.Contains(resp.Headers["Content-Type"], "text/html") {
			t.Errorf("%s link %s: %d %s", name, path, resp.StatusCode, resp.Body)
		}
	}
}

// The double opt-in link: the page shows the wording that will be recorded and records
// nothing; the button records the consent once, with the wording version; the link then,
// or after 72 hours, is a 410, and a token nobody issued a 404.
func TestTheConsentLinkShowsTheWordingAndRecordsOnce(t *testing.T) {
	ctx := context.Background()
	g := newInboundRig(t)
	p, e164 := g.customer(false)
	rem := g.askingForConsent(p, e164)
	mint := func() string {
		link, err := links.New("https://t.example", g.in.contacts, g.in.consents).ConsentConfirm(ctx, rem)
		if err != nil || !strings.HasPrefix(link, "https://t.example/v1/consent/confirm?t=") {
			t.Fatalf("mint: %q %v", link, err)
		}
		return strings.TrimPrefix(link, "https://t.example")
	}
	path := mint()
	before, _, err := g.tbl.GetProfile(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := g.do("GET", path, "", "", nil)
	wording, ok := customer.Wording("2025-01", model.CategoryService, model.ChannelSMS, "zh-CN")
	if !ok || wording == "" {
		t.Fatal("no zh-CN wording for version 2025-01: the page check below would pass on any page")
	}
	if page.StatusCode != 200 || !strings.Contains(page.Body, wording) || !strings.Contains(page.Body, "2025-01") || !strings.Contains(page.Body, `<form method="post"`) {
		t.Fatalf("page: %d %s", page.StatusCode, page.Body)
	}
	if got, _, err := g.tbl.GetProfile(ctx, p.ID); err != nil || len(got.Consents) != len(before.Consents) {
		t.Fatalf("the page recorded something: %+v (err %v)", got.Consents, err)
	}
	if resp := g.do("POST", path, "application/x-www-form-urlencoded", "confirm=yes", nil); resp.StatusCode != 200 || !strings.Contains(resp.Body, "Confirmed") {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Body)
	}
	got, _, err := g.tbl.GetProfile(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := got.Consents.Effective(model.CategoryService, model.ChannelSMS)
	if !ok || !c.Granted || c.Source != "double-opt-in" || c.TextVersion != "2025-01" || !c.At.Equal(g.now) {
		t.Fatalf("recorded: %+v", c)
	}
	for _, m := range []string{"GET", "POST"} {
		if resp := g.do(m, path, "application/x-www-form-urlencoded", "", nil); resp.StatusCode != 410 {
			t.Errorf("%s of a used link: %d, want 410", m, resp.StatusCode)
		}
	}
	late := mint()
	g.now = g.now.Add(customer.ConfirmWindow + time.Minute)
	if resp := g.do("POST", late, "application/x-www-form-urlencoded", "", nil); resp.StatusCode != 410 {
		t.Errorf("after 72 h: %d, want 410", resp.StatusCode)
	}
	if resp := g.do("GET", "/v1/consent/confirm?t=nosuchtoken", "", "", nil); resp.StatusCode != 404 {
		t.Errorf("unknown token: %d, want 404", resp.StatusCode)
	}
	if again, _, err := g.tbl.GetProfile(ctx, p.ID); err != nil || len(again.Consents) != len(got.Consents) {
		t.Fatalf("a used or expired link recorded the consent again (err %v)", err)
	}
}

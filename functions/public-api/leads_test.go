package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// TestMain runs the public API's tests against DynamoDB Local; no emulator, no run.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var leadClock = time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai, opening hours

type leadRig struct {
	t      testing.TB
	r      *httpx.Router
	h      *leads
	tbl    *store.Table
	logs   *bytes.Buffer
	ip     string
	reqSeq int
}

func newLeadRig(t testing.TB) *leadRig {
	t.Helper()
	logs := &bytes.Buffer{}
	log := logx.New(logs, logx.Options{})
	tbl := storetest.Table(t)
	h := &leads{
		log: log, table: tbl, now: func() time.Time { return leadClock },
		rules:    customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01", "bj-01"}, DefaultStore: "sh-01"},
		grading:  customer.DefaultGradePolicy(),
		thankYou: "https://www.example.com/thanks.html", redirects: []string{"https://www.example.com"},
		perIP:    store.RateLimit{Scope: "lead-ip", Limit: 100, Window: time.Hour},
		perPhone: store.RateLimit{Scope: "lead-phone", Limit: 5, Window: time.Hour},
	}
	r := httpx.NewRouter()
	r.Log = log
	r.Handle("POST /v1/leads", h.post)
	return &leadRig{t: t, r: r, h: h, tbl: tbl, logs: logs, ip: fmt.Sprintf("198.51.%d.%d", rand.IntN(250), rand.IntN(250))}
}

func (g *leadRig) post(contentType, body string, headers ...string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	g.reqSeq++
	req := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /v1/leads", RawPath: "/v1/leads", Body: body,
		Headers: map[string]string{"content-type": contentType},
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Headers[headers[i]] = headers[i+1]
	}
	req.RequestContext.RequestID = fmt.Sprintf("req-%s-%d", storetest.Suffix(), g.reqSeq)
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.HTTP.SourceIP = g.ip
	resp, err := g.r.Serve(context.Background(), req)
	if err != nil {
		g.t.Fatalf("Serve returned an error: %v", err)
	}
	return resp
}

func uniqueMobile() (national, e164 string) {
	n := rand.IntN(100000000)
	return fmt.Sprintf("136 %04d %04d", n/10000, n%10000), fmt.Sprintf("+86136%08d", n)
}

func problemFields(t *testing.T, resp events.APIGatewayV2HTTPResponse) []string {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("not a problem document: %s", resp.Body)
	}
	var fs []string
	for _, e := range p.Errors {
		fs = append(fs, e.Field)
	}
	return fs
}

func TestAPlainFormIsAnsweredWithARedirectToTheThankYouPage(t *testing.T) {
	g := newLeadRig(t)
	nat, e164 := uniqueMobile()
	form := url.Values{"name": {"Zhang Wei"}, "phone": {nat}, "interest": {"whitening"}, "utm_source": {"baidu"},
		"consent_service": {"on"}, "consent_text_version": {"2025-01"}, "website": {""}}
	resp := g.post("application/x-www-form-urlencoded", form.Encode())
	if resp.StatusCode != 303 || resp.Headers["Location"] != "https://www.example.com/thanks.html" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Headers)
	}
	id, found, err := g.tbl.CustomerByContact(context.Background(), e164, "")
	if err != nil || !found {
		t.Fatalf("the lead was not stored: %v", err)
	}
	p, _, err := g.tbl.GetProfile(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.Consents.Effective("service", "sms")
	if !ok || !c.Granted || c.IP != g.ip || c.TextVersion != "2025-01" || c.Source != "lead:form" {
		t.Fatalf("consent not recorded with IP and text version: %+v", c)
	}
	// An allow-listed redirect is honoured, another site is not.
	form.Set("redirect", "https://www.example.com/campaign/ok")
	if r := g.post("application/x-www-form-urlencoded", form.Encode()); r.Headers["Location"] != "https://www.example.com/campaign/ok" {
		t.Fatalf("allow-listed redirect: %v", r.Headers)
	}
	form.Set("redirect", "https://phish.example.net/")
	if r := g.post("application/x-www-form-urlencoded", form.Encode()); r.Headers["Location"] != "https://www.example.com/thanks.html" {
		t.Fatalf("open redirect: %v", r.Headers)
	}
}

// Finding 4 of issue #10: the answer told a stranger who is a customer (201 with a new
// id, 200 with the known person's id). Now a new person, a known person and a bot caught
// by the honeypot get the same answer, with no id: 202 {"status":"received"} for a
// script, 303 to the thank-you page for a form.
func TestTheAnswerIsTheSameForANewPersonAKnownPersonAndABot(t *testing.T) {
	g := newLeadRig(t)
	nat, e164 := uniqueMobile()
	posts := []struct{ who, body string }{
		{"a new person", fmt.Sprintf(`{"name":"Wang Fang","phone":%q,"interest":"implant","message":"please call today"}`, nat)},
		{"the same person again", fmt.Sprintf(`{"phone":%q,"utm_source":"wechat"}`, e164)},
		{"a bot filling the honeypot", fmt.Sprintf(`{"phone":%q,"website":"http://spam.example"}`, e164)},
	}
	var bodies []string
	for _, p := range posts {
		resp := g.post("application/json", p.body)
		if resp.StatusCode != 202 || resp.Body != `{"status":"received"}` {
			t.Errorf("%s: %d %s, want 202 {\"status\":\"received\"}", p.who, resp.StatusCode, resp.Body)
		}
		bodies = append(bodies, resp.Body)
	}
	id := g.customerOf(e164) // the new person was stored: their id is what must not leak
	for i, b := range bodies {
		if strings.Contains(b, id) {
			t.Errorf("answer %d holds the customer id", i)
		}
	}
	_, other := uniqueMobile()
	for _, form := range []url.Values{
		{"phone": {nat}, "name": {"Wang Fang"}},
		{"phone": {other}},
		{"phone": {nat}, "website": {"http://spam.example"}},
	} {
		if resp := g.post("application/x-www-form-urlencoded", form.Encode()); resp.StatusCode != 303 || resp.Headers["Location"] != "https://www.example.com/thanks.html" {
			t.Errorf("form %v: %d %v", form, resp.StatusCode, resp.Headers)
		}
	}
}

func TestBadInputIsAProblemNamingTheFieldAndStoresNothing(t *testing.T) {
	g := newLeadRig(t)
	cases := []struct {
		name, ctype, body string
		status            int
		field             string
	}{
		{"letters in a phone", "application/json", `{"phone":"+86 abc"}`, 400, "phone"},
		{"an unknown field", "application/json", `{"phone":"13800138000","role":"admin"}`, 400, "role"},
		{"an unknown store", "application/json", `{"phone":"13800138000","store":"xx-99"}`, 400, "store"},
		{"invalid UTF-8", "application/json", "{\"name\":\"\xff\xfe\",\"phone\":\"13800138000\"}", 400, ""},
		{"a form field escaping to invalid UTF-8 (finding 8)", "application/x-www-form-urlencoded", "name=%FF&phone=13800138000", 400, "name"},
		{"a form field name escaping to invalid UTF-8", "application/x-www-form-urlencoded", "phone=13800138000&%FE=1", 400, ""},
		{"a 10 MB body", "application/json", `{"message":"` + strings.Repeat("a", 10<<20) + `"}`, 413, ""},
		{"XML", "application/xml", `<lead/>`, 415, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := g.post(tc.ctype, tc.body)
			if resp.StatusCode != tc.status || resp.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("got %d %s %s", resp.StatusCode, resp.Headers["Content-Type"], resp.Body[:min(len(resp.Body), 200)])
			}
			if tc.field != "" {
				if fs := problemFields(t, resp); len(fs) == 0 || fs[0] != tc.field {
					t.Fatalf("problem names %v, want %s", fs, tc.field)
				}
			}
		})
	}
	if _, found, err := g.tbl.CustomerByContact(context.Background(), "+8613800138000", ""); err != nil || found {
		// 138 0013 8000 belongs to the store package's binary, never this one.
		t.Fatalf("a refused lead was stored (err %v)", err)
	}
}

func TestTheHoneypotIsAcceptedSilentlyAndStoresNothing(t *testing.T) {
	g := newLeadRig(t)
	_, e164 := uniqueMobile()
	form := url.Values{"phone": {e164}, "website": {"http://spam.example"}}
	resp := g.post("application/x-www-form-urlencoded", form.Encode())
	if resp.StatusCode != 303 {
		t.Fatalf("a bot must see the same answer as a person: %d", resp.StatusCode)
	}
	if _, found, err := g.tbl.CustomerByContact(context.Background(), e164, ""); err != nil || found {
		t.Fatalf("the honeypot submission was stored (err %v)", err)
	}
}

func TestTooManyPostsForOnePhoneAre429WithRetryAfter(t *testing.T) {
	g := newLeadRig(t)
	_, e164 := uniqueMobile()
	for i := range 5 {
		if r := g.post("application/json", fmt.Sprintf(`{"phone":%q}`, e164)); r.StatusCode >= 300 {
			t.Fatalf("post %d refused: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
	r := g.post("application/json", fmt.Sprintf(`{"phone":%q}`, e164))
	if r.StatusCode != 429 || r.Headers["Retry-After"] == "" {
		t.Fatalf("6th post: %d %v", r.StatusCode, r.Headers)
	}
	// Per IP as well.
	g2 := newLeadRig(t)
	g2.h.perIP.Limit = 2
	for range 2 {
		_, p := uniqueMobile()
		g2.post("application/json", fmt.Sprintf(`{"phone":%q}`, p))
	}
	_, p := uniqueMobile()
	if r := g2.post("application/json", fmt.Sprintf(`{"phone":%q}`, p)); r.StatusCode != 429 || r.Headers["Retry-After"] == "" {
		t.Fatalf("3rd post from one IP: %d %v", r.StatusCode, r.Headers)
	}
}

func TestARetryWithTheSameIdempotencyKeyGetsTheSameResponse(t *testing.T) {
	g := newLeadRig(t)
	_, e164 := uniqueMobile()
	body := fmt.Sprintf(`{"name":"Retry Person","phone":%q}`, e164)
	key := "k-" + storetest.Suffix()
	first := g.post("application/json", body, "Idempotency-Key", key)
	again := g.post("application/json", body, "Idempotency-Key", key)
	if first.StatusCode != 202 || again.StatusCode != 202 || again.Body != first.Body {
		t.Fatalf("first %d %s, retry %d %s", first.StatusCode, first.Body, again.StatusCode, again.Body)
	}
	id := g.customerOf(e164)
	touches, err := g.tbl.Touches(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(touches) != 1 {
		t.Fatalf("the retry added a touch: %d", len(touches))
	}
	if r := g.post("application/json", `{"phone":"13700000000"}`, "Idempotency-Key", key); r.StatusCode != 400 {
		t.Fatalf("a key reused for another body: %d", r.StatusCode)
	}
}

func TestLeadLogsCarryNoPersonalData(t *testing.T) {
	g := newLeadRig(t)
	nat, e164 := uniqueMobile()
	name, email := "Planted Logname", "planted-"+storetest.Suffix()+"@example.com"
	g.post("application/json", fmt.Sprintf(`{"name":%q,"phone":%q,"email":%q,"message":"call me at %s"}`, name, nat, email, e164))
	g.post("application/x-www-form-urlencoded", url.Values{"name": {name}, "phone": {e164}, "email": {email}}.Encode())
	g.post("application/json", fmt.Sprintf(`{"name":%q,"phone":"+86 abc","email":%q}`, name, email))
	logs := g.logs.String()
	if !strings.Contains(logs, "lead accepted") {
		t.Fatalf("nothing was logged: %s", logs)
	}
	for _, v := range []string{name, "Planted", email, e164, strings.ReplaceAll(nat, " ", ""), nat[4:]} {
		if strings.Contains(logs, v) {
			t.Errorf("the logs hold %q", v)
		}
	}
}

// withPlanner hands the handler the follow-up planner main wires, and returns the
// reminders it plans into.
func (g *leadRig) withPlanner() *store.Reminders {
	g.t.Helper()
	planner, err := boot.Planner(g.tbl, g.h.now)
	if err != nil {
		g.t.Fatal(err)
	}
	g.h.planner = planner
	return store.NewReminders(g.tbl)
}

func (g *leadRig) customerOf(e164 string) string {
	g.t.Helper()
	id, found, err := g.tbl.CustomerByContact(context.Background(), e164, "")
	if err != nil || !found {
		g.t.Fatalf("no customer for the phone: %v", err)
	}
	return id
}

func TestAHotLeadGetsAFirstContactTaskWithAShortDeadline(t *testing.T) {
	g := newLeadRig(t)
	f := g.withPlanner()
	nat, e164 := uniqueMobile()
	resp := g.post("application/json", fmt.Sprintf(`{"name":"Li Na","phone":%q,"store":"sh-01","interest":"implant","message":"想今天就来，尽快联系我","consent_service":true,"consent_text_version":"2025-01"}`, nat))
	if resp.StatusCode != 202 {
		t.Fatalf("lead: %d %s", resp.StatusCode, resp.Body)
	}
	id := g.customerOf(e164)
	p, _, err := g.tbl.GetProfile(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.LeadGrade != "hot" {
		t.Fatalf("an urgent, complete lead in opening hours graded %q, want hot", p.LeadGrade)
	}
	open, err := f.OpenForCustomer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var task *followup.Reminder
	for i := range open {
		if open[i].Channel == model.ChannelCall {
			task = &open[i]
		}
	}
	if task == nil || task.Task == nil || task.RuleID != "lead_hot_first_contact" {
		t.Fatalf("no first-contact call task among %d reminders", len(open))
	}
	if d := task.Task.DeadlineAt.Sub(leadClock); d <= 0 || d > time.Hour {
		t.Fatalf("first-contact deadline %s after the lead, want within the hour", d)
	}
	// The same person posting while that call is open gets no second call: one task.
	g.post("application/json", fmt.Sprintf(`{"phone":%q}`, nat))
	again, err := f.OpenForCustomer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(open) {
		t.Fatalf("a second form planned %d reminders more while the first call was open", len(again)-len(open))
	}
}

// Finding 4 of issue #10, through the door a stranger uses: a form with a known person's
// phone, another name and e-mail and a marketing consent changes nothing stored; staff
// get a call-back task, the form's values are proposals on its touch, and the consent
// waits for a confirmation that goes to the person's own phone.
func TestAKnownPersonsFormChangesNothingAndAsksThemToConfirm(t *testing.T) {
	ctx := context.Background()
	g := newLeadRig(t)
	f := g.withPlanner()
	nat, e164 := uniqueMobile()
	first := g.post("application/json", fmt.Sprintf(`{"name":"Zhao Min","phone":%q,"store":"sh-01","consent_service":true,"consent_text_version":"2025-01"}`, nat))
	if first.StatusCode != 202 {
		t.Fatalf("first form: %d %s", first.StatusCode, first.Body)
	}
	id := g.customerOf(e164)
	before, v0, err := g.tbl.GetProfile(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The first form's call is done, so the known person's next form needs its own call.
	open, err := f.OpenForCustomer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range open {
		if r.IsTask() {
			done, err := r.Complete("agent-1", followup.OutcomeReached, leadClock)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Update(ctx, done); err != nil {
				t.Fatal(err)
			}
		}
	}

	stranger := "stranger-" + storetest.Suffix() + "@example.com"
	for _, body := range []string{
		fmt.Sprintf(`{"name":"Not Zhao","phone":%q,"email":%q,"birthday":"1991-02-03","store":"bj-01","consent_marketing_sms":true,"consent_marketing_email":true,"consent_text_version":"2025-01"}`, e164, stranger),
		fmt.Sprintf(`{"phone":%q,"consent_service":false,"consent_marketing_sms":false}`, nat),
	} {
		if r := g.post("application/json", body); r.StatusCode != 202 || r.Body != `{"status":"received"}` {
			t.Fatalf("known person's form: %d %s", r.StatusCode, r.Body)
		}
	}
	after, v1, err := g.tbl.GetProfile(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	a, err := json.Marshal(after)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != v0 || !bytes.Equal(a, b) {
		t.Fatalf("the stored profile changed:\n%s\n%s", b, a)
	}
	if after.Consents.Granted(model.CategoryMarketing, model.ChannelSMS) || !after.Consents.Granted(model.CategoryService, model.ChannelSMS) {
		t.Fatal("a stranger's form granted or withdrew consent")
	}
	if _, found, err := g.tbl.CustomerByContact(ctx, "", stranger); err != nil || found {
		t.Fatalf("the stranger's e-mail became a key (err %v)", err)
	}
	touches, err := g.tbl.Touches(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	proposed := false
	for _, tc := range touches {
		proposed = proposed || (tc.Proposed != nil && tc.Proposed.Name == "Not Zhao" && tc.Proposed.Email == stranger)
	}
	if len(touches) != 3 || !proposed {
		t.Fatalf("the proposal is not on the touch: %+v", touches)
	}
	reminders, err := f.OpenForCustomer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var callbacks, confirms int
	for _, r := range reminders {
		switch {
		case r.IsTask() && r.Trigger == followup.TriggerKnownLead:
			callbacks++
		case r.Trigger == followup.TriggerConsentRequested:
			confirms++
			if r.Channel != model.ChannelSMS {
				t.Errorf("the confirmation goes by %s; the form matched only the phone", r.Channel)
			}
		}
	}
	if callbacks != 1 || confirms != 1 {
		t.Fatalf("%d call-back tasks and %d confirmations, want one each", callbacks, confirms)
	}
}

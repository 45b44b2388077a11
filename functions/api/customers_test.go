package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/auth"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

type custRig struct {
	t    *testing.T
	r    *httpx.Router
	tbl  *store.Table
	logs *bytes.Buffer
}

func newCustRig(t *testing.T) *custRig {
	t.Helper()
	logs := &bytes.Buffer{}
	log := logx.New(logs, logx.Options{})
	tbl := storetest.Table(t)
	now := func() time.Time { return time.Date(2025, 3, 5, 2, 0, 0, 0, time.UTC) }
	a := testAppOn(t, tbl, now)
	a.log = log
	r := httpx.NewRouter()
	r.Log = log
	routes(r, a, env.FromMap(map[string]string{"DEFAULT_PHONE_REGION": "CN", "STORES": "sh-01,bj-01"}))
	return &custRig{t: t, r: r, tbl: tbl, logs: logs}
}

// call sends a request as the first staff member of role, from 192.0.2.44.
func (g *custRig) call(role, stores, method, path, body string, query map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	return g.serve("192.0.2.44", role+"-1", role, stores, method, path, body, query)
}

func (g *custRig) serve(ip, sub, role, stores, method, path, body string, query map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, QueryStringParameters: query,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.SourceIP = ip
	req.RequestContext.RequestID = "req-" + storetest.Suffix()
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
			"sub": sub, auth.ClaimRole: role, auth.ClaimStores: stores}}}
	resp, err := g.r.Serve(context.Background(), req)
	if err != nil {
		g.t.Fatalf("%s %s: Serve returned %v; an API answer is a response, never a Lambda error", method, path, err)
	}
	return resp
}

func (g *custRig) newCustomer(name, phone, email string) customer.Profile {
	g.t.Helper()
	l, err := customer.Rules{DefaultRegion: "CN", DefaultStore: "sh-01"}.Validate(
		customer.LeadForm{Name: name, Phone: phone, Email: email, Message: "planted note " + name},
		customer.Submission{At: time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC), IP: "203.0.113.5", Channel: "form"})
	if err != nil {
		g.t.Fatal(err)
	}
	p, _, err := g.tbl.ResolveOrCreate(context.Background(), l, customer.DefaultGradePolicy().Grade(l), l.Submission.At)
	if err != nil {
		g.t.Fatal(err)
	}
	return p
}

func mobile() string { return fmt.Sprintf("+86135%08d", mrand.IntN(100000000)) }

func TestTheSensitiveSectionIsForCliniciansAndAdminsOnly(t *testing.T) {
	g := newCustRig(t)
	p := g.newCustomer("Sensitive Person", mobile(), "")
	path := "/v1/customers/" + p.ID
	if r := g.call("agent", "sh-01", "PATCH", path, `{"allergies":"penicillin"}`, nil); r.StatusCode != 400 || !strings.Contains(r.Body, "allergies") {
		t.Fatalf("agent writing the section: %d %s", r.StatusCode, r.Body)
	}
	if r := g.call("clinician", "sh-01", "PATCH", path, `{"allergies":"penicillin","tags":["implant"]}`, nil); r.StatusCode != 200 {
		t.Fatalf("clinician PATCH: %d %s", r.StatusCode, r.Body)
	}
	env, found, err := g.tbl.GetSensitive(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !found || bytes.Contains(env.Ciphertext, []byte("penicillin")) {
		t.Fatal("the section is not stored sealed")
	}
	clin := g.call("clinician", "sh-01", "GET", path, "", nil)
	if clin.StatusCode != 200 || !strings.Contains(clin.Body, "penicillin") {
		t.Fatalf("clinician does not see the section: %d %s", clin.StatusCode, clin.Body)
	}
	agent := g.call("agent", "sh-01", "GET", path, "", nil)
	if agent.StatusCode != 200 || strings.Contains(agent.Body, "penicillin") || strings.Contains(agent.Body, "sensitive") {
		t.Fatalf("agent sees the section: %s", agent.Body)
	}
	if !strings.Contains(agent.Body, p.Phone) {
		t.Fatal("the detail view shows the full phone to an agent")
	}
	// Another store's staff get the same 404 as for nobody.
	other := g.call("clinician", "bj-01", "GET", path, "", nil)
	nobody := g.call("clinician", "bj-01", "GET", "/v1/customers/nobody", "", nil)
	if other.StatusCode != 404 || nobody.StatusCode != 404 {
		t.Fatalf("other store: %d, nobody: %d", other.StatusCode, nobody.StatusCode)
	}
	// Reads and changes are audited, with who, role, IP and fields.
	au := g.call("admin", "*", "GET", "/v1/audit", "", map[string]string{"customer": p.ID})
	var log struct{ Items []store.AuditEntry }
	if err := json.Unmarshal([]byte(au.Body), &log); err != nil || au.StatusCode != 200 || len(log.Items) != 3 {
		t.Fatalf("audit: %d %s", au.StatusCode, au.Body)
	}
	for _, e := range log.Items {
		if e.SourceIP != "192.0.2.44" || e.Actor == "" || e.Role == "" {
			t.Fatalf("audit entry lacks who/where: %+v", e)
		}
	}
	if r := g.call("agent", "sh-01", "GET", "/v1/audit", "", map[string]string{"customer": p.ID}); r.StatusCode != 403 {
		t.Fatalf("agent reading the audit log: %d", r.StatusCode)
	}
}

func TestListsMaskContactsForAgents(t *testing.T) {
	g := newCustRig(t)
	ph := mobile()
	g.newCustomer("Listed Person", ph, "")
	found := func(role string) string {
		cursor := ""
		for range 50 {
			q := map[string]string{"store": "sh-01", "leadGrade": "", "limit": "100"}
			delete(q, "leadGrade")
			if cursor != "" {
				q["cursor"] = cursor
			}
			r := g.call(role, "sh-01", "GET", "/v1/customers", "", q)
			var page listPage
			if err := json.Unmarshal([]byte(r.Body), &page); err != nil || r.StatusCode != 200 {
				t.Fatalf("list: %d %s", r.StatusCode, r.Body)
			}
			for _, s := range page.Items {
				if s.Name == "Listed Person" {
					return s.Phone
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		t.Fatal("customer not in the list")
		return ""
	}
	if got := found("agent"); got != customer.MaskPhone(ph) || strings.Contains(got, ph[5:]) {
		t.Fatalf("agent list phone: %q", got)
	}
	if got := found("clinician"); got != ph {
		t.Fatalf("clinician list phone: %q", got)
	}
}

func TestErasureThroughTheAPILeavesNoPersonalData(t *testing.T) {
	g := newCustRig(t)
	ph := mobile()
	email := "erase-api-" + storetest.Suffix() + "@example.com"
	p := g.newCustomer("Erase Me", ph, email)
	path := "/v1/customers/" + p.ID
	g.call("clinician", "sh-01", "PATCH", path, `{"medicalHistory":"planted history"}`, nil)
	if r := g.call("agent", "sh-01", "DELETE", path, "", nil); r.StatusCode != 403 {
		t.Fatalf("agent erasing: %d", r.StatusCode)
	}
	exp := g.call("admin", "*", "GET", path+"/export", "", nil)
	if exp.StatusCode != 200 || !strings.Contains(exp.Body, email) || !strings.Contains(exp.Body, "planted history") {
		t.Fatalf("export lacks data: %d %s", exp.StatusCode, exp.Body)
	}
	if r := g.call("admin", "*", "DELETE", path, "", nil); r.StatusCode != 204 {
		t.Fatalf("erase: %d %s", r.StatusCode, r.Body)
	}
	after := g.call("admin", "*", "GET", path+"/export", "", nil)
	tl := g.call("admin", "*", "GET", path+"/timeline", "", nil)
	for _, body := range []string{after.Body, tl.Body, g.logs.String()} {
		for _, v := range []string{"Erase Me", ph, email, "planted history", "planted note"} {
			if strings.Contains(body, v) {
				t.Errorf("%q survived erasure or reached the logs", v)
			}
		}
	}
	if !strings.Contains(tl.Body, `"touch"`) {
		t.Fatalf("the anonymous touch is gone from the timeline: %s", tl.Body)
	}
	au := g.call("admin", "*", "GET", "/v1/audit", "", map[string]string{"customer": p.ID})
	if !strings.Contains(au.Body, `"erase"`) || !strings.Contains(au.Body, `"export"`) {
		t.Fatalf("erasure/export not audited: %s", au.Body)
	}
}

// Staff find a customer by a phone written any way the lead form accepts, or by e-mail;
// a customer of a store the caller does not cover is not found, exactly like nobody.
func TestSearchByContact(t *testing.T) {
	g := newCustRig(t)
	phone := mobile()
	email := "search-" + storetest.Suffix() + "@example.com"
	p := g.newCustomer("Search Person", phone, email)
	national := phone[3:6] + " " + phone[6:10] + " " + phone[10:]
	cases := []struct {
		name, role, stores, q string
		status                int
		want                  int
	}{
		{"a national number with spaces finds the E.164 customer", "agent", "sh-01", national, 200, 1},
		{"the e-mail in upper case finds the customer", "agent", "sh-01", strings.ToUpper(email), 200, 1},
		{"another store's agent finds nobody", "agent", "bj-01", phone, 200, 0},
		{"an unknown number finds nobody", "agent", "sh-01", mobile(), 200, 0},
		{"text that is neither a phone nor an e-mail is a 400", "agent", "sh-01", "not a contact", 400, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := g.call(tc.role, tc.stores, "GET", "/v1/customers", "", map[string]string{"q": tc.q})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status != 200 {
				return
			}
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != tc.want || (tc.want == 1 && page.Items[0].ID != p.ID) {
				t.Fatalf("items %+v, want %d (customer %s)", page.Items, tc.want, p.ID)
			}
		})
	}
}

// callAs is call with a staff member of one's own (rate limits and audit entries are per
// staff member), from another address.
func (g *custRig) callAs(sub, role, stores, method, path, body string, query map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	return g.serve("192.0.2.45", sub, role, stores, method, path, body, query)
}

// inStore moves a test customer to st (leads land in the default store).
func (g *custRig) inStore(p customer.Profile, st string) customer.Profile {
	g.t.Helper()
	if _, err := storetest.Emulators(g.t).DynamoDBClient().UpdateItem(context.Background(), storeUpdate(g.tbl.Name, p.ID, st)); err != nil {
		g.t.Fatal(err)
	}
	p.Store = st
	return p
}

// sameProblem compares two problem bodies apart from the request id (instance).
func sameProblem(t *testing.T, a, b events.APIGatewayV2HTTPResponse) bool {
	t.Helper()
	strip := func(r events.APIGatewayV2HTTPResponse) string {
		var p httpx.Problem
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatalf("not a problem: %d %s", r.StatusCode, r.Body)
		}
		p.Instance = ""
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(r.StatusCode, r.Headers["Content-Type"], string(out))
	}
	return strip(a) == strip(b)
}

func auditActions(t *testing.T, tbl *store.Table, id string) []customer.AuditEntry {
	t.Helper()
	es, _, err := tbl.AuditLog(context.Background(), id, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Finding 3: an admin of one store reads the audit log of their own customers only; an
// unknown id and another store's customer answer the same 404.
func TestTheAuditLogIsScopedToTheCallersStores(t *testing.T) {
	g := newCustRig(t)
	sh := g.newCustomer("Audit SH", mobile(), "")
	bj := g.inStore(g.newCustomer("Audit BJ", mobile(), ""), "bj-01")
	g.call("admin", "*", "GET", "/v1/customers/"+bj.ID, "", nil) // something to read in bj's log
	get := func(stores, id string) events.APIGatewayV2HTTPResponse {
		return g.call("admin", stores, "GET", "/v1/audit", "", map[string]string{"customer": id})
	}
	if r := get("sh-01", sh.ID); r.StatusCode != 200 {
		t.Fatalf("own store's customer: %d %s", r.StatusCode, r.Body)
	}
	other, unknown, long := get("sh-01", bj.ID), get("sh-01", "nobody-"+storetest.Suffix()), get("sh-01", strings.Repeat("9", 5000))
	if other.StatusCode != 404 || !sameProblem(t, other, unknown) || !sameProblem(t, other, long) {
		t.Fatalf("another store's log: %d %s; unknown id: %d %s; 5,000 characters: %d", other.StatusCode, other.Body, unknown.StatusCode, unknown.Body, long.StatusCode)
	}
	if strings.Contains(other.Body, "admin-1") || strings.Contains(other.Body, "192.0.2") {
		t.Fatalf("the 404 leaks the log: %s", other.Body)
	}
	if r := get("*", bj.ID); r.StatusCode != 200 || !strings.Contains(r.Body, `"read"`) {
		t.Fatalf("an all-stores admin: %d %s", r.StatusCode, r.Body)
	}
}

// Finding 7: a phone that is another customer's answers the same 409 whoever's it is,
// the owner's audit log says who tried, and after 10 such answers in an hour a staff
// member gets 429 for any contact change.
func TestAContactOfAnotherCustomerTellsNothingMoreAndIsRateLimited(t *testing.T) {
	g := newCustRig(t)
	mine := g.newCustomer("Oracle Mine", mobile(), "")
	visible := g.newCustomer("Oracle Visible", mobile(), "")
	hidden := g.inStore(g.newCustomer("Oracle Hidden", mobile(), ""), "bj-01")
	agent := "agent-" + storetest.Suffix()
	path := "/v1/customers/" + mine.ID
	patch := func(phone string) events.APIGatewayV2HTTPResponse {
		return g.callAs(agent, "agent", "sh-01", "PATCH", path, `{"phone":"`+phone+`"}`, nil)
	}
	seen, unseen := patch(visible.Phone), patch(hidden.Phone)
	if seen.StatusCode != 409 || !sameProblem(t, seen, unseen) {
		t.Fatalf("a visible owner: %d %s\na hidden owner: %d %s", seen.StatusCode, seen.Body, unseen.StatusCode, unseen.Body)
	}
	for _, leak := range []string{hidden.ID, visible.ID, "bj-01"} {
		if strings.Contains(unseen.Body, leak) || strings.Contains(seen.Body, leak) {
			t.Fatalf("the 409 names %q", leak)
		}
	}
	for _, owner := range []customer.Profile{hidden, visible} {
		found := false
		for _, e := range auditActions(t, g.tbl, owner.ID) {
			found = found || (e.Action == "contact-conflict" && e.Actor == agent && len(e.Fields) == 1 && e.Fields[0] == "phone" && e.SourceIP == "192.0.2.45")
		}
		if !found {
			t.Fatalf("the owner %s's log does not say who tried: %+v", owner.Name, auditActions(t, g.tbl, owner.ID))
		}
	}
	for i := 2; i < 10; i++ {
		if r := patch(hidden.Phone); r.StatusCode != 409 {
			t.Fatalf("conflict %d: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
	limited := patch(hidden.Phone)
	if limited.StatusCode != 429 || limited.Headers["Retry-After"] == "" {
		t.Fatalf("the 11th conflict in an hour: %d %v %s", limited.StatusCode, limited.Headers, limited.Body)
	}
	if r := patch(mobile()); r.StatusCode != 429 {
		t.Fatalf("a free number after the limit: %d %s, want 429 (no answer either way)", r.StatusCode, r.Body)
	}
	if r := g.callAs(agent, "agent", "sh-01", "PATCH", path, `{"name":"Renamed"}`, nil); r.StatusCode != 200 {
		t.Fatalf("an edit that is no contact change after the limit: %d %s", r.StatusCode, r.Body)
	}
	after, _, err := g.tbl.GetProfile(context.Background(), mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Phone != mine.Phone {
		t.Fatalf("the customer's phone changed to %s", after.Phone)
	}
}

// A store's admin may not move a customer into a store they do not cover.
func TestAStoreAdminCannotMoveACustomerIntoAnotherStore(t *testing.T) {
	g := newCustRig(t)
	p := g.newCustomer("Mover", mobile(), "")
	if r := g.call("admin", "sh-01", "PATCH", "/v1/customers/"+p.ID, `{"store":"bj-01"}`, nil); r.StatusCode != 400 || !strings.Contains(r.Body, `"store"`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	if after, _, err := g.tbl.GetProfile(context.Background(), p.ID); err != nil || after.Store != "sh-01" {
		t.Fatalf("moved to %q (err %v)", after.Store, err)
	}
	if r := g.call("admin", "*", "PATCH", "/v1/customers/"+p.ID, `{"store":"bj-01"}`, nil); r.StatusCode != 200 {
		t.Fatalf("an all-stores admin: %d %s", r.StatusCode, r.Body)
	}
}

// Consent is the person's alone (docs/events.md): no staff role can change it with a
// PATCH, so the staff API has no consent.changed to publish. The refusal names the field
// and leaves the record as it was.
func TestStaffCannotChangeACustomersConsent(t *testing.T) {
	g := newCustRig(t)
	l, err := customer.Rules{DefaultRegion: "CN", DefaultStore: "sh-01"}.Validate(
		customer.LeadForm{Name: "Consenting", Phone: mobile(), ConsentMarketingSMS: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "2025-01"},
		customer.Submission{At: time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC), IP: "203.0.113.5", Channel: "form"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := g.tbl.ResolveOrCreate(context.Background(), l, customer.DefaultGradePolicy().Grade(l), l.Submission.At)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Consents.Granted(model.CategoryMarketing, model.ChannelSMS) {
		t.Fatalf("the form's grant was not recorded: %+v", p.Consents)
	}
	for _, role := range []string{"admin", "clinician", "agent"} {
		for _, body := range []string{
			`{"consents":[{"category":"marketing","channel":"sms","granted":false}]}`,
			`{"consents":[]}`,
			`{"tags":["vip"],"consents":null}`,
		} {
			if r := g.call(role, "sh-01", "PATCH", "/v1/customers/"+p.ID, body, nil); r.StatusCode != 400 || !strings.Contains(r.Body, `"consents"`) {
				t.Errorf("%s PATCH %s: %d %s, want a 400 naming consents", role, body, r.StatusCode, r.Body)
			}
		}
	}
	after, _, err := g.tbl.GetProfile(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Consents) != len(p.Consents) || !after.Consents.Granted(model.CategoryMarketing, model.ChannelSMS) || len(after.Tags) != 0 {
		t.Fatalf("a refused PATCH changed the profile: consents %+v tags %v", after.Consents, after.Tags)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tierflow/tierflow/shared/auth"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
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
	c := &customers{log: log, acc: a.acc, desk: a.desk, limits: a.limits, now: now,
		rules:  customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01", "bj-01"}},
		stores: []string{"sh-01", "bj-01"}}
	r := httpx.NewRouter()
	r.Log = log
	c.routes(r)
	return &custRig{t: t, r: r, tbl: tbl, logs: logs}
}

func (g *custRig) call(role, stores, method, path, body string, query map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, QueryStringParameters: query,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.SourceIP = "192.0.2.44"
	req.RequestContext.RequestID = "req-" + storetest.Suffix()
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
			"sub": role + "-1", auth.ClaimRole: role, auth.ClaimStores: stores}}}
	resp, _ := g.r.Serve(context.Background(), req)
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
	env, found, _ := g.tbl.GetSensitive(context.Background(), p.ID)
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
	_ = json.Unmarshal([]byte(au.Body), &log)
	if au.StatusCode != 200 || len(log.Items) != 3 {
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

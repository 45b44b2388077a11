// Package e2e drives the whole product through the local runtime: the same function
// binaries that deploy, behind the emulated API Gateway, event source mappings and
// schedules, against DynamoDB Local, the SQS emulator and the SES v2 emulator.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/infra/local/stack/stacktest"
	"github.com/tierflow/tierflow/shared/notify"
	"github.com/tierflow/tierflow/shared/secrets"
)

var st *stack.Stack

func TestMain(m *testing.M) {
	// Every test client shares 127.0.0.1; the per-IP limit itself is tested in public-api.
	// The inbound SMS key is a test value: the provider signs replies with it. In AWS it is
	// an SSM SecureString; the local runtime hands the value to the function directly.
	os.Exit(stacktest.MainWith(m, stacktest.Config{
		Params:  map[string]string{"LeadRatePerIp": "1000000"},
		Secrets: map[string]string{secrets.SMSInboundSecret: e2eInboundKey},
	}, &st))
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// call sends one request to the stack's API. body is JSON unless it is url.Values.
func call(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s %s: body: %v", method, path, err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, st.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func token(t *testing.T, role string, stores ...string) string {
	t.Helper()
	tok, err := st.MintToken(role, stores, role+"-"+strings.Join(stores, "-"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// customerOf finds the customer a phone or e-mail belongs to, as staff do: the public
// answer to a lead names nobody.
func customerOf(t *testing.T, contact string) string {
	t.Helper()
	r := call(t, "GET", "/v1/customers?q="+url.QueryEscape(contact), token(t, "admin", "*"), nil)
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	r.decode(t, &page)
	if r.Status != 200 || len(page.Items) != 1 || page.Items[0].ID == "" {
		t.Fatalf("find the customer behind a contact: %d %s", r.Status, r.Body)
	}
	return page.Items[0].ID
}

// received checks the one public answer to a script's lead: 202, no id.
func received(t *testing.T, r response) {
	t.Helper()
	if r.Status != http.StatusAccepted || strings.TrimSpace(string(r.Body)) != `{"status":"received"}` {
		t.Fatalf("lead: %d %s, want 202 {\"status\":\"received\"}", r.Status, r.Body)
	}
}

func uniqueMobile() (national, e164 string) {
	n := rand.IntN(100000000)
	return fmt.Sprintf("139 %04d %04d", n/10000, n%10000), fmt.Sprintf("+86139%08d", n)
}

func TestHealthReportsEveryDependency(t *testing.T) {
	r := call(t, "GET", "/v1/health", "", nil)
	var h struct {
		Status       string `json:"status"`
		Dependencies []struct{ Name, Status string }
	}
	r.decode(t, &h)
	if r.Status != 200 || h.Status != "ok" || len(h.Dependencies) != 3 {
		t.Fatalf("health: %d %s", r.Status, r.Body)
	}
}

// The walk-through: one person fills the form twice in two phone formats; the
// agent sees one customer with two touches and one task (the first-contact call: the
// second form finds it open and plans no other); the clinician sees the sensitive
// section, the agent does not; erasure leaves no personal data behind.
func TestOnePersonTwoFormsOneCustomerThenErasure(t *testing.T) {
	nat, e164 := uniqueMobile()
	form := url.Values{
		"name": {"E2E Zhou Wei"}, "phone": {nat}, "store": {"sh-01"}, "interest": {"implant"},
		"message": {"想尽快预约"}, "consent_service": {"yes"}, "consent_text_version": {"v1"},
		"utm_source": {"baidu"},
	}
	r := call(t, "POST", "/v1/leads", "", form)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") == "" {
		t.Fatalf("plain form: %d %s", r.Status, r.Body)
	}
	received(t, call(t, "POST", "/v1/leads", "", map[string]any{"phone": e164, "email": "zhou.wei.e2e@example.com", "utm_source": "wechat"}))
	lead := struct{ ID string }{customerOf(t, nat)}

	agent := token(t, "agent", "sh-01")
	r = call(t, "GET", "/v1/customers/"+lead.ID+"/timeline", agent, nil)
	if r.Status != 200 {
		t.Fatalf("timeline: %d %s", r.Status, r.Body)
	}
	if n := bytes.Count(r.Body, []byte(`"kind":"touch"`)); n != 2 {
		t.Errorf("timeline has %d touches, want 2: %s", n, r.Body)
	}
	// The grade depends on the hour the lead arrived (opening hours add urgency), so the
	// task expected is the one for the grade the first touch recorded, not a fixed one.
	var tl struct {
		Entries []struct {
			Kind string `json:"kind"`
			Item struct {
				Touch struct {
					Grade string `json:"grade"`
				} `json:"touch"`
			} `json:"item"`
		} `json:"entries"`
	}
	r.decode(t, &tl)
	grade := ""
	for _, e := range tl.Entries {
		if e.Kind == "touch" && grade == "" {
			grade = e.Item.Touch.Grade
		}
	}
	if grade != "hot" && grade != "warm" {
		t.Errorf("first touch graded %q, want hot (in opening hours) or warm (outside them): %s", grade, r.Body)
	}
	if !bytes.Contains(r.Body, []byte(`"rule":"lead_`+grade+`_first_contact"`)) {
		t.Errorf("no %s first-contact task on the timeline: %s", grade, r.Body)
	}
	if n := bytes.Count(r.Body, []byte(`"kind":"task"`)); n != 1 {
		t.Errorf("the timeline has %d tasks, want the one first-contact call: %s", n, r.Body)
	}

	clinician := token(t, "clinician", "sh-01")
	r = call(t, "PATCH", "/v1/customers/"+lead.ID, clinician, map[string]any{"allergies": "penicillin-e2e"})
	if r.Status != 200 {
		t.Fatalf("clinician PATCH: %d %s", r.Status, r.Body)
	}
	if r = call(t, "GET", "/v1/customers/"+lead.ID, clinician, nil); !bytes.Contains(r.Body, []byte("penicillin-e2e")) {
		t.Errorf("clinician does not see the sensitive section: %s", r.Body)
	}
	if r = call(t, "GET", "/v1/customers/"+lead.ID, agent, nil); r.Status != 200 || bytes.Contains(r.Body, []byte("penicillin-e2e")) {
		t.Errorf("agent: %d, sees the sensitive section: %v", r.Status, bytes.Contains(r.Body, []byte("penicillin-e2e")))
	}
	if r = call(t, "GET", "/v1/customers/"+lead.ID, token(t, "agent", "bj-01"), nil); r.Status != 404 {
		t.Errorf("agent of another store: %d, want 404", r.Status)
	}

	admin := token(t, "admin", "*")
	if r = call(t, "DELETE", "/v1/customers/"+lead.ID, admin, nil); r.Status >= 300 {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	r = call(t, "GET", "/v1/customers/"+lead.ID+"/export", admin, nil)
	for _, planted := range []string{"E2E Zhou Wei", e164, "zhou.wei.e2e@example.com", "penicillin-e2e", "想尽快预约"} {
		if bytes.Contains(r.Body, []byte(planted)) {
			t.Errorf("after erasure the export still holds %q", planted)
		}
	}
}

// POS → ingest queue → ingest function → DynamoDB; a spend over the instant-upgrade
// threshold lifts the tier at once; the same transaction posted again counts once.
func TestTransactionsFlowThroughTheQueueAndCountOnce(t *testing.T) {
	admin := token(t, "admin", "*")
	_, e164 := uniqueMobile()
	ext := "E2E-" + e164
	txn := map[string]any{
		"externalId": ext, "source": "e2e-pos", "customer": map[string]string{"phone": e164},
		"store": "sh-01", "at": time.Now().Add(-time.Hour).Format(time.RFC3339), "amount": "6200.00", "currency": "CNY",
		"items": []map[string]any{{"sku": "HA-FILLER", "name": "Filler 1ml", "qty": 1, "unitPrice": "6200.00", "effectDays": 180}},
	}
	var posted struct {
		Accepted int `json:"accepted"`
		Results  []struct {
			CustomerID string `json:"customerId"`
		} `json:"results"`
	}
	for i := 0; i < 2; i++ { // a POS retry
		r := call(t, "POST", "/v1/transactions", admin, map[string]any{"transactions": []any{txn}})
		if r.Status != http.StatusAccepted {
			t.Fatalf("transactions: %d %s", r.Status, r.Body)
		}
		r.decode(t, &posted)
	}
	if len(posted.Results) != 1 || posted.Results[0].CustomerID == "" {
		t.Fatalf("no customer id in %+v", posted)
	}
	id := posted.Results[0].CustomerID
	var c struct {
		Tier       string `json:"tier"`
		Aggregates struct {
			Purchases int `json:"purchases"`
		} `json:"aggregates"`
	}
	eventually(t, "the ingest function applies the transaction", time.Minute, func() bool {
		r := call(t, "GET", "/v1/customers/"+id, admin, nil)
		return r.Status == 200 && json.Unmarshal(r.Body, &c) == nil && c.Tier != ""
	})
	if c.Tier != "B" && c.Tier != "A" {
		t.Errorf("a 6,200 purchase left the tier at %q; the instant rule lifts spend over 5,000 to Silver", c.Tier)
	}
	r := call(t, "GET", "/v1/customers/"+id+"/timeline", admin, nil)
	if n := bytes.Count(r.Body, []byte(ext)); n != 1 {
		t.Errorf("the transaction appears %d times on the timeline after a retried post, want 1", n)
	}
}

// The nightly schedule's job, started on demand: every customer with purchases gets a
// tier, and the run reports the revenue share of the top 20%.
func TestAReTierRunFinishesWithASummary(t *testing.T) {
	admin := token(t, "admin", "*")
	r := call(t, "POST", "/v1/retier", admin, map[string]any{})
	if r.Status != http.StatusAccepted {
		t.Fatalf("start run: %d %s", r.Status, r.Body)
	}
	var run struct {
		RunID  string `json:"runId"`
		Status string `json:"status"`
	}
	r.decode(t, &run)
	var last []byte
	defer func() {
		if t.Failed() {
			t.Logf("run: %s", last)
			logs, err := os.ReadFile(st.LogDir + "/RetierFunction.log")
			if err != nil {
				t.Logf("retier log: %v", err)
			}
			for _, l := range bytes.Split(logs, []byte("\n")) {
				if bytes.Contains(l, []byte(`"level":"ERROR"`)) || bytes.Contains(l, []byte(`"level":"WARN"`)) {
					t.Logf("retier: %s", l)
				}
			}
		}
	}()
	eventually(t, "the re-tier run finishes", 2*time.Minute, func() bool {
		r := call(t, "GET", "/v1/retier/"+run.RunID, admin, nil)
		last = r.Body
		return r.Status == 200 && json.Unmarshal(r.Body, &run) == nil && (run.Status == "done" || run.Status == "failed")
	})
	if run.Status != "done" {
		t.Fatalf("run ended %s", run.Status)
	}
	r = call(t, "GET", "/v1/reports/tiers", admin, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte("top20RevenueShare")) {
		t.Fatalf("tiers report: %d %s", r.Status, r.Body)
	}
}

// A clinician records a completed treatment: the follow-up plan of the seeds appears on
// the customer's timeline (a call within 48 h, check-ins at 7, 30 and 90 days, a
// satisfaction survey), and the same event recorded twice plans nothing more.
func TestAServiceCompletedEventPlansTheSeedsCadence(t *testing.T) {
	_, e164 := uniqueMobile()
	received(t, call(t, "POST", "/v1/leads", "", map[string]any{"name": "E2E Service", "phone": e164, "email": "service.e2e@example.com",
		"store": "sh-01", "consent_service": true, "consent_text_version": "v1"}))
	lead := struct{ ID string }{customerOf(t, e164)}
	clinician := token(t, "clinician", "sh-01")
	ev := map[string]any{"id": "visit-" + e164, "type": "service_completed"}
	for i := 0; i < 2; i++ {
		if r := call(t, "POST", "/v1/customers/"+lead.ID+"/events", clinician, ev); r.Status >= 300 {
			t.Fatalf("event: %d %s", r.Status, r.Body)
		}
	}
	r := call(t, "GET", "/v1/customers/"+lead.ID+"/timeline", clinician, nil)
	for _, rule := range []string{"service_call_48h", "service_checkin_7d", "service_checkin_30d", "service_checkin_90d", "service_survey_7d"} {
		if n := bytes.Count(r.Body, []byte(`"rule":"`+rule+`"`)); n != 1 {
			t.Errorf("rule %s planned %d times, want once: %s", rule, n, r.Body)
		}
	}
}

const e2eInboundKey = "e2e-inbound-signing-key-not-a-secret"

// A customer replies STOP to a text: the signed provider webhook opts them out of
// marketing on every channel, and staff see it on the profile. A forged reply is refused.
func TestAStopReplyOptsTheCustomerOutOfMarketing(t *testing.T) {
	_, e164 := uniqueMobile()
	received(t, call(t, "POST", "/v1/leads", "", map[string]any{"name": "E2E Stop", "phone": e164, "store": "sh-01",
		"consent_service": true, "consent_marketing_sms": true, "consent_text_version": "v1"}))
	lead := struct{ ID string }{customerOf(t, e164)}

	body := []byte(fmt.Sprintf(`{"messageId":"in-%s","from":%q,"body":"退订"}`, e164, e164))
	post := func(sig string) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		if sig == "" {
			sig = notify.Sign([]byte(e2eInboundKey), ts, body)
		}
		req, err := http.NewRequest("POST", st.URL+"/v1/sms/inbound", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tierflow-Timestamp", ts)
		req.Header.Set("X-Tierflow-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("forged"); code != http.StatusUnauthorized {
		t.Fatalf("forged reply: %d, want 401", code)
	}
	if code := post(""); code >= 300 {
		t.Fatalf("signed STOP reply: %d", code)
	}
	var c struct {
		MarketingOptOut bool `json:"marketingOptOut"`
	}
	call(t, "GET", "/v1/customers/"+lead.ID, token(t, "agent", "sh-01"), nil).decode(t, &c)
	if !c.MarketingOptOut {
		t.Fatal("after 退订 the profile is not opted out of marketing")
	}
}

// daytimeZone returns a zone where it is now between 10:00 and 18:00, so that a message
// planned now is due now — quiet hours never defer it — whatever hour the test runs.
func daytimeZone(t *testing.T) string {
	t.Helper()
	for off := -12; off <= 14; off++ {
		name := fmt.Sprintf("Etc/GMT%+d", -off) // POSIX signs: Etc/GMT-8 is UTC+8
		if loc, err := time.LoadLocation(name); err == nil {
			if h := time.Now().In(loc).Hour(); h >= 10 && h < 18 {
				return name
			}
		}
	}
	t.Fatal("no zone where it is daytime now")
	return ""
}

var confirmLink = regexp.MustCompile(`https?://[^\s]+/v1/consent/confirm\?t=[A-Za-z0-9]+`)

// Finding 4 of issue #10, end to end: a known person's second form, with another name
// and a marketing consent, changes nothing stored; the consent is asked by SMS to the
// phone we hold, and confirming it from that SMS records it with its wording version.
func TestAKnownPersonsSecondFormChangesNothingUntilTheyConfirmBySMS(t *testing.T) {
	ctx := context.Background()
	nat, e164 := uniqueMobile()
	received(t, call(t, "POST", "/v1/leads", "", map[string]any{"name": "E2E Qian Li", "phone": nat, "store": "sh-01",
		"time_zone": daytimeZone(t), "consent_service": true, "consent_text_version": "2025-01"}))
	id := customerOf(t, e164)
	admin := token(t, "admin", "*")
	profile := func() map[string]any {
		var p map[string]any
		call(t, "GET", "/v1/customers/"+id, admin, nil).decode(t, &p)
		return p
	}
	before := profile()

	received(t, call(t, "POST", "/v1/leads", "", map[string]any{"name": "Somebody Else", "phone": "+86 " + nat,
		"email": "qian.other.e2e@example.com", "consent_marketing_sms": true, "consent_text_version": "2025-01"}))
	if after := profile(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the second form changed the stored customer:\nbefore %v\nafter  %v", before, after)
	}
	tl := call(t, "GET", "/v1/customers/"+id+"/timeline", admin, nil)
	if !bytes.Contains(tl.Body, []byte(`"proposed"`)) || !bytes.Contains(tl.Body, []byte("Somebody Else")) {
		t.Errorf("staff do not see what the form proposed: %s", tl.Body)
	}

	// The sweep hands the due confirmation to the dispatch queue; dispatch sends it.
	var link string
	eventually(t, "the confirmation SMS reaches the local outbox", time.Minute, func() bool {
		if _, err := st.FireSchedule(ctx, "SweepFunction", "Every5Minutes"); err != nil {
			t.Fatalf("sweep: %v", err)
		}
		lines, err := gateway.ReadOutbox(st.SMSOutbox)
		if err != nil {
			t.Fatalf("outbox: %v", err)
		}
		for _, raw := range lines {
			var m notify.OutboxLine
			if json.Unmarshal(raw, &m) == nil && m.To == e164 {
				link = confirmLink.FindString(m.Text)
			}
		}
		return link != ""
	})
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	path := u.RequestURI()
	if page := call(t, "GET", path, "", nil); page.Status != 200 || !bytes.Contains(page.Body, []byte("2025-01")) {
		t.Fatalf("confirmation page: %d %s", page.Status, page.Body)
	}
	if fmt.Sprint(profile()["consents"]) != fmt.Sprint(before["consents"]) {
		t.Fatal("opening the link recorded something")
	}
	if r := call(t, "POST", path, "", url.Values{"confirm": {"yes"}}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	var p struct {
		Consents []struct {
			Category, Channel, Source, TextVersion string
			Granted                                bool
		} `json:"consents"`
	}
	call(t, "GET", "/v1/customers/"+id, admin, nil).decode(t, &p)
	found := false
	for _, c := range p.Consents {
		found = found || (c.Category == "marketing" && c.Channel == "sms" && c.Granted && c.Source == "double-opt-in" && c.TextVersion == "2025-01")
	}
	if !found {
		t.Fatalf("the confirmed consent is not recorded with its wording version: %+v", p.Consents)
	}
	if r := call(t, "POST", path, "", url.Values{"confirm": {"yes"}}); r.Status != http.StatusGone {
		t.Errorf("a second use of the link: %d, want 410", r.Status)
	}
}

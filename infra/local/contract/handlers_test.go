package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/seed"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/links"
	"github.com/tierflow/tierflow/shared/notify"
	"github.com/tierflow/tierflow/shared/store"
)

// Actors of the cases: who sends the request.
const (
	none     = "no token"
	noScope  = "a token without the staff scope"
	admin    = "admin of every store"
	adminSH  = "admin of sh-01"
	clinSH   = "clinician of sh-01"
	agentSH  = "agent of sh-01"
	agentAll = "agent naming every store"
	limited  = "clinician of sh-01 who hits other stores' contacts"
)

// world is what the seed made: ids and tokens the cases name.
type world struct {
	tokens   map[string]string
	vars     map[string]string
	tbl      *store.Table
	rem      *store.Reminders
	contacts *store.Contacts
	links    *links.Links
}

func (w *world) fill(s string) string {
	for k, v := range w.vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// reqCase is one request and the status it must get; its response must match the
// document's response for that status, and (unless it is meant to be refused) the
// request must match the document too.
type reqCase struct {
	name        string
	actor       string
	method      string
	path        string // with {placeholders} of the world
	contentType string
	body        string
	header      map[string]string
	want        int
	refused     bool // a request the API must refuse: the document need not accept it either
	sign        bool // sign the body like the SMS provider
}

func (w *world) send(t *testing.T, c reqCase) (*http.Request, *http.Response, []byte) {
	t.Helper()
	body := w.fill(c.body)
	req, err := http.NewRequest(c.method, st.URL+w.fill(c.path), strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range c.header {
		req.Header.Set(k, w.fill(v))
	}
	if tok := w.tokens[c.actor]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if c.sign {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set("X-Tierflow-Timestamp", ts)
		req.Header.Set("X-Tierflow-Signature", notify.Sign([]byte(inboundKey), ts, []byte(body)))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", c.name, c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// The request as the validator reads it, with its body again.
	again, err := http.NewRequest(c.method, st.URL+w.fill(c.path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	again.Header = req.Header.Clone()
	return again, resp, b
}

// call is a seed request that must answer want; it returns the body.
func (w *world) call(t *testing.T, actor, method, path string, body any, want int) []byte {
	t.Helper()
	var raw string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	_, resp, b := w.send(t, reqCase{name: "seed", actor: actor, method: method, path: path, body: raw})
	if resp.StatusCode != want {
		t.Fatalf("seed %s %s: %d %s (want %d)", method, path, resp.StatusCode, b, want)
	}
	return b
}

func seedWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{tokens: map[string]string{}, vars: map[string]string{}}
	mint := func(actor, role string, stores []string, sub string) {
		tok, err := st.MintToken(role, stores, sub, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[actor] = tok
	}
	mint(admin, "admin", []string{"*"}, "contract-admin")
	mint(adminSH, "admin", []string{"sh-01"}, "contract-admin-sh")
	mint(clinSH, "clinician", []string{"sh-01"}, "contract-clinician-sh")
	mint(agentSH, "agent", []string{"sh-01"}, "contract-agent-sh")
	mint(agentAll, "agent", []string{"*"}, "contract-agent-all")
	mint(limited, "clinician", []string{"sh-01"}, "contract-limited")
	now := time.Now()
	tok, err := st.Issuer.Sign(jwt.MapClaims{"iss": st.Issuer.URL, "aud": st.Issuer.Audience, "sub": "contract-noscope",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "token_use": "id", "tierflow_role": "admin", "tierflow_stores": "*"})
	if err != nil {
		t.Fatal(err)
	}
	w.tokens[noScope] = tok

	w.tbl = store.New(st.Emulators.DynamoDBClient(), st.Template.Table.Name)
	w.rem, w.contacts = store.NewReminders(w.tbl), store.NewContacts(w.tbl)
	w.links = links.New(st.URL, w.contacts, store.NewConsents(w.tbl, time.Now))

	// Customers, through the import's route.
	for _, c := range []struct{ key, store, ref, name, phone, email string }{
		{"shA", "sh-01", "CT-A", "Contract A", "+8613900000301", "ct.a@example.com"},
		{"shB", "sh-01", "CT-B", "Contract B", "+8613900000302", ""},
		{"bjA", "bj-01", "CT-C", "Contract Bj", "+8613900000303", "ct.bj@example.com"},
		{"erasee", "sh-01", "CT-E", "", "+8613900000304", ""},
		{"refOnly", "sh-01", "CT-R", "Number Only", "", ""},
	} {
		var out struct {
			ID string `json:"id"`
		}
		b := w.call(t, admin, "POST", "/v1/customers", map[string]any{"store": c.store, "ref": c.ref, "name": c.name, "phone": c.phone, "email": c.email}, 201)
		if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
			t.Fatalf("seed customer %s: %s", c.key, b)
		}
		w.vars[c.key] = out.ID
		w.vars[c.key+".phone"] = c.phone
	}
	w.call(t, admin, "POST", "/v1/transactions", map[string]any{"externalId": "CT-INV-1", "source": "contract", "store": "sh-01",
		"customer": map[string]string{"ref": "CT-A"}, "at": now.Add(-48 * time.Hour).Format(time.RFC3339), "amount": "880.00", "currency": "CNY"}, 202)
	q, ok := st.Resources.Ref("IngestQueue")
	if !ok {
		t.Fatal("no IngestQueue")
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := seed.WaitDrained(dctx, st.Emulators.SQSClient(), q); err != nil {
		t.Fatal(err)
	}

	// Follow-ups: a completed service plans calls and a survey; a complaint a manager task.
	survey := func(actor, who string) string { return w.serviceMessage(t, actor, who, "ct-svc-"+who, "survey.") }
	// The surveys as the dispatcher leaves them once sent: shA's now, bjA's 40 days ago
	// (closed).
	for who, sentAt := range map[string]time.Time{"shA": now, "bjA": now.AddDate(0, 0, -40)} {
		id := survey(map[string]string{"shA": clinSH, "bjA": admin}[who], who)
		r, err := w.rem.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r.Status, r.SentAt = followup.StatusSent, sentAt
		if _, err := w.rem.Update(ctx, r); err != nil {
			t.Fatalf("mark survey sent: %v", err)
		}
		w.vars[who+".survey"] = id
		if w.vars[who+".token"], err = w.contacts.UnsubscribeToken(ctx, w.vars[who]); err != nil {
			t.Fatal(err)
		}
	}
	if w.vars["shB.token"], err = w.contacts.UnsubscribeToken(ctx, w.vars["shB"]); err != nil {
		t.Fatal(err)
	}
	w.call(t, clinSH, "POST", "/v1/customers/"+w.vars["shA"]+"/events", map[string]any{"id": "ct-complaint", "type": "complaint"}, 201)
	w.call(t, clinSH, "POST", "/v1/customers/"+w.vars["shB"]+"/events", map[string]any{"id": "ct-complaint-b", "type": "complaint"}, 201)
	// The agent uses the task list, which enrols them as staff of sh-01.
	w.call(t, agentSH, "GET", "/v1/tasks", nil, 200)
	var tasks struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(w.call(t, clinSH, "GET", "/v1/tasks?view=store&store=sh-01", nil, 200), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks.Items) < 3 {
		t.Fatalf("seed: %d open tasks in sh-01, the cases need 3", len(tasks.Items))
	}
	w.vars["task"], w.vars["task2"], w.vars["task3"] = tasks.Items[0].ID, tasks.Items[1].ID, tasks.Items[2].ID
	w.call(t, clinSH, "POST", "/v1/tasks/"+w.vars["task3"]+"/complete", map[string]any{"outcome": "reached"}, 200)
	seedDispositions(t, w)

	// A known person's form asking for marketing SMS: a double opt-in link.
	w.call(t, none, "POST", "/v1/leads", map[string]any{"phone": w.vars["shA.phone"], "consent_marketing_sms": true, "consent_text_version": "2025-01"}, 202)
	open, err := w.rem.OpenForCustomer(ctx, w.vars["shA"])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range open {
		if strings.Contains(r.Template, "consent") {
			link, err := w.links.ConsentConfirm(ctx, r) // the link the SMS or e-mail carries
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(link)
			if err != nil || u.Query().Get("t") == "" {
				t.Fatalf("consent link %q has no token", link)
			}
			w.vars["consent"] = u.Query().Get("t")
		}
	}
	if w.vars["consent"] == "" {
		t.Fatal("seed: the known person's consent planned no confirmation link")
	}

	// A finished re-tier run for the reports.
	var run struct {
		RunID string `json:"runId"`
	}
	if err := json.Unmarshal(w.call(t, admin, "POST", "/v1/retier", nil, 202), &run); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer rcancel()
	if status, err := seed.WaitRun(rctx, st.URL, w.tokens[admin], nil, run.RunID); err != nil || status != "done" {
		t.Fatalf("seed run: %s %v", status, err)
	}
	w.vars["run"] = run.RunID
	// API keys: one of sh-01 that may do everything a key may, one that may only post
	// sales, one with a rate of 1 a minute, and one revoked.
	for name, k := range map[string]struct {
		perms []string
		rate  int
	}{
		"key.sh":      {[]string{"transactions:write", "leads:write", "customers:read", "events:write"}, 0},
		"key.pos":     {[]string{"transactions:write"}, 0},
		"key.tx":      {[]string{"transactions:write"}, 0},
		"key.slow":    {[]string{"transactions:write"}, 1},
		"key.revoked": {[]string{"transactions:write"}, 0},
	} {
		key, err := seed.CreateAPIKey(ctx, st.URL, w.tokens[adminSH], name, []string{"sh-01"}, k.perms, k.rate)
		if err != nil {
			t.Fatal(err)
		}
		w.vars[name], w.vars[name+".id"] = key.Secret, key.ID
	}
	w.call(t, adminSH, "DELETE", "/v1/api-keys/"+w.vars["key.revoked.id"], nil, 204)
	w.vars["long"] = strings.Repeat("x", 5000)
	w.vars["unknown"] = store.NewID()
	return w
}

// serviceMessage posts a completed service of who (event id) and returns the message it
// planned whose template starts with prefix ("survey.", an e-mail; "checkin.", an SMS).
func (w *world) serviceMessage(t *testing.T, actor, who, id, prefix string) string {
	t.Helper()
	var p struct {
		Planned []struct {
			ID         string  `json:"id"`
			Template   string  `json:"template"`
			DeadlineAt *string `json:"deadlineAt"`
		} `json:"planned"`
	}
	b := w.call(t, actor, "POST", "/v1/customers/"+w.vars[who]+"/events", map[string]any{"id": id, "type": "service_completed"}, 201)
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Planned {
		if r.DeadlineAt == nil && strings.HasPrefix(r.Template, prefix) {
			return r.ID
		}
	}
	t.Fatalf("seed: the completed service %s of %s planned no %s message: %s", id, who, prefix, b)
	return ""
}

// seedDispositions gives shB a lunar birthday and a timeline holding a deferred and a
// suppressed check-in, as the dispatcher leaves them, and checks the API says so; the
// cases then validate those answers against the document.
func seedDispositions(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	var cust struct {
		Birthday      string `json:"birthday"`
		BirthdayLunar bool   `json:"birthdayLunar"`
	}
	b := w.call(t, clinSH, "PATCH", "/v1/customers/"+w.vars["shB"], map[string]any{"birthday": "1990-03-05", "birthdayLunar": true}, 200)
	if err := json.Unmarshal(b, &cust); err != nil || cust.Birthday != "1990-03-05" || !cust.BirthdayLunar {
		t.Fatalf("seed: a lunar birthday: %v %s", err, b)
	}
	until := time.Now().Add(12 * time.Hour).UTC().Truncate(time.Second)
	for i, settle := range []func(followup.Reminder) (followup.Reminder, error){
		func(r followup.Reminder) (followup.Reminder, error) { return r.Defer(until, followup.ReasonQuietHours) },
		func(r followup.Reminder) (followup.Reminder, error) { return r.Skip(followup.ReasonOptedOut) },
	} {
		id := w.serviceMessage(t, clinSH, "shB", fmt.Sprintf("ct-svc-shB-%d", i), "checkin.")
		r, err := w.rem.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = settle(r); err != nil {
			t.Fatal(err)
		}
		if _, err := w.rem.Update(ctx, r); err != nil {
			t.Fatal(err)
		}
		w.vars[fmt.Sprintf("shB.checkin%d", i)] = id
	}
	var tl struct {
		Entries []struct {
			Kind string `json:"kind"`
			Item struct {
				ID          string     `json:"id"`
				Disposition string     `json:"disposition"`
				Reason      string     `json:"reason"`
				Until       *time.Time `json:"until"`
			} `json:"item"`
		} `json:"entries"`
	}
	b = w.call(t, clinSH, "GET", "/v1/customers/"+w.vars["shB"]+"/timeline", nil, 200)
	if err := json.Unmarshal(b, &tl); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range tl.Entries {
		switch it := e.Item; it.ID {
		case w.vars["shB.checkin0"]:
			found++
			if e.Kind != "message" || it.Disposition != "deferred" || it.Reason != "quiet_hours" || it.Until == nil || !it.Until.Equal(until) {
				t.Errorf("the deferred check-in on the timeline: %+v, want deferred, quiet_hours, until %s", e, until)
			}
		case w.vars["shB.checkin1"]:
			found++
			if e.Kind != "message" || it.Disposition != "suppressed" || it.Reason != "opted_out" || it.Until != nil {
				t.Errorf("the suppressed check-in on the timeline: %+v, want suppressed, opted_out, no until", e)
			}
		}
	}
	if found != 2 {
		t.Fatalf("seed: %d of the two check-ins on shB's timeline: %s", found, b)
	}
}

// cases are the requests, in order (later ones rely on what earlier ones did).
func cases(w *world) []reqCase {
	form := "application/x-www-form-urlencoded"
	text := "text/plain"
	huge := func(n int) string { return `{"name":"` + strings.Repeat("x", n) + `"}` }
	var cs []reqCase
	add := func(c ...reqCase) { cs = append(cs, c...) }

	// ------------------------------------------------------------ public
	add(
		reqCase{name: "health", actor: none, method: "GET", path: "/v1/health", want: 200},
		reqCase{name: "a script's lead", actor: none, method: "POST", path: "/v1/leads", body: `{"name":"Li Lei","phone":"+86 13900000310","email":"li.lei.ct@example.com","consent_marketing_email":true,"consent_text_version":"2025-01"}`, want: 202},
		reqCase{name: "a form's lead", actor: none, method: "POST", path: "/v1/leads", contentType: form, body: "name=Li+Lei&phone=139+0000+0311&store=sh-01&consent_service=yes&consent_text_version=2025-01&website=", want: 303},
		reqCase{name: "a lead with a phone nobody can read", actor: none, method: "POST", path: "/v1/leads", body: `{"phone":"12"}`, want: 400},
		reqCase{name: "a lead in plain text", actor: none, method: "POST", path: "/v1/leads", contentType: text, body: "call me", want: 415, refused: true},
		reqCase{name: "a 20 KB lead", actor: none, method: "POST", path: "/v1/leads", body: huge(20 << 10), want: 413, refused: true},
	)
	for i := range 3 {
		add(reqCase{name: fmt.Sprintf("lead %d of one phone in an hour", i+1), actor: none, method: "POST", path: "/v1/leads", body: `{"phone":"+8613900000399"}`, want: 202})
	}
	add(
		reqCase{name: "a fourth lead of one phone in an hour", actor: none, method: "POST", path: "/v1/leads", body: `{"phone":"+8613900000399"}`, want: 429},

		reqCase{name: "the unsubscribe page", actor: none, method: "GET", path: "/v1/unsubscribe?t={shA.token}", want: 200},
		reqCase{name: "the unsubscribe page without its token", actor: none, method: "GET", path: "/v1/unsubscribe?t=", want: 400, refused: true},
		reqCase{name: "the unsubscribe page of an unknown token", actor: none, method: "GET", path: "/v1/unsubscribe?t={unknown}", want: 404},
		reqCase{name: "one-click unsubscribe", actor: none, method: "POST", path: "/v1/unsubscribe?t={shB.token}", contentType: form, body: "List-Unsubscribe=One-Click", want: 200},
		reqCase{name: "unsubscribe without a token", actor: none, method: "POST", path: "/v1/unsubscribe?t=", contentType: form, body: "List-Unsubscribe=One-Click", want: 400, refused: true},
		reqCase{name: "unsubscribe with an unknown token", actor: none, method: "POST", path: "/v1/unsubscribe?t={unknown}", contentType: form, body: "List-Unsubscribe=One-Click", want: 404},

		reqCase{name: "the survey page", actor: none, method: "GET", path: "/v1/feedback?t={shA.token}&r={shA.survey}", want: 200},
		reqCase{name: "the survey page without its reference", actor: none, method: "GET", path: "/v1/feedback?t={shA.token}&r=", want: 400, refused: true},
		reqCase{name: "the survey page of an unknown token", actor: none, method: "GET", path: "/v1/feedback?t={unknown}&r={shA.survey}", want: 404},
		reqCase{name: "the page of a closed survey", actor: none, method: "GET", path: "/v1/feedback?t={bjA.token}&r={bjA.survey}", want: 410},
		reqCase{name: "a survey answer out of range", actor: none, method: "POST", path: "/v1/feedback?t={shA.token}&r={shA.survey}", body: `{"csat":9}`, want: 400},
		reqCase{name: "a survey answer in plain text", actor: none, method: "POST", path: "/v1/feedback?t={shA.token}&r={shA.survey}", contentType: text, body: "5", want: 415, refused: true},
		reqCase{name: "a survey answer", actor: none, method: "POST", path: "/v1/feedback?t={shA.token}&r={shA.survey}", body: `{"csat":5,"nps":9}`, want: 200},
		reqCase{name: "a survey answer from the page's form", actor: none, method: "POST", path: "/v1/feedback?t={shA.token}&r={shA.survey}", contentType: form, body: "csat=4", want: 200},
		reqCase{name: "a survey answer with an unknown token", actor: none, method: "POST", path: "/v1/feedback?t={unknown}&r={shA.survey}", body: `{"csat":5}`, want: 404},
		reqCase{name: "an answer to a closed survey", actor: none, method: "POST", path: "/v1/feedback?t={bjA.token}&r={bjA.survey}", body: `{"csat":5}`, want: 410},

		reqCase{name: "an SMS reply", actor: none, method: "POST", path: "/v1/sms/inbound", body: `{"messageId":"ct-m1","from":"{shA.phone}","body":"ok, call me"}`, sign: true, want: 200},
		reqCase{name: "an SMS reply without its id", actor: none, method: "POST", path: "/v1/sms/inbound", body: `{"from":"{shA.phone}","body":"hi"}`, sign: true, want: 400, refused: true},
		reqCase{name: "an SMS reply with a forged signature", actor: none, method: "POST", path: "/v1/sms/inbound", body: `{"messageId":"ct-m2","from":"{shA.phone}","body":"TD"}`,
			header: map[string]string{"X-Tierflow-Timestamp": "1700000000", "X-Tierflow-Signature": "00"}, want: 401},
		reqCase{name: "a 9 KB SMS reply", actor: none, method: "POST", path: "/v1/sms/inbound", body: `{"messageId":"ct-m3","from":"{shA.phone}","body":"` + strings.Repeat("x", 9<<10) + `"}`, sign: true, want: 413, refused: true},

		reqCase{name: "the consent page", actor: none, method: "GET", path: "/v1/consent/confirm?t={consent}", want: 200},
		reqCase{name: "the consent page without its token", actor: none, method: "GET", path: "/v1/consent/confirm?t=", want: 400, refused: true},
		reqCase{name: "the consent page of an unknown token", actor: none, method: "GET", path: "/v1/consent/confirm?t={unknown}", want: 404},
		reqCase{name: "a consent confirmed", actor: none, method: "POST", path: "/v1/consent/confirm?t={consent}", contentType: form, body: "confirm=yes", want: 200},
		reqCase{name: "a consent confirmed again", actor: none, method: "POST", path: "/v1/consent/confirm?t={consent}", contentType: form, body: "confirm=yes", want: 410},
		reqCase{name: "the page of a used consent link", actor: none, method: "GET", path: "/v1/consent/confirm?t={consent}", want: 410},
		reqCase{name: "a consent without its token", actor: none, method: "POST", path: "/v1/consent/confirm?t=", contentType: form, body: "confirm=yes", want: 400, refused: true},
		reqCase{name: "a consent with an unknown token", actor: none, method: "POST", path: "/v1/consent/confirm?t={unknown}", contentType: form, body: "confirm=yes", want: 404},
	)

	// ------------------------------------------------------------ customers
	add(
		reqCase{name: "a store's customers", actor: clinSH, method: "GET", path: "/v1/customers?store=sh-01&limit=5", want: 200},
		reqCase{name: "the customer behind a phone", actor: agentSH, method: "GET", path: "/v1/customers?q=139%200000%200301", want: 200},
		reqCase{name: "customers by an unknown filter", actor: clinSH, method: "GET", path: "/v1/customers?colour=red", want: 400, refused: true},
		reqCase{name: "customers of a store the agent does not cover", actor: agentSH, method: "GET", path: "/v1/customers?store=bj-01", want: 404},
		reqCase{name: "customers without a token", actor: none, method: "GET", path: "/v1/customers", want: 401, refused: true},
		reqCase{name: "customers with an ID token", actor: noScope, method: "GET", path: "/v1/customers", want: 403, refused: true},
		reqCase{name: "customers for an agent naming every store", actor: agentAll, method: "GET", path: "/v1/customers", want: 403},

		reqCase{name: "a new customer of the list", actor: clinSH, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-N1","name":"张三","phone":"138 0013 8301","birthday":"1990-03-05","tags":["VIP"]}`, want: 201},
		reqCase{name: "the same row again", actor: clinSH, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-N1","name":"张三","phone":"138 0013 8301","birthday":"1990-03-05","tags":["VIP"]}`, want: 200},
		reqCase{name: "a dry run", actor: clinSH, method: "POST", path: "/v1/customers?dryRun=true", body: `{"store":"sh-01","ref":"CT-N2","phone":"138 0013 8302"}`, want: 200},
		reqCase{name: "a row without a number, phone or e-mail", actor: clinSH, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","name":"Nobody"}`, want: 400},
		reqCase{name: "an agent importing", actor: agentSH, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-N3"}`, want: 403},
		reqCase{name: "a row whose phone is a customer of another store", actor: admin, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-N4","phone":"{bjA.phone}"}`, want: 409},
		reqCase{name: "a known number whose row brings a hidden customer's phone", actor: clinSH, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-R","phone":"{bjA.phone}"}`, want: 409},
		reqCase{name: "a customer row in plain text", actor: clinSH, method: "POST", path: "/v1/customers", contentType: text, body: "CT-N5", want: 415, refused: true},
		reqCase{name: "import without a token", actor: none, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-N6"}`, want: 401},
	)
	// Ten hidden contacts in an hour, then the eleventh attempt is not answered at all.
	for i := range 10 {
		add(reqCase{name: fmt.Sprintf("hidden contact %d", i+1), actor: limited, method: "POST", path: "/v1/customers", body: fmt.Sprintf(`{"store":"sh-01","ref":"CT-L%d","phone":"{bjA.phone}"}`, i), want: 409})
	}
	add(
		reqCase{name: "an eleventh hidden contact in an hour", actor: limited, method: "POST", path: "/v1/customers", body: `{"store":"sh-01","ref":"CT-L11","phone":"{bjA.phone}"}`, want: 429},
		reqCase{name: "a contact change after too many hidden contacts", actor: limited, method: "PATCH", path: "/v1/customers/{shB}", body: `{"phone":"+8613900000388"}`, want: 429},

		reqCase{name: "a customer", actor: clinSH, method: "GET", path: "/v1/customers/{shA}", want: 200},
		reqCase{name: "a customer of another store", actor: clinSH, method: "GET", path: "/v1/customers/{bjA}", want: 404},
		reqCase{name: "a customer with an ID token", actor: noScope, method: "GET", path: "/v1/customers/{shA}", want: 403, refused: true},
		reqCase{name: "a customer for an agent naming every store", actor: agentAll, method: "GET", path: "/v1/customers/{shA}", want: 403},
		reqCase{name: "a customer without a token", actor: none, method: "GET", path: "/v1/customers/{shA}", want: 401, refused: true},

		reqCase{name: "a clinician's edit (events/api-customers-patch.json)", actor: clinSH, method: "PATCH", path: "/v1/customers/{shA}", body: `{"allergies": "penicillin", "tags": ["implant"]}`, want: 200},
		reqCase{name: "a lunar birthday", actor: clinSH, method: "PATCH", path: "/v1/customers/{shA}", body: `{"birthday":"1988-08-08","birthdayLunar":true}`, want: 200},
		reqCase{name: "a lunar birthday cleared", actor: clinSH, method: "PATCH", path: "/v1/customers/{shA}", body: `{"birthdayLunar":null}`, want: 200},
		reqCase{name: "an edit of a read-only field", actor: clinSH, method: "PATCH", path: "/v1/customers/{shA}", body: `{"tier":"A"}`, want: 400, refused: true},
		reqCase{name: "an edit giving another customer's phone", actor: admin, method: "PATCH", path: "/v1/customers/{shA}", body: `{"phone":"{shB.phone}"}`, want: 409},
		reqCase{name: "an edit in plain text", actor: clinSH, method: "PATCH", path: "/v1/customers/{shA}", contentType: text, body: "name=x", want: 415, refused: true},
		reqCase{name: "an edit of another store's customer", actor: clinSH, method: "PATCH", path: "/v1/customers/{bjA}", body: `{"name":"x"}`, want: 404},
		reqCase{name: "an edit by an agent naming every store", actor: agentAll, method: "PATCH", path: "/v1/customers/{shA}", body: `{"name":"x"}`, want: 403},
		reqCase{name: "an edit without a token", actor: none, method: "PATCH", path: "/v1/customers/{shA}", body: `{"name":"x"}`, want: 401, refused: true},

		reqCase{name: "a timeline", actor: clinSH, method: "GET", path: "/v1/customers/{shA}/timeline", want: 200},
		reqCase{name: "a timeline with a deferred and a suppressed message", actor: clinSH, method: "GET", path: "/v1/customers/{shB}/timeline", want: 200},
		reqCase{name: "a customer with a lunar birthday", actor: clinSH, method: "GET", path: "/v1/customers/{shB}", want: 200},
		reqCase{name: "a timeline of another store", actor: clinSH, method: "GET", path: "/v1/customers/{bjA}/timeline", want: 404},
		reqCase{name: "a timeline for an agent naming every store", actor: agentAll, method: "GET", path: "/v1/customers/{shA}/timeline", want: 403},
		reqCase{name: "a timeline without a token", actor: none, method: "GET", path: "/v1/customers/{shA}/timeline", want: 401, refused: true},
		reqCase{name: "an export", actor: admin, method: "GET", path: "/v1/customers/{shA}/export", want: 200},
		reqCase{name: "an export by a clinician", actor: clinSH, method: "GET", path: "/v1/customers/{shA}/export", want: 403},
		reqCase{name: "an export of an unknown customer", actor: admin, method: "GET", path: "/v1/customers/{unknown}/export", want: 404},
		reqCase{name: "an export without a token", actor: none, method: "GET", path: "/v1/customers/{shA}/export", want: 401, refused: true},

		reqCase{name: "a service completed (events/api-tasks-event-service-completed.json)", actor: clinSH, method: "POST", path: "/v1/customers/{shA}/events", body: `{"id":"svc-2025-0001","type":"service_completed","effectDays":180}`, want: 201},
		reqCase{name: "an event of an unknown type", actor: clinSH, method: "POST", path: "/v1/customers/{shA}/events", body: `{"id":"ct-x","type":"party"}`, want: 400, refused: true},
		reqCase{name: "an event in plain text", actor: clinSH, method: "POST", path: "/v1/customers/{shA}/events", contentType: text, body: "complaint", want: 415, refused: true},
		reqCase{name: "an event of another store's customer", actor: clinSH, method: "POST", path: "/v1/customers/{bjA}/events", body: `{"id":"ct-y","type":"contact"}`, want: 404},
		reqCase{name: "an event by an agent naming every store", actor: agentAll, method: "POST", path: "/v1/customers/{shA}/events", body: `{"id":"ct-z","type":"contact"}`, want: 403},
		reqCase{name: "an event without a token", actor: none, method: "POST", path: "/v1/customers/{shA}/events", body: `{"id":"ct-z","type":"contact"}`, want: 401, refused: true},

		reqCase{name: "an audit log", actor: admin, method: "GET", path: "/v1/audit?customer={shA}", want: 200},
		reqCase{name: "an audit log without its customer", actor: admin, method: "GET", path: "/v1/audit", want: 400, refused: true},
		reqCase{name: "an audit log of an unknown customer", actor: admin, method: "GET", path: "/v1/audit?customer={unknown}", want: 404},
		reqCase{name: "an audit log read by a clinician", actor: clinSH, method: "GET", path: "/v1/audit?customer={shA}", want: 403},
		reqCase{name: "an audit log without a token", actor: none, method: "GET", path: "/v1/audit?customer={shA}", want: 401, refused: true},

		reqCase{name: "an erasure", actor: admin, method: "DELETE", path: "/v1/customers/{erasee}", want: 204},
		reqCase{name: "an erasure by a clinician", actor: clinSH, method: "DELETE", path: "/v1/customers/{shA}", want: 403},
		reqCase{name: "an erasure of an unknown customer", actor: admin, method: "DELETE", path: "/v1/customers/{unknown}", want: 404},
		reqCase{name: "an erasure without a token", actor: none, method: "DELETE", path: "/v1/customers/{shA}", want: 401, refused: true},
	)

	// ------------------------------------------------------------ transactions
	add(
		reqCase{name: "a batch (events/api-transactions-batch.json)", actor: clinSH, method: "POST", path: "/v1/transactions", body: sampleBody("api-transactions-batch.json"), want: 202},
		reqCase{name: "every field wrong (events/api-transactions-invalid.json)", actor: clinSH, method: "POST", path: "/v1/transactions", body: sampleBody("api-transactions-invalid.json"), want: 422, refused: true},
		reqCase{name: "transactions that are no JSON object", actor: clinSH, method: "POST", path: "/v1/transactions", body: `[1,2]`, want: 400, refused: true},
		reqCase{name: "transactions in plain text", actor: clinSH, method: "POST", path: "/v1/transactions", contentType: text, body: "INV-1 100", want: 415, refused: true},
		reqCase{name: "5 MB of transactions", actor: clinSH, method: "POST", path: "/v1/transactions", body: `{"transactions":["` + strings.Repeat("x", 5<<20) + `"]}`, want: 413, refused: true},
		reqCase{name: "transactions posted by an agent", actor: agentSH, method: "POST", path: "/v1/transactions", body: sampleBody("api-transactions-batch.json"), want: 403},
		reqCase{name: "transactions without a token", actor: none, method: "POST", path: "/v1/transactions", body: sampleBody("api-transactions-batch.json"), want: 401, refused: true},
	)

	// ------------------------------------------------------------ tasks
	add(
		reqCase{name: "my calls (events/api-tasks-mine.json)", actor: agentSH, method: "GET", path: "/v1/tasks?view=mine", want: 200},
		reqCase{name: "a store's overdue calls (events/api-tasks-overdue.json)", actor: clinSH, method: "GET", path: "/v1/tasks?view=overdue&store=sh-01", want: 200},
		reqCase{name: "a store's calls", actor: clinSH, method: "GET", path: "/v1/tasks?view=store&store=sh-01&limit=2", want: 200},
		reqCase{name: "calls in an unknown view", actor: clinSH, method: "GET", path: "/v1/tasks?view=everything", want: 400, refused: true},
		reqCase{name: "calls of a store the agent does not cover", actor: agentSH, method: "GET", path: "/v1/tasks?view=store&store=bj-01", want: 404},
		reqCase{name: "calls for an agent naming every store", actor: agentAll, method: "GET", path: "/v1/tasks", want: 403},
		reqCase{name: "calls without a token", actor: none, method: "GET", path: "/v1/tasks", want: 401, refused: true},

		reqCase{name: "nobody answered (events/api-tasks-complete.json)", actor: clinSH, method: "POST", path: "/v1/tasks/{task}/complete", body: `{"outcome":"no_answer"}`, want: 200},
		reqCase{name: "an unknown outcome", actor: clinSH, method: "POST", path: "/v1/tasks/{task2}/complete", body: `{"outcome":"maybe"}`, want: 400, refused: true},
		reqCase{name: "a task completed twice", actor: clinSH, method: "POST", path: "/v1/tasks/{task3}/complete", body: `{"outcome":"reached"}`, want: 409},
		reqCase{name: "an outcome in plain text", actor: clinSH, method: "POST", path: "/v1/tasks/{task2}/complete", contentType: text, body: "reached", want: 415, refused: true},
		reqCase{name: "an unknown task", actor: clinSH, method: "POST", path: "/v1/tasks/{unknown}/complete", body: `{"outcome":"reached"}`, want: 404},
		reqCase{name: "a task of an agent naming every store", actor: agentAll, method: "POST", path: "/v1/tasks/{task2}/complete", body: `{"outcome":"reached"}`, want: 403},
		reqCase{name: "a task without a token", actor: none, method: "POST", path: "/v1/tasks/{task2}/complete", body: `{"outcome":"reached"}`, want: 401, refused: true},

		reqCase{name: "a task handed to an agent", actor: clinSH, method: "POST", path: "/v1/tasks/{task2}/reassign", body: `{"assignee":"contract-agent-sh"}`, want: 200},
		reqCase{name: "a task handed to a stranger", actor: clinSH, method: "POST", path: "/v1/tasks/{task2}/reassign", body: `{"assignee":"nobody-here"}`, want: 400},
		reqCase{name: "a finished task handed on", actor: clinSH, method: "POST", path: "/v1/tasks/{task3}/reassign", body: `{"assignee":"contract-agent-sh"}`, want: 409},
		reqCase{name: "a hand-over in plain text", actor: clinSH, method: "POST", path: "/v1/tasks/{task2}/reassign", contentType: text, body: "agent-2", want: 415, refused: true},
		reqCase{name: "an unknown task handed on", actor: clinSH, method: "POST", path: "/v1/tasks/{unknown}/reassign", body: `{"assignee":"contract-agent-sh"}`, want: 404},
		reqCase{name: "an agent handing a task to another", actor: agentSH, method: "POST", path: "/v1/tasks/{task2}/reassign", body: `{"assignee":"contract-clinician-sh"}`, want: 403},
		reqCase{name: "a hand-over without a token", actor: none, method: "POST", path: "/v1/tasks/{task2}/reassign", body: `{"assignee":"x"}`, want: 401, refused: true},
	)

	// ------------------------------------------------------------ tiering
	add(
		reqCase{name: "the policy", actor: admin, method: "GET", path: "/v1/policy", want: 200},
		reqCase{name: "the policy's history", actor: admin, method: "GET", path: "/v1/policy?history=1", want: 200},
		reqCase{name: "the policy read by a clinician", actor: clinSH, method: "GET", path: "/v1/policy", want: 403},
		reqCase{name: "the policy without a token", actor: none, method: "GET", path: "/v1/policy", want: 401, refused: true},
		reqCase{name: "a policy with a field out of range", actor: admin, method: "PUT", path: "/v1/policy", body: `{"version":2,"tiers":"many"}`, want: 400},
		reqCase{name: "a policy of a version that is not the next", actor: admin, method: "PUT", path: "/v1/policy", body: "{nextPolicy+5}", want: 409},
		reqCase{name: "the next policy", actor: admin, method: "PUT", path: "/v1/policy", body: "{nextPolicy}", want: 200},
		reqCase{name: "a policy of 70 KB", actor: admin, method: "PUT", path: "/v1/policy", body: `{"version":3,"x":"` + strings.Repeat("x", 70<<10) + `"}`, want: 413, refused: true},
		reqCase{name: "a policy in plain text", actor: admin, method: "PUT", path: "/v1/policy", contentType: text, body: "version 3", want: 415, refused: true},
		reqCase{name: "a policy put by an admin of one store", actor: adminSH, method: "PUT", path: "/v1/policy", body: "{nextPolicy}", want: 403},
		reqCase{name: "a policy put without a token", actor: none, method: "PUT", path: "/v1/policy", body: "{nextPolicy}", want: 401, refused: true},

		reqCase{name: "a run as of a day", actor: admin, method: "POST", path: "/v1/retier", body: `{"asOf":"2024-12-31T23:00:00Z"}`, want: 202},
		reqCase{name: "a run as of the future", actor: admin, method: "POST", path: "/v1/retier", body: `{"asOf":"2999-01-01T00:00:00Z"}`, want: 400},
		reqCase{name: "a run asked in plain text", actor: admin, method: "POST", path: "/v1/retier", contentType: text, body: "now", want: 415, refused: true},
		reqCase{name: "a run started by an admin of one store", actor: adminSH, method: "POST", path: "/v1/retier", want: 403},
		reqCase{name: "a run started without a token", actor: none, method: "POST", path: "/v1/retier", want: 401, refused: true},
		reqCase{name: "a run", actor: clinSH, method: "GET", path: "/v1/retier/{run}", want: 200},
		reqCase{name: "an unknown run", actor: clinSH, method: "GET", path: "/v1/retier/{unknown}", want: 404},
		reqCase{name: "a run read by an agent", actor: agentSH, method: "GET", path: "/v1/retier/{run}", want: 403},
		reqCase{name: "a run read without a token", actor: none, method: "GET", path: "/v1/retier/{run}", want: 401, refused: true},

		reqCase{name: "the tiers report", actor: admin, method: "GET", path: "/v1/reports/tiers", want: 200},
		reqCase{name: "the migration report of a store", actor: clinSH, method: "GET", path: "/v1/reports/migration?store=sh-01", want: 200},
		reqCase{name: "the at-risk report", actor: clinSH, method: "GET", path: "/v1/reports/at-risk?store=sh-01&limit=10", want: 200},
		reqCase{name: "a report with an unknown parameter", actor: clinSH, method: "GET", path: "/v1/reports/tiers?colour=red", want: 400, refused: true},
		reqCase{name: "an unknown report", actor: clinSH, method: "GET", path: "/v1/reports/salaries", want: 404, refused: true},
		reqCase{name: "a report read by an agent", actor: agentSH, method: "GET", path: "/v1/reports/tiers", want: 403},
		reqCase{name: "a report read without a token", actor: none, method: "GET", path: "/v1/reports/tiers", want: 401, refused: true},
		reqCase{name: "the tiers report of a store, with its Pareto curve and last run", actor: clinSH, method: "GET", path: "/v1/reports/tiers?store=sh-01", want: 200},
		reqCase{name: "the cohorts report", actor: admin, method: "GET", path: "/v1/reports/cohorts", want: 200},
		reqCase{name: "the funnel report of a store", actor: clinSH, method: "GET", path: "/v1/reports/funnel", want: 200},
		reqCase{name: "the sources report", actor: admin, method: "GET", path: "/v1/reports/sources", want: 200},
		reqCase{name: "another store's funnel", actor: clinSH, method: "GET", path: "/v1/reports/funnel?store=bj-01", want: 404},
		reqCase{name: "the policy's first version", actor: admin, method: "GET", path: "/v1/policy?version=1", want: 200},
		reqCase{name: "a policy version that is no number", actor: admin, method: "GET", path: "/v1/policy?version=latest", want: 400, refused: true},
		reqCase{name: "a policy version never made", actor: admin, method: "GET", path: "/v1/policy?version=999", want: 404},
		reqCase{name: "the policy's versions", actor: admin, method: "GET", path: "/v1/policy/versions", want: 200},
		reqCase{name: "the policy's versions read by a clinician", actor: clinSH, method: "GET", path: "/v1/policy/versions", want: 403},
		reqCase{name: "a policy preview", actor: admin, method: "POST", path: "/v1/policy/preview", body: "{nextPolicy}", want: 200},
		reqCase{name: "a policy preview of one store by its admin", actor: adminSH, method: "POST", path: "/v1/policy/preview", body: "{nextPolicy}", want: 200},
		reqCase{name: "a policy preview of another store", actor: adminSH, method: "POST", path: "/v1/policy/preview?store=bj-01", body: "{nextPolicy}", want: 404},
		reqCase{name: "a policy preview with a field out of range", actor: admin, method: "POST", path: "/v1/policy/preview", body: `{"version":2,"tiers":"many"}`, want: 400},
		reqCase{name: "a policy preview in plain text", actor: admin, method: "POST", path: "/v1/policy/preview", contentType: text, body: "version 3", want: 415, refused: true},
		reqCase{name: "a policy preview by a clinician", actor: clinSH, method: "POST", path: "/v1/policy/preview", body: "{nextPolicy}", want: 403},
		reqCase{name: "the referral ledger read by an agent", actor: agentSH, method: "GET", path: "/v1/referrals", want: 403},
		reqCase{name: "another store's referral ledger", actor: clinSH, method: "GET", path: "/v1/referrals?store=bj-01", want: 404},
		reqCase{name: "a referral ledger in a format nobody reads", actor: clinSH, method: "GET", path: "/v1/referrals?format=xlsx", want: 400, refused: true},
		reqCase{name: "the referral ledger without a token", actor: none, method: "GET", path: "/v1/referrals", want: 401, refused: true},
		reqCase{name: "the policy's versions without a token", actor: none, method: "GET", path: "/v1/policy/versions", want: 401, refused: true},
		reqCase{name: "the policy's versions with a parameter", actor: admin, method: "GET", path: "/v1/policy/versions?page=2", want: 400, refused: true},
		reqCase{name: "a policy preview without a token", actor: none, method: "POST", path: "/v1/policy/preview", body: "{nextPolicy}", want: 401, refused: true},
		reqCase{name: "a policy preview of 70 KB", actor: admin, method: "POST", path: "/v1/policy/preview", body: `{"version":3,"x":"` + strings.Repeat("x", 70<<10) + `"}`, want: 413, refused: true},
		reqCase{name: "the followup report of a store", actor: clinSH, method: "GET", path: "/v1/reports/followup?month=2025-03&store=sh-01", want: 200},
		reqCase{name: "the followup report with an unknown parameter", actor: clinSH, method: "GET", path: "/v1/reports/followup?colour=red", want: 400},
		reqCase{name: "the followup report of a store not covered", actor: clinSH, method: "GET", path: "/v1/reports/followup?store=bj-01", want: 404},
		reqCase{name: "the followup report read by an agent", actor: agentSH, method: "GET", path: "/v1/reports/followup", want: 403},
		reqCase{name: "the followup report without a token", actor: none, method: "GET", path: "/v1/reports/followup", want: 401, refused: true},
		reqCase{name: "the messages report of a store", actor: clinSH, method: "GET", path: "/v1/reports/messages?from=2025-03-01&to=2025-03-05&store=sh-01", want: 200},
		reqCase{name: "the messages report with an unknown parameter", actor: clinSH, method: "GET", path: "/v1/reports/messages?colour=red", want: 400},
		reqCase{name: "the messages report of a store not covered", actor: clinSH, method: "GET", path: "/v1/reports/messages?store=bj-01", want: 404},
		reqCase{name: "the messages report read by an agent", actor: agentSH, method: "GET", path: "/v1/reports/messages", want: 403},
		reqCase{name: "the messages report without a token", actor: none, method: "GET", path: "/v1/reports/messages", want: 401, refused: true},
		reqCase{name: "the feedback report of a store", actor: clinSH, method: "GET", path: "/v1/reports/feedback?months=6&store=sh-01", want: 200},
		reqCase{name: "the feedback report with an unknown parameter", actor: clinSH, method: "GET", path: "/v1/reports/feedback?colour=red", want: 400},
		reqCase{name: "the feedback report of a store not covered", actor: clinSH, method: "GET", path: "/v1/reports/feedback?store=bj-01", want: 404},
		reqCase{name: "the feedback report read by an agent", actor: agentSH, method: "GET", path: "/v1/reports/feedback", want: 403},
		reqCase{name: "the feedback report without a token", actor: none, method: "GET", path: "/v1/reports/feedback", want: 401, refused: true},
		reqCase{name: "a store's staff", actor: agentSH, method: "GET", path: "/v1/staff?store=sh-01", want: 200},
		reqCase{name: "staff with an unknown parameter", actor: agentSH, method: "GET", path: "/v1/staff?store=sh-01&colour=red", want: 400},
		reqCase{name: "staff of a store not covered", actor: agentSH, method: "GET", path: "/v1/staff?store=bj-01", want: 404},
		reqCase{name: "staff for an agent naming every store", actor: agentAll, method: "GET", path: "/v1/staff?store=sh-01", want: 403},
		reqCase{name: "staff without a token", actor: none, method: "GET", path: "/v1/staff?store=sh-01", want: 401, refused: true},
	)

	// ------------------------------------------------------------ API keys and machines
	key := func(name string) map[string]string { return map[string]string{"X-Api-Key": "{" + name + "}"} }
	add(
		reqCase{name: "an admin lists the keys of their stores", actor: adminSH, method: "GET", path: "/v1/api-keys", want: 200},
		reqCase{name: "a clinician lists keys", actor: clinSH, method: "GET", path: "/v1/api-keys", want: 403},
		reqCase{name: "keys listed without a token", actor: none, method: "GET", path: "/v1/api-keys", want: 401, refused: true},
		reqCase{name: "an admin makes a key", actor: adminSH, method: "POST", path: "/v1/api-keys", body: `{"name":"sh-01 till 2","stores":["sh-01"],"permissions":["transactions:write"]}`, want: 201},
		reqCase{name: "a key for another store", actor: adminSH, method: "POST", path: "/v1/api-keys", body: `{"name":"bj till","stores":["bj-01"],"permissions":["transactions:write"]}`, want: 400},
		reqCase{name: "a key in plain text", actor: adminSH, method: "POST", path: "/v1/api-keys", contentType: text, body: "key please", want: 415, refused: true},
		reqCase{name: "a key made by a clinician", actor: clinSH, method: "POST", path: "/v1/api-keys", body: `{"name":"x","stores":["sh-01"],"permissions":["transactions:write"]}`, want: 403},
		reqCase{name: "a key made without a token", actor: none, method: "POST", path: "/v1/api-keys", body: `{"name":"x","stores":["sh-01"],"permissions":["transactions:write"]}`, want: 401, refused: true},
		reqCase{name: "an admin rotates a key", actor: adminSH, method: "POST", path: "/v1/api-keys/{key.pos.id}/rotate", want: 200},
		reqCase{name: "a clinician rotates a key", actor: clinSH, method: "POST", path: "/v1/api-keys/{key.pos.id}/rotate", want: 403},
		reqCase{name: "a key rotated without a token", actor: none, method: "POST", path: "/v1/api-keys/{key.pos.id}/rotate", want: 401, refused: true},
		reqCase{name: "an unknown key rotated", actor: adminSH, method: "POST", path: "/v1/api-keys/{unknown}/rotate", want: 404},
		reqCase{name: "a revoked key revoked again", actor: adminSH, method: "DELETE", path: "/v1/api-keys/{key.revoked.id}", want: 404},
		reqCase{name: "a clinician revokes a key", actor: clinSH, method: "DELETE", path: "/v1/api-keys/{key.sh.id}", want: 403},
		reqCase{name: "a key revoked without a token", actor: none, method: "DELETE", path: "/v1/api-keys/{key.sh.id}", want: 401, refused: true},

		reqCase{name: "a POS posts sales with its key", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-batch.json"), want: 202},
		reqCase{name: "sales posted without a key", actor: none, method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-batch.json"), want: 401, refused: true},
		reqCase{name: "sales posted with a revoked key", actor: none, header: key("key.revoked"), method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-batch.json"), want: 403, refused: true},
		reqCase{name: "sales posted with the rotated-away secret", actor: none, header: key("key.pos"), method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-batch.json"), want: 403, refused: true},
		reqCase{name: "machine transactions that are no JSON object", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/transactions", body: `[1,2]`, want: 400, refused: true},
		reqCase{name: "machine transactions in plain text", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/transactions", contentType: text, body: "INV-1 100", want: 415, refused: true},
		reqCase{name: "5 MB of machine transactions", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/transactions", body: `{"transactions":["` + strings.Repeat("x", 5<<20) + `"]}`, want: 413, refused: true},
		reqCase{name: "every machine transaction field wrong", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-invalid.json"), want: 422, refused: true},
		reqCase{name: "a key's first sale of the minute", actor: none, header: key("key.slow"), method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-batch.json"), want: 202},
		reqCase{name: "a key's second sale of the minute, over its rate of 1", actor: none, header: key("key.slow"), method: "POST", path: "/v1/machine/transactions", body: sampleBody("api-transactions-batch.json"), want: 429},
		reqCase{name: "a key lists its store's customers", actor: none, header: key("key.sh"), method: "GET", path: "/v1/machine/customers?store=sh-01", want: 200},
		reqCase{name: "a key lists another store's customers", actor: none, header: key("key.sh"), method: "GET", path: "/v1/machine/customers?store=bj-01", want: 404},
		reqCase{name: "customers listed without a key", actor: none, method: "GET", path: "/v1/machine/customers?store=sh-01", want: 401, refused: true},
		reqCase{name: "a sales-only key lists customers", actor: none, header: key("key.tx"), method: "GET", path: "/v1/machine/customers?store=sh-01", want: 403},
		reqCase{name: "a key reads its store's customer", actor: none, header: key("key.sh"), method: "GET", path: "/v1/machine/customers/{shA}", want: 200},
		reqCase{name: "a key reads another store's customer", actor: none, header: key("key.sh"), method: "GET", path: "/v1/machine/customers/{bjA}", want: 404},
		reqCase{name: "a customer read without a key", actor: none, method: "GET", path: "/v1/machine/customers/{shA}", want: 401, refused: true},
		reqCase{name: "a customer read with a revoked key", actor: none, header: key("key.revoked"), method: "GET", path: "/v1/machine/customers/{shA}", want: 403, refused: true},
		reqCase{name: "a website imports a customer", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/customers", body: `{"store":"sh-01","ref":"CT-KEY-1","name":"Key Import","phone":"+8613900000320"}`, want: 201},
		reqCase{name: "a website imports into another store", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/customers", body: `{"store":"bj-01","ref":"CT-KEY-2","name":"Key Import Bj"}`, want: 400},
		reqCase{name: "a customer imported without a key", actor: none, method: "POST", path: "/v1/machine/customers", body: `{"store":"sh-01","ref":"CT-KEY-3"}`, want: 401, refused: true},
		reqCase{name: "a sales-only key imports a customer", actor: none, header: key("key.tx"), method: "POST", path: "/v1/machine/customers", body: `{"store":"sh-01","ref":"CT-KEY-4"}`, want: 403},
		reqCase{name: "a key records a visit", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/customers/{shB}/events", body: `{"id":"ct-key-contact","type":"contact"}`, want: 201},
		reqCase{name: "a key records an unknown event", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/customers/{shB}/events", body: `{"id":"ct-key-x","type":"party"}`, want: 400, refused: true},
		reqCase{name: "a key records another store's event", actor: none, header: key("key.sh"), method: "POST", path: "/v1/machine/customers/{bjA}/events", body: `{"id":"ct-key-bj","type":"contact"}`, want: 404},
		reqCase{name: "an event recorded without a key", actor: none, method: "POST", path: "/v1/machine/customers/{shB}/events", body: `{"id":"ct-key-n","type":"contact"}`, want: 401, refused: true},
		reqCase{name: "a sales-only key records an event", actor: none, header: key("key.tx"), method: "POST", path: "/v1/machine/customers/{shB}/events", body: `{"id":"ct-key-s","type":"contact"}`, want: 403},
		reqCase{name: "an admin revokes a key", actor: adminSH, method: "DELETE", path: "/v1/api-keys/{key.sh.id}", want: 204},
	)

	// ------------------------------------------------------------ web
	add(
		reqCase{name: "the staff app", actor: none, method: "GET", path: "/app", want: 308},
		reqCase{name: "a page of the staff app", actor: none, method: "GET", path: "/app/customers", want: 200},
		reqCase{name: "a missing asset of the staff app", actor: none, method: "GET", path: "/app/nothing.js", want: 404},
		reqCase{name: "the document", actor: none, method: "GET", path: "/v1/openapi.json", want: 200},
		reqCase{name: "the document, unchanged", actor: none, method: "GET", path: "/v1/openapi.json", header: map[string]string{"If-None-Match": "{openapi.etag}"}, want: 304},
		reqCase{name: "the document's page", actor: none, method: "GET", path: "/docs", want: 200},
		reqCase{name: "the document's page, unchanged", actor: none, method: "GET", path: "/docs", header: map[string]string{"If-None-Match": "{docs.etag}"}, want: 304},
		reqCase{name: "the app's page, unchanged", actor: none, method: "GET", path: "/app/customers", header: map[string]string{"If-None-Match": "{app.etag}"}, want: 304},
	)
	return cs
}

// exempt are documented answers the cases do not provoke, each with why.
var exempt = map[string]string{
	"POST /v1/leads 409":                "an Idempotency-Key replayed while its first request is still being processed: a race",
	"POST /v1/transactions 503":         "only when the ingest queue cannot take a message",
	"POST /v1/machine/transactions 503": "only when the ingest queue cannot take a message",
	"POST /v1/machine/transactions 500": "API Gateway's answer when the key authorizer cannot read the table",
	"GET /v1/health 503":                "only when DynamoDB, SQS or SES does not answer",
}

// gatewayOnly are statuses only API Gateway answers on some routes: its stage throttling
// (429), which the local gateway does not emulate.
func gatewayOnly(method, path string, status int) bool {
	if status != http.StatusTooManyRequests {
		return false
	}
	switch method + " " + path {
	case "POST /v1/leads", "POST /v1/customers", "PATCH /v1/customers/{id}":
		return false // the functions' own limits, provoked above
	}
	return true
}

// The real handlers keep the contract: every request a client is allowed to send is one
// the document accepts, every response — successes and every problem+json error —
// matches the document's response for its status (an undocumented status fails), and
// every error status the document promises is provoked by some case.
func TestTheHandlersKeepTheContract(t *testing.T) {
	doc := document(t)
	doc.Servers = openapi3.Servers{{URL: st.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	w := seedWorld(t)
	nextPolicy(t, w)
	hit := map[string]bool{}
	all := cases(w)
	for _, c := range all {
		for k, hdr := range map[string]string{"openapi.etag": "/v1/openapi.json", "docs.etag": "/docs", "app.etag": "/app/customers"} {
			if w.vars[k] == "" && strings.Contains(fmt.Sprint(c.header), "{"+k+"}") {
				resp, err := client.Get(st.URL + hdr)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				w.vars[k] = resp.Header.Get("ETag")
			}
		}
		req, resp, body := w.send(t, c)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: %s %s has no route in the document: %v", c.name, c.method, req.URL.Path, err)
			continue
		}
		key := c.method + " " + route.Path
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		if !c.refused {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("%s: the handler takes this request, the document refuses it: %v", c.name, short(err))
			}
		}
		if resp.StatusCode != c.want {
			t.Errorf("%s: %s %s answered %d, want %d: %.300s", c.name, c.method, c.path, resp.StatusCode, c.want, body)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		out.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s: the %d answer does not match the document: %v\n%.400s", c.name, resp.StatusCode, short(err), body)
		}
		if resp.StatusCode >= 400 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
			var p map[string]any
			if json.Unmarshal(body, &p) != nil {
				t.Errorf("%s: the %d answer is not JSON", c.name, resp.StatusCode)
			}
		}
		hit[fmt.Sprintf("%s %d", key, resp.StatusCode)] = true
	}
	// Every error the document promises is one some case provoked.
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				k := fmt.Sprintf("%s %s %s", method, path, code)
				if err != nil || n < 400 || hit[k] || exempt[k] != "" || gatewayOnly(method, path, n) {
					continue
				}
				missing = append(missing, k)
			}
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("the document promises %s, which no case provokes: add a case (or an exemption with its reason)", k)
	}
	t.Logf("%d requests validated against the document; %d (operation, status) answers seen", len(all), len(hit))
}

// nextPolicy reads the current policy and prepares the next version's body (and one
// that skips a version), as an admin would write them.
func nextPolicy(t *testing.T, w *world) {
	t.Helper()
	var cur struct {
		Version int            `json:"version"`
		Policy  map[string]any `json:"policy"`
	}
	if err := json.Unmarshal(w.call(t, admin, "GET", "/v1/policy", nil, 200), &cur); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]int{"nextPolicy": cur.Version + 1, "nextPolicy+5": cur.Version + 5} {
		cur.Policy["version"] = v
		b, err := json.Marshal(cur.Policy)
		if err != nil {
			t.Fatal(err)
		}
		w.vars[k] = string(b)
	}
}

// sampleBody is the body of a sample event.
func sampleBody(name string) string {
	b, err := readEvent(name)
	if err != nil {
		panic(err)
	}
	return b.Body
}

func readEvent(name string) (eventOf, error) {
	root, err := emulators.FindRoot()
	if err != nil {
		return eventOf{}, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		return eventOf{}, err
	}
	var e eventOf
	return e, json.Unmarshal(raw, &e)
}

// short keeps a validation error to its first lines.
func short(err error) string {
	s := err.Error()
	if lines := strings.Split(s, "\n"); len(lines) > 12 {
		s = strings.Join(lines[:12], "\n") + "\n…"
	}
	return s
}

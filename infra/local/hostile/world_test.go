package hostile

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/seed"
	"github.com/tierflow/tierflow/shared/store"
)

// world is the small business the suite attacks: two stores, a few customers in each with
// phones and e-mails, purchases applied, tasks, a finished re-tier run. vars fills the
// ${…} placeholders of the rows.
type world struct {
	vars   map[string]string
	tokens map[string]string
	// customers maps a customer's name in the rows (shA, bjB, …) to its id, and back.
	customers map[string]string
	names     map[string]string
	store     map[string]string // name → store
}

// person is a customer of the world, as a lead form creates them.
type person struct {
	name, store string
	form        map[string]any
}

// The world's people. bjB and shB gave only a phone (blank name and e-mail: the fields an
// anonymous form filled in finding 4); bjC only an e-mail.
var people = []person{
	{"shA", "sh-01", map[string]any{"name": "Hostile Sh A", "phone": "+8613900000101", "email": "sh.a@example.com",
		"consent_service": true, "consent_marketing_sms": true, "consent_text_version": "v1"}},
	{"shB", "sh-01", map[string]any{"phone": "+8613900000102"}},
	{"bjA", "bj-01", map[string]any{"name": "Hostile Bj A", "phone": "+8613900000201", "email": "bj.a@example.com",
		"consent_service": true, "consent_marketing_sms": true, "consent_marketing_email": true, "consent_text_version": "v1"}},
	{"bjB", "bj-01", map[string]any{"phone": "+8613900000202"}},
	{"bjC", "bj-01", map[string]any{"email": "bj.c@example.com"}},
}

// Purchases of the world. Each store's revenue is a figure no other store has, so a report
// that leaks another store's numbers shows them: sh-01 200.50, bj-01 7,427.77. bj-01 also
// has more tiered customers than sh-01 has customers, so its tier changes cannot hide in
// sh-01's counts.
var purchases = []struct{ ref, who, source, ext, amount string }{
	{"txn.sh1", "shA", "pos-sh", "INV-S1", "120.00"},
	{"txn.sh2", "shA", "pos-sh", "INV-S2", "80.50"},
	{"txn.bj1", "bjA", "pos-bj", "INV-1", "6200.00"}, // over the instant-upgrade threshold
	{"txn.bj2", "bjA", "pos-bj", "INV-2", "777.77"},
	{"txn.bj3", "bjB", "pos-bj", "INV-3", "300.00"},
	{"txn.bj4", "bjC", "pos-bj", "INV-4", "150.00"},
}

// Figures only bj-01 or the business as a whole has, as reports write them (major units)
// and as runs keep them (minor units): none may reach sh-01 staff.
var bjFigures = []string{
	"7427.77", "7628.27", "6977.77", "650.50", // bj-01, business, tier B (bjA), tier C (all stores)
	"742777", "762827", "697777", "65050",
}

func (w *world) expand(t *testing.T, s string) string {
	t.Helper()
	return os.Expand(s, func(k string) string {
		v, ok := w.vars[k]
		if !ok {
			t.Fatalf("row uses ${%s}, which the world does not define", k)
		}
		return v
	})
}

// call sends a request as an actor and fails the test unless the status is wanted.
func (w *world) call(t *testing.T, actor, method, path string, body any, want ...int) response {
	t.Helper()
	r := request{Method: method, Path: path}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r.BodyFn = func(*world) []byte { return b }
	}
	resp := send(t, w, r, w.tokens[actor])
	for _, s := range want {
		if resp.Status == s {
			return resp
		}
	}
	t.Fatalf("seed: %s %s as %s: %s (want %v)", method, path, actor, resp.short(), want)
	return resp
}

// seedWorld builds the world through the public and staff routes, as a business would,
// and returns once every queue is drained and the re-tier run has finished.
func seedWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := &world{vars: map[string]string{}, customers: map[string]string{}, names: map[string]string{}, store: map[string]string{}}
	w.tokens = tokens(t)
	now := time.Now().UTC().Truncate(time.Second)

	// Leads: new people through the public form endpoint (JSON).
	for _, p := range people {
		form := map[string]any{"store": p.store}
		for k, v := range p.form {
			form[k] = v
		}
		w.call(t, anonymous, "POST", "/v1/leads", form, 200, 201, 202)
	}
	// Staff find each person by their contact (the public answer names nobody).
	for _, p := range people {
		contact, _ := p.form["phone"].(string)
		if contact == "" {
			contact, _ = p.form["email"].(string)
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		r := w.call(t, adminAll, "GET", "/v1/customers?q="+url.QueryEscape(contact), nil, 200)
		if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Items) != 1 {
			t.Fatalf("seed: find %s by contact: %s", p.name, r.Body)
		}
		id := page.Items[0].ID
		w.customers[p.name], w.names[id], w.store[p.name] = id, p.name, p.store
		w.vars[p.name] = id
		for _, k := range []string{"phone", "email"} {
			if v, ok := p.form[k].(string); ok {
				w.vars[p.name+"."+k] = v
				w.vars[p.name+"."+k+".q"] = url.QueryEscape(v) // for a query or a form body
			}
		}
	}

	// Purchases, applied through the ingest queue. Each body is kept byte for byte, so a
	// row can post the very same transaction again (a duplicate) or change one field (a
	// conflict).
	w.vars["recent"] = now.Add(-time.Hour).Format(time.RFC3339)
	for i, p := range purchases {
		txn := map[string]any{"externalId": p.ext, "source": p.source, "store": w.store[p.who],
			"customer": map[string]string{"id": w.customers[p.who]}, "at": now.Add(-time.Duration(i+2) * time.Hour).Format(time.RFC3339),
			"amount": p.amount, "currency": "CNY",
			"items": []map[string]any{{"sku": "SKU-" + p.ext, "name": "Treatment", "qty": 1, "unitPrice": p.amount}}}
		b, err := json.Marshal(txn)
		if err != nil {
			t.Fatal(err)
		}
		w.vars[p.ref] = string(b)
		txn["amount"] = "1.00"
		txn["items"] = []map[string]any{{"sku": "SKU-" + p.ext, "name": "Treatment", "qty": 1, "unitPrice": "1.00"}}
		c, err := json.Marshal(txn)
		if err != nil {
			t.Fatal(err)
		}
		w.vars[p.ref+".conflict"] = string(c) // same once-key, another amount
		w.call(t, adminAll, "POST", "/v1/transactions", map[string]any{"transactions": []json.RawMessage{b}}, 202)
	}
	w.drain(t)

	// The sensitive section, which only clinicians and admins may read.
	w.call(t, clinicianSH, "PATCH", "/v1/customers/"+w.customers["shA"], map[string]any{"allergies": "penicillin-hostile-sh"}, 200)
	w.call(t, adminAll, "PATCH", "/v1/customers/"+w.customers["bjA"], map[string]any{"medicalHistory": "hostile-bj-history"}, 200)
	w.vars["shA.sensitive"], w.vars["bjA.sensitive"] = "penicillin-hostile-sh", "hostile-bj-history"

	// Follow-up: a completed service plans calls (tasks) and a survey (a message not sent
	// yet); a complaint plans a manager task.
	type planned struct {
		Planned []struct {
			ID         string  `json:"id"`
			Template   string  `json:"template"`
			DeadlineAt *string `json:"deadlineAt"`
		} `json:"planned"`
	}
	plan := func(actor, who, typ string) planned {
		var p planned
		r := w.call(t, actor, "POST", "/v1/customers/"+w.customers[who]+"/events", map[string]any{"id": "seed-" + typ + "-" + who, "type": typ}, 201)
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ actor, who string }{{clinicianSH, "shA"}, {adminAll, "bjA"}} {
		for _, r := range plan(c.actor, c.who, "service_completed").Planned {
			if r.DeadlineAt == nil && strings.Contains(r.Template, "survey") {
				w.vars[c.who+".survey"] = r.ID
			}
		}
		if w.vars[c.who+".survey"] == "" {
			t.Fatalf("seed: the completed service of %s planned no survey", c.who)
		}
	}
	plan(adminAll, "bjB", "complaint")

	// Staff of both stores use the task list (which enrols them in their store's staff
	// directory); one open task of each store is kept for the rows.
	w.call(t, clinicianBJ, "GET", "/v1/tasks", nil, 200)
	w.call(t, agentSH, "GET", "/v1/tasks", nil, 200)
	w.vars["bjStaff"] = subOf(clinicianBJ)
	for _, s := range []struct{ store, name string }{{"sh-01", "shA"}, {"bj-01", "bjA"}} {
		var page struct {
			Items []struct {
				ID         string `json:"id"`
				CustomerID string `json:"customerId"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		r := w.call(t, adminAll, "GET", "/v1/tasks?view=store&limit=1&store="+s.store, nil, 200)
		if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Items) != 1 || page.NextCursor == "" {
			t.Fatalf("seed: tasks of %s: %s", s.store, r.Body)
		}
		w.vars[s.name+".task"] = page.Items[0].ID
		w.vars[s.store+".tasksCursor"] = page.NextCursor
	}
	for _, s := range []string{"sh-01", "bj-01"} {
		var custPage struct {
			NextCursor string `json:"nextCursor"`
		}
		r := w.call(t, adminAll, "GET", "/v1/customers?limit=1&store="+s, nil, 200)
		if err := json.Unmarshal(r.Body, &custPage); err != nil || custPage.NextCursor == "" {
			t.Fatalf("seed: no cursor in the %s customer list: %s", s, r.Body)
		}
		w.vars[s+".customersCursor"] = custPage.NextCursor
	}
	// sh-01's own cursors, pointed at bj-01's partition of the index.
	w.vars["sh-01.tasksCursor.tampered"] = tamper(w.vars["sh-01.tasksCursor"], "STORETASK#bj-01")
	w.vars["sh-01.customersCursor.tampered"] = tamper(w.vars["sh-01.customersCursor"], "STORE#bj-01")

	// The policy in force, and its next version, for PUT /v1/policy rows.
	var pol struct {
		Version int             `json:"version"`
		Policy  json.RawMessage `json:"policy"`
	}
	r := w.call(t, adminAll, "GET", "/v1/policy", nil, 200)
	if err := json.Unmarshal(r.Body, &pol); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(pol.Policy, &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = pol.Version + 1
	next, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	w.vars["policy.next"] = string(next)

	// A finished re-tier run.
	var run struct {
		RunID string `json:"runId"`
	}
	r = w.call(t, adminAll, "POST", "/v1/retier", map[string]any{}, 202)
	if err := json.Unmarshal(r.Body, &run); err != nil || run.RunID == "" {
		t.Fatalf("seed: start run: %s", r.Body)
	}
	status, err := seed.WaitRun(ctx, st.URL, w.tokens[adminAll], client, run.RunID)
	if err != nil || status != "done" {
		t.Fatalf("seed: re-tier run %s ended %q: %v", run.RunID, status, err)
	}
	w.vars["run"] = run.RunID

	// Unsubscribe and survey links carry a token that the dispatch function mints when it
	// first sends the customer a message. No message is due yet in this world, so the
	// token is minted the same way here, as if one had gone out.
	f := store.NewContacts(store.New(st.Emulators.DynamoDBClient(), st.Template.Table.Name))
	for _, who := range []string{"shA", "bjA"} {
		tok, err := f.UnsubscribeToken(ctx, w.customers[who])
		if err != nil {
			t.Fatalf("seed: token of %s: %v", who, err)
		}
		w.vars[who+".token"] = tok
	}

	// API keys of sh-01, made through the API as an admin of sh-01 would: a till that
	// posts sales and reads customers, and one revoked before the rows run.
	for name, perms := range map[string][]string{"keySH": {"transactions:write", "customers:read"}, "keyRevoked": {"transactions:write", "customers:read"}} {
		k, err := seed.CreateAPIKey(ctx, st.URL, w.tokens[adminSH], "hostile "+name, []string{"sh-01"}, perms, 0)
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
		w.vars[name], w.vars[name+"ID"] = k.Secret, k.ID
	}
	w.call(t, adminSH, "DELETE", "/v1/api-keys/"+w.vars["keyRevokedID"], nil, 204)
	// A secret of the right shape naming keySH's id, with random bytes: a forgery.
	w.vars["keyForged"] = "tfk_" + w.vars["keySHID"] + "_" + strings.Repeat("A", 43)
	w.vars["unknown"] = store.NewID() // well-formed, nobody's
	w.vars["long"] = strings.Repeat("a", 5000)
	w.vars["base"] = st.URL
	w.vars["port"] = fmt.Sprint(st.Port)
	w.vars["thankyou"] = st.Template.Params["ThankYouUrl"]
	w.vars["adminKey"] = adminKey()
	w.drain(t)
	return w
}

// drain waits until every queue functions consume is empty, waiting and in flight:
// everything the seeding set in motion has been applied.
func (w *world) drain(t *testing.T) {
	t.Helper()
	if err := drainAll(); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// adminKey is the key of the local admin door (C6): tierflow-local writes it to
// admin.key in the stack's state folder, the parent of its log folder. "" when there is
// none (the door has no key).
func adminKey() string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(st.LogDir), "admin.key"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// tamper edits a list cursor the way an attacker would: a cursor that decodes (base64 of a
// JSON object of key attributes) gets its index partition pointed elsewhere; one that
// does not (an opaque or signed cursor) gets a character changed in the middle.
func tamper(cursor, partition string) string {
	if b, err := base64.RawURLEncoding.DecodeString(cursor); err == nil {
		var m map[string]string
		if json.Unmarshal(b, &m) == nil {
			if _, ok := m["GSI2PK"]; ok {
				m["GSI2PK"] = partition
				if out, err := json.Marshal(m); err == nil {
					return base64.RawURLEncoding.EncodeToString(out)
				} // not re-encodable: changed in the middle below, like an opaque one

			}
		}
	}
	c := []byte(cursor)
	i := len(c) / 2
	if c[i] == 'A' {
		c[i] = 'B'
	} else {
		c[i] = 'A'
	}
	return string(c)
}

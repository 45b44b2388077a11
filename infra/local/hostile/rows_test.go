package hostile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/notify"
)

// The classes of the OWASP API Security Top 10 (2023) that apply to tierflow, and the
// local runtime's admin door.
const (
	api1  = "API1 object level authorization"
	api2  = "API2 authentication"
	api3  = "API3 object property level authorization"
	api4  = "API4 resource consumption"
	api5  = "API5 function level authorization"
	api10 = "API10 unsafe consumption of third-party input"
	door  = "local admin door"
)

func get(path string) request         { return request{Method: "GET", Path: path} }
func del(path string) request         { return request{Method: "DELETE", Path: path} }
func post(path, body string) request  { return request{Method: "POST", Path: path, Body: body} }
func patch(path, body string) request { return request{Method: "PATCH", Path: path, Body: body} }
func put(path, body string) request   { return request{Method: "PUT", Path: path, Body: body} }
func postForm(path, body string) request {
	return request{Method: "POST", Path: path, Body: body, ContentType: "application/x-www-form-urlencoded"}
}
func withHost(r request, h string) request { r.Host = h; return r }
func withHeader(r request, kv ...string) request {
	r.Header = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header[kv[i]] = kv[i+1]
	}
	return r
}

// notFoundAs is C1: the answer for another store's object (or a malformed id) is the very
// 404 an id nobody has gets, byte for byte apart from request ids. from is the placeholder
// of the object in r; the twin request names ${unknown} instead.
func notFoundAs(r request, from string) expect {
	twin := r
	twin.Path = strings.ReplaceAll(r.Path, from, "${unknown}")
	twin.Body = strings.ReplaceAll(r.Body, from, "${unknown}")
	return expect{Status: []int{404}, Problem: true, SameAs: &twin}
}

var (
	forbidden  = expect{Status: []int{403}, Problem: true}
	badRequest = func(fields ...string) expect { return expect{Status: []int{400}, Problem: true, Fields: fields} }
	// unprocessable is C2's answer when no transaction of a post is accepted or duplicate.
	unprocessable = func(fields ...string) expect { return expect{Status: []int{422}, Problem: true, Fields: fields} }
	tooLarge      = expect{Status: []int{413}}
	// received is C4's one public answer to a JSON lead: new person, known person, bot.
	received = expect{Status: []int{202}, Body: `{"status":"received"}`}
	// unchanged: a request that may be answered (a page, a list) but changes nothing.
	unchanged = func(status ...int) expect { return expect{Status: status} }
)

// txn is a one-item batch: the transaction at fault sits at /transactions/0.
func txn(ext, store, customer, amount string) string {
	return fmt.Sprintf(`{"transactions":[{"externalId":%q,"source":"pos-hostile","store":%q,"customer":%s,"at":"${recent}","amount":%q,"currency":"CNY"}]}`,
		ext, store, customer, amount)
}

// deep is JSON nested n arrays deep inside an object's field.
func deep(field string, n int) func(*world) []byte {
	return func(*world) []byte {
		return []byte(`{"` + field + `":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
	}
}

func huge(n int) func(*world) []byte {
	return func(*world) []byte { return bytes.Repeat([]byte("a"), n) }
}

// refusedOrNotRecorded: a survey answer that must not count may be refused, or answered
// 200 with "recorded": false (C4 leaves the answer open; it must not count).
func refusedOrNotRecorded(_ *world, r response) error {
	if r.Status >= 400 && r.Status < 500 {
		return nil
	}
	var b struct {
		Recorded *bool `json:"recorded"`
	}
	if r.Status == 200 && json.Unmarshal(r.Body, &b) == nil && b.Recorded != nil && !*b.Recorded {
		return nil
	}
	return fmt.Errorf("the answer was counted: %s", r.short())
}

// safeRedirect: a form post is sent back to the thank-you page or this site, never to a
// place the form's redirect field names.
func safeRedirect(w *world, r response) error {
	loc := r.Header.Get("Location")
	if loc == w.vars["thankyou"] || strings.HasPrefix(loc, w.vars["base"]+"/") || (strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//")) {
		return nil
	}
	return fmt.Errorf("redirects to %q: an open redirect", loc)
}

// migrationOfAtMost: a migration report for one store counts at most that store's
// customers; the business-wide one counts more.
func migrationOfAtMost(n int) func(*world, response) error {
	return func(_ *world, r response) error {
		var m struct {
			TierChanges int `json:"tierChanges"`
			Flows       []struct {
				Customers int `json:"customers"`
			} `json:"flows"`
		}
		if err := json.Unmarshal(r.Body, &m); err != nil {
			return fmt.Errorf("not a migration report: %s", r.short())
		}
		sum := 0
		for _, f := range m.Flows {
			sum += f.Customers
		}
		if m.TierChanges > n || sum > n {
			return fmt.Errorf("reports %d tier changes in flows of %d customers, but the caller's store has only %d customers: other stores' customers are counted", m.TierChanges, sum, n)
		}
		return nil
	}
}

// countsOfAtMost: the "customers" of a report's list (stages, matrix cells, cohorts)
// add up to at most n, the caller's store's customers: other stores' are not counted.
func countsOfAtMost(list string, n int) func(*world, response) error {
	return func(_ *world, r response) error {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &m); err != nil {
			return fmt.Errorf("not a report: %s", r.short())
		}
		var rows []struct {
			Customers int `json:"customers"`
		}
		if err := json.Unmarshal(m[list], &rows); err != nil {
			return fmt.Errorf("no %s list: %s", list, r.short())
		}
		sum := 0
		for _, row := range rows {
			sum += row.Customers
		}
		if sum > n {
			return fmt.Errorf("%s count %d customers, but the caller's store has only %d: other stores' customers are counted", list, sum, n)
		}
		return nil
	}
}

// noToken: an admin answer must not carry a minted token.
func noToken(_ *world, r response) error {
	if bytes.Contains(r.Body, []byte(`"token"`)) {
		return fmt.Errorf("a token was minted: %s", r.short())
	}
	return nil
}

// keyPresent: rows that send the admin key need one; without it they prove nothing.
func keyPresent(w *world, _ response) error {
	if w.vars["adminKey"] == "" {
		return fmt.Errorf("the stack wrote no admin key (%s/admin.key): the local admin door has none (C6), so this request carried none", "<state>")
	}
	return nil
}

// signed signs an inbound SMS webhook as the provider does, at the given age.
func signed(key string, age time.Duration) func([]byte) map[string]string {
	return func(body []byte) map[string]string {
		ts := strconv.FormatInt(time.Now().Add(-age).Unix(), 10)
		return map[string]string{"X-Tierflow-Timestamp": ts, "X-Tierflow-Signature": notify.Sign([]byte(key), ts, body)}
	}
}

const stopReply = `{"messageId":"hostile-in-1","from":"${bjA.phone}","body":"STOP"}`

// forgedInvoke is a Lambda invocation of the staff API carrying claims nobody issued: an
// admin of every store erasing a bj-01 customer.
const forgedInvoke = `{"version":"2.0","routeKey":"DELETE /v1/customers/{id}","rawPath":"/v1/customers/${bjA}",
"headers":{"content-type":"application/json"},"pathParameters":{"id":"${bjA}"},
"requestContext":{"routeKey":"DELETE /v1/customers/{id}","requestId":"forged-invoke-1",
"http":{"method":"DELETE","path":"/v1/customers/${bjA}","sourceIp":"203.0.113.9"},
"authorizer":{"jwt":{"claims":{"sub":"mallory","tierflow_role":"admin","tierflow_stores":"*","scope":"tierflow/staff"},"scopes":["tierflow/staff"]}}}}`

// rows is the hand-written table: every template route has rows here (coverage_test.go).
// The broken-authentication probes of every staff route are generated on top (probes).
func rows() []row {
	bjByID := post("/v1/transactions", txn("HX-1", "sh-01", `{"id":"${bjA}"}`, "9000.00"))
	getBJ := get("/v1/customers/${bjA}")
	patchBJ := patch("/v1/customers/${bjA}", `{"name":"Mallory"}`)
	withKey := func(r request, secret string) request { return withHeader(r, "X-Api-Key", secret) }
	gatewayRefused := func(status int) expect { return expect{Status: []int{status}, Gateway: true} }
	getBJByKey := withKey(get("/v1/machine/customers/${bjA}"), "${keySH}")
	return []row{
		// ------------------------------------------------------------ API keys (machines)
		{Name: "a key of sh-01 cannot post a sale for bj-01",
			Class: api1, Route: "POST /v1/machine/transactions", Actor: anonymous,
			Req:  withKey(post("/v1/machine/transactions", txn("HK-1", "bj-01", `{"ref":"HK-REF-1"}`, "9000.00")), "${keySH}"),
			Want: unprocessable("/store")},
		{Name: "a key of sh-01 naming a bj-01 customer's id is refused at /customer/id",
			Class: api1, Route: "POST /v1/machine/transactions", Actor: anonymous,
			Req:  withKey(post("/v1/machine/transactions", txn("HK-2", "sh-01", `{"id":"${bjA}"}`, "9000.00")), "${keySH}"),
			Want: unprocessable("/customer/id")},
		{Name: "a revoked key is refused at the gateway",
			Class: api2, Route: "POST /v1/machine/transactions", Actor: anonymous,
			Req:  withKey(post("/v1/machine/transactions", txn("HK-3", "sh-01", `{"ref":"HK-REF-3"}`, "9000.00")), "${keyRevoked}"),
			Want: gatewayRefused(403)},
		{Name: "a forged key naming a real key's id is refused at the gateway",
			Class: api2, Route: "POST /v1/machine/transactions", Actor: anonymous,
			Req:  withKey(post("/v1/machine/transactions", txn("HK-4", "sh-01", `{"ref":"HK-REF-4"}`, "9000.00")), "${keyForged}"),
			Want: gatewayRefused(403)},
		{Name: "a staff token is no key: a machine route without X-Api-Key is refused at the gateway",
			Class: api2, Route: "POST /v1/machine/transactions", Actor: adminAll,
			Req:  post("/v1/machine/transactions", txn("HK-5", "sh-01", `{"ref":"HK-REF-5"}`, "9000.00")),
			Want: gatewayRefused(401)},
		{Name: "a key is no staff token: a staff route with only X-Api-Key is refused at the gateway",
			Class: api2, Route: "POST /v1/transactions", Actor: anonymous,
			Req:  withKey(post("/v1/transactions", txn("HK-6", "sh-01", `{"ref":"HK-REF-6"}`, "9000.00")), "${keySH}"),
			Want: gatewayRefused(401)},
		{Name: "a key of sh-01 reading a bj-01 customer gets the unknown id's 404",
			Class: api1, Route: "GET /v1/machine/customers/{id}", Actor: anonymous,
			Req: getBJByKey, Want: notFoundAs(getBJByKey, "${bjA}")},
		{Name: "a key of sh-01 cannot list bj-01",
			Class: api1, Route: "GET /v1/machine/customers", Actor: anonymous,
			Req:  withKey(get("/v1/machine/customers?store=bj-01"), "${keySH}"),
			Want: expect{Status: []int{404}, Problem: true}},
		{Name: "a key without leads:write cannot import customers",
			Class: api5, Route: "POST /v1/machine/customers", Actor: anonymous,
			Req:  withKey(post("/v1/machine/customers", `{"store":"sh-01","ref":"HK-IMP-1","name":"Mallory"}`), "${keySH}"),
			Want: forbidden},
		{Name: "a key without events:write cannot record an event",
			Class: api5, Route: "POST /v1/machine/customers/{id}/events", Actor: anonymous,
			Req:  withKey(post("/v1/machine/customers/${shA}/events", `{"id":"hk-ev-1","type":"complaint"}`), "${keySH}"),
			Want: forbidden},
		{Name: "a clinician cannot make a key",
			Class: api5, Route: "POST /v1/api-keys", Actor: clinicianSH,
			Req:  post("/v1/api-keys", `{"name":"mine","stores":["sh-01"],"permissions":["transactions:write"]}`),
			Want: forbidden},
		{Name: "an admin of sh-01 cannot make a key for bj-01",
			Class: api1, Route: "POST /v1/api-keys", Actor: adminSH,
			Req:  post("/v1/api-keys", `{"name":"bj","stores":["bj-01"],"permissions":["transactions:write"]}`),
			Want: badRequest("/stores/0")},
		{Name: "an agent cannot list keys",
			Class: api5, Route: "GET /v1/api-keys", Actor: agentSH,
			Req: get("/v1/api-keys"), Want: forbidden},
		{Name: "an admin of bj-01 cannot revoke a key of sh-01, which answers like an unknown key",
			Class: api1, Route: "DELETE /v1/api-keys/{id}", Actor: adminBJ,
			Req: del("/v1/api-keys/${keySHID}"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "an admin of bj-01 cannot rotate a key of sh-01 (and so learn its secret)",
			Class: api1, Route: "POST /v1/api-keys/{id}/rotate", Actor: adminBJ,
			Req: post("/v1/api-keys/${keySHID}/rotate", ""), Want: expect{Status: []int{404}, Problem: true, NoLeak: []string{"tfk_"}}},

		// ------------------------------------------------------------ POST /v1/transactions
		{Name: "finding 1: a sh-01 clinician naming a bj-01 customer's id is refused at /customer/id, like an unknown id",
			Class: api1, Route: "POST /v1/transactions", Actor: clinicianSH, Req: bjByID,
			Want: func() expect {
				e := unprocessable("/customer/id")
				e.SameAs = notFoundAs(bjByID, "${bjA}").SameAs
				return e
			}()},
		{Name: "finding 1: a sh-01 clinician naming a bj-01 customer's phone is refused at /customer, never attached, and logged on that customer",
			Class: api1, Route: "POST /v1/transactions", Actor: clinicianSH,
			Req:   post("/v1/transactions", txn("HX-2", "sh-01", `{"phone":"${bjA.phone}"}`, "9000.00")),
			Want:  func() expect { e := unprocessable("/customer"); e.NoLeak = []string{"${bjA}"}; return e }(),
			Audit: []string{"bjA"}},
		{Name: "finding 1: a sh-01 clinician naming a bj-01 customer's e-mail is refused at /customer and logged on that customer",
			Class: api1, Route: "POST /v1/transactions", Actor: clinicianSH,
			Req:   post("/v1/transactions", txn("HX-3", "sh-01", `{"email":"${bjC.email}"}`, "9000.00")),
			Want:  func() expect { e := unprocessable("/customer"); e.NoLeak = []string{"${bjC}"}; return e }(),
			Audit: []string{"bjC"}},
		{Name: "finding 1: a customer id the caller chose creates nobody",
			Class: api1, Route: "POST /v1/transactions", Actor: adminAll,
			Req:  post("/v1/transactions", txn("HX-4", "sh-01", `{"id":"cust-chosen-by-attacker"}`, "9000.00")),
			Want: unprocessable("/customer/id")},
		{Name: "a sh-01 clinician cannot post a purchase for store bj-01",
			Class: api1, Route: "POST /v1/transactions", Actor: clinicianSH,
			Req:  post("/v1/transactions", txn("HX-5", "bj-01", `{"id":"${bjA}"}`, "9000.00")),
			Want: unprocessable("/store")},
		{Name: "finding 2: the same once-key with another amount is a conflict naming /amount, not a silent drop",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req:  post("/v1/transactions", `{"transactions":[${txn.bj1.conflict}]}`),
			Want: unprocessable("/amount")},
		{Name: "finding 2: a retried batch answers duplicate and conflict per item, and nothing is applied again",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req:  post("/v1/transactions", `{"transactions":[${txn.bj1},${txn.bj2.conflict}]}`),
			Want: expect{Status: []int{202}, Items: []string{"duplicate", "conflict /amount"}}},
		{Name: "finding 2: a sh-01 post cannot turn bj-01's invoice with the same source and number into a duplicate",
			Class: api1, Route: "POST /v1/transactions", Actor: clinicianSH,
			Req: post("/v1/transactions", `{"transactions":[{"externalId":"INV-SHARED-77","source":"pos-shared","store":"sh-01",
				"customer":{"id":"${shA}"},"at":"${recent}","amount":"10.00","currency":"CNY"}]}`),
			Want: expect{Status: []int{202}, Items: []string{"accepted"}},
			Then: []step{{Actor: adminBJ, Req: post("/v1/transactions", `{"transactions":[{"externalId":"INV-SHARED-77","source":"pos-shared","store":"bj-01",
				"customer":{"id":"${bjA}"},"at":"${recent}","amount":"20.00","currency":"CNY"}]}`),
				Want: expect{Status: []int{202}, Items: []string{"accepted"}}}},
			Allow: allowance{Partitions: []string{"shA", "bjA"}, Require: []string{"shA.aggregates", "bjA.aggregates"}}},
		{Name: "finding 8: a purchase dated year 0001 is refused at the door, not failed in ingest",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req: post("/v1/transactions", `{"transactions":[{"externalId":"HX-Y1","source":"pos-hostile","store":"bj-01",
				"customer":{"id":"${bjA}"},"at":"0001-01-01T00:00:00Z","amount":"10.00","currency":"CNY"}]}`),
			Want: unprocessable("/at")},
		{Name: "a purchase dated more than a day ahead is refused",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req: post("/v1/transactions", `{"transactions":[{"externalId":"HX-Y2","source":"pos-hostile","store":"bj-01",
				"customer":{"id":"${bjA}"},"at":"2999-01-01T00:00:00Z","amount":"10.00","currency":"CNY"}]}`),
			Want: unprocessable("/at")},
		{Name: "a batch of 501 transactions is refused whole",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req: request{Method: "POST", Path: "/v1/transactions", BodyFn: func(w *world) []byte {
				items := make([]string, 501)
				for i := range items {
					items[i] = fmt.Sprintf(`{"externalId":"HX-B%d","source":"pos-hostile","store":"bj-01","customer":{"id":%q},"at":%q,"amount":"1.00","currency":"CNY"}`,
						i, w.vars["bjA"], w.vars["recent"])
				}
				return []byte(`{"transactions":[` + strings.Join(items, ",") + `]}`)
			}},
			Want: expect{Status: []int{400, 413, 422}, Problem: true, Fields: []string{"/transactions"}}},
		{Name: "a 5,000-character externalId is refused naming the field",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req:  post("/v1/transactions", txn(strings.Repeat("X", 5000), "bj-01", `{"id":"${bjA}"}`, "10.00")),
			Want: unprocessable("/externalId")},
		{Name: "a 5 MB transactions body is refused",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req:  request{Method: "POST", Path: "/v1/transactions", BodyFn: huge(5 << 20)},
			Want: expect{Status: []int{400, 413}}},
		{Name: "transactions nested 100,000 arrays deep are a 400, not a crash",
			Class: api4, Route: "POST /v1/transactions", Actor: adminAll,
			Req:  request{Method: "POST", Path: "/v1/transactions", BodyFn: deep("transactions", 100000)},
			Want: expect{Status: []int{400, 422}, Problem: true}},
		{Name: "an agent may not post transactions",
			Class: api5, Route: "POST /v1/transactions", Actor: agentSH,
			Req: post("/v1/transactions", txn("HX-6", "sh-01", `{"id":"${shA}"}`, "10.00")), Want: forbidden},

		// ------------------------------------------------------------ customers
		{Name: "an agent of sh-01 reading a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "GET /v1/customers/{id}", Actor: agentSH, Req: getBJ, Want: notFoundAs(getBJ, "${bjA}")},
		{Name: "a clinician of sh-01 reading a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "GET /v1/customers/{id}", Actor: clinicianSH, Req: getBJ, Want: notFoundAs(getBJ, "${bjA}")},
		{Name: "an admin of sh-01 reading a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "GET /v1/customers/{id}", Actor: adminSH, Req: getBJ, Want: notFoundAs(getBJ, "${bjA}")},
		{Name: "finding 8: a 5,000-character customer id is the 404 of an unknown id, not a 500",
			Class: api4, Route: "GET /v1/customers/{id}", Actor: adminAll, Req: get("/v1/customers/${long}"),
			Want: notFoundAs(get("/v1/customers/${long}"), "${long}")},
		{Name: "a customer id with key characters (#) is the 404 of an unknown id",
			Class: api4, Route: "GET /v1/customers/{id}", Actor: adminSH, Req: get("/v1/customers/${bjA}%23PROFILE"),
			Want: notFoundAs(get("/v1/customers/${bjA}%23PROFILE"), "${bjA}%23PROFILE")},
		{Name: "an agent reads a customer of their store without the sensitive section",
			Class: api3, Route: "GET /v1/customers/{id}", Actor: agentSH, Req: get("/v1/customers/${shA}"),
			Want: expect{Status: []int{200}, NoLeak: []string{"${shA.sensitive}"}}},
		{Name: "finding 10: an agent token for every store (*) is refused",
			Class: api1, Route: "GET /v1/customers/{id}", Actor: agentAll, Req: getBJ, Want: expect{Status: []int{403}}},
		{Name: "finding 10: an agent token with more stores than MAX_AGENT_STORES (3) is refused",
			Class: api1, Route: "GET /v1/customers/{id}", Actor: agentFour, Req: getBJ, Want: expect{Status: []int{403}}},
		{Name: "finding 10: custom:role and custom:stores claims grant nothing",
			Class: api2, Route: "GET /v1/customers/{id}", Actor: customClaim, Req: getBJ, Want: expect{Status: []int{401, 403}}},
		{Name: "finding 10: bare role and stores claims grant nothing",
			Class: api2, Route: "GET /v1/customers/{id}", Actor: bareClaims, Req: getBJ, Want: expect{Status: []int{401, 403}}},

		{Name: "an agent of sh-01 listing store bj-01 gets a 404",
			Class: api1, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "finding 10: an agent token for every store (*) cannot list another store's customers",
			Class: api1, Route: "GET /v1/customers", Actor: agentAll, Req: get("/v1/customers?store=bj-01"), Want: expect{Status: []int{403}}},
		{Name: "an agent of sh-01 searching a bj-01 customer's phone finds nobody",
			Class: api1, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?q=${bjA.phone.q}"),
			Want: expect{Status: []int{200}, Body: `{"items":[]}`, NoLeak: []string{"${bjA}"}}},
		{Name: "a cursor of bj-01's customer list does not page sh-01 staff into bj-01",
			Class: api1, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?store=sh-01&cursor=${bj-01.customersCursor}"),
			Want: expect{Status: []int{200, 400}, NoLeak: []string{"${bjA}", "${bjB}", "${bjC}"}}},
		{Name: "an agent's customer list shows contacts masked",
			Class: api3, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?store=sh-01"),
			Want: expect{Status: []int{200}, NoLeak: []string{"${shA.phone}", "${shA.email}", "${shA.sensitive}"}}},
		{Name: "limit=1000000000 is refused naming limit",
			Class: api4, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?store=sh-01&limit=1000000000"), Want: badRequest("limit")},
		{Name: "a customer-list cursor that is not one is refused naming cursor",
			Class: api4, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?store=sh-01&cursor=eyJQSyI6IkNVU1QjeCJ9"), Want: badRequest("cursor")},
		{Name: "a customer-list cursor tampered to point at bj-01 is refused naming cursor",
			Class: api4, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?store=sh-01&cursor=${sh-01.customersCursor.tampered}"),
			Want: func() expect { e := badRequest("cursor"); e.NoLeak = []string{"${bjA}", "${bjB}", "${bjC}"}; return e }()},
		{Name: "a 5,000-character search is refused naming q",
			Class: api4, Route: "GET /v1/customers", Actor: agentSH, Req: get("/v1/customers?q=${long}"), Want: badRequest("q")},

		// POST /v1/customers (an import's customer list): the same walls as PATCH.
		{Name: "an agent may not import customers",
			Class: api5, Route: "POST /v1/customers", Actor: agentSH,
			Req: post("/v1/customers", `{"store":"sh-01","ref":"HX-C1","name":"Mallory","phone":"+8613900000999"}`), Want: forbidden},
		{Name: "a sh-01 clinician cannot create a customer in bj-01",
			Class: api1, Route: "POST /v1/customers", Actor: clinicianSH,
			Req: post("/v1/customers", `{"store":"bj-01","ref":"HX-C2","name":"Mallory","phone":"+8613900000998"}`), Want: badRequest("store")},
		{Name: "a sh-01 clinician importing a bj-01 customer's phone is refused without naming them, and logged on that customer",
			Class: api1, Route: "POST /v1/customers", Actor: clinicianSH,
			Req:  post("/v1/customers", `{"store":"sh-01","ref":"HX-C3","name":"Mallory","phone":"${bjA.phone}"}`),
			Want: expect{Status: []int{409}, Problem: true, Fields: []string{"phone"}, NoLeak: []string{"${bjA}", "Hostile Bj A"}}, Audit: []string{"bjA"}},
		{Name: "a sh-01 clinician's dry run with a bj-01 customer's phone says nothing about them",
			Class: api1, Route: "POST /v1/customers", Actor: clinicianSH,
			Req:  post("/v1/customers?dryRun=true", `{"store":"sh-01","ref":"HX-C4","phone":"${bjA.phone}"}`),
			Want: expect{Status: []int{200}, Body: `{"status":"created","dryRun":true}`}},
		{Name: "an import never overwrites a stored name, nor reaches a customer of another store by number",
			Class: api1, Route: "POST /v1/customers", Actor: adminSH,
			Req: post("/v1/customers", `{"store":"sh-01","name":"Mallory","phone":"${shA.phone}"}`),
			Want: expect{Status: []int{200}, Check: func(_ *world, r response) error {
				if !strings.Contains(string(r.Body), `"status":"unchanged"`) || !strings.Contains(string(r.Body), `"kept":["name"]`) {
					return fmt.Errorf("want unchanged with the name kept, got %s", r.Body)
				}
				return nil
			}}},
		{Name: "mass assignment: an imported customer's tier and id are not the file's to say",
			Class: api3, Route: "POST /v1/customers", Actor: adminAll,
			Req: post("/v1/customers", `{"store":"sh-01","ref":"HX-C5","tier":"A","id":"chosen"}`), Want: badRequest("tier")},
		{Name: "a 5,000-character customer number is refused naming ref",
			Class: api4, Route: "POST /v1/customers", Actor: adminAll,
			Req: post("/v1/customers", `{"store":"sh-01","ref":"${long}"}`), Want: badRequest("ref")},
		{Name: "a customer with nothing to find them by again is refused",
			Class: api4, Route: "POST /v1/customers", Actor: adminAll,
			Req: post("/v1/customers", `{"store":"sh-01","name":"Nobody"}`), Want: badRequest("ref")},

		{Name: "an agent of sh-01 patching a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "PATCH /v1/customers/{id}", Actor: agentSH, Req: patchBJ, Want: notFoundAs(patchBJ, "${bjA}")},
		{Name: "a clinician of sh-01 writing a bj-01 customer's medical section gets the 404 of an unknown id",
			Class: api1, Route: "PATCH /v1/customers/{id}", Actor: clinicianSH, Req: patch("/v1/customers/${bjA}", `{"allergies":"none"}`),
			Want: notFoundAs(patch("/v1/customers/${bjA}", `{"allergies":"none"}`), "${bjA}")},
		{Name: "an admin of sh-01 cannot move a customer into bj-01, a store they do not cover",
			Class: api1, Route: "PATCH /v1/customers/{id}", Actor: adminSH, Req: patch("/v1/customers/${shA}", `{"store":"bj-01"}`),
			Want: expect{Problem: true}},
		{Name: "finding 7: patching in a bj-01 customer's phone is refused without naming them, and logged on that customer",
			Class: api1, Route: "PATCH /v1/customers/{id}", Actor: clinicianSH, Req: patch("/v1/customers/${shA}", `{"phone":"${bjA.phone}"}`),
			Want: expect{Problem: true, NoLeak: []string{"${bjA}", "Hostile Bj A"}}, Audit: []string{"bjA"}},
		{Name: "mass assignment: tier is read-only",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: agentSH, Req: patch("/v1/customers/${shA}", `{"tier":"A"}`), Want: badRequest("tier")},
		{Name: "mass assignment: aggregates cannot be written",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: clinicianSH,
			Req: patch("/v1/customers/${shA}", `{"aggregates":{"purchases":99,"net":99999999}}`), Want: badRequest("aggregates")},
		{Name: "mass assignment: consent is recorded only from the person",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: adminAll,
			Req: patch("/v1/customers/${bjB}", `{"consents":[{"category":"marketing","channel":"sms","granted":true}]}`), Want: badRequest("consents")},
		{Name: "mass assignment: a marketing opt-out cannot be undone by staff",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: adminAll,
			Req: patch("/v1/customers/${bjA}", `{"marketingOptOut":false}`), Want: badRequest("marketingOptOut")},
		{Name: "mass assignment: stage, lead grade and id are read-only",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: adminAll,
			Req: patch("/v1/customers/${bjA}", `{"stage":"active","leadGrade":"hot","id":"other"}`), Want: badRequest("stage", "leadGrade", "id")},
		{Name: "an agent cannot move a customer to another store",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: agentSH, Req: patch("/v1/customers/${shA}", `{"store":"bj-01"}`), Want: badRequest("store")},
		{Name: "an agent cannot write the medical section",
			Class: api3, Route: "PATCH /v1/customers/{id}", Actor: agentSH, Req: patch("/v1/customers/${shA}", `{"allergies":"none"}`), Want: badRequest("allergies")},
		{Name: "finding 8: a PATCH of a 5,000-character id is the 404 of an unknown id",
			Class: api4, Route: "PATCH /v1/customers/{id}", Actor: adminAll, Req: patch("/v1/customers/${long}", `{"name":"x"}`),
			Want: notFoundAs(patch("/v1/customers/${long}", `{"name":"x"}`), "${long}")},
		{Name: "a PATCH nested 20,000 arrays deep (within its size limit) is a 400",
			Class: api4, Route: "PATCH /v1/customers/{id}", Actor: adminAll,
			Req: request{Method: "PATCH", Path: "/v1/customers/${bjA}", BodyFn: deep("name", 20000)}, Want: expect{Status: []int{400}, Problem: true}},

		{Name: "an admin of sh-01 erasing a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "DELETE /v1/customers/{id}", Actor: adminSH, Req: del("/v1/customers/${bjA}"), Want: notFoundAs(del("/v1/customers/${bjA}"), "${bjA}")},
		{Name: "a clinician may not erase a customer",
			Class: api5, Route: "DELETE /v1/customers/{id}", Actor: clinicianSH, Req: del("/v1/customers/${shA}"), Want: forbidden},
		{Name: "an agent may not erase a customer",
			Class: api5, Route: "DELETE /v1/customers/{id}", Actor: agentSH, Req: del("/v1/customers/${shA}"), Want: forbidden},
		{Name: "finding 8: erasing a 5,000-character id is the 404 of an unknown id",
			Class: api4, Route: "DELETE /v1/customers/{id}", Actor: adminAll, Req: del("/v1/customers/${long}"), Want: notFoundAs(del("/v1/customers/${long}"), "${long}")},

		{Name: "an agent of sh-01 reading a bj-01 customer's timeline gets the 404 of an unknown id",
			Class: api1, Route: "GET /v1/customers/{id}/timeline", Actor: agentSH, Req: get("/v1/customers/${bjA}/timeline"),
			Want: notFoundAs(get("/v1/customers/${bjA}/timeline"), "${bjA}")},
		{Name: "an agent's timeline holds no sensitive section",
			Class: api3, Route: "GET /v1/customers/{id}/timeline", Actor: agentSH, Req: get("/v1/customers/${shA}/timeline"),
			Want: expect{Status: []int{200}, NoLeak: []string{"${shA.sensitive}"}}},
		{Name: "finding 8: the timeline of a 5,000-character id is the 404 of an unknown id",
			Class: api4, Route: "GET /v1/customers/{id}/timeline", Actor: agentSH, Req: get("/v1/customers/${long}/timeline"),
			Want: notFoundAs(get("/v1/customers/${long}/timeline"), "${long}")},

		{Name: "an admin of sh-01 exporting a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "GET /v1/customers/{id}/export", Actor: adminSH, Req: get("/v1/customers/${bjA}/export"),
			Want: notFoundAs(get("/v1/customers/${bjA}/export"), "${bjA}")},
		{Name: "a clinician may not export a customer",
			Class: api5, Route: "GET /v1/customers/{id}/export", Actor: clinicianSH, Req: get("/v1/customers/${shA}/export"), Want: forbidden},
		{Name: "an agent may not export a customer",
			Class: api5, Route: "GET /v1/customers/{id}/export", Actor: agentSH, Req: get("/v1/customers/${shA}/export"), Want: forbidden},
		{Name: "finding 8: exporting a 5,000-character id is the 404 of an unknown id",
			Class: api4, Route: "GET /v1/customers/{id}/export", Actor: adminAll, Req: get("/v1/customers/${long}/export"),
			Want: notFoundAs(get("/v1/customers/${long}/export"), "${long}")},

		{Name: "an agent of sh-01 planning a complaint task on a bj-01 customer gets the 404 of an unknown id",
			Class: api1, Route: "POST /v1/customers/{id}/events", Actor: agentSH,
			Req:  post("/v1/customers/${bjA}/events", `{"id":"hostile-evt-1","type":"complaint"}`),
			Want: notFoundAs(post("/v1/customers/${bjA}/events", `{"id":"hostile-evt-1","type":"complaint"}`), "${bjA}")},
		{Name: "finding 8: an event on a 5,000-character id is the 404 of an unknown id",
			Class: api4, Route: "POST /v1/customers/{id}/events", Actor: clinicianSH,
			Req:  post("/v1/customers/${long}/events", `{"id":"hostile-evt-2","type":"complaint"}`),
			Want: notFoundAs(post("/v1/customers/${long}/events", `{"id":"hostile-evt-2","type":"complaint"}`), "${long}")},
		{Name: "an event body over its 4 KB limit is refused",
			Class: api4, Route: "POST /v1/customers/{id}/events", Actor: clinicianSH,
			Req: request{Method: "POST", Path: "/v1/customers/${shA}/events", BodyFn: func(*world) []byte {
				return []byte(`{"id":"hostile-evt-3","type":"complaint","projectType":"` + strings.Repeat("a", 8000) + `"}`)
			}}, Want: expect{Status: []int{400, 413}, Problem: true}},

		// ------------------------------------------------------------ audit
		{Name: "finding 3: an admin of sh-01 reading a bj-01 customer's audit log gets the 404 of an unknown id",
			Class: api1, Route: "GET /v1/audit", Actor: adminSH, Req: get("/v1/audit?customer=${bjA}"),
			Want: notFoundAs(get("/v1/audit?customer=${bjA}"), "${bjA}")},
		{Name: "finding 3: the audit log of an id nobody has is a 404, not an empty list",
			Class: api1, Route: "GET /v1/audit", Actor: adminAll, Req: get("/v1/audit?customer=${unknown}"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "finding 3: the audit log of a 5,000-character id is the 404 of an unknown id",
			Class: api4, Route: "GET /v1/audit", Actor: adminAll, Req: get("/v1/audit?customer=${long}"),
			Want: notFoundAs(get("/v1/audit?customer=${long}"), "${long}")},
		{Name: "a tampered audit cursor is refused naming cursor",
			Class: api4, Route: "GET /v1/audit", Actor: adminAll, Req: get("/v1/audit?customer=${bjA}&cursor=dGFtcGVyZWQ"), Want: badRequest("cursor")},
		{Name: "a clinician may not read the audit log",
			Class: api5, Route: "GET /v1/audit", Actor: clinicianSH, Req: get("/v1/audit?customer=${shA}"), Want: forbidden},
		{Name: "an agent may not read the audit log",
			Class: api5, Route: "GET /v1/audit", Actor: agentSH, Req: get("/v1/audit?customer=${shA}"), Want: forbidden},

		// ------------------------------------------------------------ policy and runs
		{Name: "an agent may not read the tiering policy",
			Class: api5, Route: "GET /v1/policy", Actor: agentSH, Req: get("/v1/policy"), Want: forbidden},
		{Name: "a clinician may not read the tiering policy",
			Class: api5, Route: "GET /v1/policy", Actor: clinicianSH, Req: get("/v1/policy?history=1"), Want: forbidden},
		{Name: "finding 5: an admin of sh-01 may not change the business-wide policy",
			Class: api5, Route: "PUT /v1/policy", Actor: adminSH, Req: put("/v1/policy", "${policy.next}"), Want: forbidden},
		{Name: "a clinician may not change the policy",
			Class: api5, Route: "PUT /v1/policy", Actor: clinicianSH, Req: put("/v1/policy", "${policy.next}"), Want: forbidden},
		{Name: "a policy body over its 64 KB limit is refused",
			Class: api4, Route: "PUT /v1/policy", Actor: adminAll, Req: request{Method: "PUT", Path: "/v1/policy", BodyFn: huge(200 << 10)},
			Want: expect{Status: []int{400, 413}, Problem: true}},
		{Name: "finding 5: an admin of sh-01 may not start a business-wide re-tier run",
			Class: api5, Route: "POST /v1/retier", Actor: adminSH, Req: post("/v1/retier", `{}`), Want: forbidden},
		{Name: "a clinician may not start a re-tier run",
			Class: api5, Route: "POST /v1/retier", Actor: clinicianSH, Req: post("/v1/retier", `{}`), Want: forbidden},
		{Name: "an agent may not start a re-tier run",
			Class: api5, Route: "POST /v1/retier", Actor: agentSH, Req: post("/v1/retier", `{}`), Want: forbidden},
		{Name: "finding 5: a sh-01 clinician's view of a run holds no other store's figures",
			Class: api1, Route: "GET /v1/retier/{id}", Actor: clinicianSH, Req: get("/v1/retier/${run}"),
			Want: expect{Status: []int{200}, NoFigures: bjFigures, NoLeak: []string{`"bj-01"`}}},
		{Name: "finding 8: a 5,000-character run id is the 404 of an unknown id",
			Class: api4, Route: "GET /v1/retier/{id}", Actor: adminAll, Req: get("/v1/retier/${long}"), Want: notFoundAs(get("/v1/retier/${long}"), "${long}")},
		{Name: "an agent may not read a run",
			Class: api5, Route: "GET /v1/retier/{id}", Actor: agentSH, Req: get("/v1/retier/${run}"), Want: forbidden},

		// ------------------------------------------------------------ reports
		{Name: "finding 5: a sh-01 clinician's tier report holds no other store's figures",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/tiers"),
			Want: expect{Status: []int{200}, NoFigures: bjFigures, NoLeak: []string{`"bj-01"`}}},
		{Name: "finding 5: a sh-01 clinician's migration report counts only sh-01 customers",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/migration"),
			Want: expect{Status: []int{200}, Check: migrationOfAtMost(2)}},
		{Name: "a sh-01 clinician asking for bj-01's at-risk report gets a 404",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/at-risk?store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "at-risk limit=1000000000 is refused naming limit",
			Class: api4, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/at-risk?limit=1000000000"), Want: badRequest("limit")},
		{Name: "a tampered at-risk cursor is refused naming cursor",
			Class: api4, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/at-risk?cursor=%25%25%25"), Want: badRequest("cursor")},
		{Name: "a 5,000-character report name is a 404",
			Class: api4, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/${long}"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "an agent may not read reports",
			Class: api5, Route: "GET /v1/reports/{name}", Actor: agentSH, Req: get("/v1/reports/tiers"), Want: forbidden},
		{Name: "finding 5: a sh-01 clinician's tier report gives no business-wide run cost",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/tiers"),
			Want: expect{Status: []int{200}, NoLeak: []string{`"rru"`, `"wru"`}}},
		{Name: "finding 5: a sh-01 clinician's cohorts report holds no other store's figures",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/cohorts"),
			Want: expect{Status: []int{200}, NoLeak: []string{`"bj-01"`}, Check: countsOfAtMost("cohorts", 2)}},
		{Name: "finding 5: a sh-01 clinician's funnel counts only sh-01 customers",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/funnel"),
			Want: expect{Status: []int{200}, NoLeak: []string{`"bj-01"`}, Check: countsOfAtMost("stages", 2)}},
		{Name: "finding 5: a sh-01 clinician's sources report holds no other store's figures",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/sources"),
			Want: expect{Status: []int{200}, NoFigures: bjFigures, NoLeak: []string{`"bj-01"`}}},
		{Name: "a sh-01 clinician asking for bj-01's funnel gets a 404",
			Class: api1, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/funnel?store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "a cohorts report with a parameter it does not take is refused naming it",
			Class: api4, Route: "GET /v1/reports/{name}", Actor: clinicianSH, Req: get("/v1/reports/cohorts?month=2024-01"), Want: badRequest("month")},

		// ------------------------------------------------------------ policy versions and preview
		{Name: "an agent may not list the policy's versions",
			Class: api5, Route: "GET /v1/policy/versions", Actor: agentSH, Req: get("/v1/policy/versions"), Want: forbidden},
		{Name: "a clinician may not list the policy's versions",
			Class: api5, Route: "GET /v1/policy/versions", Actor: clinicianSH, Req: get("/v1/policy/versions"), Want: forbidden},
		{Name: "the version list refuses a parameter naming it",
			Class: api4, Route: "GET /v1/policy/versions", Actor: adminAll, Req: get("/v1/policy/versions?page=2"), Want: badRequest("page")},
		{Name: "a policy version of 5,000 digits is refused naming version",
			Class: api4, Route: "GET /v1/policy", Actor: adminAll, Req: get("/v1/policy?version=${long}"), Want: badRequest("version")},
		{Name: "a clinician may not preview a policy",
			Class: api5, Route: "POST /v1/policy/preview", Actor: clinicianSH, Req: post("/v1/policy/preview", "${policy.next}"), Want: forbidden},
		{Name: "finding 5: an admin of sh-01 previewing bj-01 gets a 404",
			Class: api1, Route: "POST /v1/policy/preview", Actor: adminSH, Req: post("/v1/policy/preview?store=bj-01", "${policy.next}"),
			Want: expect{Status: []int{404}, Problem: true}},
		{Name: "finding 5: an admin of sh-01's preview counts only sh-01 customers",
			Class: api1, Route: "POST /v1/policy/preview", Actor: adminSH, Req: post("/v1/policy/preview", "${policy.next}"),
			Want: expect{Status: []int{200}, NoLeak: []string{`"bj-01"`}, Check: countsOfAtMost("matrix", 2)}},
		{Name: "a preview of an invalid policy is refused naming the field",
			Class: api4, Route: "POST /v1/policy/preview", Actor: adminAll, Req: post("/v1/policy/preview", `{"version":2,"windowMonths":0}`),
			Want: expect{Status: []int{400}, Problem: true}},
		{Name: "a preview body over its 64 KB limit is refused",
			Class: api4, Route: "POST /v1/policy/preview", Actor: adminAll, Req: request{Method: "POST", Path: "/v1/policy/preview", BodyFn: huge(200 << 10)},
			Want: expect{Status: []int{400, 413}, Problem: true}},

		// ------------------------------------------------------------ referrals
		{Name: "an agent may not read the referral ledger",
			Class: api5, Route: "GET /v1/referrals", Actor: agentSH, Req: get("/v1/referrals"), Want: forbidden},
		{Name: "a sh-01 clinician asking for bj-01's referral ledger gets a 404",
			Class: api1, Route: "GET /v1/referrals", Actor: clinicianSH, Req: get("/v1/referrals?store=bj-01&format=csv"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "finding 5: a sh-01 clinician's referral ledger holds no other store's referrals",
			Class: api1, Route: "GET /v1/referrals", Actor: clinicianSH, Req: get("/v1/referrals"),
			Want: expect{Status: []int{200, 404}, NoLeak: []string{`"bj-01"`, "${bjA}"}}},
		{Name: "a referral ledger format nobody reads is refused naming format",
			Class: api4, Route: "GET /v1/referrals", Actor: clinicianSH, Req: get("/v1/referrals?format=${long}"), Want: badRequest("format")},

		{Name: "a sh-01 clinician's follow-up report names no bj-01 row",
			Class: api1, Route: "GET /v1/reports/followup", Actor: clinicianSH, Req: get("/v1/reports/followup"),
			Want: expect{Status: []int{200}, NoLeak: []string{`"bj-01"`}}},
		{Name: "a sh-01 clinician asking for bj-01's message report gets a 404",
			Class: api1, Route: "GET /v1/reports/messages", Actor: clinicianSH, Req: get("/v1/reports/messages?store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "a message report over more than 92 days is refused naming from",
			Class: api4, Route: "GET /v1/reports/messages", Actor: clinicianSH, Req: get("/v1/reports/messages?from=2000-01-01&to=2025-01-01"), Want: badRequest("from")},
		{Name: "a follow-up report for month 9999-99 is refused naming month",
			Class: api4, Route: "GET /v1/reports/followup", Actor: clinicianSH, Req: get("/v1/reports/followup?month=9999-99"), Want: badRequest("month")},
		{Name: "a feedback report for a million months is refused naming months",
			Class: api4, Route: "GET /v1/reports/feedback", Actor: clinicianSH, Req: get("/v1/reports/feedback?months=1000000"), Want: badRequest("months")},
		{Name: "a sh-01 clinician asking for bj-01's feedback report gets a 404",
			Class: api1, Route: "GET /v1/reports/feedback", Actor: clinicianSH, Req: get("/v1/reports/feedback?store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "an agent may not read the follow-up report",
			Class: api5, Route: "GET /v1/reports/followup", Actor: agentSH, Req: get("/v1/reports/followup"), Want: forbidden},
		{Name: "an agent may not read the message report",
			Class: api5, Route: "GET /v1/reports/messages", Actor: agentSH, Req: get("/v1/reports/messages"), Want: forbidden},
		{Name: "an agent may not read the feedback report",
			Class: api5, Route: "GET /v1/reports/feedback", Actor: agentSH, Req: get("/v1/reports/feedback"), Want: forbidden},
		{Name: "an agent of sh-01 listing bj-01's staff gets a 404",
			Class: api1, Route: "GET /v1/staff", Actor: agentSH, Req: get("/v1/staff?store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "a 5,000-character store name in the staff list is a 404",
			Class: api4, Route: "GET /v1/staff", Actor: agentSH, Req: get("/v1/staff?store=${long}"), Want: expect{Status: []int{404}, Problem: true}},

		// ------------------------------------------------------------ tasks
		{Name: "an agent of sh-01 listing bj-01's tasks gets a 404",
			Class: api1, Route: "GET /v1/tasks", Actor: agentSH, Req: get("/v1/tasks?view=store&store=bj-01"), Want: expect{Status: []int{404}, Problem: true}},
		{Name: "finding 8: a cursor of bj-01's task list pages sh-01 staff nowhere, and is no 500",
			Class: api1, Route: "GET /v1/tasks", Actor: agentSH, Req: get("/v1/tasks?view=store&store=sh-01&cursor=${bj-01.tasksCursor}"),
			Want: expect{Status: []int{200, 400}, NoLeak: []string{"${bjA}", "${bjB}", "${bjA.task}"}}},
		{Name: "finding 8: a task-list cursor tampered to point at bj-01 is a 400 naming cursor, not a 500",
			Class: api4, Route: "GET /v1/tasks", Actor: agentSH, Req: get("/v1/tasks?view=store&store=sh-01&cursor=${sh-01.tasksCursor.tampered}"),
			Want: func() expect {
				e := badRequest("cursor")
				e.NoLeak = []string{"${bjA}", "${bjB}", "${bjA.task}"}
				return e
			}()},
		{Name: "a task-list cursor that is not one is a 400 naming cursor",
			Class: api4, Route: "GET /v1/tasks", Actor: agentSH, Req: get("/v1/tasks?view=store&store=sh-01&cursor=dGFtcGVyZWQ"), Want: badRequest("cursor")},
		{Name: "task limit=1000000000 is refused naming limit",
			Class: api4, Route: "GET /v1/tasks", Actor: agentSH, Req: get("/v1/tasks?limit=1000000000"), Want: badRequest("limit")},

		{Name: "an agent of sh-01 completing a bj-01 task gets the 404 of an unknown id",
			Class: api1, Route: "POST /v1/tasks/{id}/complete", Actor: agentSH, Req: post("/v1/tasks/${bjA.task}/complete", `{"outcome":"reached"}`),
			Want: notFoundAs(post("/v1/tasks/${bjA.task}/complete", `{"outcome":"reached"}`), "${bjA.task}")},
		{Name: "a survey message is not a task anyone can complete",
			Class: api1, Route: "POST /v1/tasks/{id}/complete", Actor: clinicianSH, Req: post("/v1/tasks/${shA.survey}/complete", `{"outcome":"reached"}`),
			Want: notFoundAs(post("/v1/tasks/${shA.survey}/complete", `{"outcome":"reached"}`), "${shA.survey}")},
		{Name: "finding 8: completing a 5,000-character task id is the 404 of an unknown id",
			Class: api4, Route: "POST /v1/tasks/{id}/complete", Actor: agentSH, Req: post("/v1/tasks/${long}/complete", `{"outcome":"reached"}`),
			Want: notFoundAs(post("/v1/tasks/${long}/complete", `{"outcome":"reached"}`), "${long}")},

		{Name: "an agent of sh-01 taking a bj-01 task gets the 404 of an unknown id",
			Class: api1, Route: "POST /v1/tasks/{id}/reassign", Actor: agentSH,
			Req:  post("/v1/tasks/${bjA.task}/reassign", `{"assignee":"hostile-agent-sh-01"}`),
			Want: notFoundAs(post("/v1/tasks/${bjA.task}/reassign", `{"assignee":"hostile-agent-sh-01"}`), "${bjA.task}")},
		{Name: "a sh-01 clinician cannot hand a sh-01 task to bj-01 staff",
			Class: api1, Route: "POST /v1/tasks/{id}/reassign", Actor: clinicianSH, Req: post("/v1/tasks/${shA.task}/reassign", `{"assignee":"${bjStaff}"}`),
			Want: badRequest("assignee")},
		{Name: "an agent may not hand a task to someone else",
			Class: api5, Route: "POST /v1/tasks/{id}/reassign", Actor: agentSH, Req: post("/v1/tasks/${shA.task}/reassign", `{"assignee":"hostile-clinician-sh-01"}`),
			Want: forbidden},
		{Name: "finding 8: reassigning a 5,000-character task id is the 404 of an unknown id",
			Class: api4, Route: "POST /v1/tasks/{id}/reassign", Actor: clinicianSH, Req: post("/v1/tasks/${long}/reassign", `{"assignee":"hostile-clinician-sh-01"}`),
			Want: notFoundAs(post("/v1/tasks/${long}/reassign", `{"assignee":"hostile-clinician-sh-01"}`), "${long}")},

		// ------------------------------------------------------------ POST /v1/leads (public)
		{Name: "finding 4: a JSON lead with a known person's phone changes none of their fields or consent, and answers like any lead",
			Class: api3, Route: "POST /v1/leads", Actor: anonymous,
			Req: post("/v1/leads", `{"phone":"${bjB.phone}","name":"Mallory Attacker","email":"mallory@evil.example","store":"bj-01",
				"consent_marketing_sms":true,"consent_marketing_email":true,"consent_text_version":"v1"}`),
			Want: func() expect { e := received; e.NoLeak = []string{"${bjB}"}; return e }(), Allow: allowance{PublicTouch: "bjB"}},
		{Name: "finding 4: a JSON lead cannot withdraw a known person's marketing consent",
			Class: api3, Route: "POST /v1/leads", Actor: anonymous,
			Req:  post("/v1/leads", `{"phone":"${bjA.phone}","consent_marketing_sms":false,"consent_marketing_email":false,"consent_text_version":"v1"}`),
			Want: func() expect { e := received; e.NoLeak = []string{"${bjA}"}; return e }(), Allow: allowance{PublicTouch: "bjA"}},
		{Name: "finding 4: a form post with a known person's phone fills none of their blank fields",
			Class: api3, Route: "POST /v1/leads", Actor: anonymous,
			Req:   postForm("/v1/leads", "name=Mallory+Attacker&phone=${shB.phone.q}&email=mallory2%40evil.example&store=sh-01&birthday=1990-01-01"),
			Want:  expect{Status: []int{303}, Check: safeRedirect, NoLeak: []string{"${shB}"}},
			Allow: allowance{PublicTouch: "shB"}},
		{Name: "finding 4: a honeypot hit gets the same answer as any lead and stores nothing",
			Class: api10, Route: "POST /v1/leads", Actor: anonymous,
			Req: post("/v1/leads", `{"phone":"+8613900009999","website":"http://spam.example"}`), Want: received},
		{Name: "finding 8: a form with invalid UTF-8 is a 400 naming the field",
			Class: api10, Route: "POST /v1/leads", Actor: anonymous,
			Req: postForm("/v1/leads", "name=%FF%FE&phone=%2B8613900008888&store=sh-01"), Want: badRequest("name")},
		{Name: "open redirect: another site in the form's redirect field",
			Class: api10, Route: "POST /v1/leads", Actor: anonymous,
			Req:  postForm("/v1/leads", "phone=${shB.phone.q}&redirect=https%3A%2F%2Fevil.example%2Fphish"),
			Want: expect{Status: []int{303}, Check: safeRedirect}, Allow: allowance{PublicTouch: "shB"}},
		{Name: "open redirect: a scheme-relative redirect",
			Class: api10, Route: "POST /v1/leads", Actor: anonymous,
			Req:  postForm("/v1/leads", "phone=${shB.phone.q}&redirect=%2F%2Fevil.example%2Fphish"),
			Want: expect{Status: []int{303}, Check: safeRedirect}, Allow: allowance{PublicTouch: "shB"}},
		{Name: "open redirect: this site's origin as user info of another host",
			Class: api10, Route: "POST /v1/leads", Actor: anonymous,
			Req:  postForm("/v1/leads", "phone=${shB.phone.q}&redirect=http%3A%2F%2F127.0.0.1%3A${port}%40evil.example%2F"),
			Want: expect{Status: []int{303}, Check: safeRedirect}, Allow: allowance{PublicTouch: "shB"}},
		{Name: "open redirect: a javascript: URL",
			Class: api10, Route: "POST /v1/leads", Actor: anonymous,
			Req:  postForm("/v1/leads", "phone=${shB.phone.q}&redirect=javascript%3Aalert(document.cookie)"),
			Want: expect{Status: []int{303}, Check: safeRedirect}, Allow: allowance{PublicTouch: "shB"}},
		{Name: "mass assignment: a lead cannot set a tier",
			Class: api3, Route: "POST /v1/leads", Actor: anonymous,
			Req: post("/v1/leads", `{"phone":"+8613900007777","tier":"A"}`), Want: badRequest("tier")},
		{Name: "a lead body over 16 KB is refused",
			Class: api4, Route: "POST /v1/leads", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/leads", BodyFn: func(*world) []byte {
				return []byte(`{"phone":"+8613900007776","message":"` + strings.Repeat("a", 20<<10) + `"}`)
			}}, Want: expect{Status: []int{400, 413}, Problem: true}},
		{Name: "a lead nested 7,000 arrays deep (within its size limit) is a 400",
			Class: api4, Route: "POST /v1/leads", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/leads", BodyFn: deep("name", 7000)}, Want: expect{Status: []int{400}, Problem: true}},
		{Name: "a 5,000-character name is refused naming the field",
			Class: api4, Route: "POST /v1/leads", Actor: anonymous,
			Req: post("/v1/leads", `{"phone":"+8613900007775","name":"${long}"}`), Want: badRequest("name")},
		{Name: "a body over API Gateway's 10 MB limit is refused at the gateway",
			Class: api4, Route: "POST /v1/leads", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/leads", BodyFn: huge(11 << 20)}, Want: expect{Status: []int{413}, Gateway: true}},

		// ------------------------------------------------------------ links in messages
		{Name: "opening an unsubscribe link changes nothing (mail scanners follow links)",
			Class: api10, Route: "GET /v1/unsubscribe", Actor: anonymous, Req: get("/v1/unsubscribe?t=${bjA.token}"), Want: unchanged(200)},
		{Name: "a forged unsubscribe token is a 404",
			Class: api10, Route: "GET /v1/unsubscribe", Actor: anonymous, Req: get("/v1/unsubscribe?t=forgedforgedforgedforgedforged00"), Want: expect{Status: []int{404}}},
		{Name: "a 5,000-character unsubscribe token is refused",
			Class: api4, Route: "GET /v1/unsubscribe", Actor: anonymous, Req: get("/v1/unsubscribe?t=${long}")},
		{Name: "a forged unsubscribe token opts nobody out",
			Class: api10, Route: "POST /v1/unsubscribe", Actor: anonymous,
			Req: postForm("/v1/unsubscribe?t=forgedforgedforgedforgedforged00", "List-Unsubscribe=One-Click"), Want: expect{Status: []int{404}}},
		{Name: "a customer id is not an unsubscribe token",
			Class: api10, Route: "POST /v1/unsubscribe", Actor: anonymous,
			Req: postForm("/v1/unsubscribe?t=${bjA}", "List-Unsubscribe=One-Click"), Want: expect{Status: []int{404}}},
		{Name: "a 5,000-character unsubscribe token opts nobody out",
			Class: api4, Route: "POST /v1/unsubscribe", Actor: anonymous,
			Req: postForm("/v1/unsubscribe?t=${long}", "List-Unsubscribe=One-Click")},
		{Name: "an unsubscribe post without a token is refused naming t",
			Class: api10, Route: "POST /v1/unsubscribe", Actor: anonymous,
			Req: postForm("/v1/unsubscribe", "List-Unsubscribe=One-Click"), Want: badRequest("t")},

		{Name: "opening a survey link with an invented reference changes nothing",
			Class: api10, Route: "GET /v1/feedback", Actor: anonymous, Req: get("/v1/feedback?t=${bjA.token}&r=invented-survey-1"),
			Want: expect{Status: []int{200, 400, 404, 410}}},
		{Name: "a forged survey token is a 404",
			Class: api10, Route: "GET /v1/feedback", Actor: anonymous, Req: get("/v1/feedback?t=forgedforgedforgedforgedforged00&r=x"), Want: expect{Status: []int{404}}},
		{Name: "finding 6: a survey answer with an invented reference counts nothing",
			Class: api10, Route: "POST /v1/feedback", Actor: anonymous, Req: post("/v1/feedback?t=${bjA.token}&r=invented-survey-1", `{"csat":1,"nps":0}`),
			Want: expect{Status: []int{200, 400, 404, 409, 410, 422}, Check: refusedOrNotRecorded}},
		{Name: "finding 6: a survey answer for a survey not sent yet counts nothing",
			Class: api10, Route: "POST /v1/feedback", Actor: anonymous, Req: post("/v1/feedback?t=${bjA.token}&r=${bjA.survey}", `{"csat":1,"nps":0}`),
			Want: expect{Status: []int{200, 400, 404, 409, 410, 422}, Check: refusedOrNotRecorded}},
		{Name: "finding 6: one customer's token with another customer's survey counts nothing",
			Class: api10, Route: "POST /v1/feedback", Actor: anonymous, Req: post("/v1/feedback?t=${shA.token}&r=${bjA.survey}", `{"csat":1,"nps":0}`),
			Want: expect{Status: []int{200, 400, 404, 409, 410, 422}, Check: refusedOrNotRecorded}},
		{Name: "a forged survey token counts nothing",
			Class: api10, Route: "POST /v1/feedback", Actor: anonymous, Req: post("/v1/feedback?t=forgedforgedforgedforgedforged00&r=x", `{"csat":1}`),
			Want: expect{Status: []int{404}}},
		{Name: "a score out of range is refused",
			Class: api10, Route: "POST /v1/feedback", Actor: anonymous, Req: post("/v1/feedback?t=${bjA.token}&r=${bjA.survey}", `{"csat":99}`)},
		{Name: "a 5,000-character survey token is refused",
			Class: api4, Route: "POST /v1/feedback", Actor: anonymous, Req: post("/v1/feedback?t=${long}&r=x", `{"csat":5}`)},

		// ------------------------------------------------------------ inbound SMS webhook
		{Name: "an unsigned STOP reply opts nobody out",
			Class: api10, Route: "POST /v1/sms/inbound", Actor: anonymous, Req: post("/v1/sms/inbound", stopReply), Want: expect{Status: []int{401}}},
		{Name: "a STOP reply with a made-up signature opts nobody out",
			Class: api10, Route: "POST /v1/sms/inbound", Actor: anonymous,
			Req:  withHeader(post("/v1/sms/inbound", stopReply), "X-Tierflow-Timestamp", strconv.FormatInt(time.Now().Unix(), 10), "X-Tierflow-Signature", "sha256="+strings.Repeat("0", 64)),
			Want: expect{Status: []int{401}}},
		{Name: "a STOP reply signed with another key opts nobody out",
			Class: api10, Route: "POST /v1/sms/inbound", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/sms/inbound", Body: stopReply, Sign: signed("not-the-providers-key-0123456789", 0)}, Want: expect{Status: []int{401}}},
		{Name: "a correctly signed STOP reply an hour old (a replay) opts nobody out",
			Class: api10, Route: "POST /v1/sms/inbound", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/sms/inbound", Body: stopReply, Sign: signed(inboundKey, time.Hour)}, Want: expect{Status: []int{401}}},
		{Name: "a signature over another body does not carry over",
			Class: api10, Route: "POST /v1/sms/inbound", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/sms/inbound", Body: stopReply, Sign: func(body []byte) map[string]string {
				return signed(inboundKey, 0)([]byte(`{"messageId":"hostile-in-0","from":"+8613900009998","body":"hello"}`))
			}}, Want: expect{Status: []int{401}}},
		{Name: "control: a reply signed with the provider's key from a number nobody has is taken (so the 401s above are the signature's)",
			Class: api10, Route: "POST /v1/sms/inbound", Actor: anonymous,
			Req:  request{Method: "POST", Path: "/v1/sms/inbound", Body: `{"messageId":"hostile-in-9","from":"+8613900009997","body":"hello"}`, Sign: signed(inboundKey, 0)},
			Want: expect{Status: []int{200}}},
		{Name: "an inbound SMS body over its 8 KB limit is refused",
			Class: api4, Route: "POST /v1/sms/inbound", Actor: anonymous,
			Req: request{Method: "POST", Path: "/v1/sms/inbound", BodyFn: huge(64 << 10), Sign: signed(inboundKey, 0)}, Want: expect{Status: []int{400, 401, 413}}},

		{Name: "the public health check reveals no table, queue, account or endpoint",
			Class: api10, Route: "GET /v1/health", Actor: anonymous, Req: get("/v1/health"),
			Want: expect{Status: []int{200, 503}, NoLeak: []string{"tierflow-local", "000000000000", "127.0.0.1", "amazonaws.com"}}},
		{Name: "a forged admin token adds nothing to the health check",
			Class: api2, Route: "GET /v1/health", Actor: forged, Req: get("/v1/health"),
			Want: expect{Status: []int{200, 503}, NoLeak: []string{"tierflow-local", "000000000000", "127.0.0.1"}}},

		// ------------------------------------------------------------ routes being added (C4, web app)
		{Name: "a forged consent confirmation token shows no wording and no person",
			Class: api10, Route: "GET /v1/consent/confirm", Needs: "GET /v1/consent/confirm", Actor: anonymous,
			Req: get("/v1/consent/confirm?t=forgedforgedforgedforgedforged00"), Want: expect{NoLeak: []string{"${bjA}", "${bjA.phone}", "${bjA.email}"}}},
		{Name: "a 5,000-character consent confirmation token is refused",
			Class: api4, Route: "GET /v1/consent/confirm", Needs: "GET /v1/consent/confirm", Actor: anonymous,
			Req: get("/v1/consent/confirm?t=${long}")},
		{Name: "a forged consent confirmation token records no consent",
			Class: api10, Route: "POST /v1/consent/confirm", Needs: "POST /v1/consent/confirm", Actor: anonymous,
			Req: postForm("/v1/consent/confirm?t=forgedforgedforgedforgedforged00", "confirm=yes")},
		{Name: "an unsubscribe token is not a consent confirmation token",
			Class: api10, Route: "POST /v1/consent/confirm", Needs: "POST /v1/consent/confirm", Actor: anonymous,
			Req: postForm("/v1/consent/confirm?t=${bjA.token}", "confirm=yes")},
		{Name: "a consent confirmation without a token records nothing",
			Class: api10, Route: "POST /v1/consent/confirm", Needs: "POST /v1/consent/confirm", Actor: anonymous,
			Req: postForm("/v1/consent/confirm", "confirm=yes")},
		{Name: "the web app serves no file outside its bundle (encoded ../)",
			Class: api10, Route: "GET /app/{proxy+}", Needs: "GET /app/{proxy+}", Actor: anonymous,
			Req:  get("/app/..%2F..%2Ftemplate.yaml"),
			Want: expect{Status: []int{200, 400, 403, 404}, NoLeak: []string{"AWSTemplateFormatVersion", "module github.com/tierflow"}}},
		{Name: "the web app serves no file outside its bundle (dot segments)",
			Class: api10, Route: "GET /app/{proxy+}", Needs: "GET /app/{proxy+}", Actor: anonymous,
			Req:  get("/app/assets/%2e%2e/%2e%2e/%2e%2e/go.mod"),
			Want: expect{Status: []int{200, 400, 403, 404}, NoLeak: []string{"AWSTemplateFormatVersion", "module github.com/tierflow"}}},
		{Name: "the published contract holds no token, key or customer",
			Class: api2, Route: "GET /v1/openapi.json", Actor: forged, Req: get("/v1/openapi.json"),
			Want: expect{Status: []int{200}, NoLeak: []string{"${adminKey}", inboundKey, "${bjA}", "${bjA.phone}", "Hostile Bj A"}}},
		{Name: "the contract's page reflects nothing of the request into its markup",
			Class: api10, Route: "GET /docs", Actor: anonymous, Req: get("/docs?q=%3Cscript%3Ealert(1)%3C/script%3E"),
			Want: expect{Status: []int{200}, NoLeak: []string{"<script>alert(1)</script>", "${adminKey}", "${bjA}"}}},
		{Name: "the web app page holds no token or key",
			Class: api2, Route: "GET /app", Needs: "GET /app", Actor: forged, Req: get("/app"),
			Want: expect{Status: []int{200, 301, 302, 308}, NoLeak: []string{"${adminKey}", inboundKey}}},

		// ------------------------------------------------------------ the local admin door
		{Name: "finding 9: minting an admin token without the local key is refused",
			Class: door, Actor: anonymous, Req: post("/_local/token?role=admin&stores=*", ""),
			Want: expect{Status: []int{401, 403}, Check: noToken}},
		{Name: "finding 9: a cross-site text/plain post (no preflight) mints no token",
			Class: door, Actor: anonymous,
			Req: withHeader(request{Method: "POST", Path: "/_local/token?role=admin&stores=*", Body: "x", ContentType: "text/plain"},
				"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"),
			Want: expect{Status: []int{401, 403}, Check: noToken}},
		{Name: "finding 9: a wrong local key mints no token",
			Class: door, Actor: anonymous,
			Req:  withHeader(post("/_local/token?role=admin&stores=*", ""), "X-Tierflow-Local-Key", "not-the-key-0123456789abcdef0123456789"),
			Want: expect{Status: []int{401, 403}, Check: noToken}},
		{Name: "finding 9: the right key under another Host (DNS rebinding) mints no token",
			Class: door, Actor: anonymous,
			Req: withHost(withHeader(post("/_local/token?role=admin&stores=*", ""), "X-Tierflow-Local-Key", "${adminKey}"), "evil.example:${port}"),
			Want: expect{Status: []int{403}, Check: func(w *world, r response) error {
				if err := keyPresent(w, r); err != nil {
					return err
				}
				return noToken(w, r)
			}}},
		{Name: "control: the local CLI's key on the stack's own Host mints a token (so the refusals above are the key's and the Host's)",
			Class: door, Actor: anonymous,
			Req: withHeader(post("/_local/token?role=agent&stores=sh-01", ""), "X-Tierflow-Local-Key", "${adminKey}"),
			Want: expect{Status: []int{200}, Check: func(w *world, r response) error {
				if noToken(w, r) == nil {
					return fmt.Errorf("no token minted: %s", r.short())
				}
				return nil
			}}},
		{Name: "finding 9: invoking the staff API with forged claims without the local key is refused",
			Class: door, Actor: anonymous, Req: post("/_local/invoke/ApiFunction", forgedInvoke), Want: expect{Status: []int{401, 403}}},
		{Name: "finding 9: firing the nightly re-tier without the local key is refused",
			Class: door, Actor: anonymous, Req: post("/_local/schedules/RetierFunction/Nightly", ""), Want: expect{Status: []int{401, 403}}},
		{Name: "finding 9: the SMS outbox is not readable under another Host (DNS rebinding)",
			Class: door, Actor: anonymous, Req: withHost(get("/_local/sms.json"), "evil.example:${port}"), Want: expect{Status: []int{403}}},
		{Name: "finding 9: the status page is not readable under another Host",
			Class: door, Actor: anonymous, Req: withHost(get("/_local/status"), "evil.example:${port}"), Want: expect{Status: []int{403}}},
	}
}

// probes are the broken-authentication rows of every staff route of the template: no
// token, forged, expired, alg:none, wrong audience or issuer, algorithm confusion — all
// refused by the gateway (401) — and a token without the tierflow/staff scope, refused
// before the function runs (C5). Each carries a request that would change or reveal data
// if it got through.
func probes(routes []routeInfo) []row {
	var out []row
	for _, rt := range routes {
		if !rt.Staff {
			continue
		}
		req := probeRequest(rt.Method, rt.Path)
		for _, a := range brokenAuth {
			want := expect{Status: []int{401}, Gateway: true}
			name := fmt.Sprintf("%s is refused at the gateway on %s", a, rt.Key())
			if a == noScope {
				want.Status = []int{401, 403}
				name = fmt.Sprintf("finding 10: %s is refused before the function on %s", a, rt.Key())
			}
			out = append(out, row{Name: name, Class: api2, Route: rt.Key(), Actor: a, Req: req, Want: want})
		}
	}
	return out
}

// probeRequest fills a staff route's parameters with a bj-01 object and gives it a body
// that acts, so that a token that got through would show in the data.
func probeRequest(method, path string) request {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		switch {
		case strings.HasPrefix(path, "/v1/customers/{id}"):
			segs[i] = "${bjA}"
		case strings.HasPrefix(path, "/v1/tasks/{id}"):
			segs[i] = "${bjA.task}"
		case strings.HasPrefix(path, "/v1/retier/{id}"):
			segs[i] = "${run}"
		case strings.HasPrefix(path, "/v1/reports/{name}"):
			segs[i] = "tiers"
		default: // a parameter the suite does not know yet
			segs[i] = "${unknown}"
		}
	}
	p := strings.Join(segs, "/")
	if path == "/v1/audit" {
		p += "?customer=${bjA}"
	}
	bodies := map[string]string{
		"PATCH /v1/customers/{id}":       `{"name":"Mallory"}`,
		"POST /v1/customers/{id}/events": `{"id":"probe-1","type":"complaint"}`,
		"POST /v1/customers":             `{"store":"bj-01","ref":"PROBE-C1","name":"Mallory","phone":"+8613900000997"}`,
		"POST /v1/transactions":          `{"transactions":[{"externalId":"PROBE-1","source":"pos-hostile","store":"bj-01","customer":{"id":"${bjA}"},"at":"${recent}","amount":"9999.00","currency":"CNY"}]}`,
		"PUT /v1/policy":                 "${policy.next}",
		"POST /v1/policy/preview":        "${policy.next}",
		"POST /v1/tasks/{id}/complete":   `{"outcome":"reached"}`,
		"POST /v1/tasks/{id}/reassign":   `{"assignee":"hostile-attacker"}`,
		"POST /v1/retier":                `{}`,
	}
	r := request{Method: method, Path: p}
	if method == "POST" || method == "PUT" || method == "PATCH" {
		r.Body = bodies[method+" "+path]
		if r.Body == "" {
			r.Body = `{}`
		}
	}
	return r
}

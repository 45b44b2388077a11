package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/model"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
)

// TestMain runs the api package's tests against the real emulators (DynamoDB Local and
// the SQS emulator); an emulator that cannot start fails the run.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testApp(t *testing.T) *app {
	return testAppOn(t, storetest.Table(t), func() time.Time { return testNow })
}

// testAppOn wires the app as main does, over a test table, a local envelope key and a
// clock.
func testAppOn(t *testing.T, table *store.Table, now func() time.Time) *app {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	local, err := seal.NewLocal(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(slog.New(slog.NewTextHandler(io.Discard, nil)), aws.Config{}, table, storetest.Emulators(t).SQSClient(),
		&seal.Sealer{Wrapper: local}, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tableOf is the test table an app was wired over (tests set data up directly).
func tableOf(t *testing.T) *store.Table { return storetest.Table(t) }

// serve routes one request through the real router, with the claims API Gateway's JWT
// authorizer would put in the context.
func serve(t *testing.T, a *app, envs map[string]string, routeKey, path, body string, claims map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return serveReq(t, a, envs, routeKey, path, body, claims, nil)
}

// serveQuery is an admin GET with query parameters.
func serveQuery(t *testing.T, a *app, routeKey, path string, q map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return serveReq(t, a, map[string]string{}, routeKey, path, "", adminClaims, q)
}

func serveReq(t *testing.T, a *app, envs map[string]string, routeKey, path, body string, claims, query map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	r := httpx.NewRouter()
	r.Log = a.log
	routes(r, a, env.FromMap(envs))
	method, _, _ := strings.Cut(routeKey, " ")
	req := events.APIGatewayV2HTTPRequest{RouteKey: routeKey, RawPath: path, Body: body,
		Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: query}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = path
	req.RequestContext.RequestID = "req-" + storetest.Suffix()
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
	}
	resp, err := r.Serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

var adminClaims = map[string]string{"sub": "admin-1", auth.ClaimRole: "admin", auth.ClaimStores: "*"}

func receiveAll(t *testing.T, url string, want int) []model.Txn {
	t.Helper()
	return receiveUntil(t, url, want, 20*time.Second)
}

// receiveFor collects whatever arrives on the queue within d (for "nothing was queued").
func receiveFor(t *testing.T, url string, d time.Duration) []model.Txn {
	t.Helper()
	return receiveUntil(t, url, 1<<30, d)
}

func receiveUntil(t *testing.T, url string, want int, wait time.Duration) []model.Txn {
	t.Helper()
	c := storetest.Emulators(t).SQSClient()
	var got []model.Txn
	deadline := time.Now().Add(wait)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var txn model.Txn
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &txn); err != nil {
				t.Fatal(err)
			}
			got = append(got, txn)
		}
	}
	return got
}

func TestPostTransactionsRejectsOnlyTheBadItem(t *testing.T) {
	a := testApp(t)
	q := storetest.Queue(t, "ingest")
	sfx := storetest.Suffix()
	var items []string
	for i := 0; i < 25; i++ {
		amount := fmt.Sprintf(`"%d.50"`, 100+i)
		if i == 7 {
			amount = `12.5` // a float: refused
		}
		items = append(items, fmt.Sprintf(`{"externalId":"INV-%d","source":"pos","customer":{"ref":"POS-%s-%d"},"store":"sh-01",
			"at":"2025-02-28T10:00:00+08:00","amount":%s,"currency":"CNY","items":[{"sku":"S1","qty":1,"unitPrice":"100.50","effectDays":180}]}`, i, sfx, i, amount))
	}
	resp := serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions",
		`{"transactions":[`+strings.Join(items, ",")+`]}`, adminClaims)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	var body TxnResponse
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Accepted != 24 || body.Rejected != 1 || body.Results[7].Status != "rejected" {
		t.Fatalf("accepted %d rejected %d: %+v", body.Accepted, body.Rejected, body.Results[7])
	}
	if f := body.Results[7].Errors[0].Field; f != "/transactions/7/amount" {
		t.Fatalf("field at fault = %q", f)
	}
	got := receiveAll(t, q, 24)
	if len(got) != 24 {
		t.Fatalf("queued %d, want 24", len(got))
	}
	for _, txn := range got {
		if txn.ExternalID == "INV-7" {
			t.Fatal("the rejected transaction was queued")
		}
		if txn.ExternalID == "INV-3" && (txn.Amount != 10350 || txn.Items[0].EffectDays != 180) {
			t.Fatalf("INV-3 queued as %+v", txn)
		}
		if txn.Once != model.OnceStore || txn.CustomerID == "" {
			t.Fatalf("queued without its per-store once-key or its customer: %+v", txn)
		}
	}
}

func TestPostTransactionsAllInvalidIsProblemJSON(t *testing.T) {
	a := testApp(t)
	q := storetest.Queue(t, "ingest")
	resp := serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions",
		`{"externalId":"X#1","source":"pos","customer":{},"at":"yesterday","amount":"-3","currency":"cny"}`, adminClaims)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
		t.Fatalf("status %d %v: %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	for _, f := range []string{`"/externalId"`, `"/customer"`, `"/at"`, `"/amount"`, `"/currency"`, `"/store"`} {
		if !strings.Contains(resp.Body, f) {
			t.Errorf("problem does not name %s: %s", f, resp.Body)
		}
	}
}

func TestPostTransactionsNeedsAStaffRoleAndStore(t *testing.T) {
	a := testApp(t)
	q := storetest.Queue(t, "ingest")
	one := `{"externalId":"A1","source":"pos","customer":{"ref":"c1"},"store":"bj-01","at":"2025-02-28T10:00:00Z","amount":"10","currency":"CNY"}`
	resp := serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions", one,
		map[string]string{"sub": "agent-1", auth.ClaimRole: "agent", auth.ClaimStores: "*"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent: status %d", resp.StatusCode)
	}
	resp = serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions", one,
		map[string]string{"sub": "mgr-1", auth.ClaimRole: "clinician", auth.ClaimStores: "sh-01"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, `"/store"`) {
		t.Fatalf("other store: status %d %s", resp.StatusCode, resp.Body)
	}
}

func TestPostTransactionsResolvesCustomerByPhoneOnce(t *testing.T) {
	a := testApp(t)
	q := storetest.Queue(t, "ingest")
	phone := fmt.Sprintf("+86139%08d", time.Now().UnixNano()%100000000)
	var ids []string
	for i := 0; i < 2; i++ {
		body := fmt.Sprintf(`{"externalId":"P%d-%s","source":"pos","customer":{"phone":"%s"},"store":"sh-01","at":"2025-02-28T10:00:00+08:00","amount":"88.00","currency":"CNY"}`, i, storetest.Suffix(), phone)
		resp := serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions", body, adminClaims)
		var out TxnResponse
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
		}
		ids = append(ids, out.Results[0].CustomerID)
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("one phone became customers %q and %q", ids[0], ids[1])
	}
}

// txnRig posts transactions as staff of some stores and reads what became of them.
type txnRig struct {
	t     *testing.T
	a     *app
	table *store.Table
	queue string
}

func newTxnRig(t *testing.T) *txnRig {
	return &txnRig{t: t, a: testApp(t), table: tableOf(t), queue: storetest.Queue(t, "ingest")}
}

func staff(role, stores string) map[string]string {
	return map[string]string{"sub": role + "-" + stores, auth.ClaimRole: role, auth.ClaimStores: stores}
}

func (g *txnRig) post(claims map[string]string, body string) (int, TxnResponse, string) {
	g.t.Helper()
	resp := serve(g.t, g.a, map[string]string{"INGEST_QUEUE_URL": g.queue}, "POST /v1/transactions", "/v1/transactions", body, claims)
	var out TxnResponse
	if resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			g.t.Fatalf("%d %s: %v", resp.StatusCode, resp.Body, err)
		}
	}
	return resp.StatusCode, out, resp.Body
}

// customer creates a customer of st with a phone, as a lead of that store would.
func (g *txnRig) customer(st string) (id, phone string) {
	g.t.Helper()
	phone = fmt.Sprintf("+86137%08d", time.Now().UnixNano()%100000000)
	lead := customer.Lead{Phone: phone, Store: st, Submission: customer.Submission{At: testNow, Channel: "form"}}
	id, err := g.table.CreateByContact(context.Background(), lead, customer.DefaultGradePolicy().Grade(lead), testNow)
	if err != nil {
		g.t.Fatal(err)
	}
	return id, phone
}

// apply applies a transaction the way ingest does, as if it had been posted before.
func (g *txnRig) apply(txn model.Txn) {
	g.t.Helper()
	_, err := ingestInto(g.table, false).Apply(context.Background(), tiering.DefaultPolicy(), txn)
	if err != nil {
		g.t.Fatal(err)
	}
}

func (g *txnRig) profile(id string) string {
	g.t.Helper()
	v, found, err := g.table.CustomerView(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	if !found {
		return "<none>"
	}
	b, err := json.Marshal(v)
	if err != nil {
		g.t.Fatal(err)
	}
	return string(b)
}

func txnBody(ext, st, cust string, amount string) string {
	return fmt.Sprintf(`{"externalId":%q,"source":"pos","customer":%s,"store":%q,"at":"2025-02-28T10:00:00+08:00","amount":%q,"currency":"CNY"}`, ext, cust, st, amount)
}

// Finding 1: a clinician of one store can neither attach a purchase to another store's
// customer (by id or by phone) nor make up a customer id.
func TestATransactionCannotReachAnotherStoresCustomer(t *testing.T) {
	g := newTxnRig(t)
	bj, bjPhone := g.customer("bj-01")
	invented := "c-invented-" + storetest.Suffix()
	clinicianSH := staff("clinician", "sh-01")
	cases := []struct {
		name     string
		customer string
		field    string
		audited  bool
	}{
		{"another store's customer id", fmt.Sprintf(`{"id":%q}`, bj), "/customer/id", false},
		{"an unknown customer id", fmt.Sprintf(`{"id":%q}`, invented), "/customer/id", false},
		{"another store's customer's phone", fmt.Sprintf(`{"phone":%q}`, bjPhone), "/customer", true},
	}
	var reasons []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := g.profile(bj)
			code, out, body := g.post(clinicianSH, txnBody("INV-"+storetest.Suffix(), "sh-01", tc.customer, "9999.00"))
			if code != http.StatusUnprocessableEntity || strings.Contains(body, bj) || strings.Contains(body, "bj-01") {
				t.Fatalf("status %d %s: want 422 naming no customer or store", code, body)
			}
			var p httpx.Problem
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("not a problem: %s: %v", body, err)
			}
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || out.Accepted != 0 {
				t.Fatalf("errors %+v, want one at %s", p.Errors, tc.field)
			}
			if tc.field == "/customer/id" {
				reasons = append(reasons, p.Errors[0].Reason)
			}
			if after := g.profile(bj); after != before {
				t.Fatalf("the other store's customer changed:\n%s\n%s", before, after)
			}
			if g.profile(invented) != "<none>" {
				t.Fatal("an invented customer id created a profile")
			}
			log, _, err := g.table.AuditLog(context.Background(), bj, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range log {
				found = found || (e.Action == "transaction-refused" && e.Actor == clinicianSH["sub"] && e.Fields[0] == "phone")
			}
			if found != tc.audited {
				t.Fatalf("the attempt on the owner's audit log: %v, want %v (%+v)", found, tc.audited, log)
			}
		})
	}
	if len(reasons) == 2 && reasons[0] != reasons[1] {
		t.Fatalf("another store's id and an unknown id are refused differently: %q vs %q", reasons[0], reasons[1])
	}
	if got := receiveFor(t, g.queue, 2*time.Second); len(got) != 0 {
		t.Fatalf("refused transactions were queued: %+v", got)
	}
}

// Finding 2: the once-key is the store's: another store's identical source/externalId is
// its own transaction, and the same key with other content is a conflict naming the
// field, never a silent "accepted" that ingest drops.
func TestOnceKeysArePerStoreAndAKnownKeyIsADuplicateOrAConflict(t *testing.T) {
	g := newTxnRig(t)
	sh, _ := g.customer("sh-01")
	bj, _ := g.customer("bj-01")
	ext := "INV-" + storetest.Suffix()
	at := time.Date(2025, 2, 28, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	g.apply(model.Txn{Source: "pos", ExternalID: ext, CustomerID: sh, Store: "sh-01", At: at, Amount: 10000, Currency: "CNY", Once: model.OnceStore})

	code, out, body := g.post(staff("clinician", "bj-01"), txnBody(ext, "bj-01", fmt.Sprintf(`{"id":%q}`, bj), "100.00"))
	if code != http.StatusAccepted || out.Results[0].Status != "accepted" {
		t.Fatalf("bj-01's own invoice with sh-01's ids: %d %s", code, body)
	}
	code, out, body = g.post(staff("clinician", "sh-01"), txnBody(ext, "sh-01", fmt.Sprintf(`{"id":%q}`, sh), "100.00"))
	if code != http.StatusAccepted || out.Duplicates != 1 || out.Results[0].Status != "duplicate" || out.Results[0].CustomerID != sh {
		t.Fatalf("the same transaction again: %d %s", code, body)
	}
	code, _, body = g.post(staff("clinician", "sh-01"), txnBody(ext, "sh-01", fmt.Sprintf(`{"id":%q}`, sh), "250.00"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"/amount"`) || strings.Contains(body, `"field":"/customer"`) {
		t.Fatalf("the same key with another amount: %d %s", code, body)
	}
	// In a batch, the conflict is one item's answer; the new one is accepted.
	batch := `{"transactions":[` + txnBody(ext, "sh-01", fmt.Sprintf(`{"id":%q}`, sh), "250.00") + "," +
		txnBody("NEW-"+storetest.Suffix(), "sh-01", fmt.Sprintf(`{"id":%q}`, sh), "5.00") + `]}`
	code, out, body = g.post(staff("clinician", "sh-01"), batch)
	if code != http.StatusAccepted || out.Results[0].Status != "conflict" || out.Results[0].Errors[0].Field != "/transactions/0/amount" ||
		out.Results[1].Status != "accepted" || out.Conflicts != 1 || out.Accepted != 1 {
		t.Fatalf("a batch with a conflict: %d %s", code, body)
	}
	queued := receiveAll(t, g.queue, 2)
	if len(queued) != 2 {
		t.Fatalf("queued %d, want bj-01's invoice and the new one", len(queued))
	}
}

// A transaction applied before once-keys named the store is still known: posting it
// again is a duplicate, not a second purchase.
func TestATransactionAppliedUnderTheOldKeyIsADuplicate(t *testing.T) {
	g := newTxnRig(t)
	sh, _ := g.customer("sh-01")
	ext := "OLD-" + storetest.Suffix()
	at := time.Date(2025, 2, 28, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	g.apply(model.Txn{Source: "pos", ExternalID: ext, CustomerID: sh, Store: "sh-01", At: at, Amount: 10000, Currency: "CNY"}) // no Once: the old key
	code, out, body := g.post(staff("clinician", "sh-01"), txnBody(ext, "sh-01", fmt.Sprintf(`{"id":%q}`, sh), "100.00"))
	if code != http.StatusAccepted || out.Results[0].Status != "duplicate" {
		t.Fatalf("re-posting a transaction applied under the old key: %d %s", code, body)
	}
	// Another store's transaction with those ids is not blocked by it.
	bj, _ := g.customer("bj-01")
	code, out, body = g.post(staff("clinician", "bj-01"), txnBody(ext, "bj-01", fmt.Sprintf(`{"id":%q}`, bj), "100.00"))
	if code != http.StatusAccepted || out.Results[0].Status != "accepted" {
		t.Fatalf("another store's transaction with the same ids: %d %s", code, body)
	}
}

// The business's own customer number finds or creates that store's customer: the same
// number twice is one customer, the same number in another store another customer.
func TestACustomerNumberIsUniquePerStore(t *testing.T) {
	g := newTxnRig(t)
	ref := fmt.Sprintf(`{"ref":"LOYAL-%s"}`, storetest.Suffix())
	batch := `{"transactions":[` + txnBody("A-"+storetest.Suffix(), "sh-01", ref, "1.00") + "," +
		txnBody("B-"+storetest.Suffix(), "sh-01", ref, "2.00") + "," + txnBody("C-"+storetest.Suffix(), "bj-01", ref, "3.00") + `]}`
	code, out, body := g.post(adminClaims, batch)
	if code != http.StatusAccepted || out.Accepted != 3 {
		t.Fatalf("%d %s", code, body)
	}
	r := out.Results
	if r[0].CustomerID == "" || r[0].CustomerID != r[1].CustomerID || r[2].CustomerID == r[0].CustomerID {
		t.Fatalf("customers %q %q %q: want one per store", r[0].CustomerID, r[1].CustomerID, r[2].CustomerID)
	}
	v, _, err := g.table.CustomerView(context.Background(), r[2].CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Store != "bj-01" {
		t.Fatalf("the number's customer in bj-01 is of store %q", v.Store)
	}
}

// Finding 8: a year-1 time is refused when posted, not accepted and failed in ingest.
func TestATransactionTimeBefore2000IsRefused(t *testing.T) {
	g := newTxnRig(t)
	body := strings.Replace(txnBody("Y-"+storetest.Suffix(), "sh-01", `{"ref":"R1"}`, "1.00"), "2025-02-28T10:00:00+08:00", "0001-01-01T00:00:00Z", 1)
	code, _, resp := g.post(adminClaims, body)
	if code != http.StatusUnprocessableEntity || !strings.Contains(resp, `"field":"/at"`) {
		t.Fatalf("%d %s", code, resp)
	}
}

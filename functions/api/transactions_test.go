package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/tierflow/tierflow/shared/auth"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// TestMain runs the api package's tests against the real emulators (DynamoDB Local and
// the SQS emulator); an emulator that cannot start fails the run.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testApp(t *testing.T) *app {
	return &app{log: slog.New(slog.NewTextHandler(io.Discard, nil)), table: storetest.Table(t),
		sqs: storetest.Emulators(t).SQSClient(), now: func() time.Time { return testNow }, zone: time.UTC}
}

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
	e := env.FromMap(envs)
	for _, reg := range areas {
		reg(a, r, e)
	}
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

func receiveAll(t *testing.T, url string, want int) []store.Txn {
	t.Helper()
	c := storetest.Emulators(t).SQSClient()
	var got []store.Txn
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var txn store.Txn
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
	var items []string
	for i := 0; i < 25; i++ {
		amount := fmt.Sprintf(`"%d.50"`, 100+i)
		if i == 7 {
			amount = `12.5` // a float: refused
		}
		items = append(items, fmt.Sprintf(`{"externalId":"INV-%d","source":"pos","customer":{"id":"c-%d"},"store":"sh-01",
			"at":"2025-02-28T10:00:00+08:00","amount":%s,"currency":"CNY","items":[{"sku":"S1","qty":1,"unitPrice":"100.50","effectDays":180}]}`, i, i, amount))
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
	}
}

func TestPostTransactionsAllInvalidIsProblemJSON(t *testing.T) {
	a := testApp(t)
	q := storetest.Queue(t, "ingest")
	resp := serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions",
		`{"externalId":"X#1","source":"pos","customer":{},"at":"yesterday","amount":"-3","currency":"cny"}`, adminClaims)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
		t.Fatalf("status %d %v: %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	for _, f := range []string{`"/externalId"`, `"/customer"`, `"/at"`, `"/amount"`, `"/currency"`} {
		if !strings.Contains(resp.Body, f) {
			t.Errorf("problem does not name %s: %s", f, resp.Body)
		}
	}
}

func TestPostTransactionsNeedsAStaffRoleAndStore(t *testing.T) {
	a := testApp(t)
	q := storetest.Queue(t, "ingest")
	one := `{"externalId":"A1","source":"pos","customer":{"id":"c1"},"store":"bj-01","at":"2025-02-28T10:00:00Z","amount":"10","currency":"CNY"}`
	resp := serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions", one,
		map[string]string{"sub": "agent-1", auth.ClaimRole: "agent", auth.ClaimStores: "*"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent: status %d", resp.StatusCode)
	}
	resp = serve(t, a, map[string]string{"INGEST_QUEUE_URL": q}, "POST /v1/transactions", "/v1/transactions", one,
		map[string]string{"sub": "mgr-1", auth.ClaimRole: "clinician", auth.ClaimStores: "sh-01"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"/store"`) {
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

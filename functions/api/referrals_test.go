package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// fakeDesk is the staff desk's ledger read as the route sees it: the rows of the stores
// in the scope it is given (store.Staff keeps to the scope; its own test checks that).
type fakeDesk struct {
	rows []store.ReferralRow
	err  error
}

func (f *fakeDesk) Referrals(_ context.Context, sc access.Scope) ([]store.ReferralRow, error) {
	var out []store.ReferralRow
	for _, r := range f.rows {
		if sc.Has(r.Store) {
			out = append(out, r)
		}
	}
	return out, f.err
}

func TestReferralLedgerGroupsByReferrerWithinTheCallersStores(t *testing.T) {
	a := testApp(t)
	desk := &fakeDesk{rows: []store.ReferralRow{
		{Store: "bj-01", ReferrerID: "r9", RefereeID: "e9", Spend: 100000, Reward: 15000, RateBps: 1500},
		{Store: "sh-01", ReferrerID: "r1", RefereeID: "e1", Spend: 20000, Reward: 1000, RateBps: 500},
		{Store: "sh-01", ReferrerID: "r1", RefereeID: "e2", Spend: -5000, Reward: -250, RateBps: 500}, // a refund reversed its share
		{Store: "sh-01", ReferrerID: "r2", RefereeID: "e3", Spend: 300000, Reward: 30000, RateBps: 1000},
	}}
	h := &referralsAPI{app: a, desk: desk}
	call := func(api *referralsAPI, claims, q map[string]string) events.APIGatewayV2HTTPResponse {
		req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/referrals", RawPath: "/v1/referrals", QueryStringParameters: q}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
		resp, err := api.list(context.Background(), req)
		if err != nil {
			return httpx.ErrorResponse(err, "")
		}
		return resp
	}
	resp := call(h, staff("clinician", "sh-01"), nil)
	var out struct {
		Items []ReferralItem `json:"items"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sh-01's manager: %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "bj-01") || strings.Contains(resp.Body, "r9") {
		t.Fatalf("sh-01's manager sees bj-01's referrals: %s", resp.Body)
	}
	got := fmt.Sprint(out.Items)
	want := "[{r1 sh-01 [{e1 200.00 10.00} {e2 -50.00 -2.50}] 150.00 7.50 0.05} {r2 sh-01 [{e3 3000.00 300.00}] 3000.00 300.00 0.1}]"
	if got != want {
		t.Fatalf("items %s, want %s", got, want)
	}
	csv := call(h, adminClaims, map[string]string{"format": "csv", "store": "bj-01"})
	if csv.StatusCode != 200 || csv.Headers["Content-Type"] != "text/csv; charset=utf-8" ||
		csv.Body != "store,referrerId,refereeId,spend,reward,rate\nbj-01,r9,e9,1000.00,150.00,0.1500\n" {
		t.Fatalf("payout file: %d %v %q", csv.StatusCode, csv.Headers, csv.Body)
	}
	for name, tc := range map[string]struct {
		api    *referralsAPI
		claims map[string]string
		q      map[string]string
		want   int
	}{
		"an agent":                 {h, staff("agent", "sh-01"), nil, 403},
		"another store":            {h, staff("clinician", "sh-01"), map[string]string{"store": "bj-01"}, 404},
		"a format nobody reads":    {h, adminClaims, map[string]string{"format": "xlsx"}, 400},
		"an unknown parameter":     {h, adminClaims, map[string]string{"page": "2"}, 400},
		"a table without a ledger": {&referralsAPI{app: a, desk: &fakeDesk{err: store.ErrNoReferralLedger}}, adminClaims, nil, 404},
	} {
		if r := call(tc.api, tc.claims, tc.q); r.StatusCode != tc.want || r.Headers["Content-Type"] != "application/problem+json" {
			t.Fatalf("%s: %d %v %s", name, r.StatusCode, r.Headers, r.Body)
		}
	}
}

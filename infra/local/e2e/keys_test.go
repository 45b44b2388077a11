package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/seed"
)

// callKey is call with an API key instead of a token.
func callKey(t *testing.T, method, path, key string, body any) response {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, st.URL+path, strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
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

// A POS of store sh-01 posts its sales with an API key, each batch twice (a retry) and
// some sales again in later batches (duplicates): every customer's spend is the sum of
// the distinct sales. A sale for bj-01 is refused, and a revoked key is refused.
// TIERFLOW_POS_SALES raises the number of sales (issue #14 asks for 10,000).
func TestAPOSWithAnAPIKeyPostsItsSalesOnce(t *testing.T) {
	sales := 400
	if v, err := strconv.Atoi(os.Getenv("TIERFLOW_POS_SALES")); err == nil && v > 0 {
		sales = v
	}
	ctx := context.Background()
	adminSH := token(t, "admin", "sh-01")
	key, err := seed.CreateAPIKey(ctx, st.URL, adminSH, "e2e till", []string{"sh-01"}, []string{"transactions:write", "customers:read"}, 6000)
	if err != nil {
		t.Fatal(err)
	}
	phones := make([]string, 20)
	for i := range phones {
		_, phones[i] = uniqueMobile()
	}
	want := map[string]int64{} // phone → cents
	count := map[string]int{}
	var all []map[string]any
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	at := time.Now().Add(-2 * time.Hour)
	for i := range sales {
		phone := phones[rand.IntN(len(phones))]
		cents := int64(100 + rand.IntN(500000))
		want[phone] += cents
		count[phone]++
		all = append(all, map[string]any{"externalId": fmt.Sprintf("POS-%s-%d", run, i), "source": "e2e-till",
			"customer": map[string]string{"phone": phone}, "store": "sh-01", "at": at.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			"amount": fmt.Sprintf("%d.%02d", cents/100, cents%100), "currency": "CNY"})
	}
	const batch = 100
	for from := 0; from < len(all); from += batch {
		items := all[from:min(from+batch, len(all))]
		if from > 0 { // a few of the previous batch again: duplicates
			items = append(append([]map[string]any{}, items...), all[from-3:from]...)
		}
		for attempt := range 2 { // the till retries every batch once
			r := callKey(t, "POST", "/v1/machine/transactions", key.Secret, map[string]any{"transactions": items})
			if r.Status != http.StatusAccepted {
				t.Fatalf("batch at %d, attempt %d: %d %s", from, attempt+1, r.Status, r.Body)
			}
		}
	}
	// Another store's sale is refused naming /store; nothing is queued for it.
	bj := callKey(t, "POST", "/v1/machine/transactions", key.Secret, map[string]any{"externalId": "POS-BJ-" + run, "source": "e2e-till",
		"customer": map[string]string{"phone": phones[0]}, "store": "bj-01", "at": at.Format(time.RFC3339), "amount": "1.00", "currency": "CNY"})
	if bj.Status != http.StatusUnprocessableEntity || !strings.Contains(string(bj.Body), "/store") {
		t.Fatalf("a sh-01 key posting for bj-01: %d %s", bj.Status, bj.Body)
	}

	admin := token(t, "admin", "*")
	for phone, cents := range want {
		id := customerOf(t, phone)
		var c struct {
			Aggregates struct {
				Purchases int `json:"purchases"`
				Months    []struct {
					Net int64 `json:"net"`
				} `json:"months"`
			} `json:"aggregates"`
		}
		eventually(t, "the till's sales are applied", 5*time.Minute, func() bool {
			r := call(t, "GET", "/v1/customers/"+id, admin, nil)
			return r.Status == 200 && json.Unmarshal(r.Body, &c) == nil && c.Aggregates.Purchases >= count[phone]
		})
		var net int64
		for _, m := range c.Aggregates.Months {
			net += m.Net
		}
		if c.Aggregates.Purchases != count[phone] || net != cents {
			t.Errorf("customer %s: %d purchases, spend %d; the till sold %d for %d", id, c.Aggregates.Purchases, net, count[phone], cents)
		}
	}

	// A key revoked before it was ever used is refused at once (a used one within the
	// authorizer cache's 60 s: gateway tests).
	spare, err := seed.CreateAPIKey(ctx, st.URL, adminSH, "e2e spare", []string{"sh-01"}, []string{"transactions:write"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, "DELETE", "/v1/api-keys/"+spare.ID, adminSH, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := callKey(t, "POST", "/v1/machine/transactions", spare.Secret, all[0]); r.Status != http.StatusForbidden {
		t.Fatalf("a revoked key: %d %s", r.Status, r.Body)
	}
}

// A lead through the public door is on the local bus as lead.created, naming the customer.
func TestALeadIsPublishedOnTheLocalBus(t *testing.T) {
	nat, e164 := uniqueMobile()
	if r := call(t, "POST", "/v1/leads", "", map[string]any{"name": "Bus Person", "phone": nat, "store": "sh-01"}); r.Status != http.StatusAccepted {
		t.Fatalf("lead: %d %s", r.Status, r.Body)
	}
	id := customerOf(t, e164)
	r := call(t, "GET", "/_local/events?type=lead.created", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"customerId":"`+id+`"`) || strings.Contains(string(r.Body), "Bus Person") {
		t.Fatalf("GET /_local/events: %d %.500s; want lead.created naming %s and no name", r.Status, r.Body, id)
	}
}

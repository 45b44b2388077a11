// Package seed fills a freshly started local stack with the synthetic demo data set,
// through the stack's own HTTP API: leads through the public form endpoint, customers'
// histories through POST /v1/transactions by the shop's customer number (and so through
// the ingest queue), profiles completed with PATCH (name, birthday, phone, e-mail), and a re-tier run at the end. Nothing is written to the table
// directly, so the demo exercises exactly the paths a business uses.
package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/shared/dataset"
)

// Options says what to seed and where.
type Options struct {
	URL       string // the stack's API, http://127.0.0.1:3000
	Token     string // an admin token for the staff routes
	Customers int    // size of the synthetic base (default 200)
	Seed      uint64
	Now       time.Time
	Stores    []string
	// IngestQueueURL lets Run wait until every transaction has been applied before it
	// starts the re-tier run.
	IngestQueueURL string
	SQS            *sqs.Client
	Progress       io.Writer // nil: silent
	HTTP           *http.Client
}

// txnIn is one transaction as POST /v1/transactions takes it.
type txnIn struct {
	ExternalID string   `json:"externalId"`
	Source     string   `json:"source"`
	Type       string   `json:"type"`
	Customer   contact  `json:"customer"`
	Store      string   `json:"store"`
	At         string   `json:"at"`
	Amount     string   `json:"amount"`
	Currency   string   `json:"currency"`
	Items      []itemIn `json:"items,omitempty"`
}

// contact names the customer: here by the shop's own customer number (ref), as a POS
// does; the front desk completes phone and e-mail afterwards.
type contact struct {
	Ref string `json:"ref"`
}

type itemIn struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	Qty        int    `json:"qty"`
	UnitPrice  string `json:"unitPrice"`
	EffectDays int    `json:"effectDays,omitempty"`
}

// Result counts what was seeded.
type Result struct {
	Leads        int    `json:"leads"`
	Customers    int    `json:"customers"`
	Transactions int    `json:"transactions"`
	RunID        string `json:"runId"`
	RunStatus    string `json:"runStatus"`
}

// DefaultStores are the demo's branches; tokens minted for the demo use them.
var DefaultStores = []string{"sh-01", "bj-01"}

// Run seeds the stack and returns when the re-tier run has finished (or ctx ends).
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Customers == 0 {
		o.Customers = 200
	}
	if len(o.Stores) == 0 {
		o.Stores = DefaultStores
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	syn := dataset.Synth(dataset.SynthConfig{Seed: o.Seed, Customers: o.Customers, From: o.Now.AddDate(-2, 0, 0), To: o.Now, Stores: o.Stores})
	var res Result
	c := client{o: o}

	// Leads come in through the public form endpoint, as a marketing page posts them; the
	// per-IP rate limit of that route is the reason only the leads themselves go this way.
	ids := map[string]string{} // synthetic id → tierflow id
	for _, cu := range syn.Customers {
		if cu.Segment != dataset.SegmentLead {
			continue
		}
		lead := map[string]any{
			"name": cu.Name, "phone": cu.Phone, "email": cu.Email, "store": cu.Store,
			"birthday": cu.Birthday.Format("2006-01-02"), "time_zone": cu.TimeZone,
			"interest": "HA-FILLER", "message": "想尽快了解玻尿酸项目", "utm_source": "demo",
			"consent_service": true, "consent_marketing_email": true, "consent_text_version": "v1",
		}
		if err := c.do(ctx, http.MethodPost, "/v1/leads", "", lead, nil); err != nil {
			return res, fmt.Errorf("seed lead: %w", err)
		}
		// The public answer names nobody; staff find the person by the contact they gave.
		id, err := c.find(ctx, cu.Phone)
		if err != nil {
			return res, fmt.Errorf("seed lead: %w", err)
		}
		ids[cu.ID] = id
		res.Leads++
	}
	c.progress("seeded %d leads through POST /v1/leads\n", res.Leads)

	// Purchase histories go through the same API a POS uses, in batches of 500.
	byCustomer := map[string]dataset.Customer{}
	for _, cu := range syn.Customers {
		byCustomer[cu.ID] = cu
	}
	var batch []txnIn
	var owners []string // synthetic customer id per batch entry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var out struct {
			Accepted int `json:"accepted"`
			Results  []struct {
				Index      int    `json:"index"`
				CustomerID string `json:"customerId"`
			} `json:"results"`
		}
		if err := c.do(ctx, http.MethodPost, "/v1/transactions", o.Token, map[string]any{"transactions": batch}, &out); err != nil {
			return fmt.Errorf("seed transactions: %w", err)
		}
		for _, r := range out.Results {
			if r.Index >= 0 && r.Index < len(owners) && r.CustomerID != "" {
				ids[owners[r.Index]] = r.CustomerID
			}
		}
		res.Transactions += out.Accepted
		batch, owners = batch[:0], owners[:0]
		return nil
	}
	for _, t := range syn.Txns {
		cu := byCustomer[t.CustomerID]
		in := txnIn{
			ExternalID: t.ExternalID, Source: "demo-pos", Type: "purchase",
			Customer: contact{Ref: cu.ID},
			Store:    t.Store, At: t.At.Format(time.RFC3339), Amount: t.Amount.String(), Currency: "CNY",
		}
		if t.Refund {
			in.Type = "refund"
		} else {
			for _, it := range t.Items {
				in.Items = append(in.Items, itemIn{SKU: it.SKU, Name: it.Name, Qty: it.Qty, UnitPrice: it.UnitPrice.String(), EffectDays: it.EffectDays})
			}
		}
		batch, owners = append(batch, in), append(owners, t.CustomerID)
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	c.progress("posted %d transactions through POST /v1/transactions\n", res.Transactions)

	// Transactions are applied asynchronously by the ingest function; profiles are
	// completed and tiers computed once it has applied them all.
	if err := waitDrained(ctx, o); err != nil {
		return res, err
	}
	// A POS knows only its own customer number; the front desk completes the profile.
	for _, cu := range syn.Customers {
		id, ok := ids[cu.ID]
		if !ok || cu.Segment == dataset.SegmentLead {
			continue
		}
		patch := map[string]any{"name": cu.Name, "birthday": cu.Birthday.Format("2006-01-02"), "timeZone": cu.TimeZone}
		if cu.Phone != "" {
			patch["phone"] = cu.Phone
		}
		if cu.Email != "" {
			patch["email"] = cu.Email
		}
		err := c.do(ctx, http.MethodPatch, "/v1/customers/"+id, o.Token, patch, nil)
		if errors.Is(err, errConflict) { // the profile moved meanwhile: a client reloads and retries
			err = c.do(ctx, http.MethodPatch, "/v1/customers/"+id, o.Token, patch, nil)
		}
		if err != nil {
			return res, fmt.Errorf("seed profile %s: %w", id, err)
		}
	}
	res.Customers = len(ids)

	var run struct {
		RunID string `json:"runId"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/retier", o.Token, map[string]any{}, &run); err != nil {
		return res, fmt.Errorf("start re-tier: %w", err)
	}
	res.RunID = run.RunID
	status, err := waitRun(ctx, c, run.RunID)
	res.RunStatus = status
	c.progress("re-tier run %s: %s\n", run.RunID, status)
	return res, err
}

// waitDrained polls the ingest queue until nothing is waiting or in flight.
func waitDrained(ctx context.Context, o Options) error {
	if o.SQS == nil || o.IngestQueueURL == "" {
		return nil
	}
	for {
		out, err := o.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(o.IngestQueueURL),
			AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			},
		})
		if err != nil {
			return fmt.Errorf("ingest queue depth: %w", err)
		}
		waiting, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
		inflight, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
		if waiting+inflight == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ingest queue still holds %d messages: %w", waiting+inflight, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitRun(ctx context.Context, c client, id string) (string, error) {
	for {
		var run struct {
			Status string `json:"status"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/retier/"+id, c.o.Token, nil, &run); err != nil && !errors.Is(err, errNotFound) {
			return "", err
		}
		switch run.Status {
		case "done", "failed":
			return run.Status, nil
		}
		select {
		case <-ctx.Done():
			return run.Status, fmt.Errorf("re-tier run %s not done: %w", id, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
)

type client struct{ o Options }

// find returns the id of the customer a phone or e-mail belongs to, as staff look it up
// (GET /v1/customers?q=).
func (c client) find(ctx context.Context, contact string) (string, error) {
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/customers?q="+url.QueryEscape(contact), c.o.Token, nil, &page); err != nil {
		return "", fmt.Errorf("find customer: %w", err)
	}
	if len(page.Items) != 1 || page.Items[0].ID == "" {
		return "", fmt.Errorf("find customer: %d matches for a contact just posted", len(page.Items))
	}
	return page.Items[0].ID, nil
}

func (c client) progress(format string, a ...any) {
	if c.o.Progress != nil {
		fmt.Fprintf(c.o.Progress, format, a...)
	}
}

func (c client) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.o.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode == http.StatusNotFound {
		return errNotFound
	}
	if resp.StatusCode == http.StatusConflict {
		return fmt.Errorf("%s %s: %w: %s", method, path, errConflict, bytes.TrimSpace(b))
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

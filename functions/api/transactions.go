package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/shopspring/decimal"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

// MaxTransactionsPerRequest bounds one POST: 500 purchases fit well inside API Gateway's
// payload and Lambda's time, and 50 SendMessageBatch calls.
const MaxTransactionsPerRequest = 500

const transactionsBodyLimit = 4 << 20

func init() {
	areas = append(areas, func(a *app, r *httpx.Router, e *env.Reader) {
		h := &transactionsAPI{app: a, queueURL: e.Required("INGEST_QUEUE_URL"),
			phoneRegion: e.Optional("DEFAULT_PHONE_REGION", "CN"), sender: a.sqs, contacts: a.table}
		r.Handle("POST /v1/transactions", h.post)
	})
}

// sqsSender is the one SQS call the transactions route makes.
type sqsSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// contactFinder resolves a customer given by phone or email: found read-only first (no
// touch is written for a known customer), created like a lead otherwise.
type contactFinder interface {
	CustomerByContact(ctx context.Context, phoneE164, email string) (string, bool, error)
	ResolveOrCreate(ctx context.Context, lead customer.Lead, g customer.Grading, now time.Time) (customer.Profile, bool, error)
}

type transactionsAPI struct {
	*app
	queueURL    string
	phoneRegion string
	sender      sqsSender
	contacts    contactFinder
}

// txnIn is one transaction as a POS or billing system posts it.
type txnIn struct {
	ExternalID string          `json:"externalId"`
	Source     string          `json:"source"`
	Type       string          `json:"type"` // purchase (default) or refund
	Customer   customerRef     `json:"customer"`
	Store      string          `json:"store"`
	At         string          `json:"at"`
	Amount     json.RawMessage `json:"amount"`
	Currency   string          `json:"currency"`
	RefundOf   string          `json:"refundOf"`
	Items      []itemIn        `json:"items"`
}

type customerRef struct {
	ID    string `json:"id"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

type itemIn struct {
	SKU        string          `json:"sku"`
	Name       string          `json:"name"`
	Qty        int             `json:"qty"`
	UnitPrice  json.RawMessage `json:"unitPrice"`
	EffectDays int             `json:"effectDays"`
}

// TxnResult is the outcome of one posted transaction.
type TxnResult struct {
	Index      int                `json:"index"`
	ExternalID string             `json:"externalId,omitempty"`
	Status     string             `json:"status"` // accepted | rejected | failed
	CustomerID string             `json:"customerId,omitempty"`
	Errors     []httpx.FieldError `json:"errors,omitempty"`
}

// TxnResponse is the 202 body: every item, in the order posted.
type TxnResponse struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Failed   int         `json:"failed"`
	Results  []TxnResult `json:"results"`
}

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,64}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// post accepts one transaction or {"transactions":[...]}: valid ones are queued for
// ingest, invalid ones are listed with the fields at fault. Who may post: admins and
// clinician/managers (医师级, who run a store), each only for stores they can see;
// front-line agents may not, as spend moves tiers and money.
func (h *transactionsAPI) post(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := p.Require(model.RoleAdmin, model.RoleClinician); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	raws, prefix, err := splitBatch(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := h.now()
	results := make([]TxnResult, len(raws))
	var valid []store.Txn
	var validIdx []int
	for i, raw := range raws {
		field := func(f string) string {
			if prefix == "" {
				return f
			}
			return prefix + "/" + strconv.Itoa(i) + f
		}
		txn, errs := h.validate(ctx, p, raw, now, field)
		results[i] = TxnResult{Index: i, ExternalID: txn.ExternalID, CustomerID: txn.CustomerID}
		if len(errs) > 0 {
			results[i].Status, results[i].Errors = "rejected", errs
			continue
		}
		valid = append(valid, txn)
		validIdx = append(validIdx, i)
	}
	if len(valid) == 0 {
		var all []httpx.FieldError
		for _, r := range results {
			all = append(all, r.Errors...)
		}
		return events.APIGatewayV2HTTPResponse{}, httpx.Invalid(all...)
	}
	sent := h.enqueue(ctx, valid)
	var resp TxnResponse
	for k, i := range validIdx {
		if sent[k] {
			results[i].Status = "accepted"
		} else {
			results[i].Status = "failed"
			results[i].Errors = []httpx.FieldError{{Field: "", Reason: "could not be queued; post it again (it will count once)"}}
		}
	}
	for _, r := range results {
		switch r.Status {
		case "accepted":
			resp.Accepted++
		case "rejected":
			resp.Rejected++
		default:
			resp.Failed++
		}
	}
	resp.Results = results
	h.log.InfoContext(ctx, "transactions posted", "accepted", resp.Accepted, "rejected", resp.Rejected, "failed", resp.Failed)
	return httpx.JSON(http.StatusAccepted, resp), nil
}

// splitBatch reads the body as a batch ({"transactions":[...]}) or a single transaction.
// prefix is the JSON pointer of the list ("/transactions"), empty for a single one.
func splitBatch(req events.APIGatewayV2HTTPRequest) ([]json.RawMessage, string, error) {
	mt, err := httpx.MediaType(req)
	if err != nil {
		return nil, "", err
	}
	if mt != "" && mt != httpx.MediaJSON {
		return nil, "", httpx.UnsupportedMediaType(httpx.MediaJSON)
	}
	body, err := httpx.Body(req, transactionsBodyLimit)
	if err != nil {
		return nil, "", err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, "", httpx.BadRequest("", "the body must be a JSON object: one transaction or {\"transactions\": [...]}")
	}
	if _, ok := probe["transactions"]; !ok {
		return []json.RawMessage{body}, "", nil
	}
	var batch struct {
		Transactions []json.RawMessage `json:"transactions"`
	}
	if err := httpx.UnmarshalStrict(body, &batch); err != nil {
		return nil, "", err
	}
	switch n := len(batch.Transactions); {
	case n == 0:
		return nil, "", httpx.BadRequest("/transactions", "must hold at least one transaction")
	case n > MaxTransactionsPerRequest:
		return nil, "", httpx.BadRequest("/transactions", fmt.Sprintf("at most %d per request, got %d", MaxTransactionsPerRequest, n))
	}
	return batch.Transactions, "/transactions", nil
}

// validate checks one transaction and returns it ready for the queue, or every field at
// fault. The customer given by phone or email is resolved to an id here.
func (h *transactionsAPI) validate(ctx context.Context, p auth.Principal, raw json.RawMessage, now time.Time, field func(string) string) (store.Txn, []httpx.FieldError) {
	var errs []httpx.FieldError
	bad := func(f, reason string) { errs = append(errs, httpx.FieldError{Field: field(f), Reason: reason}) }
	var in txnIn
	if err := httpx.UnmarshalStrict(raw, &in); err != nil {
		if he, ok := err.(*httpx.Error); ok && len(he.Fields) > 0 {
			for _, f := range he.Fields {
				bad("/"+strings.ReplaceAll(strings.TrimPrefix(f.Field, "/"), ".", "/"), f.Reason)
			}
		} else {
			bad("", err.Error())
		}
		return store.Txn{}, errs
	}
	txn := store.Txn{Source: strings.TrimSpace(in.Source), ExternalID: strings.TrimSpace(in.ExternalID),
		Store: strings.TrimSpace(in.Store), Currency: in.Currency, RefundOf: strings.TrimSpace(in.RefundOf)}
	checkKeyPart := func(f, v string, required bool) {
		switch {
		case v == "" && required:
			bad(f, "required")
		case len(v) > 100:
			bad(f, "at most 100 characters")
		case strings.ContainsAny(v, "#\n\r\t"):
			bad(f, "must not contain '#' or control characters")
		}
	}
	checkKeyPart("/externalId", txn.ExternalID, true)
	checkKeyPart("/source", txn.Source, true)
	checkKeyPart("/refundOf", txn.RefundOf, false)
	checkKeyPart("/store", txn.Store, false)

	switch in.Type {
	case "", "purchase":
		if txn.RefundOf != "" {
			bad("/refundOf", "only a refund refers to a purchase")
		}
	case "refund":
		txn.Refund = true
	default:
		bad("/type", `must be "purchase" or "refund"`)
	}
	if !p.CanSeeStore(txn.Store) {
		if txn.Store == "" {
			bad("/store", "required: your token covers only some stores")
		} else {
			bad("/store", "not one of the stores your token covers")
		}
	}
	if at, err := time.Parse(time.RFC3339, in.At); err != nil {
		bad("/at", "required: a time with its zone offset, like 2025-03-01T14:30:00+08:00")
	} else if at.After(now.Add(24 * time.Hour)) {
		bad("/at", "is more than a day in the future")
	} else {
		txn.At = at
	}
	if amt, reason := parseMoney(in.Amount, false); reason != "" {
		bad("/amount", reason)
	} else {
		txn.Amount = amt
	}
	if !currencyPattern.MatchString(in.Currency) {
		bad("/currency", "required: an ISO 4217 code such as CNY")
	}
	for i, it := range in.Items {
		f := fmt.Sprintf("/items/%d", i)
		out := store.TxnItem{SKU: strings.TrimSpace(it.SKU), Name: strings.TrimSpace(it.Name), Qty: it.Qty, EffectDays: it.EffectDays}
		if out.SKU == "" || len(out.SKU) > 64 {
			bad(f+"/sku", "required, at most 64 characters")
		}
		if len(out.Name) > 200 {
			bad(f+"/name", "at most 200 characters")
		}
		if it.Qty < 1 || it.Qty > 100000 {
			bad(f+"/qty", "must be between 1 and 100000")
		}
		if it.EffectDays < 0 || it.EffectDays > 3650 {
			bad(f+"/effectDays", "must be between 0 and 3650 days")
		}
		if up, reason := parseMoney(it.UnitPrice, true); reason != "" {
			bad(f+"/unitPrice", reason)
		} else {
			out.UnitPrice = up
		}
		txn.Items = append(txn.Items, out)
	}
	if len(in.Items) > 200 {
		bad("/items", "at most 200 lines")
	}
	if strings.TrimSpace(in.Customer.ID) == "" && in.Customer.Phone == "" && in.Customer.Email == "" {
		bad("/customer", "give the customer's id, phone or email")
	}
	if len(errs) > 0 {
		return txn, errs // never create a customer for a transaction that will be refused
	}
	txn.CustomerID = h.resolveCustomer(ctx, in.Customer, txn.Store, now, bad)
	return txn, errs
}

// resolveCustomer returns the customer's id: given, or found by phone or email.
func (h *transactionsAPI) resolveCustomer(ctx context.Context, c customerRef, storeID string, now time.Time, bad func(string, string)) string {
	if id := strings.TrimSpace(c.ID); id != "" {
		if !idPattern.MatchString(id) {
			bad("/customer/id", "1 to 64 letters, digits or . _ : -")
			return ""
		}
		return id
	}
	if c.Phone == "" && c.Email == "" {
		bad("/customer", "give the customer's id, phone or email")
		return ""
	}
	var phone, email string
	var err error
	if c.Phone != "" {
		if phone, err = customer.NormalizePhone(c.Phone, h.phoneRegion); err != nil {
			bad("/customer/phone", "not a phone number we can read")
			return ""
		}
	}
	if c.Email != "" {
		if email, err = customer.NormalizeEmail(c.Email); err != nil {
			bad("/customer/email", "not an email address")
			return ""
		}
	}
	id, found, err := h.contacts.CustomerByContact(ctx, phone, email)
	if err == nil && !found {
		lead := customer.Lead{Phone: phone, Email: email, Store: storeID,
			Submission: customer.Submission{At: now, Channel: "api"}}
		var prof customer.Profile
		prof, _, err = h.contacts.ResolveOrCreate(ctx, lead, customer.DefaultGradePolicy().Grade(lead), now)
		id = prof.ID
	}
	if err != nil {
		h.log.ErrorContext(ctx, "transactions: resolve customer", "err", err)
		bad("/customer", "could not be looked up just now; post it again")
		return ""
	}
	return id
}

// parseMoney reads a decimal string in major units with at most two places. A JSON
// number is refused: money never travels as a float.
func parseMoney(raw json.RawMessage, zeroOK bool) (model.Money, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return 0, `required: a decimal string such as "1234.50" (not a JSON number)`
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, "not a string"
	}
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	if err != nil {
		return 0, "not a decimal number"
	}
	switch {
	case !d.Equal(d.Round(2)):
		return 0, "at most two decimal places"
	case d.IsNegative() || (!zeroOK && d.IsZero()):
		return 0, "must be more than 0 (a refund is type \"refund\" with a positive amount)"
	case d.GreaterThan(decimal.New(1, 12)):
		return 0, "is implausibly large"
	}
	return model.Money(d.Shift(2).IntPart()), ""
}

// enqueue sends valid transactions to the ingest queue, ten per SendMessageBatch, a few
// calls at a time; sent[i] says whether txns[i] is on the queue.
func (h *transactionsAPI) enqueue(ctx context.Context, txns []store.Txn) []bool {
	sent := make([]bool, len(txns))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for start := 0; start < len(txns); start += 10 {
		end := min(start+10, len(txns))
		wg.Add(1)
		sem <- struct{}{}
		go func(start, end int) {
			defer wg.Done()
			defer func() { <-sem }()
			h.sendBatch(ctx, txns, start, end, sent)
		}(start, end)
	}
	wg.Wait()
	return sent
}

func (h *transactionsAPI) sendBatch(ctx context.Context, txns []store.Txn, start, end int, sent []bool) {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, 0, end-start)
	for i := start; i < end; i++ {
		body, err := json.Marshal(txns[i])
		if err != nil {
			continue
		}
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))})
	}
	out, err := h.sender.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(h.queueURL), Entries: entries})
	if err != nil {
		h.log.ErrorContext(ctx, "transactions: send batch", "err", err, "size", len(entries))
		return
	}
	for _, ok := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i >= start && i < end {
			sent[i] = true
		}
	}
	for _, f := range out.Failed {
		h.log.WarnContext(ctx, "transactions: message not queued", "code", aws.ToString(f.Code))
	}
}

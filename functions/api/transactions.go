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
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/shopspring/decimal"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/queue"
)

// MaxTransactionsPerRequest bounds one POST: 500 purchases fit well inside API Gateway's
// payload and Lambda's time, and 50 SendMessageBatch calls.
const MaxTransactionsPerRequest = 500

const transactionsBodyLimit = 4 << 20

func newTransactionsAPI(a *app, e *env.Reader) *transactionsAPI {
	return &transactionsAPI{app: a, desk: a.desk, ingest: queue.New(a.sqs, e.Required("INGEST_QUEUE_URL")),
		phoneRegion: e.Optional("DEFAULT_PHONE_REGION", "CN")}
}

// txnDesk reads the once-markers of transactions of stores the caller covers
// (store.Staff).
type txnDesk interface {
	TxnMarkers(ctx context.Context, sc access.Scope, keys []model.TxnKey) (map[model.TxnKey]model.TxnMarker, error)
}

type transactionsAPI struct {
	*app
	desk        txnDesk
	ingest      *queue.Queue
	phoneRegion string
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

// customerRef names the customer one way: id (an existing customer of the store), ref
// (the business's own customer number in that store: found or created), or phone and/or
// e-mail (found in the store, or created in it). See contract C2.
type customerRef struct {
	ID    string `json:"id"`
	Ref   string `json:"ref"`
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

// Per-item statuses (C2).
const (
	statusAccepted  = "accepted"  // queued: it will be applied once
	statusDuplicate = "duplicate" // the same key with the same content is known: nothing new happens
	statusConflict  = "conflict"  // the same key with other content: errors name what differs
	statusRejected  = "rejected"  // errors name the fields at fault
	statusFailed    = "failed"    // could not be queued (or its customer looked up): post it again
)

// TxnResult is the outcome of one posted transaction.
type TxnResult struct {
	Index      int                `json:"index"`
	ExternalID string             `json:"externalId,omitempty"`
	Status     string             `json:"status"`
	CustomerID string             `json:"customerId,omitempty"`
	Errors     []httpx.FieldError `json:"errors,omitempty"`
}

// TxnResponse is the 202 body: every item, in the order posted.
type TxnResponse struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Conflicts  int         `json:"conflicts"`
	Rejected   int         `json:"rejected"`
	Failed     int         `json:"failed"`
	Results    []TxnResult `json:"results"`
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// earliestTxn: a transaction's time is a real date of the business's, not year 1.
var earliestTxn = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// pending is a transaction that passed validation, on its way to the queue.
type pending struct {
	i     int
	txn   model.Txn
	who   access.TxnCustomer
	field func(string) string
}

// post accepts one transaction or {"transactions":[...]}. Every item is answered: valid
// new ones are queued for ingest (accepted), one already known is a duplicate or, with
// other content, a conflict naming what differs, invalid ones are listed with the fields
// at fault. Who may post: admins and clinician/managers, each only for stores they cover
// and customers of those stores (C2); front-line agents may not, as spend moves tiers.
func (h *transactionsAPI) post(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	scope, err := h.acc.Scope(p, "", access.PostTransactions)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	raws, prefix, err := splitBatch(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := h.now()
	results := make([]TxnResult, len(raws))
	var valid []pending
	for i, raw := range raws {
		field := func(f string) string {
			if prefix == "" {
				return f
			}
			return prefix + "/" + strconv.Itoa(i) + f
		}
		txn, who, errs := h.validate(raw, scope, now, field)
		results[i] = TxnResult{Index: i, ExternalID: txn.ExternalID}
		if len(errs) > 0 {
			results[i].Status, results[i].Errors = statusRejected, errs
			continue
		}
		valid = append(valid, pending{i: i, txn: txn, who: who, field: field})
	}
	toQueue := h.resolve(ctx, p, scope, valid, results, request(req))
	sent := h.enqueue(ctx, toQueue)
	for k, pd := range toQueue {
		if sent[k] {
			results[pd.i].Status = statusAccepted
		} else {
			results[pd.i].Status = statusFailed
			results[pd.i].Errors = []httpx.FieldError{{Field: pd.field(""), Reason: "could not be queued; post it again (it will count once)"}}
		}
	}
	var resp TxnResponse
	var fields []httpx.FieldError
	for _, r := range results {
		switch r.Status {
		case statusAccepted:
			resp.Accepted++
		case statusDuplicate:
			resp.Duplicates++
		case statusConflict:
			resp.Conflicts++
		case statusRejected:
			resp.Rejected++
		default:
			resp.Failed++
		}
		fields = append(fields, r.Errors...)
	}
	resp.Results = results
	h.log.InfoContext(ctx, "transactions posted", "accepted", resp.Accepted, "duplicates", resp.Duplicates,
		"conflicts", resp.Conflicts, "rejected", resp.Rejected, "failed", resp.Failed)
	switch {
	case resp.Accepted+resp.Duplicates > 0:
		return httpx.JSON(http.StatusAccepted, resp), nil
	case resp.Failed > 0:
		// Nothing was taken, and some of it only for want of a queue: posting again helps.
		return events.APIGatewayV2HTTPResponse{}, &httpx.Error{Status: http.StatusServiceUnavailable, Slug: "unavailable",
			Detail: "Some transactions could not be queued just now; post them again (each counts once).", Fields: fields}
	}
	return events.APIGatewayV2HTTPResponse{}, &httpx.Error{Status: http.StatusUnprocessableEntity, Slug: "unprocessable",
		Detail: "No transaction could be accepted.", Fields: fields}
}

// resolve finds each valid transaction's customer through the access layer, and tells a
// transaction known already (its once-marker, read in one batch) from a new one. It
// fills the results of what will not be queued, and returns what will.
func (h *transactionsAPI) resolve(ctx context.Context, p auth.Principal, scope access.Scope, valid []pending, results []TxnResult, req access.Request) []pending {
	if len(valid) == 0 {
		return nil
	}
	keys := make([]model.TxnKey, len(valid))
	for k, pd := range valid {
		keys[k] = pd.txn.Key()
	}
	markers, err := h.desk.TxnMarkers(ctx, scope, keys)
	if err != nil {
		h.log.ErrorContext(ctx, "transactions: read markers", "err", err)
		for _, pd := range valid {
			results[pd.i].Status = statusFailed
			results[pd.i].Errors = []httpx.FieldError{{Field: pd.field(""), Reason: "could not be checked just now; post it again (it will count once)"}}
		}
		return nil
	}
	who := make([]access.TxnCustomer, len(valid))
	for k, pd := range valid {
		who[k] = pd.who
		_, who[k].LookupOnly = markers[keys[k]] // a known transaction never creates its customer
	}
	found := h.acc.TxnCustomers(ctx, p, who, req)
	var queue []pending
	first := map[model.TxnKey]model.Txn{} // within this request
	for k, pd := range valid {
		r, res := &results[pd.i], found[k]
		switch {
		case res.Err != nil:
			h.log.ErrorContext(ctx, "transactions: resolve customer", "err", res.Err)
			r.Status = statusFailed
			r.Errors = []httpx.FieldError{{Field: pd.field("/customer"), Reason: "could not be looked up just now; post it again"}}
			continue
		case len(res.Refused) > 0:
			r.Status = statusRejected
			for _, f := range res.Refused {
				r.Errors = append(r.Errors, httpx.FieldError{Field: pd.field(f.Field), Reason: f.Reason})
			}
			continue
		}
		pd.txn.CustomerID = res.CustomerID
		m, known := markers[keys[k]]
		if !known {
			if prev, again := first[keys[k]]; again {
				m, known = model.MarkerOf(prev), true // twice in this request
			}
		}
		if known {
			h.compare(r, pd, m)
			continue
		}
		first[keys[k]] = pd.txn
		r.CustomerID = res.CustomerID
		queue = append(queue, pd)
	}
	return queue
}

// compare answers a transaction whose key is known: the same content is a duplicate
// (nothing new will happen), other content a conflict naming each field that differs.
func (h *transactionsAPI) compare(r *TxnResult, pd pending, m model.TxnMarker) {
	if pd.txn.CustomerID != "" && m.Same(pd.txn) {
		r.Status, r.CustomerID = statusDuplicate, m.CustomerID
		return
	}
	r.Status = statusConflict
	for _, f := range m.Differences(pd.txn) {
		r.Errors = append(r.Errors, httpx.FieldError{Field: pd.field(f),
			Reason: "differs from the transaction posted before with this source and externalId in this store"})
	}
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

// validate checks one transaction and returns it with how it names its customer, or
// every field at fault. Nothing is looked up or created here.
func (h *transactionsAPI) validate(raw json.RawMessage, scope access.Scope, now time.Time, field func(string) string) (model.Txn, access.TxnCustomer, []httpx.FieldError) {
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
		return model.Txn{}, access.TxnCustomer{}, errs
	}
	txn := model.Txn{Source: strings.TrimSpace(in.Source), ExternalID: strings.TrimSpace(in.ExternalID),
		Store: strings.TrimSpace(in.Store), Currency: in.Currency, RefundOf: strings.TrimSpace(in.RefundOf), Once: model.OnceStore}
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
	switch {
	case txn.Store == "":
		bad("/store", "required: the store the transaction happened in")
	case !access.ValidID(txn.Store) || !scope.Has(txn.Store):
		bad("/store", "not one of the stores your token covers")
	}
	if at, err := time.Parse(time.RFC3339, in.At); err != nil {
		bad("/at", "required: a time with its zone offset, like 2025-03-01T14:30:00+08:00")
	} else if at.Before(earliestTxn) {
		bad("/at", "is before 2000-01-01")
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
		out := model.TxnItem{SKU: strings.TrimSpace(it.SKU), Name: strings.TrimSpace(it.Name), Qty: it.Qty, EffectDays: it.EffectDays}
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
	who := access.TxnCustomer{Store: txn.Store, ID: strings.TrimSpace(in.Customer.ID), Ref: strings.TrimSpace(in.Customer.Ref)}
	ways := 0
	for _, v := range []string{who.ID, who.Ref, in.Customer.Phone + in.Customer.Email} {
		if v != "" {
			ways++
		}
	}
	switch {
	case ways == 0:
		bad("/customer", "give the customer's id, ref (your customer number), or phone and/or email")
	case ways > 1:
		bad("/customer", "give one of id, ref, or phone/email — not several")
	case who.Ref != "":
		checkKeyPart("/customer/ref", who.Ref, true)
	}
	if in.Customer.Phone != "" {
		ph, err := customer.NormalizePhone(in.Customer.Phone, h.phoneRegion)
		if err != nil {
			bad("/customer/phone", "not a phone number we can read")
		}
		who.Phone = ph
	}
	if in.Customer.Email != "" {
		e, err := customer.NormalizeEmail(in.Customer.Email)
		if err != nil {
			bad("/customer/email", "not an email address")
		}
		who.Email = e
	}
	return txn, who, errs
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

// enqueue sends valid transactions to the ingest queue; sent[i] says whether queue[i]
// is on it. A transaction that could not be queued is answered "failed": its retry counts
// once.
func (h *transactionsAPI) enqueue(ctx context.Context, queue []pending) []bool {
	bodies := make([]string, len(queue))
	for k, pd := range queue {
		b, err := json.Marshal(pd.txn)
		if err != nil { // a validated transaction always encodes; leave it unsent if not
			h.log.ErrorContext(ctx, "transactions: encode", "err", err)
			continue
		}
		bodies[k] = string(b)
	}
	sent, err := h.ingest.Send(ctx, bodies)
	if err != nil {
		h.log.ErrorContext(ctx, "transactions: not every transaction was queued", "err", err)
	}
	return sent
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// credential is how the CLI proves who it is to the API, and which door that takes: a
// staff token the staff routes, an API key (X-Api-Key) the same routes under /v1/machine/.
type credential interface {
	apply(h http.Header)
	route(path string) string
}

// bearer is a staff access token (Authorization: Bearer).
type bearer string

func (b bearer) apply(h http.Header)    { h.Set("Authorization", "Bearer "+string(b)) }
func (bearer) route(path string) string { return path }

// apiKey is a machine's API key: leads:write for customers, transactions:write for sales.
type apiKey string

func (k apiKey) apply(h http.Header) { h.Set("X-Api-Key", string(k)) }
func (apiKey) route(path string) string {
	return "/v1/machine/" + strings.TrimPrefix(path, "/v1/")
}

// apiClient posts to one stack.
type apiClient struct {
	base string
	cred credential
	http *http.Client
}

// do sends one request, retrying network errors, 5xx and 429 with back-off (everything
// the import posts is safe to post again), and returns the final status and body.
func (a *apiClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	for attempt := 1; ; attempt++ {
		target := path
		if a.cred != nil {
			target = a.cred.route(path)
		}
		req, err := http.NewRequestWithContext(ctx, method, a.base+target, bytes.NewReader(body))
		if err != nil {
			return 0, nil, fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		if a.cred != nil {
			a.cred.apply(req.Header)
		}
		resp, err := a.http.Do(req)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
		}
		retry := err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		if retry && attempt < 5 && ctx.Err() == nil {
			wait := time.Duration(attempt) * time.Second
			if err == nil {
				if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 && s <= 30 {
					wait = time.Duration(s) * time.Second
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return resp.StatusCode, b, fmt.Errorf("%s %s: HTTP %d %s: the credential is not accepted for this (an admin or manager token of the file's stores, or a key of them with leads:write and transactions:write, is needed)",
				method, path, resp.StatusCode, bytes.TrimSpace(b))
		}
		return resp.StatusCode, b, nil
	}
}

// problem is the part of an RFC 9457 answer the import reads.
type problem struct {
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Errors []fieldError `json:"errors"`
}

type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// customerAnswer is POST /v1/customers' answer.
type customerAnswer struct {
	ID     string   `json:"id"`
	Status string   `json:"status"`
	Kept   []string `json:"kept"`
}

// customerField maps a field POST /v1/customers names to the file's column.
var customerField = map[string]field{"ref": fRef, "name": fName, "phone": fPhone, "email": fEmail,
	"birthday": fBirthday, "store": fStore, "tags": fTags}

// postCustomers lands every customer of the file on its profile, a few at a time. A
// customer the API refuses rejects every row naming them (and, for transactions, their
// transactions, which would otherwise create a second customer by number).
func postCustomers(ctx context.Context, api *apiClient, p *plan, o importOptions, sum *importSummary, prog *progress) error {
	path := "/v1/customers"
	if o.DryRun {
		path += "?dryRun=true"
	}
	workers := o.Workers
	if workers <= 0 {
		workers = 8
	}
	jobs := make(chan *custRow)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				body, _ := json.Marshal(map[string]any{"store": c.Store, "ref": c.Ref, "name": c.Name, "phone": c.Phone,
					"email": c.Email, "birthday": c.Bday, "tags": c.Tags}) // strings: cannot fail
				status, b, err := api.do(ctx, http.MethodPost, path, body)
				mu.Lock()
				sum.Requests++
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case status == http.StatusOK || status == http.StatusCreated:
					var a customerAnswer
					if err := json.Unmarshal(b, &a); err != nil && firstErr == nil {
						firstErr = fmt.Errorf("POST /v1/customers: decode answer: %w", err)
					}
					c.id = a.ID
					switch a.Status {
					case "created":
						sum.Created++
					case "merged":
						sum.Merged++
					default:
						sum.Unchanged++
					}
					if o.OnCustomer != nil && c.Ref != "" && a.ID != "" {
						o.OnCustomer(c.Ref, a.ID)
					}
				default:
					c.rejected = true
					var pr problem
					_ = json.Unmarshal(b, &pr) // an unreadable answer still rejects the rows
					col, val, reason := "", "", fmt.Sprintf("HTTP %d %s", status, strings.TrimSpace(pr.Detail))
					if len(pr.Errors) > 0 {
						f := customerField[pr.Errors[0].Field]
						col, val, reason = p.Columns.column(f), c.value(f), "the API: "+pr.Errors[0].Field+" "+pr.Errors[0].Reason
					}
					for _, r := range c.Rows {
						p.rejectRow(r, col, val, reason)
					}
				}
				if p.Kind == kindCustomers {
					prog.add(len(c.Rows))
				} else {
					prog.add(1)
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range p.Customers {
		mu.Lock()
		stop := firstErr != nil
		byTxn := p.Kind == kindTransactions && !o.DryRun && c.nameOnly()
		if byTxn {
			// Their first transaction finds or creates them: one request fewer each
			// (Online Retail's 4,372 customers are all named by number only).
			sum.ByTransaction++
		}
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		if !byTxn {
			jobs <- c
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("import stopped: %w", err)
	}
	return nil
}

// value is what the row said for f, for the rejects file.
func (c *custRow) value(f field) string {
	switch f {
	case fRef:
		return c.Ref
	case fName:
		return c.Name
	case fPhone:
		return c.Phone
	case fEmail:
		return c.Email
	case fBirthday:
		return c.Bday
	case fStore:
		return c.Store
	}
	return ""
}

// importBatch is the API's per-request limit.
const importBatch = 500

// importBodyLimit keeps one request well under the API's 4 MiB body limit: a batch of
// long invoices (Online Retail has some with hundreds of lines) is split before it.
const importBodyLimit = 3 << 20

// txnField maps a transaction field the API names to the file's column.
var txnField = map[string]field{"/amount": fAmount, "/at": fDate, "/store": fStore, "/currency": fCurrency,
	"/externalId": fInvoice, "/source": fInvoice, "/type": fType, "/customer": fRef, "/customer/ref": fRef,
	"/customer/phone": fPhone, "/customer/email": fEmail, "/items": fSKU}

// postTransactions posts the transactions whose customer was accepted, in batches.
func postTransactions(ctx context.Context, api *apiClient, p *plan, sum *importSummary, prog *progress, onCustomer func(ref, id string)) error {
	var todo []*invoice
	for _, inv := range p.Invoices {
		if inv.Customer.rejected {
			for _, r := range inv.Rows {
				p.rejectRow(r, "", "", "its customer was rejected (see that customer's first row)")
			}
			continue
		}
		todo = append(todo, inv)
	}
	rendered := make([]map[string]any, len(todo))
	for i, inv := range todo {
		rendered[i] = inv.render(p.Source)
	}
	for _, b := range splitBatches(rendered) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("import stopped after %d of %d transactions: %w", b.from, len(todo), err)
		}
		body, err := json.Marshal(map[string]any{"transactions": rendered[b.from:b.to]})
		if err != nil {
			return fmt.Errorf("encode batch at transaction %d: %w", b.from, err)
		}
		status, answer, err := api.do(ctx, http.MethodPost, "/v1/transactions", body)
		sum.Requests++
		if err != nil {
			return fmt.Errorf("batch at transaction %d: %w", b.from, err)
		}
		res, err := txnResults(status, answer, b.to-b.from)
		if err != nil {
			return fmt.Errorf("batch at transaction %d: %w", b.from, err)
		}
		rows := 0
		for i, r := range res {
			inv := todo[b.from+i]
			rows += len(inv.Rows)
			if (r.Status == "accepted" || r.Status == "duplicate") && onCustomer != nil && inv.Customer.Ref != "" && r.CustomerID != "" {
				onCustomer(inv.Customer.Ref, r.CustomerID)
			}
			switch r.Status {
			case "accepted":
				sum.Accepted++
				continue
			case "duplicate":
				sum.Duplicates++
				continue
			case "conflict":
				sum.Conflicts++
			case "failed":
				sum.Failed++
				continue // not the file's fault: the run says to post again
			default:
				sum.TxnRejected++
			}
			reason, f := "the API refused it", field("")
			if len(r.Errors) > 0 {
				e := r.Errors[0]
				name := e.Field
				if rest, ok := strings.CutPrefix(name, "/transactions/"); ok {
					if _, tail, ok := strings.Cut(rest, "/"); ok {
						name = "/" + tail
					} else {
						name = ""
					}
				}
				if strings.HasPrefix(name, "/items/") {
					name = "/items"
				}
				f = txnField[name]
				reason = "the API: " + strings.TrimPrefix(name, "/") + " " + e.Reason
				if r.Status == "conflict" {
					reason = "the API: " + strings.TrimPrefix(name, "/") + " differs from the transaction imported before with this number"
				}
			}
			for _, row := range inv.Rows {
				p.rejectRow(row, p.Columns.column(f), inv.ExternalID, reason)
			}
		}
		prog.add(rows)
	}
	return nil
}

// render is the transaction as POST /v1/transactions takes it.
func (inv *invoice) render(source string) map[string]any {
	kind := "purchase"
	if inv.Refund {
		kind = "refund"
	}
	c := map[string]string{}
	switch {
	case inv.Customer.Ref != "":
		c["ref"] = inv.Customer.Ref
	default:
		if inv.Customer.Phone != "" {
			c["phone"] = inv.Customer.Phone
		}
		if inv.Customer.Email != "" {
			c["email"] = inv.Customer.Email
		}
	}
	tx := map[string]any{"externalId": truncate(inv.ExternalID, 100), "source": source, "type": kind, "customer": c,
		"store": inv.Store, "at": inv.At.Format(time.RFC3339), "amount": inv.Amount.StringFixed(2), "currency": inv.Currency}
	var items []map[string]any
	for _, it := range inv.Items {
		if len(items) == 200 {
			break
		}
		items = append(items, map[string]any{"sku": it.SKU, "name": it.Name, "qty": it.Qty, "unitPrice": it.UnitPrice.StringFixed(2)})
	}
	if len(items) > 0 {
		tx["items"] = items
	}
	return tx
}

// span is one request's share of the transactions, [from, to).
type span struct{ from, to int }

// splitBatches cuts the transactions into requests of at most importBatch and
// importBodyLimit bytes of JSON.
func splitBatches(txns []map[string]any) []span {
	var out []span
	from, size := 0, 0
	for i, t := range txns {
		b, _ := json.Marshal(t) // plain strings, ints and maps: cannot fail
		n := len(b) + 1
		if i > from && (i-from == importBatch || size+n > importBodyLimit) {
			out = append(out, span{from, i})
			from, size = i, 0
		}
		size += n
	}
	if from < len(txns) {
		out = append(out, span{from, len(txns)})
	}
	return out
}

type txnResult struct {
	Index      int          `json:"index"`
	Status     string       `json:"status"`
	CustomerID string       `json:"customerId,omitempty"`
	Errors     []fieldError `json:"errors,omitempty"`
}

// txnResults reads a batch's answer as one result per transaction. A 422 (every one
// refused) lists the fields at fault as /transactions/<index>/…, which become per-item
// results like a 202's.
func txnResults(status int, body []byte, n int) ([]txnResult, error) {
	switch status {
	case http.StatusAccepted:
		var res struct {
			Results []txnResult `json:"results"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("decode 202 answer: %w", err)
		}
		if len(res.Results) != n {
			return nil, fmt.Errorf("the API answered %d results for %d transactions", len(res.Results), n)
		}
		return res.Results, nil
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		var p problem
		_ = json.Unmarshal(body, &p) // an unreadable problem still refuses every one
		out := make([]txnResult, n)
		for i := range out {
			out[i] = txnResult{Index: i, Status: "rejected"}
		}
		for _, e := range p.Errors {
			rest, ok := strings.CutPrefix(e.Field, "/transactions/")
			idx, tail, _ := strings.Cut(rest, "/")
			i, err := strconv.Atoi(idx)
			if !ok || err != nil || i < 0 || i >= n {
				for k := range out {
					out[k].Errors = append(out[k].Errors, e)
				}
				continue
			}
			out[i].Errors = append(out[i].Errors, fieldError{Field: "/" + tail, Reason: e.Reason})
		}
		if len(p.Errors) == 0 {
			for k := range out {
				out[k].Errors = append(out[k].Errors, fieldError{Reason: p.Detail})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("POST /v1/transactions: HTTP %d: %s", status, bytes.TrimSpace(body))
}

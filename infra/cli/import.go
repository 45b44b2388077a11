package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tierflow/tierflow/infra/local/devjwt"
	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/model"
)

func init() {
	register("import", "post the UCI Online Retail file to /v1/transactions in batches of 500 (re-runnable: each invoice counts once)", runImport)
}

// importBatch is the API's per-request limit.
const importBatch = 500

// importBodyLimit keeps one request well under the API's 4 MiB body limit: a batch of
// long invoices (the file has some with hundreds of lines) is split before it gets there.
const importBodyLimit = 3 << 20

func runImport(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	file := fs.String("file", "", "online_retail.csv or .csv.gz")
	api := fs.String("api", "http://127.0.0.1:3000", "base URL of the API")
	token := fs.String("token", os.Getenv("TIERFLOW_TOKEN"), "staff token (default $TIERFLOW_TOKEN, else minted with the local stack's key)")
	rejects := fs.String("rejects", "import-rejects.jsonl", "where rejected invoices and rows go, one JSON line each")
	store := fs.String("store", "uk-online", "store the invoices belong to")
	_ = fs.Parse(args)
	if *file == "" {
		return fmt.Errorf("-file is required")
	}
	if *token == "" {
		t, err := mintLocalToken(*api)
		if err != nil {
			return fmt.Errorf("no -token or TIERFLOW_TOKEN, and minting a local one failed: %w", err)
		}
		*token = t
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_, err := importFile(ctx, importOptions{File: *file, API: *api, Token: *token, Rejects: *rejects, Store: *store, Out: os.Stderr})
	return err
}

// importOptions says what to import where; Out gets the progress bar and the summary
// (nil: silent).
type importOptions struct {
	File, API, Token, Rejects, Store string
	Out                              io.Writer
	HTTP                             *http.Client
	// OnCustomer, when set, hears which tierflow customer each of the file's customer
	// numbers became (or already was).
	OnCustomer func(number, id string)
}

// importSummary is what one import did: the file's counts, then the API's answers.
type importSummary struct {
	Rows       int // data rows read
	NoCustomer int // rows skipped: no CustomerID
	Unreadable int // rows that could not be parsed (in the rejects file)
	Invoices   int // invoices posted (one transaction each)
	Refunds    int // of which cancellations, posted as refunds
	Customers  int // distinct customers among them
	Accepted   int // queued for ingest
	Duplicates int // known already (a re-import): nothing new happens
	Conflicts  int // known already with other content (in the rejects file)
	Rejected   int // refused by the API's validation (in the rejects file)
	Failed     int // could not be queued; re-run the import
	Requests   int
	Elapsed    time.Duration
}

// importFile reads the file, posts its invoices in batches and writes the rejects file.
// An invoice the API refuses is listed with the API's reasons; the rest still go in.
func importFile(ctx context.Context, o importOptions) (importSummary, error) {
	var sum importSummary
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.Store == "" {
		o.Store = "uk-online"
	}
	client := o.HTTP
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	rc, err := dataset.OpenOnlineRetail(o.File)
	if err != nil {
		return sum, err
	}
	txns, st, err := dataset.ReadOnlineRetail(rc)
	rc.Close()
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", o.File, err)
	}
	sum.Rows, sum.NoCustomer, sum.Unreadable = st.Rows, st.NoCustomer, len(st.Rejected)
	sum.Invoices, sum.Refunds, sum.Customers = st.Invoices, st.Refunds, st.Customers

	rf, err := os.Create(o.Rejects)
	if err != nil {
		return sum, fmt.Errorf("rejects file: %w", err)
	}
	defer rf.Close()
	rw := bufio.NewWriter(rf)
	enc := json.NewEncoder(rw)
	for _, r := range st.Rejected {
		if err := enc.Encode(map[string]any{"line": r.Line, "reason": r.Reason}); err != nil {
			return sum, fmt.Errorf("rejects file: %w", err)
		}
	}

	start := time.Now()
	rendered := toAPI(txns, o.Store)
	for _, b := range splitBatches(rendered) {
		if err := ctx.Err(); err != nil {
			return sum, fmt.Errorf("import stopped after %d of %d invoices: %w", b.from, len(txns), err)
		}
		batch := rendered[b.from:b.to]
		body, err := json.Marshal(map[string]any{"transactions": batch})
		if err != nil {
			return sum, fmt.Errorf("encode batch at invoice %d: %w", b.from, err)
		}
		res, err := postBatch(ctx, client, o.API, o.Token, body, len(batch))
		sum.Requests++
		if err != nil {
			return sum, fmt.Errorf("batch at invoice %d: %w", b.from, err)
		}
		sum.Accepted += res.Accepted
		sum.Duplicates += res.Duplicates
		sum.Conflicts += res.Conflicts
		sum.Rejected += res.Rejected
		sum.Failed += res.Failed
		for _, r := range res.Results {
			if r.Index < 0 || r.Index >= len(batch) {
				continue
			}
			if r.Status == "accepted" || r.Status == "duplicate" {
				if c, ok := batch[r.Index]["customer"].(map[string]string); ok && o.OnCustomer != nil && r.CustomerID != "" {
					o.OnCustomer(c["ref"], r.CustomerID)
				}
				continue
			}
			for k := range r.Errors { // "/transactions/324/amount" means nothing outside its request
				if rest, ok := strings.CutPrefix(r.Errors[k].Field, "/transactions/"); ok {
					if _, field, ok := strings.Cut(rest, "/"); ok {
						r.Errors[k].Field = "/" + field
					}
				}
			}
			if err := enc.Encode(map[string]any{"invoice": batch[r.Index]["externalId"], "status": r.Status, "errors": r.Errors}); err != nil {
				return sum, fmt.Errorf("rejects file: %w", err)
			}
		}
		progress(out, b.to, len(txns), start)
	}
	sum.Elapsed = time.Since(start)
	if err := rw.Flush(); err != nil {
		return sum, fmt.Errorf("rejects file: %w", err)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "rows %d (no customer %d, unreadable %d) → invoices %d (refunds %d), customers %d\n",
		sum.Rows, sum.NoCustomer, sum.Unreadable, sum.Invoices, sum.Refunds, sum.Customers)
	secs := max(sum.Elapsed.Seconds(), 0.001)
	fmt.Fprintf(out, "posted in %d requests: accepted %d, already known %d, conflicting %d, rejected %d, failed %d in %s (%.0f rows/s, %.0f invoices/s); rejections in %s\n",
		sum.Requests, sum.Accepted, sum.Duplicates, sum.Conflicts, sum.Rejected, sum.Failed, sum.Elapsed.Round(time.Millisecond),
		float64(sum.Rows)/secs, float64(sum.Invoices)/secs, o.Rejects)
	fmt.Fprintln(out, "accepted invoices are applied by the ingest queue; an invoice posted again is answered \"already known\" and counts once.")
	if sum.Failed > 0 {
		return sum, fmt.Errorf("%d invoices could not be queued: run the import again", sum.Failed)
	}
	return sum, nil
}

// span is one request's share of the rendered invoices, [from, to).
type span struct{ from, to int }

// splitBatches cuts the invoices into requests of at most importBatch invoices and
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

// toAPI renders invoices as the API's transactions. Lines the API would refuse (zero
// quantity, negative price: the file's manual adjustments) are left out of the item list;
// the invoice total stays what the file says.
func toAPI(batch []model.Txn, store string) []map[string]any {
	out := make([]map[string]any, 0, len(batch))
	for _, t := range batch {
		kind := "purchase"
		if t.Refund {
			kind = "refund"
		}
		var items []map[string]any
		for _, it := range t.Items {
			qty := it.Qty
			if qty < 0 {
				qty = -qty
			}
			if qty < 1 || qty > 100000 || it.UnitPrice < 0 || it.SKU == "" || len(items) >= 200 {
				continue
			}
			items = append(items, map[string]any{"sku": truncate(it.SKU, 64), "name": truncate(it.Name, 200), "qty": qty, "unitPrice": it.UnitPrice.String()})
		}
		tx := map[string]any{
			"externalId": t.ExternalID, "source": "online-retail", "type": kind,
			// The file's CustomerID is the shop's own customer number: it finds or creates
			// the store's customer (C2), whatever tierflow id that is.
			"customer": map[string]string{"ref": t.CustomerID}, "store": store,
			"at": t.At.Format(time.RFC3339), "amount": t.Amount.String(), "currency": "GBP",
		}
		if len(items) > 0 {
			tx["items"] = items
		}
		out = append(out, tx)
	}
	return out
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

type importResult struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Conflicts  int         `json:"conflicts"`
	Rejected   int         `json:"rejected"`
	Failed     int         `json:"failed"`
	Results    []txnResult `json:"results"`
}

type txnResult struct {
	Index      int          `json:"index"`
	Status     string       `json:"status"`
	CustomerID string       `json:"customerId,omitempty"`
	Errors     []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// postBatch posts one batch of n invoices. A 422 (400 before) means every invoice was refused: its
// problem document lists the fields at fault as /transactions/<index>/…, which become
// per-invoice results like a 202's. Network errors and 5xx are retried with back-off:
// an invoice posted twice still counts once.
func postBatch(ctx context.Context, c *http.Client, api, token string, body []byte, n int) (importResult, error) {
	var res importResult
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(api, "/")+"/v1/transactions", bytes.NewReader(body))
		if err != nil {
			return res, fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
		}
		retry := err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		if retry && attempt < 5 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * time.Second): // back off before retrying
			}
			continue
		}
		if err != nil {
			return res, fmt.Errorf("POST /v1/transactions: %w", err)
		}
		switch resp.StatusCode {
		case http.StatusAccepted:
			if err := json.Unmarshal(b, &res); err != nil {
				return res, fmt.Errorf("decode 202 answer: %w", err)
			}
			return res, nil
		case http.StatusUnprocessableEntity, http.StatusBadRequest:
			return refusedBatch(b, n), nil
		}
		return res, fmt.Errorf("POST /v1/transactions: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
}

// refusedBatch turns a 422 (or 400) problem document into n rejected results, each with the
// reasons whose field points into it; reasons about the whole request go to every one.
func refusedBatch(problem []byte, n int) importResult {
	var p struct {
		Detail string       `json:"detail"`
		Errors []fieldError `json:"errors"`
	}
	_ = json.Unmarshal(problem, &p) // an unreadable problem still refuses every invoice
	res := importResult{Rejected: n, Results: make([]txnResult, n)}
	for i := range res.Results {
		res.Results[i] = txnResult{Index: i, Status: "rejected"}
	}
	var general []fieldError
	for _, e := range p.Errors {
		rest, ok := strings.CutPrefix(e.Field, "/transactions/")
		idx, tail, _ := strings.Cut(rest, "/")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= n {
			general = append(general, e)
			continue
		}
		res.Results[i].Errors = append(res.Results[i].Errors, fieldError{Field: "/" + tail, Reason: e.Reason})
	}
	if len(p.Errors) == 0 && p.Detail != "" {
		general = append(general, fieldError{Reason: p.Detail})
	}
	for i := range res.Results {
		res.Results[i].Errors = append(res.Results[i].Errors, general...)
	}
	return res
}

func progress(w io.Writer, done, total int, start time.Time) {
	const width = 40
	filled := width * done / max(total, 1)
	rate := float64(done) / max(time.Since(start).Seconds(), 0.001)
	fmt.Fprintf(w, "\r[%s%s] %d/%d invoices %.0f/s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total, rate)
}

// mintLocalToken signs an admin token with the local stack's key, as
// `tierflow-local token` does.
func mintLocalToken(api string) (string, error) {
	root, err := emulators.FindRoot()
	if err != nil {
		return "", err
	}
	port := 3000
	if i := strings.LastIndex(api, ":"); i > 0 {
		fmt.Sscanf(api[i+1:], "%d", &port)
	}
	issuer := devjwt.IssuerURL(port)
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"), map[string]string{"JwtIssuer": issuer})
	if err != nil {
		return "", err
	}
	iss, err := devjwt.Open(filepath.Join(root, ".local", "jwt"), issuer, tpl.Params["JwtAudience"])
	if err != nil {
		return "", err
	}
	return iss.Mint("admin", []string{"*"}, "importer", 2*time.Hour)
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	rc, err := dataset.OpenOnlineRetail(*file)
	if err != nil {
		return err
	}
	txns, st, err := dataset.ReadOnlineRetail(rc)
	rc.Close()
	if err != nil {
		return err
	}
	rf, err := os.Create(*rejects)
	if err != nil {
		return err
	}
	defer rf.Close()
	rw := bufio.NewWriter(rf)
	defer rw.Flush()
	for _, r := range st.Rejected {
		_ = json.NewEncoder(rw).Encode(map[string]any{"line": r.Line, "reason": r.Reason})
	}

	start := time.Now()
	client := &http.Client{Timeout: 60 * time.Second}
	var accepted, rejected, failed int
	for from := 0; from < len(txns); from += importBatch {
		batch := txns[from:min(from+importBatch, len(txns))]
		body, err := json.Marshal(map[string]any{"transactions": toAPI(batch, *store)})
		if err != nil {
			return err
		}
		res, err := postBatch(client, *api, *token, body)
		if err != nil {
			return fmt.Errorf("batch at invoice %d: %w", from, err)
		}
		accepted += res.Accepted
		rejected += res.Rejected
		failed += res.Failed
		for _, r := range res.Results {
			if r.Status != "accepted" {
				_ = json.NewEncoder(rw).Encode(map[string]any{"invoice": batch[r.Index].Invoice, "status": r.Status, "errors": r.Errors})
			}
		}
		progress(from+len(batch), len(txns), start)
	}
	fmt.Fprintln(os.Stderr)
	fmt.Fprintf(os.Stderr, "rows %d (no customer %d, unreadable %d) → invoices %d (refunds %d), customers %d\n",
		st.Rows, st.NoCustomer, len(st.Rejected), st.Invoices, st.Refunds, st.Customers)
	fmt.Fprintf(os.Stderr, "posted: accepted %d, rejected %d, failed %d in %s; rejections in %s\n",
		accepted, rejected, failed, time.Since(start).Round(time.Millisecond), *rejects)
	fmt.Fprintln(os.Stderr, "accepted invoices are applied by the ingest queue; an invoice posted again counts once.")
	if failed > 0 {
		return fmt.Errorf("%d invoices could not be queued: run the import again", failed)
	}
	return nil
}

// toAPI renders invoices as the API's transactions. Lines the API would refuse (zero
// quantity, negative price: the file's manual adjustments) are left out of the item list;
// the invoice total stays what the file says.
func toAPI(batch []dataset.Txn, store string) []map[string]any {
	out := make([]map[string]any, 0, len(batch))
	for _, t := range batch {
		amt := t.Amount
		kind := "purchase"
		if t.Refund || amt < 0 {
			kind, amt = "refund", -amt
		}
		var items []map[string]any
		for _, it := range t.Items {
			qty := it.Qty
			if qty < 0 {
				qty = -qty
			}
			if qty < 1 || it.UnitPrice < 0 || it.SKU == "" || len(items) >= 200 {
				continue
			}
			name := it.Name
			if len(name) > 200 {
				name = name[:200]
			}
			items = append(items, map[string]any{"sku": truncate(it.SKU, 64), "name": name, "qty": qty, "unitPrice": it.UnitPrice.String()})
		}
		tx := map[string]any{
			"externalId": t.Invoice, "source": "online-retail", "type": kind,
			"customer": map[string]string{"id": "OR-" + t.CustomerID}, "store": store,
			"at": t.At.Format(time.RFC3339), "amount": model.Money(amt).String(), "currency": "GBP",
		}
		if len(items) > 0 {
			tx["items"] = items
		}
		out = append(out, tx)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type importResult struct {
	Accepted, Rejected, Failed int
	Results                    []struct {
		Index  int             `json:"index"`
		Status string          `json:"status"`
		Errors json.RawMessage `json:"errors"`
	}
}

// postBatch posts one batch; a 400 means every item was refused, and its problem
// document lists them.
func postBatch(c *http.Client, api, token string, body []byte) (importResult, error) {
	var res importResult
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest(http.MethodPost, strings.TrimRight(api, "/")+"/v1/transactions", bytes.NewReader(body))
		if err != nil {
			return res, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			if attempt < 4 {
				time.Sleep(time.Duration(attempt) * time.Second) // back off before retrying a network error
				continue
			}
			return res, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return res, json.Unmarshal(b, &res)
		case resp.StatusCode == http.StatusBadRequest:
			var p struct {
				Errors json.RawMessage `json:"errors"`
			}
			_ = json.Unmarshal(b, &p)
			var n struct {
				Transactions []json.RawMessage `json:"transactions"`
			}
			_ = json.Unmarshal(body, &n)
			res.Rejected = len(n.Transactions)
			return res, nil
		case resp.StatusCode >= 500 && attempt < 4:
			time.Sleep(time.Duration(attempt) * time.Second)
			continue
		}
		return res, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
}

func progress(done, total int, start time.Time) {
	const width = 40
	filled := width * done / max(total, 1)
	rate := float64(done) / max(time.Since(start).Seconds(), 0.001)
	fmt.Fprintf(os.Stderr, "\r[%s%s] %d/%d invoices %.0f/s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total, rate)
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

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierflow/tierflow/infra/local/seed"
	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/infra/local/stack/stacktest"
	"github.com/tierflow/tierflow/shared/dataset"
)

// The import tests run against one local stack for the package: the same function
// binaries that deploy, behind the emulated API Gateway and the ingest queue mapping.
var st *stack.Stack

func TestMain(m *testing.M) { os.Exit(stacktest.Main(m, nil, &st)) }

func adminToken(t testing.TB) string {
	t.Helper()
	tok, err := st.MintToken("admin", []string{"*"}, "import-test", time.Hour)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return tok
}

// customerIDs maps the file's customer numbers to the tierflow customers they became.
type customerIDs map[string]string

// importInto is what `tierflow import -file … -url … -token …` runs; ids (may be nil)
// learns which customer each number is. Rows rejected are the file's business: the
// caller checks the summary.
func importInto(t testing.TB, file, token string, ids customerIDs) importSummary {
	t.Helper()
	return importWith(t, importOptions{File: file, Cred: bearer(token)}, ids)
}

func importWith(t testing.TB, o importOptions, ids customerIDs) importSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	var mu sync.Mutex
	o.API, o.Out = st.URL, &out
	if o.Rejects == "" {
		o.Rejects = filepath.Join(filepath.Dir(o.File), "rejects.csv")
	}
	if o.Zone == nil {
		o.Zone = shanghai
	}
	o.OnCustomer = func(number, id string) {
		mu.Lock()
		defer mu.Unlock()
		if ids != nil {
			if prev, ok := ids[number]; ok && prev != id {
				t.Errorf("customer number %s became %s and %s", number, prev, id)
			}
			ids[number] = id
		}
	}
	sum, err := importFile(ctx, o)
	if err != nil && !errors.Is(err, errRejected) {
		t.Fatalf("import %s: %v\n%s", filepath.Base(o.File), err, out.String())
	}
	if (sum.Rejected > 0) != errors.Is(err, errRejected) {
		t.Errorf("import %s: %d rows rejected but the error is %v: the command's exit status would be wrong", filepath.Base(o.File), sum.Rejected, err)
	}
	t.Logf("import %s:\n%s", filepath.Base(o.File), out.String())
	return sum
}

func waitIngest(t testing.TB) {
	t.Helper()
	q, ok := st.Resources.Ref("IngestQueue")
	if !ok {
		t.Fatal("no IngestQueue in the template")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seed.WaitDrained(ctx, st.Emulators.SQSClient(), q); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	// A transaction that failed five times is on the dead-letter queue, not applied.
	dlq, ok := st.Resources.Ref("IngestDLQ")
	if !ok {
		t.Fatal("no IngestDLQ in the template")
	}
	if err := seed.WaitDrained(ctx, st.Emulators.SQSClient(), dlq); err != nil {
		t.Fatalf("ingest dead-letter queue is not empty: %v", err)
	}
}

func getJSON(t testing.TB, path, token string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, st.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read the body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
}

// customerView is the part of GET /v1/customers/{id} the import is judged by.
type customerView struct {
	ID         string `json:"id"`
	Aggregates struct {
		Purchases int `json:"purchases"`
		Months    []struct {
			Net int64 `json:"net"`
		} `json:"months"`
	} `json:"aggregates"`
	Assignment struct {
		Tier       string `json:"tier"`
		Stage      string `json:"stage"`
		Reason     string `json:"reason"`
		AssessedOn string `json:"assessedOn"`
	} `json:"assignment"`
}

func (c customerView) net() int64 {
	var n int64
	for _, m := range c.Aggregates.Months {
		n += m.Net
	}
	return n
}

// expect is what a customer's aggregates must show, computed from the file without the
// importer: net spend in pence and purchase invoices.
type expect struct {
	pence     decimal.Decimal // exact Σ Quantity×UnitPrice ×100, cancellations negative
	purchases int
	invoices  int // invoices of any kind: each may round its total by up to half a penny
}

// checkSpend reads every customer back and compares with the independent figures.
func checkSpend(t *testing.T, token string, want map[string]*expect, ids customerIDs) map[string]customerView {
	t.Helper()
	got := map[string]customerView{}
	for id, w := range want {
		if ids[id] == "" {
			t.Errorf("customer number %s: the import never said which customer it is", id)
			continue
		}
		var c customerView
		getJSON(t, "/v1/customers/"+ids[id], token, &c)
		diff := w.pence.Sub(decimal.NewFromInt(c.net())).Abs()
		if diff.GreaterThan(decimal.NewFromFloat(0.5).Mul(decimal.NewFromInt(int64(w.invoices)))) {
			t.Errorf("customer %s: net spend %d pence, the file says %s", id, c.net(), w.pence.StringFixed(3))
		}
		if c.Aggregates.Purchases != w.purchases {
			t.Errorf("customer %s: %d purchases, the file has %d purchase invoices", id, c.Aggregates.Purchases, w.purchases)
		}
		got[id] = c
	}
	return got
}

// expectFromRows computes each customer's figures straight from the file's rows.
// Invoices whose total is not positive and not a cancellation are not purchases (the API
// refuses a zero total).
func expectFromRows(t *testing.T, rows [][]string) map[string]*expect {
	t.Helper()
	type inv struct {
		cust  string
		total decimal.Decimal
	}
	invs := map[string]*inv{}
	var order []string
	for _, r := range rows {
		if r[6] == "" {
			continue
		}
		q, err1 := decimal.NewFromString(r[3])
		p, err2 := decimal.NewFromString(r[5])
		if err1 != nil || err2 != nil {
			continue // unreadable rows are the reader's rejects
		}
		i, ok := invs[r[0]]
		if !ok {
			i = &inv{cust: r[6]}
			invs[r[0]] = i
			order = append(order, r[0])
		}
		i.total = i.total.Add(q.Mul(p))
	}
	want := map[string]*expect{}
	for _, no := range order {
		i := invs[no]
		if i.total.IsZero() {
			continue // refused by the API: nothing to count
		}
		w := want[i.cust]
		if w == nil {
			w = &expect{}
			want[i.cust] = w
		}
		w.pence = w.pence.Add(i.total.Shift(2))
		w.invoices++
		if !strings.HasPrefix(no, "C") && i.total.IsPositive() {
			w.purchases++
		}
	}
	return want
}

var header = []string{"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"}

func writeCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	cw := csv.NewWriter(w)
	cw.Write(header)
	cw.WriteAll(rows)
	if err := cw.Error(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// The import path on synthetic data, so that it runs on every machine: a file in the
// Online Retail layout with purchases, partial and full cancellations, rows without a
// customer, an unreadable row and a zero-total invoice. Imported twice, every customer's
// spend and purchase count are what the file says, once.
func TestImportSyntheticTwiceCountsOnce(t *testing.T) {
	token := adminToken(t)
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// Dated 2009, before the real data set's first day, so that a re-tier run as of the
	// real sample's day sees these customers as history, not as the future.
	syn := dataset.Synth(dataset.SynthConfig{Seed: 42, Customers: 40,
		From: time.Date(2009, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2009, 11, 30, 0, 0, 0, 0, time.UTC)})
	num := map[string]string{}
	for i, c := range syn.Customers {
		num[c.ID] = fmt.Sprint(900000 + i)
	}
	var rows [][]string
	for _, tx := range syn.Txns {
		inv := "SYN-" + strings.TrimPrefix(tx.ExternalID, "C")
		if tx.Refund {
			inv = "C" + inv
		}
		when := tx.At.In(london).Format("2006-01-02 15:04:05")
		row := func(sku, name string, qty int, price string) {
			rows = append(rows, []string{inv, sku, name, fmt.Sprint(qty), when, price, num[tx.CustomerID], "United Kingdom"})
		}
		if tx.Refund { // the synthetic refund carries its amount, not its lines
			row("REFUND", "Refund", -1, tx.Amount.String())
			continue
		}
		for _, it := range tx.Items {
			row(it.SKU, it.Name, it.Qty, it.UnitPrice.String())
		}
	}
	rows = append(rows,
		[]string{"SYN-NOCUST-1", "A", "walk-in", "2", "2009-06-01 10:00:00", "3.50", "", "United Kingdom"},
		[]string{"SYN-NOCUST-1", "B", "walk-in", "1", "2009-06-01 10:00:00", "1.25", "", "United Kingdom"},
		[]string{"SYN-BAD-1", "A", "typo", "two", "2009-06-02 10:00:00", "3.50", "900998", "United Kingdom"},
		[]string{"SYN-ZERO-1", "POST", "free sample", "1", "2009-06-03 10:00:00", "0.00", "900999", "United Kingdom"},
	)
	file := filepath.Join(t.TempDir(), "synthetic_retail.csv")
	writeCSV(t, file, rows)
	want := expectFromRows(t, rows)
	var refunds int
	for _, tx := range syn.Txns {
		if tx.Refund {
			refunds++
		}
	}
	if refunds == 0 {
		t.Fatal("the synthetic base has no refund: pick another seed")
	}

	ids := customerIDs{}
	first := importInto(t, file, token, ids)
	// The row with a quantity of "two" rejects its invoice; the zero-total invoice is
	// refused before it is posted; the walk-in rows are skipped.
	if first.Rows != len(rows) || first.WalkIns != 2 || first.Rejected != 2 || first.Mapping != "online-retail" ||
		first.Invoices != len(syn.Txns) || first.Refunds != refunds || first.Customers != len(want) {
		t.Errorf("summary %+v: want rows %d, walk-ins 2, rejected 2, online-retail, invoices %d, refunds %d, customers %d",
			first, len(rows), len(syn.Txns), refunds, len(want))
	}
	if first.Accepted != len(syn.Txns) || first.TxnRejected != 0 || first.Failed != 0 || first.ByTransaction != len(want) {
		t.Errorf("summary %+v: want accepted %d, none refused or failed, %d customers named by number", first, len(syn.Txns), len(want))
	}
	rej := readRejects(t, first.RejectsFile)
	if len(rej) != 2 || rej[0]["column"] != "Quantity" || rej[0]["value"] != "two" ||
		rej[1]["column"] != "InvoiceNo" && rej[1]["column"] != "UnitPrice" || !strings.Contains(rej[1]["reason"], "total is 0") {
		t.Errorf("rejects file: want the unreadable quantity and the zero invoice, got %v", rej)
	}
	waitIngest(t)
	checkSpend(t, token, want, ids)

	// The same invoices again: every one is already known, nothing is counted twice.
	second := importInto(t, file, token, ids)
	if second.Duplicates != first.Accepted || second.Accepted != 0 {
		t.Errorf("second import %+v: want every invoice of the first (%d) answered as already known", second, first.Accepted)
	}
	second.Elapsed, first.Elapsed, second.Requests, first.Requests = 0, 0, 0, 0
	second.Duplicates, second.Accepted = 0, first.Accepted
	second.ByReason, first.ByReason = nil, nil
	if fmt.Sprint(second) != fmt.Sprint(first) {
		t.Errorf("second import %+v, first %+v", second, first)
	}
	waitIngest(t)
	checkSpend(t, token, want, ids)
}

// readRejects reads a rejects file as rows of column name → value.
func readRejects(t testing.TB, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Errorf("rejects file %s has no byte order mark: Excel would garble Chinese", path)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "row,column,value,reason" {
		t.Fatalf("rejects file %s: %v %q", path, err, recs)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// sampleRows reads the first rows of the real file, up to the first invoice boundary
// after n data rows, so that no invoice is cut in half.
func sampleRows(t *testing.T, path string, n int) [][]string {
	t.Helper()
	rc, err := dataset.OpenOnlineRetail(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for {
		r, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= n && r[0] != rows[len(rows)-1][0] {
			break
		}
		rows = append(rows, r)
	}
	return rows
}

// The walk-through on a sample of the real Online Retail file: import, read back
// every customer's net spend against Σ Quantity×UnitPrice computed here from the rows,
// import again (nothing changes), then a re-tier run gives every buyer a tier, a stage
// and an explanation, and its summary shows the top fifth's revenue share.
func TestImportOnlineRetailSampleThenRetier(t *testing.T) {
	path := dataset.Require(t, dataset.OnlineRetailFile)
	token := adminToken(t)
	rows := sampleRows(t, path, 3000)
	var cancels, noCust int
	for _, r := range rows {
		if strings.HasPrefix(r[0], "C") {
			cancels++
		}
		if r[6] == "" {
			noCust++
		}
	}
	if cancels == 0 || noCust == 0 {
		t.Fatalf("the sample has %d cancellation rows and %d rows without a customer; it must have both", cancels, noCust)
	}
	file := filepath.Join(t.TempDir(), "online_retail_sample.csv.gz")
	writeCSV(t, file, rows)
	want := expectFromRows(t, rows)

	ids := customerIDs{}
	first := importInto(t, file, token, ids)
	if first.Rows != len(rows) || first.WalkIns != noCust || first.Customers != len(want) || first.Failed != 0 {
		t.Errorf("summary %+v: want rows %d, walk-ins %d, customers %d, none failed", first, len(rows), noCust, len(want))
	}
	if first.Accepted != first.Invoices || first.Refunds == 0 {
		t.Errorf("summary %+v: every invoice posted must be accepted, and cancellations must be refunds", first)
	}
	waitIngest(t)
	before := checkSpend(t, token, want, ids)

	second := importInto(t, file, token, ids)
	if second.Duplicates != first.Accepted || second.Accepted != 0 || second.Rejected != first.Rejected || second.ByTransaction != first.Customers {
		t.Errorf("second import %+v: want the first's %d accepted invoices answered as already known", second, first.Accepted)
	}
	waitIngest(t)
	after := checkSpend(t, token, want, ids)
	for id, b := range before {
		if a := after[id]; a.net() != b.net() || a.Aggregates.Purchases != b.Aggregates.Purchases {
			t.Errorf("customer %s changed on re-import: net %d → %d, purchases %d → %d", id, b.net(), a.net(), b.Aggregates.Purchases, a.Aggregates.Purchases)
		}
	}

	// Re-tier as of the end of the sample's last day: the shop's "tonight".
	last := rows[len(rows)-1][4][:10]
	asOf := last + "T23:00:00Z"
	runID := startRetier(t, token, asOf)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, err := seed.WaitRun(ctx, st.URL, token, nil, runID)
	if err != nil || status != "done" {
		t.Fatalf("re-tier run %s: %s %v", runID, status, err)
	}
	var run struct {
		Day     string `json:"day"`
		Summary struct {
			Customers    int                `json:"customers"`
			Leads        int                `json:"leads"`
			Tiers        map[string]int     `json:"tiers"`
			TotalRevenue int64              `json:"totalRevenue"`
			Top20Revenue int64              `json:"top20Revenue"`
			Top20Share   float64            `json:"top20Share"`
			RevenueShare map[string]float64 `json:"revenueShare"`
		} `json:"summary"`
	}
	getJSON(t, "/v1/retier/"+runID, token, &run)
	sum := run.Summary
	t.Logf("run %s: %d customers, tiers %v, top 20%% share %.3f of £%d", runID, sum.Customers, sum.Tiers, sum.Top20Share, sum.TotalRevenue/100)
	tiered := 0
	for _, n := range sum.Tiers {
		tiered += n
	}
	if tiered != sum.Customers-sum.Leads || tiered < len(want) {
		t.Errorf("run summary: %d tiered of %d customers (%d leads); the sample alone has %d", tiered, sum.Customers, sum.Leads, len(want))
	}
	// The top fifth by spend always holds at least a fifth of the revenue.
	if sum.TotalRevenue <= 0 || sum.Top20Share < 0.2 || sum.Top20Share > 1 || sum.Top20Revenue <= 0 {
		t.Errorf("run summary: total revenue %d, top 20%% revenue %d, share %.3f", sum.TotalRevenue, sum.Top20Revenue, sum.Top20Share)
	}
	for id, w := range want {
		if w.purchases == 0 {
			continue
		}
		var c customerView
		getJSON(t, "/v1/customers/"+ids[id], token, &c)
		a := c.Assignment
		if !strings.Contains("ABC", a.Tier) || a.Tier == "" || a.Stage == "" || !strings.Contains(a.Reason, "policy v") || a.AssessedOn != run.Day {
			t.Errorf("customer %s after the run: tier %q stage %q reason %q assessed %q (run day %s)", id, a.Tier, a.Stage, a.Reason, a.AssessedOn, run.Day)
		}
	}
}

func startRetier(t testing.TB, token, asOf string) string {
	t.Helper()
	body := strings.NewReader(`{"asOf":"` + asOf + `"}`)
	req, err := http.NewRequest(http.MethodPost, st.URL+"/v1/retier", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST /v1/retier: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST /v1/retier: read the body: %v", err)
	}
	var out struct {
		RunID string `json:"runId"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &out) != nil || out.RunID == "" {
		t.Fatalf("POST /v1/retier: %d %s", resp.StatusCode, b)
	}
	return out.RunID
}

// BenchmarkImportOnlineRetailFull measures the whole walk-through on the full file
// (docs/scale.md): posting, draining the ingest queue, a re-tier run for the base, then
// the same file again, which must change nothing. Run it alone, once:
//
//	go test ./infra/cli -run '^$' -bench ImportOnlineRetailFull -benchtime 1x -timeout 40m
func BenchmarkImportOnlineRetailFull(b *testing.B) {
	path := dataset.Require(b, dataset.OnlineRetailFile)
	token := adminToken(b)
	dir := b.TempDir()
	for b.Loop() {
		var runs [2]json.RawMessage
		for pass := range 2 {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			sum, err := importFile(ctx, importOptions{File: path, API: st.URL, Cred: bearer(token), Rejects: filepath.Join(dir, "rejects.csv")})
			cancel()
			if err != nil && !errors.Is(err, errRejected) {
				b.Fatalf("import: %v", err)
			}
			posted := time.Since(start)
			ctx, cancel = context.WithTimeout(context.Background(), 60*time.Minute)
			q, _ := st.Resources.Ref("IngestQueue")
			if err := seed.WaitDrained(ctx, st.Emulators.SQSClient(), q); err != nil {
				b.Fatal(err)
			}
			cancel()
			applied := time.Since(start)
			runStart := time.Now()
			id := startRetier(b, token, "2011-12-10T23:00:00Z")
			ctx, cancel = context.WithTimeout(context.Background(), 30*time.Minute)
			status, err := seed.WaitRun(ctx, st.URL, token, nil, id)
			cancel()
			if err != nil || status != "done" {
				b.Fatalf("run %s: %s %v", id, status, err)
			}
			retier := time.Since(runStart)
			var run struct {
				Summary json.RawMessage `json:"summary"`
			}
			getJSON(b, "/v1/retier/"+id, token, &run)
			runs[pass] = run.Summary
			b.Logf("pass %d: %d rows, %d invoices (%d accepted, %d already known, %d rows rejected), %d customers (%d created, %d by their transactions): posted in %s (%.0f rows/s, %.0f invoices/s); "+
				"all applied after %s (%.0f invoices/s end to end); re-tier run %s",
				pass+1, sum.Rows, sum.Invoices, sum.Accepted, sum.Duplicates, sum.Rejected, sum.Customers, sum.Created, sum.ByTransaction, posted.Round(time.Millisecond),
				float64(sum.Rows)/posted.Seconds(), float64(sum.Invoices)/posted.Seconds(),
				applied.Round(time.Millisecond), float64(sum.Accepted)/applied.Seconds(), retier.Round(time.Millisecond))
			b.Logf("pass %d run summary: %s", pass+1, run.Summary)
			var tiers json.RawMessage
			getJSON(b, "/v1/reports/tiers", token, &tiers)
			b.Logf("pass %d tiers report: %s", pass+1, tiers)
			b.ReportMetric(float64(sum.Rows)/posted.Seconds(), "rows/s")
			b.ReportMetric(applied.Seconds(), "s-to-drain")
			b.ReportMetric(retier.Seconds(), "s-retier")
		}
		var s1, s2 map[string]any
		if err := json.Unmarshal(runs[0], &s1); err != nil {
			b.Fatalf("first run summary %s: %v", runs[0], err)
		}
		if err := json.Unmarshal(runs[1], &s2); err != nil {
			b.Fatalf("second run summary %s: %v", runs[1], err)
		}
		for _, k := range []string{"customers", "tiers", "revenue", "totalRevenue", "top20Revenue", "top20Share"} {
			if fmt.Sprint(s1[k]) != fmt.Sprint(s2[k]) {
				b.Errorf("importing twice changed %s: %v → %v", k, s1[k], s2[k])
			}
		}
	}
}

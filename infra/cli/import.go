package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

func init() {
	register("import", "import the business's own customers or transactions (CSV in UTF-8 or GB18030, .xlsx) through the API; re-runnable", runImport)
}

// defaultPort is the local stack's port when TIERFLOW_PORT is unset (make run).
const defaultPort = "3000"

func runImport(args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	file := fs.String("file", "", "the file: .csv (UTF-8, UTF-8 with BOM, GB18030), .csv.gz or .xlsx")
	url := fs.String("url", "", "base URL of the API (default http://127.0.0.1:$TIERFLOW_PORT, the stack of make run)")
	token := fs.String("token", os.Getenv("TIERFLOW_TOKEN"), "staff access token, sent as a bearer token (default $TIERFLOW_TOKEN)")
	key := fs.String("key", os.Getenv("TIERFLOW_API_KEY"), "API key (X-Api-Key) with leads:write and transactions:write for the file's stores; posts to /v1/machine/ (default $TIERFLOW_API_KEY; wins over -token)")
	mapFile := fs.String("mapping", "", "mapping file (YAML or JSON) naming what each column means, or a built-in: online-retail")
	kindFlag := fs.String("kind", "", "customers or transactions (default: decided by the columns)")
	store := fs.String("store", "", "store of rows without a store column")
	currency := fs.String("currency", "", "currency of amounts that name none (default CNY)")
	source := fs.String("source", "", "the system the transactions come from: with the invoice number, what makes a transaction count once (default import)")
	tz := fs.String("tz", "Asia/Shanghai", "time zone of dates written without one (the business's)")
	region := fs.String("region", "CN", "region of phone numbers written without a country code")
	encoding := fs.String("encoding", "", "force the CSV's encoding: utf-8 or gb18030 (default: detected)")
	sheetName := fs.String("sheet", "", "the .xlsx sheet to read (default: the active one)")
	rejects := fs.String("rejects", "", "where rejected rows go, as CSV naming row and column (default <file>.rejects.csv)")
	dry := fs.Bool("dry-run", false, "validate the whole file and say what would happen, without writing anything")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("-file is required")
	}
	base := *url
	if base == "" {
		port := os.Getenv("TIERFLOW_PORT")
		if port == "" {
			port = defaultPort
		}
		base = "http://127.0.0.1:" + port
	}
	var cred credential = bearer(*token)
	switch {
	case *key != "":
		cred = apiKey(*key)
	case *token == "":
		return errors.New("no credential: pass -key (an API key) or -token, or set TIERFLOW_API_KEY or TIERFLOW_TOKEN (make import mints a local token with tierflow-local token)")
	}
	zone, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("-tz: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := os.Stderr
	_, err = importFile(ctx, importOptions{File: *file, API: base, Cred: cred, Mapping: *mapFile,
		Kind: kind(*kindFlag), Store: *store, Currency: *currency, Source: *source, Zone: zone, Region: *region,
		Encoding: *encoding, Sheet: *sheetName, Rejects: *rejects, DryRun: *dry, Out: out, Progress: isTerminal(out)})
	return err
}

// isTerminal reports whether f is a terminal: progress is drawn there, not in logs.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// importOptions say what to import where, and how to read what the file leaves out.
type importOptions struct {
	File, API       string
	Cred            credential
	Mapping         string // a mapping file or a built-in's name; "" recognises the headers
	Kind            kind
	Store, Currency string
	Source, Region  string
	Zone            *time.Location
	Encoding, Sheet string
	Rejects         string
	DryRun          bool
	Out             io.Writer // the summary (nil: silent)
	Progress        bool      // draw rows/s and ETA on Out
	HTTP            *http.Client
	Now             func() time.Time
	OnCustomer      func(ref, id string) // which tierflow customer each number became
	Workers         int                  // customers posted at once (default 8)
}

// importSummary is what one import did: the file's counts, then the API's answers.
type importSummary struct {
	Kind      kind
	Encoding  string
	Mapping   string
	Rows      int // data rows read
	WalkIns   int // rows skipped: a sale to no customer in particular
	Rejected  int // rows rejected, by the file's checks or the API (in the rejects file)
	Customers int // distinct customers the file names (of rows not rejected)
	Created   int // customers the import created (or would create)
	Merged    int // existing customers who gained a field or their number
	Unchanged int // existing customers the file had nothing new for
	// Customers a transactions file names by one number, phone or e-mail and says nothing
	// else about: their first transaction finds or creates them (not posted on their own).
	ByTransaction int
	Invoices      int // transactions posted (an invoice's rows are one)
	Refunds       int // of which refunds
	// The transactions API's answers.
	Accepted, Duplicates, Conflicts, TxnRejected, Failed int
	Requests                                             int
	Elapsed                                              time.Duration
	RejectsFile                                          string
	ByReason                                             map[string]int
}

// errRejected makes the command exit non-zero when any row was rejected.
var errRejected = errors.New("rows were rejected")

// importFile reads, validates and plans the whole file, then posts its customers
// (POST /v1/customers) and its transactions (POST /v1/transactions), and writes the
// rejects file. A dry run asks the API what would happen to each customer and posts no
// transaction.
func importFile(ctx context.Context, o importOptions) (importSummary, error) {
	var sum importSummary
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rejects == "" {
		o.Rejects = strings.TrimSuffix(strings.TrimSuffix(o.File, ".gz"), filepath.Ext(strings.TrimSuffix(o.File, ".gz"))) + ".rejects.csv"
	}
	sum.RejectsFile = o.Rejects
	s, err := readSheet(o.File, o.Encoding, o.Sheet)
	if err != nil {
		return sum, err
	}
	sum.Encoding = s.Encoding
	m, ok := builtIn(o.Mapping, s.Header)
	if !ok && o.Mapping != "" {
		if m, err = loadMapping(o.Mapping); err != nil {
			return sum, err
		}
	} else if !ok {
		m = mapping{name: "headers"}
	}
	sum.Mapping = m.name
	if m.TimeZone != "" { // the file's own clock (Online Retail's is London's)
		if o.Zone, err = time.LoadLocation(m.TimeZone); err != nil {
			return sum, fmt.Errorf("mapping %s: timeZone: %w", m.name, err)
		}
	}
	cols, err := m.bind(s.Header)
	if err != nil {
		return sum, err
	}
	k, err := cols.kindOf(firstKind(o.Kind, m.Kind))
	if err != nil {
		return sum, err
	}
	sum.Kind = k
	p, err := planImport(s, m, cols, k, planOptions{Store: o.Store, Currency: o.Currency, Source: o.Source,
		Region: o.Region, Zone: o.Zone, Now: o.Now()})
	if err != nil {
		return sum, err
	}
	sum.Rows, sum.WalkIns, sum.Invoices, sum.Refunds = p.Rows, p.WalkIns, len(p.Invoices), p.Refunds
	fmt.Fprintf(out, "%s: %d rows (%s, %s), read as %s: %s\n", filepath.Base(o.File), p.Rows, s.Encoding, m.name, k, cols.describe())
	if len(cols.ignored) > 0 {
		fmt.Fprintf(out, "columns not imported: %s\n", strings.Join(cols.ignored, ", "))
	}

	api := &apiClient{base: strings.TrimRight(o.API, "/"), cred: o.Cred, http: o.HTTP}
	if api.http == nil {
		api.http = &http.Client{Timeout: 60 * time.Second}
	}
	start := time.Now()
	// A customers file counts its rows; a transactions file its customers, then its rows.
	unit, total := "rows", 0
	for _, c := range p.Customers {
		total += len(c.Rows)
	}
	if k == kindTransactions {
		unit, total = "customers", 0
		for _, c := range p.Customers {
			if o.DryRun || !c.nameOnly() {
				total++
			}
		}
	}
	prog := newProgress(out, o.Progress, unit, total)
	err = postCustomers(ctx, api, p, o, &sum, prog)
	prog.finish()
	if err != nil {
		return sum, err
	}
	if !o.DryRun && k == kindTransactions {
		rows := 0
		for _, inv := range p.Invoices {
			rows += len(inv.Rows)
		}
		prog = newProgress(out, o.Progress, "rows", rows)
		err = postTransactions(ctx, api, p, &sum, prog, o.OnCustomer)
		prog.finish()
		if err != nil {
			return sum, err
		}
	}
	sum.Elapsed = time.Since(start)
	rejectedRows := map[int]bool{}
	for _, r := range p.Rejects {
		rejectedRows[r.Row] = true
	}
	sum.Rejected = len(rejectedRows)
	used := 0
	for _, c := range p.Customers {
		if !c.rejected {
			used++
		}
	}
	sum.Customers = used
	sum.ByReason = byReason(p.Rejects)
	if err := writeRejects(o.Rejects, p.Rejects); err != nil {
		return sum, err
	}
	report(out, sum, o.DryRun)
	switch {
	case sum.Failed > 0:
		return sum, fmt.Errorf("%d transactions could not be queued: run the import again (what was taken counts once)", sum.Failed)
	case sum.Rejected > 0:
		return sum, fmt.Errorf("%d of %d rows %s rejected (%s): %w", sum.Rejected, sum.Rows, wouldBe(o.DryRun), o.Rejects, errRejected)
	}
	return sum, nil
}

func firstKind(ks ...kind) kind {
	for _, k := range ks {
		if k != "" {
			return k
		}
	}
	return ""
}

func wouldBe(dry bool) string {
	if dry {
		return "would be"
	}
	return "were"
}

// report prints what happened (or would happen).
func report(out io.Writer, s importSummary, dry bool) {
	verb := map[bool]string{true: "would be ", false: ""}[dry]
	fmt.Fprintf(out, "customers: %d — %screated %d, %smerged into existing %d, unchanged %d",
		s.Customers, verb, s.Created, verb, s.Merged, s.Unchanged)
	if s.ByTransaction > 0 {
		fmt.Fprintf(out, "; named only by their number, phone or e-mail: %d (found, or created with their first transaction)", s.ByTransaction)
	}
	fmt.Fprintln(out)
	if s.Kind == kindTransactions {
		if dry {
			fmt.Fprintf(out, "transactions: %d (%d refunds) would be posted; any imported before is answered \"already known\" and counts once\n", s.Invoices, s.Refunds)
		} else {
			secs := max(s.Elapsed.Seconds(), 0.001)
			fmt.Fprintf(out, "transactions: %d (%d refunds) in %d requests: accepted %d, already known %d, conflicting %d, rejected %d, failed %d (%.0f rows/s, %.0f transactions/s posted)\n",
				s.Invoices, s.Refunds, s.Requests, s.Accepted, s.Duplicates, s.Conflicts, s.TxnRejected, s.Failed,
				float64(s.Rows)/secs, float64(s.Invoices)/secs)
			fmt.Fprintln(out, "accepted transactions are applied by the ingest queue within seconds; a transaction posted again counts once.")
		}
	}
	if s.WalkIns > 0 {
		fmt.Fprintf(out, "rows without a customer (walk-in sales, skipped): %d\n", s.WalkIns)
	}
	if s.Rejected == 0 {
		fmt.Fprintf(out, "rejected rows: none\n")
		return
	}
	fmt.Fprintf(out, "rejected rows: %d, in %s\n", s.Rejected, s.RejectsFile)
	reasons := make([]string, 0, len(s.ByReason))
	for r := range s.ByReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.ByReason[reasons[i]] != s.ByReason[reasons[j]] {
			return s.ByReason[reasons[i]] > s.ByReason[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		fmt.Fprintf(out, "  %6d  %s\n", s.ByReason[r], r)
	}
}

// byReason counts rejects by column and reason: "金额: the amount is not an amount".
func byReason(rs []reject) map[string]int {
	out := map[string]int{}
	seen := map[int]bool{}
	for _, r := range rs {
		if seen[r.Row] {
			continue
		}
		seen[r.Row] = true
		reason := r.Reason
		if i := strings.Index(reason, " ("); i > 0 {
			reason = reason[:i] // the value is in the file, not in the tally
		}
		if r.Column != "" {
			reason = r.Column + ": " + reason
		}
		out[reason]++
	}
	return out
}

// writeRejects writes the rejected rows as CSV (UTF-8 with a BOM, so that Excel shows
// Chinese headers and values as they were), ordered by row.
func writeRejects(path string, rs []reject) error {
	sorted := append([]reject(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Row < sorted[j].Row })
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("rejects file: %w", err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("\ufeff")
	cw := csv.NewWriter(w)
	cw.Write([]string{"row", "column", "value", "reason"})
	for _, r := range sorted {
		cw.Write([]string{fmt.Sprint(r.Row), r.Column, defuse(r.Value), r.Reason})
	}
	cw.Flush()
	err = errors.Join(cw.Error(), w.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("rejects file: %w", err)
	}
	return nil
}

// defuse keeps a value that looks like a formula from running when the rejects file is
// opened in a spreadsheet.
func defuse(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		if _, _, err := parseAmount(v); err != nil {
			return "'" + v
		}
	}
	return v
}

// progress draws what is done of one phase, its rate and the time left on a terminal.
type progress struct {
	w     io.Writer
	on    bool
	unit  string // "rows", "customers"
	total int
	done  int
	start time.Time
	drawn time.Time
}

func newProgress(w io.Writer, on bool, unit string, total int) *progress {
	return &progress{w: w, on: on, unit: unit, total: total, start: time.Now()}
}

func (p *progress) add(n int) {
	p.done += n
	if !p.on || time.Since(p.drawn) < 200*time.Millisecond && p.done < p.total {
		return
	}
	p.drawn = time.Now()
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 0.001)
	eta := "0s"
	if rate > 0 && p.done < p.total {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	const width = 30
	filled := min(width*p.done/max(p.total, 1), width)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s  %.0f %s/s  ETA %s   ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		p.done, p.total, p.unit, rate, p.unit, eta)
}

// finish ends the phase's line.
func (p *progress) finish() {
	if p.on && p.total > 0 {
		fmt.Fprintln(p.w)
	}
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

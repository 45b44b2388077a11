package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/dataset"
)

func init() {
	register("model", "fit BG/NBD + Gamma-Gamma on a purchase history and print the parameters as JSON", runModel)
}

// modelReport is what `tierflow model` prints: enough for an analyst to judge whether
// the model describes the business before it is used at night.
type modelReport struct {
	File           string         `json:"file"`
	Format         string         `json:"format"`
	Customers      int            `json:"customers"` // customers who had bought by the end of calibration
	RepeatBuyers   int            `json:"repeat_customers"`
	MoneyUnit      string         `json:"money_unit"` // of gamma: the file's amounts in minor units
	Model          clv.Model      `json:"model"`
	PurchasesError string         `json:"purchases_error,omitempty"`
	FitSeconds     float64        `json:"fit_seconds"`
	Converged      map[string]any `json:"converged"`
}

func runModel(args []string) error {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	file := fs.String("file", "", "purchase history: CDNOW text file or Online Retail CSV (optionally .gz)")
	calEnd := fs.String("cal-end", "", "last day of the calibration period, YYYY-MM-DD (inclusive)")
	format := fs.String("format", "auto", "cdnow | retail | auto")
	unit := fs.String("unit", "week", "time unit of the model: week | day")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *calEnd == "" {
		fs.Usage()
		return errors.New("-file and -cal-end are required")
	}
	end, err := time.Parse(time.DateOnly, *calEnd)
	if err != nil {
		return fmt.Errorf("-cal-end %q is not YYYY-MM-DD: %w", *calEnd, err)
	}
	cal := clv.Calibration{End: end, Period: clv.Period(*unit)}
	if err := cal.Validate(); err != nil {
		return err
	}
	byCustomer, used, err := readPurchases(*file, *format)
	if err != nil {
		return err
	}
	ss := make([]clv.Summary, 0, len(byCustomer))
	rep := modelReport{File: *file, Format: used, MoneyUnit: "minor currency units (cents, pence)"}
	for _, ps := range byCustomer {
		s, ok, err := cal.Summarize(ps)
		if err != nil {
			return err
		}
		if ok {
			ss = append(ss, s)
			if s.X > 0 {
				rep.RepeatBuyers++
			}
		}
	}
	rep.Customers = len(ss)
	start := time.Now()
	m, err := clv.Fit(ss, cal, fmt.Sprintf("%s@%s", *calEnd, *unit), clv.FitOptions{})
	rep.FitSeconds = time.Since(start).Seconds()
	rep.Model = m
	if err != nil {
		// Printed, not just returned: the analyst needs the reason and the fit quality.
		rep.PurchasesError = err.Error()
	}
	rep.Converged = map[string]any{"purchases": err == nil, "spend": m.Spend != nil}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(rep); encErr != nil {
		return encErr
	}
	if err != nil {
		return fmt.Errorf("model not usable: %w", err)
	}
	return nil
}

// readPurchases reads a file into purchases per customer; format auto looks at the
// first line (an Online Retail header starts with InvoiceNo).
func readPurchases(path, format string) (map[string][]clv.Purchase, string, error) {
	rc, err := dataset.OpenOnlineRetail(path) // opens plain or gzip files alike
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if format == "auto" {
		head, _ := br.Peek(64)
		format = "cdnow"
		if strings.Contains(string(head), "InvoiceNo") {
			format = "retail"
		}
	}
	out := map[string][]clv.Purchase{}
	switch format {
	case "cdnow":
		rows, err := dataset.ReadCDNOW(br)
		if err != nil {
			return nil, format, err
		}
		for _, r := range rows {
			out[r.CustomerID] = append(out[r.CustomerID], clv.Purchase{At: r.Date, Amount: r.Amount})
		}
	case "retail":
		txns, st, err := dataset.ReadOnlineRetail(io.Reader(br))
		if err != nil {
			return nil, format, err
		}
		if len(st.Rejected) > 0 {
			fmt.Fprintf(os.Stderr, "tierflow model: %d rows rejected, first: %v\n", len(st.Rejected), st.Rejected[0])
		}
		for _, x := range txns {
			out[x.CustomerID] = append(out[x.CustomerID], clv.Purchase{At: x.At, Amount: x.Net()})
		}
	default:
		return nil, format, fmt.Errorf("-format %q is not cdnow, retail or auto", format)
	}
	return out, format, nil
}

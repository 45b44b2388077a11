package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Lambda images carry no zoneinfo; the shop's clock is Europe/London.

	"github.com/tierflow/tierflow/shared/model"
)

// OnlineRetailFile is the UCI Online Retail file, relative to Dir().
const OnlineRetailFile = "online-retail/online_retail.csv.gz"

// ErrFormat is returned when a file is not in the expected layout at all (wrong header);
// a single bad row is counted in ReadStats instead, so that one typo does not stop an import.
var ErrFormat = errors.New("unexpected file format")

// ReadStats counts what a reader saw, so that callers can check them against the
// published figures (541,909 rows; 135,080 without a customer) and report rejections.
type ReadStats struct {
	Rows           int // data rows, header excluded
	NoCustomer     int // rows skipped because CustomerID is empty
	Rejected       []RowError
	Invoices       int // transactions returned
	Refunds        int // of which refunds (cancelled "C…" invoices)
	Customers      int // distinct customer ids among returned transactions
	Items          int // rows folded into returned transactions
	RoundedInvoice int // invoices whose exact total was not a whole number of pence
}

// RowError says why one row was not used; Line counts from 1 with the header as line 1.
type RowError struct {
	Line   int
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

var (
	londonOnce sync.Once
	london     *time.Location
	londonErr  error
)

func londonTZ() (*time.Location, error) {
	londonOnce.Do(func() { london, londonErr = time.LoadLocation("Europe/London") })
	return london, londonErr
}

// OpenOnlineRetail opens a UCI Online Retail CSV, plain or gzip-compressed (detected from
// the content, not the name). Close the returned reader when done.
func OpenOnlineRetail(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open online retail file: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open online retail file %s: gzip: %w", path, err)
		}
		ra := readAhead(zr)
		return &stackedCloser{Reader: ra, closers: []io.Closer{ra, zr, f}}, nil
	}
	return &stackedCloser{Reader: br, closers: []io.Closer{f}}, nil
}

// Drain reads r to its end the way the records reader reads it (a file opened by
// OpenOnlineRetail chunk by chunk, as the read-ahead hands them over, without a copy)
// and does nothing else: how long reading the file takes before any parsing (issue #13's
// floor). It returns how many bytes it read.
func Drain(r io.Reader) (int64, error) {
	c := chunksOf(r)
	var n int64
	for {
		b, err := c.chunk()
		n += int64(len(b))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

type stackedCloser struct {
	io.Reader
	closers []io.Closer
}

func (s *stackedCloser) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// ReadOnlineRetail reads the UCI Online Retail CSV into one model.Txn per invoice (the
// invoice number is its ExternalID), ordered by time then invoice number. Money is exact:
// each line's Quantity×UnitPrice is summed in millionths of a pound and the invoice total
// is rounded once to pence (half away from zero), so the four rows priced at £0.001 do
// not accumulate float error. Invoices starting with "C" are cancellations and become
// refunds (as does an invoice whose total is negative: in the published file only
// cancellations are); Amount is the total's size, as everywhere. Rows without a
// CustomerID are skipped and counted; rows that cannot be parsed are listed in
// st.Rejected. The file's Country is the only place field it has, so it becomes Store.
func ReadOnlineRetail(r io.Reader) (txns []model.Txn, st ReadStats, err error) {
	return readOnlineRetail(newRecords(r), true)
}

// ReadOnlineRetailTotals reads the file as ReadOnlineRetail does (the same transactions,
// totals, times and counts) but leaves each transaction's Items empty: what RFM and the
// other per-customer figures need, without converting a SKU or a description per line.
func ReadOnlineRetailTotals(r io.Reader) (txns []model.Txn, st ReadStats, err error) {
	return readOnlineRetail(newRecords(r), false)
}

// readOnlineRetail reads from cr (a short row is one rejected row, not a failed import).
func readOnlineRetail(cr *records, withItems bool) (txns []model.Txn, st ReadStats, err error) {
	loc, err := londonTZ()
	if err != nil {
		return nil, st, fmt.Errorf("read online retail: load Europe/London: %w", err)
	}
	header, err := cr.Read()
	if err != nil {
		return nil, st, fmt.Errorf("read online retail header: %w", err)
	}
	want := []string{"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"}
	if len(header) != len(want) {
		return nil, st, fmt.Errorf("read online retail: header has %d columns, want %d: %w", len(header), len(want), ErrFormat)
	}
	for i, h := range want {
		if strings.TrimPrefix(header[i], "\ufeff") != h {
			return nil, st, fmt.Errorf("read online retail: column %d is %q, want %q: %w", i+1, header[i], h, ErrFormat)
		}
	}

	// The invoices in the order first seen, and each one's exact total in millionths of
	// the currency unit.
	accs := make([]model.Txn, 0, 1<<15)
	micros := make([]int64, 0, 1<<15)
	// Invoices and customers are found by number: a number of up to 7 bytes is one word
	// (smallKey), which the map compares without following a pointer to a string;
	// anything longer is looked up as a string.
	byInvoice := make(map[uint64]int, 1<<15)
	byInvoiceLong := map[string]int{}
	// Strings repeat a lot (customers, countries, SKUs); interning keeps the result small.
	// A lookup by string(b) does not allocate: only a string seen for the first time does.
	// Customers have a table of their own: its size is the number of customers.
	customers := make(map[uint64]string, 1<<13)
	customersLong := map[string]string{}
	intern := make(map[string]string, 1<<10)
	in := func(m map[string]string, b []byte) string {
		if s, ok := m[string(b)]; ok {
			return s
		}
		s := string(b)
		m[s] = s
		return s
	}
	customer := func(b []byte) string {
		k, ok := smallKey(b)
		if !ok {
			return in(customersLong, b)
		}
		s, ok := customers[k]
		if !ok {
			s = string(b)
			customers[k] = s
		}
		return s
	}
	var lastStore string // most invoices are from the country before them

	type product2 struct{ sku, name string }
	products := make(map[string]product2, 1<<12)
	var lastInv string // the invoice of the previous line: its lines are consecutive
	var lastIdx int
	line := 1
	var lastDate []byte // the previous line's date as written, and its time
	var lastAt time.Time
	sameDate := false // this line's date is the previous line's
	for {
		rec, rerr := cr.readFields()
		if rerr == io.EOF {
			break
		}
		line++
		if rerr != nil {
			return nil, st, fmt.Errorf("read online retail line %d: %w", line, rerr)
		}
		st.Rows++
		if len(rec) != len(want) {
			st.Rejected = append(st.Rejected, RowError{Line: line, Reason: fmt.Sprintf("%d columns, want %d", len(rec), len(want))})
			continue
		}
		if len(rec[6]) == 0 {
			st.NoCustomer++
			continue
		}
		reject := func(format string, a ...any) {
			st.Rejected = append(st.Rejected, RowError{Line: line, Reason: fmt.Sprintf(format, a...)})
		}
		qty, perr := atoi(rec[3])
		if perr != nil {
			reject("quantity %q is not a whole number", rec[3])
			continue
		}
		price, perr := parseMicro(rec[5])
		if perr != nil {
			reject("unit price %q: %v", rec[5], perr)
			continue
		}
		// An invoice's lines share its date: parse each distinct date once.
		at := lastAt
		sameDate = len(lastDate) != 0 && bytes.Equal(rec[4], lastDate)
		if !sameDate {
			var ok bool
			if at, ok = parseDateTime(rec[4], loc); !ok {
				ds := string(rec[4])
				var perr error
				at, perr = time.ParseInLocation("2006-01-02 15:04:05", ds, loc)
				if perr != nil {
					// Some copies of the file use the spreadsheet's own format.
					at, perr = time.ParseInLocation("1/2/2006 15:04", ds, loc)
				}
				if perr != nil {
					reject("invoice date %q is not YYYY-MM-DD HH:MM:SS", rec[4])
					continue
				}
			}
			lastDate, lastAt = append(lastDate[:0], rec[4]...), at
		}
		cust := bytes.TrimSuffix(rec[6], []byte(".0")) // spreadsheet exports write 17850.0
		if !isDigits(cust) {
			reject("customer id %q is not numeric", rec[6])
			continue
		}
		// An invoice's lines are consecutive: look the invoice up once per run of lines.
		sameInv := lastInv != "" && string(rec[0]) == lastInv
		idx, ok := lastIdx, sameInv
		if !ok {
			invKey, small := smallKey(rec[0])
			if small {
				idx, ok = byInvoice[invKey]
			} else {
				idx, ok = byInvoiceLong[string(rec[0])]
			}
			if !ok {
				inv := string(rec[0]) // invoice numbers do not repeat: nothing to intern
				idx = len(accs)
				if small {
					byInvoice[invKey] = idx
				} else {
					byInvoiceLong[inv] = idx
				}
				if string(rec[7]) != lastStore {
					lastStore = in(intern, rec[7])
				}
				accs = append(accs, model.Txn{
					CustomerID: customer(cust),
					ExternalID: inv,
					Store:      lastStore,
					At:         at,
					Refund:     strings.HasPrefix(inv, "C"),
				})
				micros = append(micros, 0)
			}
		}
		lastInv, lastIdx = accs[idx].ExternalID, idx
		a := &accs[idx]
		if !(sameInv && sameDate) && at.Before(a.At) {
			a.At = at // an invoice keyed over a minute boundary: it was issued at its first line
		}
		micros[idx] += int64(qty) * price
		st.Items++
		if !withItems {
			continue
		}
		// A product is one SKU with (nearly always) one description: one lookup for both.
		p, known := products[string(rec[1])]
		if !known || p.name != string(rec[2]) {
			p = product2{sku: in(intern, rec[1]), name: in(intern, rec[2])}
			products[p.sku] = p
		}
		a.Items = append(a.Items, model.TxnItem{
			SKU:       p.sku,
			Name:      p.name,
			Qty:       qty,
			UnitPrice: model.Money(roundDiv(price, 10_000)),
		})
	}

	txns = accs[:len(accs):len(accs)]
	for i := range txns {
		t := &txns[i]
		total := roundDiv(micros[i], 10_000)
		if total < 0 {
			t.Refund, total = true, -total
		}
		t.Amount = model.Money(total)
		if micros[i]%10_000 != 0 {
			st.RoundedInvoice++
		}
		if t.Refund {
			st.Refunds++
		}
	}
	slices.SortStableFunc(txns, func(a, b model.Txn) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ExternalID, b.ExternalID)
	})
	st.Invoices = len(txns)
	// A customer is added with the first invoice that is kept.
	st.Customers = len(customers) + len(customersLong)
	return txns, st, nil
}

// smallKey packs b, if it is at most 7 bytes long, and its length into one word: two
// byte strings have the same key exactly when they are equal.
func smallKey(b []byte) (uint64, bool) {
	if len(b) > 7 {
		return 0, false
	}
	k := uint64(len(b)) << 56
	for i, c := range b {
		k |= uint64(c) << (8 * i)
	}
	return k, true
}

// parseDateTime reads "YYYY-MM-DD HH:MM:SS" in loc from bytes, as
// time.ParseInLocation("2006-01-02 15:04:05", …) does (time.Date of the same fields);
// false for anything else, which is left to time.ParseInLocation and its error.
func parseDateTime(b []byte, loc *time.Location) (time.Time, bool) {
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	// The last day of the month: the day before the first of the next.
	if day > 28 && day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

// atoi is strconv.Atoi over bytes: up to 18 digits (which cannot overflow) are read in
// place, anything longer or odd is left to strconv for its exact answer.
func atoi(b []byte) (int, error) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return strconv.Atoi(string(b))
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return strconv.Atoi(string(b))
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, nil
}

// parseMicro parses a plain decimal ("2.55", "-11062.06", "0.001", "3") into millionths.
func parseMicro[T string | []byte](s T) (int64, error) {
	if len(s) == 0 {
		return 0, errors.New("empty")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac := s, s[:0]
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if len(intPart) == 0 && len(frac) == 0 || len(frac) > 6 || len(intPart) > 12 {
		return 0, errors.New("not a decimal with at most 6 places")
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, errors.New("not a decimal")
		}
		v = v*10 + int64(c-'0')
	}
	for i := 0; i < 6; i++ {
		v *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, errors.New("not a decimal")
			}
			v += int64(c - '0')
		}
	}
	if neg {
		v = -v
	}
	return v, nil
}

// roundDiv divides rounding half away from zero, the way a till rounds.
func roundDiv(v, d int64) int64 {
	if v >= 0 {
		return (v + d/2) / d
	}
	return -((-v + d/2) / d)
}

func isDigits(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

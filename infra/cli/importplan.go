package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/text/width"

	"github.com/tierflow/tierflow/shared/customer"
)

// reject is one row the import refuses, with the column at fault, in the rejects file.
type reject struct {
	Row    int    // the spreadsheet's row number (the header is row 1)
	Column string // the file's header of the column at fault ("" for the row as a whole)
	Value  string
	Reason string
}

// custRow is one customer the file names, with what it says about them.
type custRow struct {
	key                                  string // store + the way the customer is named
	Store, Ref, Name, Phone, Email, Bday string
	Tags                                 []string
	Rows                                 []int // rows that name this customer
	id                                   string
	rejected                             bool // the API refused them: their rows and transactions are rejects
}

// invoice is one transaction the file holds: one row, or the rows of one invoice number.
type invoice struct {
	ExternalID string
	Store      string
	Customer   *custRow
	At         time.Time
	Amount     decimal.Decimal // positive; Refund says which way
	Refund     bool
	Currency   string
	Items      []lineItem
	Rows       []int
}

type lineItem struct {
	SKU, Name string
	Qty       int
	UnitPrice decimal.Decimal
}

// plan is what the file would do, before anything is posted.
type plan struct {
	Kind         kind
	Rows         int
	Customers    []*custRow
	Invoices     []*invoice
	Refunds      int
	WalkIns      int // rows skipped: a sale to nobody in particular (mapping walkIns: skip)
	Rejects      []reject
	Columns      columns
	Source       string
	rejectedRows map[int]bool
}

// rejectRow records a fault of one row; a row is rejected once, at its first fault.
func (p *plan) rejectRow(row int, column, value, reason string) {
	if p.rejectedRows == nil {
		p.rejectedRows = map[int]bool{}
	}
	if p.rejectedRows[row] {
		return
	}
	p.rejectedRows[row] = true
	p.Rejects = append(p.Rejects, reject{Row: row, Column: column, Value: value, Reason: reason})
}

// planOptions are the defaults for what the file and the mapping leave out.
type planOptions struct {
	Store, Currency, Source, Region string
	Zone                            *time.Location
	Now                             time.Time
}

// planImport validates every row and groups them into customers and transactions.
func planImport(s *sheet, m mapping, cols columns, k kind, o planOptions) (*plan, error) {
	p := &plan{Kind: k, Rows: len(s.Rows), Columns: cols, Source: firstOf(m.Source, o.Source, "import")}
	order := m.DateOrder
	if order == "" && cols.has(fDate) {
		var vals []string
		for _, r := range s.Rows {
			vals = append(vals, cols.get(r, fDate))
		}
		o, err := dateOrderOf(vals)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", cols.column(fDate), err)
		}
		order = o
	}
	dates := dateReader{loc: o.Zone, order: order}
	region := firstOf(m.Region, o.Region, "CN")
	defStore := firstOf(m.Store, o.Store)
	defCurrency := firstOf(m.Currency, cols.currency, o.Currency, "CNY")
	custs := map[string]*custRow{}
	invs := map[string]*invoice{}
	// Rows without an invoice number become one transaction each, numbered by their
	// content (and how often that content occurred before), so that a second run of the
	// same file, or of the file with rows added, names them the same.
	seen := map[string]int{}
	badInvoices := map[string]bool{}
	for i, row := range s.Rows {
		n := s.RowNum[i]
		bad := func(f field, reason string) { p.rejectRow(n, cols.column(f), cols.get(row, f), reason) }
		store := firstOf(cols.get(row, fStore), defStore)
		if store == "" {
			bad(fStore, "no store: give the file a store column, or --store")
			continue
		}
		c, ok := p.customerOf(row, n, store, region, o.Now, bad)
		if !ok {
			if inv := cols.get(row, fInvoice); inv != "" {
				badInvoices[store+"\x00"+inv] = true
			}
			continue
		}
		if k == kindCustomers {
			if c == nil {
				bad(fRef, "names no customer: give a customer number, phone or e-mail")
				continue
			}
			mergeCustomer(custs, &p.Customers, c)
			continue
		}
		// A transaction row.
		invNo := cols.get(row, fInvoice)
		if c == nil {
			if m.WalkIns == "skip" {
				p.WalkIns++
				continue
			}
			bad(fRef, "names no customer: give a customer number, phone or e-mail")
			if invNo != "" {
				badInvoices[store+"\x00"+invNo] = true
			}
			continue
		}
		at, err := dates.parse(cols.get(row, fDate))
		if err != nil {
			bad(fDate, "the date "+err.Error())
			badInvoices[store+"\x00"+invNo] = true
			continue
		}
		line, amount, currency, refund, ok := p.lineOf(row, m, cols, invNo, bad)
		if !ok {
			badInvoices[store+"\x00"+invNo] = true
			continue
		}
		currency = firstOf(cols.get(row, fCurrency), currency, defCurrency)
		c = mergeCustomer(custs, &p.Customers, c)
		if invNo == "" {
			sum := sha256.Sum256([]byte(strings.Join([]string{store, c.key, at.Format(time.RFC3339), amount.String(), fmt.Sprint(refund), currency}, "\x00")))
			id := hex.EncodeToString(sum[:10])
			seen[id]++
			invNo = fmt.Sprintf("row-%s-%d", id, seen[id])
		}
		key := store + "\x00" + invNo
		inv := invs[key]
		if inv == nil {
			inv = &invoice{ExternalID: invNo, Store: store, Customer: c, At: at, Currency: currency,
				Refund: m.RefundPrefix != "" && strings.HasPrefix(invNo, m.RefundPrefix)}
			invs[key] = inv
			p.Invoices = append(p.Invoices, inv)
		} else if inv.Customer != c {
			bad(fRef, fmt.Sprintf("invoice %s names another customer than its row %d", invNo, inv.Rows[0]))
			badInvoices[key] = true
			continue
		}
		// Amounts are summed signed; the invoice's total decides purchase or refund.
		if refund && !line {
			amount = amount.Neg()
		}
		inv.Amount = inv.Amount.Add(amount)
		if line {
			if it, ok := p.itemOf(row, cols); ok {
				inv.Items = append(inv.Items, it)
			}
		}
		inv.Rows = append(inv.Rows, n)
	}
	// An invoice with a rejected row is rejected whole: posting the rest would count a
	// part of it, and the corrected file would then conflict with what was posted.
	var kept []*invoice
	for _, inv := range p.Invoices {
		key := inv.Store + "\x00" + inv.ExternalID
		if badInvoices[key] {
			for _, r := range inv.Rows {
				p.rejectRow(r, cols.column(fInvoice), inv.ExternalID, "another row of this invoice was rejected")
			}
			continue
		}
		// Purchases count up and refunds down: a total below zero is money given back (a
		// cancellation's lines are negative), and so is an invoice numbered as one.
		if inv.Amount.IsNegative() {
			inv.Refund, inv.Amount = true, inv.Amount.Neg()
		}
		rounded := inv.Amount.Round(2)
		moneyCol := firstOf(cols.column(fAmount), cols.column(fUnitPrice))
		switch {
		case rounded.IsZero():
			for _, r := range inv.Rows {
				p.rejectRow(r, moneyCol, inv.Amount.String(), "the transaction's total is 0: nothing to count")
			}
			continue
		case rounded.GreaterThan(decimal.New(1, 12)):
			for _, r := range inv.Rows {
				p.rejectRow(r, moneyCol, inv.Amount.String(), "the transaction's total is implausibly large")
			}
			continue
		}
		inv.Amount = rounded
		if inv.Refund {
			p.Refunds++
		}
		kept = append(kept, inv)
	}
	p.Invoices = kept
	if k == kindTransactions {
		// Only customers some accepted transaction names are imported with the file.
		used := map[*custRow]bool{}
		for _, inv := range kept {
			used[inv.Customer] = true
		}
		var cs []*custRow
		for _, c := range p.Customers {
			if used[c] {
				cs = append(cs, c)
			}
		}
		p.Customers = cs
	}
	return p, nil
}

// customerOf reads who a row names: nil (and ok) when it names nobody.
func (p *plan) customerOf(row []string, n int, store, region string, now time.Time, bad func(field, string)) (*custRow, bool) {
	cols := p.Columns
	c := &custRow{Store: store, Ref: cols.get(row, fRef), Name: cols.get(row, fName)}
	if strings.ContainsAny(c.Ref, "#\n\r\t") || len(c.Ref) > 100 {
		bad(fRef, "a customer number has at most 100 characters and no '#'")
		return nil, false
	}
	if v := cols.get(row, fPhone); v != "" {
		ph, err := customer.NormalizePhone(width.Fold.String(v), region)
		if err != nil {
			bad(fPhone, "is not a phone number we can read")
			return nil, false
		}
		c.Phone = ph
	}
	if v := cols.get(row, fEmail); v != "" {
		e, err := customer.NormalizeEmail(width.Fold.String(v))
		if err != nil {
			bad(fEmail, "is not an e-mail address")
			return nil, false
		}
		c.Email = e
	}
	if v := cols.get(row, fBirthday); v != "" {
		t, err := dateReader{loc: time.UTC}.parse(v)
		if err == nil && (t.Year() < 1900 || t.After(now)) {
			err = fmt.Errorf("is not a plausible birthday")
		}
		if err != nil {
			bad(fBirthday, "the birthday "+err.Error())
			return nil, false
		}
		c.Bday = t.Format(time.DateOnly)
	}
	if v := cols.get(row, fTags); v != "" {
		for _, t := range strings.FieldsFunc(width.Fold.String(v), func(r rune) bool { return r == ',' || r == ';' || r == '、' || r == '|' }) {
			if t = strings.TrimSpace(t); t != "" {
				c.Tags = append(c.Tags, t)
			}
		}
	}
	switch {
	case c.Ref != "":
		c.key = store + "\x00ref\x00" + c.Ref
	case c.Phone != "":
		c.key = store + "\x00phone\x00" + c.Phone
	case c.Email != "":
		c.key = store + "\x00email\x00" + c.Email
	default:
		return nil, true
	}
	c.Rows = []int{n}
	return c, true
}

// nameOnly reports whether the file says nothing about the customer beyond the one
// number, phone or e-mail that names them: a transaction naming them finds or creates
// them exactly as POST /v1/customers would, so they need no request of their own.
func (c *custRow) nameOnly() bool {
	ways := 0
	for _, v := range []string{c.Ref, c.Phone, c.Email} {
		if v != "" {
			ways++
		}
	}
	return ways == 1 && c.Name == "" && c.Bday == "" && len(c.Tags) == 0
}

// mergeCustomer keeps one record per customer of the file: later rows fill what earlier
// ones left empty.
func mergeCustomer(by map[string]*custRow, list *[]*custRow, c *custRow) *custRow {
	have, ok := by[c.key]
	if !ok {
		by[c.key] = c
		*list = append(*list, c)
		return c
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&have.Name, c.Name}, {&have.Phone, c.Phone}, {&have.Email, c.Email}, {&have.Bday, c.Bday}} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
	for _, t := range c.Tags {
		if !contains(have.Tags, t) {
			have.Tags = append(have.Tags, t)
		}
	}
	have.Rows = append(have.Rows, c.Rows...)
	return have
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// lineOf reads a row's money: its amount column, else quantity × unit price (a line).
// line says the row is an invoice line with a quantity (its sign is the direction).
func (p *plan) lineOf(row []string, m mapping, cols columns, invNo string, bad func(field, string)) (line bool, amount decimal.Decimal, currency string, refund bool, ok bool) {
	refund, err := parseType(cols.get(row, fType))
	if err != nil {
		bad(fType, "the type "+err.Error())
		return false, amount, "", false, false
	}
	if cols.has(fAmount) {
		a, cur, err := parseAmount(cols.get(row, fAmount))
		if err != nil {
			bad(fAmount, "the amount "+err.Error())
			return false, amount, "", false, false
		}
		if a.IsNegative() { // a negative amount is money given back
			refund, a = !refund, a.Neg()
		}
		return false, a, cur, refund, true
	}
	q, err := parseQty(cols.get(row, fQty))
	if err != nil {
		bad(fQty, "the quantity "+err.Error())
		return false, amount, "", false, false
	}
	price, cur, err := parseAmount(cols.get(row, fUnitPrice))
	if err != nil {
		bad(fUnitPrice, "the unit price "+err.Error())
		return false, amount, "", false, false
	}
	amount = price.Mul(decimal.NewFromInt(int64(q)))
	if refund {
		amount = amount.Neg()
	}
	return true, amount, cur, false, true
}

// itemOf is the row's item for the transaction's item list; lines the API would refuse
// (no SKU, a negative price, a quantity out of range: a shop's manual adjustments) are
// left out of the list, while their amount still counts in the total.
func (p *plan) itemOf(row []string, cols columns) (lineItem, bool) {
	q, _ := parseQty(cols.get(row, fQty))
	if q < 0 {
		q = -q
	}
	price, _, _ := parseAmount(cols.get(row, fUnitPrice))
	it := lineItem{SKU: truncate(cols.get(row, fSKU), 64), Name: truncate(cols.get(row, fItem), 200), Qty: q, UnitPrice: price.Round(2)}
	if it.SKU == "" || q < 1 || q > 100000 || price.IsNegative() {
		return it, false
	}
	return it, true
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

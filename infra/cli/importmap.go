package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
	"gopkg.in/yaml.v3"
)

// field is what a column of the business's file means to tierflow.
type field string

// The fields an import understands. A customers file needs one of ref, phone or email per
// row; a transactions file also needs a date and an amount (or quantity and unit price).
const (
	fRef       field = "ref" // the business's own customer number
	fName      field = "name"
	fPhone     field = "phone"
	fEmail     field = "email"
	fBirthday  field = "birthday"
	fStore     field = "store"
	fTags      field = "tags"
	fInvoice   field = "invoice" // the transaction's number in the business's system
	fDate      field = "date"
	fAmount    field = "amount"
	fType      field = "type" // purchase or refund
	fCurrency  field = "currency"
	fSKU       field = "sku"
	fItem      field = "item" // the item's name
	fQty       field = "qty"
	fUnitPrice field = "unitPrice"
	fIgnore    field = "ignore"
)

var allFields = []field{fRef, fName, fPhone, fEmail, fBirthday, fStore, fTags, fInvoice, fDate, fAmount,
	fType, fCurrency, fSKU, fItem, fQty, fUnitPrice}

// synonyms are the header spellings each field is recognised by, in the normal form of
// normHeader (lower case, half-width, without spaces and punctuation). A header that is
// none of them exactly is matched by the longest synonym it contains ("会员手机号" →
// phone, "出生日期" → birthday before "日期" → date).
var synonyms = map[field][]string{
	fRef: {"会员号", "会员编号", "会员卡号", "会员卡", "卡号", "客户编号", "客户号", "客户代码", "客户id", "顾客编号", "会员id",
		"customernumber", "customerno", "customerid", "customerref", "custno", "custid", "memberno", "membernumber",
		"memberid", "cardno", "cardnumber", "loyaltyno", "loyaltynumber", "clientid", "clientno", "ref"},
	fName:     {"姓名", "客户姓名", "会员姓名", "顾客姓名", "名字", "客户名称", "客户名", "name", "customername", "fullname", "membername", "clientname"},
	fPhone:    {"手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "移动电话", "phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cellphone", "telephone", "tel", "contactnumber"},
	fEmail:    {"邮箱", "电子邮箱", "邮件", "电子邮件", "邮箱地址", "email", "emailaddress", "mail"},
	fBirthday: {"生日", "出生日期", "出生年月日", "birthday", "dateofbirth", "dob", "birthdate"},
	fStore:    {"门店", "店铺", "分店", "门店编号", "门店代码", "店号", "网点", "store", "storeid", "storecode", "shop", "shopid", "branch", "branchid", "outlet"},
	fTags:     {"标签", "tags", "tag"},
	fInvoice: {"单号", "订单号", "单据号", "流水号", "小票号", "发票号", "票号", "交易号", "交易单号", "订单编号", "invoice", "invoiceno",
		"invoicenumber", "orderid", "orderno", "ordernumber", "receiptno", "receipt", "transactionid", "txnid", "billno"},
	fDate: {"日期", "交易日期", "消费日期", "下单日期", "下单时间", "交易时间", "消费时间", "时间", "订单日期", "销售日期", "date",
		"invoicedate", "orderdate", "transactiondate", "saledate", "purchasedate", "datetime"},
	fAmount: {"金额", "消费金额", "实付金额", "实收金额", "支付金额", "交易金额", "订单金额", "总额", "总金额", "合计", "应付金额",
		"amount", "total", "totalamount", "amountpaid", "sum"},
	fType:      {"类型", "交易类型", "单据类型", "type", "transactiontype"},
	fCurrency:  {"币种", "货币", "currency"},
	fSKU:       {"商品编号", "商品编码", "货号", "条码", "sku", "itemcode", "stockcode", "productcode", "productid"},
	fItem:      {"商品名称", "商品", "品名", "项目", "服务项目", "description", "item", "itemname", "product", "productname"},
	fQty:       {"数量", "件数", "qty", "quantity"},
	fUnitPrice: {"单价", "unitprice", "price"},
}

// unitCurrency reads the currency a header's unit names: 金额(元), Amount (GBP).
var unitCurrency = map[string]string{"元": "CNY", "¥": "CNY", "rmb": "CNY", "cny": "CNY", "人民币": "CNY",
	"$": "USD", "usd": "USD", "£": "GBP", "gbp": "GBP", "€": "EUR", "eur": "EUR", "hkd": "HKD", "港币": "HKD"}

// normHeader folds a header to the form synonyms are written in, and returns the unit in
// brackets, if any ("金额（元）" → "金额", "元").
func normHeader(h string) (string, string) {
	h = width.Fold.String(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	unit := ""
	if i := strings.IndexAny(h, "(["); i > 0 {
		if j := strings.IndexAny(h[i:], ")]"); j > 0 {
			unit = strings.ToLower(strings.TrimSpace(h[i+1 : i+j]))
			h = h[:i] + h[i+j+1:]
		}
	}
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String(), unit
}

// recognise maps a header to a field: an exact synonym, else the longest synonym the
// header contains (Chinese synonyms of two or more characters, others of four or more
// letters, so that "tel" does not match "hotel"). ok is false when nothing matches or
// two fields match equally well.
func recognise(h string) (field, bool) {
	n, _ := normHeader(h)
	if n == "" {
		return "", false
	}
	for _, f := range allFields {
		if slices.Contains(synonyms[f], n) {
			return f, true
		}
	}
	best, bestLen, tie := field(""), 0, false
	for _, f := range allFields {
		for _, s := range synonyms[f] {
			l := utf8.RuneCountInString(s)
			latin := len(s) == l
			if (latin && l < 4) || (!latin && l < 2) || !strings.Contains(n, s) {
				continue
			}
			switch {
			case l > bestLen:
				best, bestLen, tie = f, l, false
			case l == bestLen && f != best:
				tie = true
			}
		}
	}
	return best, best != "" && !tie
}

// kind is what a file holds.
type kind string

const (
	kindCustomers    kind = "customers"
	kindTransactions kind = "transactions"
)

// mapping says how to read a file: what each column means and what the rows leave out.
// It is built from the headers, or read from a mapping file (YAML or JSON), or built in
// (online-retail).
type mapping struct {
	Kind    kind              `yaml:"kind"`    // customers or transactions; "" decides from the columns
	Columns map[string]string `yaml:"columns"` // the file's header → a field (or "ignore")
	Store   string            `yaml:"store"`   // the store of rows without a store column
	// Currency of amounts that say none (no currency column, no sign, no unit in the header).
	Currency string `yaml:"currency"`
	// Source names the system the transactions come from: with the invoice number it is
	// the once-key, so the same file imported again counts once.
	Source   string `yaml:"source"`
	TimeZone string `yaml:"timeZone"` // of dates written without an offset
	// DateOrder reads dates like 03/05/2024: "dmy" or "mdy" (default: decided by the
	// column's values, e.g. a 13/05/2024 makes it dmy).
	DateOrder string `yaml:"dateOrder"`
	// RefundPrefix: an invoice number starting with it is a refund (Online Retail's "C").
	RefundPrefix string `yaml:"refundPrefix"`
	// WalkIns says what to do with a transaction that names no customer: "reject"
	// (default) or "skip" (counted, not posted: a shop's anonymous sales).
	WalkIns string `yaml:"walkIns"`
	// Region of phone numbers written without a country code.
	Region string `yaml:"region"`

	name string // "headers", "online-retail", or the mapping file's path
}

// onlineRetail is the UCI Online Retail layout, built in: one row per invoice line,
// cancellations numbered "C…", times in London, pounds sterling, a customer number per
// row or none (a sale to a walk-in customer).
var onlineRetail = mapping{
	Kind: kindTransactions,
	Columns: map[string]string{"InvoiceNo": "invoice", "StockCode": "sku", "Description": "item", "Quantity": "qty",
		"InvoiceDate": "date", "UnitPrice": "unitPrice", "CustomerID": "ref", "Country": "ignore"},
	Store: "uk-online", Currency: "GBP", Source: "online-retail", TimeZone: "Europe/London",
	RefundPrefix: "C", WalkIns: "skip", name: "online-retail",
}

// builtIn finds a built-in mapping by name, or one whose columns are exactly the header.
func builtIn(name string, header []string) (mapping, bool) {
	if name == onlineRetail.name {
		return onlineRetail, true
	}
	if name != "" || len(header) != len(onlineRetail.Columns) {
		return mapping{}, false
	}
	for _, h := range header {
		if _, ok := onlineRetail.Columns[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))]; !ok {
			return mapping{}, false
		}
	}
	return onlineRetail, true
}

// loadMapping reads a mapping file.
func loadMapping(path string) (mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return mapping{}, fmt.Errorf("mapping file: %w", err)
	}
	var m mapping
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return mapping{}, fmt.Errorf("mapping file %s: %w", path, err)
	}
	m.name = path
	for h, f := range m.Columns {
		if f != string(fIgnore) && !slices.Contains(allFields, field(f)) {
			return mapping{}, fmt.Errorf("mapping file %s: column %q maps to %q, which is none of %s", path, h, f, fieldNames())
		}
	}
	switch m.Kind {
	case "", kindCustomers, kindTransactions:
	default:
		return mapping{}, fmt.Errorf("mapping file %s: kind %q: want customers or transactions", path, m.Kind)
	}
	switch m.DateOrder {
	case "", "dmy", "mdy":
	default:
		return mapping{}, fmt.Errorf("mapping file %s: dateOrder %q: want dmy or mdy", path, m.DateOrder)
	}
	switch m.WalkIns {
	case "", "reject", "skip":
	default:
		return mapping{}, fmt.Errorf("mapping file %s: walkIns %q: want reject or skip", path, m.WalkIns)
	}
	return m, nil
}

func fieldNames() string {
	var s []string
	for _, f := range allFields {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ") + ", ignore"
}

// columns is a mapping applied to one file's header.
type columns struct {
	index     map[field]int    // field → column
	header    []string         // the file's header, for messages
	ignored   []string         // columns that mean nothing to tierflow
	currency  string           // from a header's unit, e.g. 金额(元)
	recognise map[string]field // how each column was understood, for the plan
}

// bind applies m to the header. A column the mapping file does not name is recognised
// by its header; two columns meaning the same field is an error naming both, since a
// guess could import the wrong phone or amount.
func (m mapping) bind(header []string) (columns, error) {
	c := columns{index: map[field]int{}, header: header, recognise: map[string]field{}}
	for i, h := range header {
		clean := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		var f field
		if v, ok := m.Columns[clean]; ok {
			f = field(v)
		} else if clean == "" {
			continue
		} else if g, ok := recognise(clean); ok {
			f = g
		} else {
			c.ignored = append(c.ignored, clean)
			continue
		}
		if f == fIgnore {
			c.ignored = append(c.ignored, clean)
			continue
		}
		if j, dup := c.index[f]; dup {
			return c, fmt.Errorf("columns %q and %q both read as %s: name the right one in a mapping file (--mapping), e.g.\ncolumns:\n  %q: %s\n  %q: ignore",
				header[j], clean, f, header[j], f, clean)
		}
		c.index[f] = i
		c.recognise[clean] = f
		if _, unit := normHeader(clean); unit != "" && (f == fAmount || f == fUnitPrice) {
			c.currency = unitCurrency[unit]
		}
	}
	for h := range m.Columns {
		if !slices.ContainsFunc(header, func(x string) bool { return strings.TrimSpace(strings.TrimPrefix(x, "\ufeff")) == h }) {
			return c, fmt.Errorf("the mapping names column %q, which the file does not have (its columns: %s)", h, strings.Join(header, ", "))
		}
	}
	sort.Strings(c.ignored)
	return c, nil
}

func (c columns) has(f field) bool { _, ok := c.index[f]; return ok }

// get is the row's value of f, trimmed ("" when the column is absent or the row short).
func (c columns) get(row []string, f field) string {
	i, ok := c.index[f]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// column names the file's column for f, for the rejects file.
func (c columns) column(f field) string {
	if i, ok := c.index[f]; ok {
		return c.header[i]
	}
	return ""
}

// kindOf decides what the file holds: amounts and dates make transactions.
func (c columns) kindOf(forced kind) (kind, error) {
	money := c.has(fAmount) || (c.has(fQty) && c.has(fUnitPrice))
	switch {
	case forced == kindTransactions && !(money && c.has(fDate)):
		return "", fmt.Errorf("a transactions file needs a date column and an amount column (or quantity and unit price); recognised: %s", c.describe())
	case forced == kindTransactions || (forced == "" && money && c.has(fDate)):
		if !c.has(fRef) && !c.has(fPhone) && !c.has(fEmail) && !c.has(fInvoice) {
			return "", fmt.Errorf("no column names the customer (customer number, phone or e-mail); recognised: %s", c.describe())
		}
		return kindTransactions, nil
	}
	if !c.has(fRef) && !c.has(fPhone) && !c.has(fEmail) {
		return "", fmt.Errorf("no column names the customer (会员号/customer number, 手机/phone or 邮箱/email); recognised: %s — give a mapping file (--mapping)", c.describe())
	}
	return kindCustomers, nil
}

// describe lists how the columns were read: "姓名 → name, 手机 → phone".
func (c columns) describe() string {
	var parts []string
	for i, h := range c.header {
		clean := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if f, ok := c.recognise[clean]; ok && c.index[f] == i {
			parts = append(parts, clean+" → "+string(f))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

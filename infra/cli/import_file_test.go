package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tierflow/tierflow/infra/local/seed"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

func TestHeadersAreRecognisedInChineseAndEnglish(t *testing.T) {
	for _, c := range []struct {
		header string
		want   field // "" = not recognised
	}{
		{"姓名", fName}, {"客户姓名", fName}, {"Name", fName}, {"Customer Name", fName},
		{"手机", fPhone}, {"电话", fPhone}, {"手机号码", fPhone}, {"会员手机号", fPhone}, {"Phone", fPhone}, {"Mobile", fPhone},
		{"邮箱", fEmail}, {"E-mail", fEmail}, {"Email Address", fEmail},
		{"门店", fStore}, {"Store", fStore}, {"店铺", fStore},
		{"日期", fDate}, {"消费日期", fDate}, {"Date", fDate}, {"InvoiceDate", fDate},
		{"出生日期", fBirthday}, {"生日", fBirthday}, {"Date of Birth", fBirthday},
		{"金额", fAmount}, {"金额（元）", fAmount}, {"Amount (GBP)", fAmount}, {"实付金额", fAmount},
		{"单号", fInvoice}, {"订单号", fInvoice}, {"Invoice No", fInvoice}, {"InvoiceNo", fInvoice},
		{"会员号", fRef}, {"客户编号", fRef}, {"Customer Number", fRef}, {"CustomerID", fRef},
		{"数量", fQty}, {"单价", fUnitPrice}, {"类型", fType},
		{"备注", ""}, {"Hotel", ""}, {"", ""},
	} {
		got, ok := recognise(c.header)
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("header %q reads as %q, want %q", c.header, got, c.want)
		}
	}
}

func TestTwoColumnsForOneFieldNeedAMapping(t *testing.T) {
	_, err := mapping{}.bind([]string{"手机", "电话", "金额"})
	if err == nil || !strings.Contains(err.Error(), `"手机"`) || !strings.Contains(err.Error(), `"电话"`) {
		t.Fatalf("want an error naming both phone columns, got %v", err)
	}
	c, err := mapping{Columns: map[string]string{"电话": "ignore"}}.bind([]string{"手机", "电话", "金额"})
	if err != nil || c.column(fPhone) != "手机" {
		t.Fatalf("with a mapping: %v, phone column %q", err, c.column(fPhone))
	}
}

func TestDatesInTheUsualSpellings(t *testing.T) {
	at := func(y, m, d, hh, mm int) time.Time { return time.Date(y, time.Month(m), d, hh, mm, 0, 0, shanghai) }
	for _, c := range []struct {
		in    string
		order string
		want  time.Time
		err   bool
	}{
		{in: "2024-03-05", want: at(2024, 3, 5, 0, 0)},
		{in: "2024/3/5", want: at(2024, 3, 5, 0, 0)},
		{in: "2024.3.5", want: at(2024, 3, 5, 0, 0)},
		{in: "2024年3月5日", want: at(2024, 3, 5, 0, 0)},
		{in: "２０２４年３月５日", want: at(2024, 3, 5, 0, 0)},
		{in: "2024-03-05 14:30", want: at(2024, 3, 5, 14, 30)},
		{in: "2024/3/5 14:30:00", want: at(2024, 3, 5, 14, 30)},
		{in: "20240305", want: at(2024, 3, 5, 0, 0)},
		{in: "45356", want: at(2024, 3, 5, 0, 0)},       // an Excel serial date
		{in: "45356.5", want: at(2024, 3, 5, 12, 0)},    // with its time of day
		{in: "13/05/2024", want: at(2024, 5, 13, 0, 0)}, // only day-first can be
		{in: "05/13/2024", want: at(2024, 5, 13, 0, 0)}, // only month-first can be
		{in: "03/05/2024", order: "dmy", want: at(2024, 5, 3, 0, 0)},
		{in: "03/05/2024", order: "mdy", want: at(2024, 3, 5, 0, 0)},
		{in: "2024-03-05T14:30:00+08:00", want: at(2024, 3, 5, 14, 30)},
		{in: "03/05/2024", err: true}, // ambiguous without an order
		{in: "2024-02-30", err: true},
		{in: "2024-13-01", err: true},
		{in: "yesterday", err: true},
		{in: "", err: true},
	} {
		got, err := dateReader{loc: shanghai, order: c.order}.parse(c.in)
		if (err != nil) != c.err || (!c.err && !got.Equal(c.want)) {
			t.Errorf("%q (order %q): %v %v, want %v (error %v)", c.in, c.order, got, err, c.want, c.err)
		}
	}
	if o, err := dateOrderOf([]string{"01/02/2024", "13/02/2024"}); o != "dmy" || err != nil {
		t.Errorf("a 13 in the first place makes the column day-first: %q %v", o, err)
	}
	if _, err := dateOrderOf([]string{"13/02/2024", "02/13/2024"}); err == nil {
		t.Error("a column written both ways must be refused")
	}
}

func TestAmountsWithSignsAndSeparators(t *testing.T) {
	for _, c := range []struct {
		in, want, currency string
		err                bool
	}{
		{in: "1234.5", want: "1234.5"},
		{in: "¥1,234.50", want: "1234.5", currency: "CNY"},
		{in: "￥1,234.50", want: "1234.5", currency: "CNY"},
		{in: "1,234,567.89", want: "1234567.89"},
		{in: "1 234.50", want: "1234.5"},
		{in: "RMB 88", want: "88", currency: "CNY"},
		{in: "88元", want: "88", currency: "CNY"},
		{in: "£3.50", want: "3.5", currency: "GBP"},
		{in: "-200", want: "-200"},
		{in: "(12.00)", want: "-12"},
		{in: "1.234,50", want: "1234.5"},
		{in: "12,5", want: "12.5"},
		{in: "一百", err: true},
		{in: "1e5", err: true},
		{in: "", err: true},
	} {
		d, cur, err := parseAmount(c.in)
		if (err != nil) != c.err || (!c.err && (!d.Equal(decimal.RequireFromString(c.want)) || cur != c.currency)) {
			t.Errorf("%q: %s %q %v, want %s %q (error %v)", c.in, d, cur, err, c.want, c.currency, c.err)
		}
	}
}

func TestEncodingsAreDetected(t *testing.T) {
	text := "姓名,手机\n张三,13800138000\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, raw, enc string
	}{
		{"utf-8", text, "UTF-8"},
		{"utf-8 with a byte order mark", "\ufeff" + text, "UTF-8 with BOM"},
		{"gb18030", gb, "GB18030"},
	} {
		got, enc, err := decodeText([]byte(c.raw), "")
		if err != nil || got != text || enc != c.enc {
			t.Errorf("%s: %q as %s (%v), want %q as %s", c.name, got, enc, err, text, c.enc)
		}
	}
}

// The CLI is a client of a stack by URL and credential (issue #11): it links none of the
// local runtime's packages.
func TestCLIDoesNotImportTheLocalRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "/infra/local") {
			t.Errorf("infra/cli depends on %s", p)
		}
	}
}

// shopFile is the spreadsheet: Chinese headers, the shop's own member numbers,
// dates in every spelling (an Excel serial among them), amounts with signs and
// separators, a refund as a negative amount, a customer known only by phone, and five
// bad rows, each of which must land in the rejects file with its row and column.
const shopFile = `会员号,姓名,手机,邮箱,生日,门店,消费日期,金额（元）,单号
M001,张三,138 0013 8001,zhang@example.com,1990/3/5,sh-01,2024-03-05,"¥1,280.00",S0001
M001,张三,13800138001,,1990年3月5日,sh-01,2024/3/6,560,S0002
M002,李四,+86 139 0013 8002,,1985-11-20,sh-01,2024年3月7日,"3,500.50",S0003
M003,王五,13700137003,wang@example.com,,sh-01,45360,￥99.90,S0004
M002,李四,,,,sh-01,2024-03-10 14:30,-200,S0005
M004,赵六,12345,,,sh-01,2024-03-11,100,S0006
M005,孙七,13600136005,,,sh-01,2024-13-45,100,S0007
M006,周八,13500135006,,,sh-01,2024-03-12,一百元,S0008
,无名,,,,sh-01,2024-03-12,50,S0009
M001,张三,,,,sh-01,2024-03-13,0,S0010
,陈二,13200132009,,,sh-01,2024-03-14,300,S0011
`

// shopWant is each good customer's net spend (fen) and purchases, from shopFile by hand.
var shopWant = map[string]struct {
	net       int64
	purchases int
	name      string
}{
	"+8613800138001": {184000, 2, "张三"},
	"+8613900138002": {330050, 1, "李四"},
	"+8613700137003": {9990, 1, "王五"},
	"+8613200132009": {30000, 1, "陈二"},
}

// customerByPhone finds the customer a phone belongs to, as staff would.
func customerByPhone(t *testing.T, token, phone string) (customerView, string) {
	t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	getJSON(t, "/v1/customers?q="+url.QueryEscape(phone), token, &page)
	if len(page.Items) != 1 {
		return customerView{}, ""
	}
	var c struct {
		customerView
		Name     string   `json:"name"`
		Email    string   `json:"email"`
		Birthday string   `json:"birthday"`
		Tags     []string `json:"tags"`
	}
	getJSON(t, "/v1/customers/"+page.Items[0].ID, token, &c)
	return c.customerView, c.Name + "|" + c.Email + "|" + c.Birthday + "|" + strings.Join(c.Tags, ",")
}

func writeGB18030(t *testing.T, path, text string) {
	t.Helper()
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(gb), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The "done when": a GB18030 spreadsheet with Chinese headers, mixed date
// spellings and bad rows imports with the right customers, spend and rejects; importing
// it again changes nothing. Then the shop's customer list (.xlsx) merges into the same
// customers — the one known only by phone gains their number — and a later sale posted
// by that number lands on them, not on a twin.
func TestImportChineseShopFileTwiceThenItsCustomerList(t *testing.T) {
	token := adminToken(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "销售记录.csv")
	writeGB18030(t, file, shopFile)

	first := importInto(t, file, token, nil)
	if first.Encoding != "GB18030" || first.Kind != kindTransactions || first.Rows != 11 || first.Rejected != 5 ||
		first.Customers != 4 || first.Created != 4 || first.Invoices != 6 || first.Refunds != 1 || first.Accepted != 6 {
		t.Errorf("first import %+v: want GB18030 transactions, 11 rows, 5 rejected, 4 customers created, 6 transactions (1 refund) accepted", first)
	}
	want := []struct{ row, column, reason string }{
		{"7", "手机", "not a phone number"},
		{"8", "消费日期", "not a date"},
		{"9", "金额（元）", "not an amount"},
		{"10", "会员号", "names no customer"},
		{"11", "金额（元）", "total is 0"},
	}
	rej := readRejects(t, first.RejectsFile)
	if len(rej) != len(want) {
		t.Fatalf("rejects file has %d rows, want %d: %v", len(rej), len(want), rej)
	}
	for i, w := range want {
		if rej[i]["row"] != w.row || rej[i]["column"] != w.column || !strings.Contains(rej[i]["reason"], w.reason) {
			t.Errorf("reject %d: %v, want row %s column %s reason ~%q", i, rej[i], w.row, w.column, w.reason)
		}
	}
	waitIngest(t)
	check := func(when string) map[string]string {
		ids := map[string]string{}
		for phone, w := range shopWant {
			c, profile := customerByPhone(t, token, phone)
			if c.ID == "" {
				t.Errorf("%s: nobody has %s", when, phone)
				continue
			}
			ids[phone] = c.ID
			if c.net() != w.net || c.Aggregates.Purchases != w.purchases || !strings.HasPrefix(profile, w.name+"|") {
				t.Errorf("%s: customer %s: net %d fen, %d purchases, profile %q; want %d, %d, %s", when, phone, c.net(), c.Aggregates.Purchases, profile, w.net, w.purchases, w.name)
			}
		}
		for _, bad := range []string{"+8613600136005", "+8613500135006"} {
			if c, _ := customerByPhone(t, token, bad); c.ID != "" {
				t.Errorf("%s: the rejected row's customer %s exists", when, bad)
			}
		}
		return ids
	}
	before := check("after the first import")

	second := importInto(t, file, token, nil)
	if second.Created != 0 || second.Merged != 0 || second.Unchanged != 4 || second.Accepted != 0 || second.Duplicates != 6 || second.Rejected != 5 {
		t.Errorf("second import %+v: want 4 customers unchanged, 6 transactions already known, the same 5 rejects", second)
	}
	waitIngest(t)
	after := check("after the second import")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("customers changed identity: %v → %v", before, after)
	}

	// The customer list, as an .xlsx with other Chinese headers and Excel dates.
	xlsx := filepath.Join(dir, "会员名单.xlsx")
	writeXLSX(t, xlsx, [][]any{
		{"客户编号", "客户姓名", "联系电话", "电子邮箱", "出生日期", "门店", "标签"},
		{"M001", "张三", "13800138001", "", 32937, "sh-01", "VIP"},                 // merged: the tag is new
		{"M007", "吴九", "13300133007", "wu@example.com", "1992/7/1", "sh-01", ""}, // created
		{"M009", "陈二", "13200132009", "chen@example.com", "", "sh-01", ""},       // merged: gains the number and e-mail
		{"M008", "郑十", "13700137003", "", "", "sh-01", ""},                       // 王五's phone, and 王五 has a number: refused
		{"", "钱一", "", "not-an-email", "", "sh-01", ""},                          // refused here
		{"M002", "李四（新）", "", "", "", "sh-01", ""},                               // unchanged: a stored name is never overwritten
	})
	list := importInto(t, xlsx, token, nil)
	if list.Encoding != "xlsx" || list.Kind != kindCustomers || list.Created != 1 || list.Merged != 2 || list.Unchanged != 1 || list.Rejected != 2 {
		t.Errorf("customer list %+v: want xlsx customers, 1 created, 2 merged, 1 unchanged, 2 rejected", list)
	}
	rej = readRejects(t, list.RejectsFile)
	if len(rej) != 2 || rej[0]["row"] != "5" || rej[0]["column"] != "客户编号" || rej[1]["row"] != "6" || rej[1]["column"] != "电子邮箱" {
		t.Errorf("customer list rejects: %v; want row 5 at 客户编号 (王五 has another number) and row 6 at 电子邮箱", rej)
	}
	if _, p := customerByPhone(t, token, "+8613800138001"); p != "张三|zhang@example.com|1990-03-05|VIP" {
		t.Errorf("张三 after the list: %q", p)
	}
	if _, p := customerByPhone(t, token, "+8613200132009"); p != "陈二|chen@example.com||" {
		t.Errorf("陈二 after the list: %q", p)
	}
	if _, p := customerByPhone(t, token, "+8613300133007"); p != "吴九|wu@example.com|1992-07-01|" {
		t.Errorf("吴九 after the list: %q", p)
	}
	again := importInto(t, xlsx, token, nil)
	if again.Created != 0 || again.Merged != 0 || again.Unchanged != 4 || again.Rejected != 2 {
		t.Errorf("customer list again %+v: want 4 unchanged, the same 2 rejects", again)
	}

	// A sale by 陈二's new number lands on 陈二 (UTF-8 with a BOM this time).
	sale := filepath.Join(dir, "sale.csv")
	if err := os.WriteFile(sale, []byte("\ufeff会员号,日期,金额,门店\nM009,2024-04-01,88,sh-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := importInto(t, sale, token, nil)
	if s.Encoding != "UTF-8 with BOM" || s.ByTransaction != 1 || s.Created != 0 || s.Accepted != 1 {
		t.Errorf("sale by number %+v: want 陈二 found by the transaction's number and one transaction accepted", s)
	}
	waitIngest(t)
	c, _ := customerByPhone(t, token, "+8613200132009")
	if c.ID != before["+8613200132009"] || c.net() != 30000+8800 {
		t.Errorf("陈二 after a sale by number: %s with net %d; want %s with %d", c.ID, c.net(), before["+8613200132009"], 30000+8800)
	}
}

func writeXLSX(t *testing.T, path string, rows [][]any) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// A dry run reads the whole file, asks the API what would happen to each customer and
// says so, writes nothing, and exits non-zero for the rows that would be rejected. It
// goes through the command's own entry point: the stack of $TIERFLOW_PORT and the token
// of $TIERFLOW_TOKEN, as make import runs it.
func TestDryRunWritesNothing(t *testing.T) {
	token := adminToken(t)
	file := filepath.Join(t.TempDir(), "new-shop.csv")
	writeGB18030(t, file, "Customer No,Name,Mobile,Date,Amount,Store\n"+
		"D001,Dry One,13100131001,2024-05-01,¥100.00,sh-02\n"+
		"D002,Dry Two,13100131002,2024/5/2,\"1,000\",sh-02\n"+
		"D003,Dry Three,13100131003,someday,10,sh-02\n")
	t.Setenv("TIERFLOW_PORT", strconv.Itoa(st.Port))
	t.Setenv("TIERFLOW_TOKEN", token)
	stderr := captureStderr(t, func() {
		err := runImport([]string{"-file", file, "-dry-run"})
		if !errors.Is(err, errRejected) {
			t.Errorf("dry run with a bad row: %v, want an error for the rejected row (a non-zero exit)", err)
		}
	})
	for _, w := range []string{"customers: 2 — would be created 2", "transactions: 2", "Date: the date is not a date"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, stderr)
		}
	}
	for _, phone := range []string{"+8613100131001", "+8613100131002"} {
		if c, _ := customerByPhone(t, token, phone); c.ID != "" {
			t.Errorf("the dry run created %s", phone)
		}
	}
}

// captureStderr runs f with os.Stderr going to a buffer.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			fmt.Fprintf(&b, "\n(reading stderr: %v)", err) // the caller's assertions see it
		}
		done <- b.Bytes()
	}()
	defer func() { os.Stderr = old }()
	f()
	os.Stderr = old
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return string(<-done)
}

// On a terminal the import draws what is done, the rate and the time left.
func TestProgressShowsRateAndTimeLeft(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, true, "rows", 1000)
	p.start = time.Now().Add(-2 * time.Second)
	p.add(250)
	p.finish()
	out := b.String()
	for _, want := range []string{"\r[", "250/1000 rows", "rows/s", "ETA "} {
		if !strings.Contains(out, want) {
			t.Errorf("progress %q lacks %q", out, want)
		}
	}
	m := regexp.MustCompile(`ETA (\d+)s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no ETA in %q", out)
	}
	if secs, err := strconv.Atoi(m[1]); err != nil || secs < 5 || secs > 7 {
		t.Errorf("250 of 1000 rows in 2 s leaves about 6 s: %q", out)
	}
	var off bytes.Buffer
	q := newProgress(&off, false, "rows", 10)
	q.add(10)
	q.finish()
	if off.Len() != 0 {
		t.Errorf("not a terminal: progress wrote %q", off.String())
	}
}

// An import with an API key posts through /v1/machine/, as a deployed stack's key would:
// the rows of the key's store go in, a row of another store is rejected naming it.
func TestAnImportWithAKeyPostsOnlyForTheKeysStores(t *testing.T) {
	tok, err := st.MintToken("admin", []string{"sh-01"}, "import-key-admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, err := seed.CreateAPIKey(context.Background(), st.URL, tok, "import", []string{"sh-01"},
		[]string{"leads:write", "transactions:write"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "key-sales.csv")
	if err := os.WriteFile(file, []byte("单号,会员号,姓名,手机,日期,金额,门店\n"+
		"K-1,KM-1,钱一,13100131001,2024-05-01,120,sh-01\n"+
		"K-2,KM-1,钱一,13100131001,2024-05-02,80,sh-01\n"+
		"K-3,KM-3,孙三,13100131003,2024-05-03,500,bj-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := importWith(t, importOptions{File: file, Cred: apiKey(key.Secret)}, nil)
	if sum.Accepted != 2 || sum.Rejected != 1 {
		t.Fatalf("import with a key of sh-01: %+v; want the two sh-01 sales accepted and the bj-01 row rejected", sum)
	}
	waitIngest(t)
	c, _ := customerByPhone(t, adminToken(t), "+8613100131001")
	if c.net() != 12000+8000 {
		t.Fatalf("钱一's spend after the import by key: %d, want %d", c.net(), 12000+8000)
	}
}

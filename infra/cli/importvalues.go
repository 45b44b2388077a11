package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/text/width"
)

// dateParts matches the usual spellings of a date with an optional time: 2024-03-05,
// 2024/3/5, 2024.3.5, 2024年3月5日, 05/03/2024, each maybe followed by 14:30 or 14:30:15.
var (
	ymd      = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}(?:\.\d+)?))?秒?)?$`)
	xxy      = regexp.MustCompile(`^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?)?$`)
	compact  = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	excelNum = regexp.MustCompile(`^\d{1,6}(?:\.\d+)?$`)
)

// excelEpoch is day 0 of Excel's 1900 date system as it counts (it believes 1900 was a
// leap year, so serials from 61 on are one day ahead of the calendar; 1899-12-30 absorbs
// that for every date after February 1900).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// errAmbiguousDate: 03/05/2024 could be either day first or month first.
var errAmbiguousDate = errors.New("is ambiguous (day/month or month/day?): give dateOrder dmy or mdy in a mapping file")

// dateReader reads dates in one time zone and, for dd/mm vs mm/dd, one order.
type dateReader struct {
	loc   *time.Location
	order string // "dmy", "mdy" or "" (ambiguous dates refused)
}

// parse reads v. A date without a time is midnight in the reader's zone; an RFC 3339 time
// keeps its offset; a number is an Excel serial date (days since 1899-12-30, the fraction
// the time of day).
func (d dateReader) parse(v string) (time.Time, error) {
	v = strings.TrimSpace(width.Fold.String(v))
	if v == "" {
		return time.Time{}, errors.New("is empty")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if excelNum.MatchString(v) && !compact.MatchString(v) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > 2958465 {
			return time.Time{}, errors.New("is not a date")
		}
		days := math.Floor(f)
		secs := math.Round((f - days) * 86400)
		t := excelEpoch.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, d.loc), nil
	}
	var y, m, day int
	var clock []string
	if p := ymd.FindStringSubmatch(v); p != nil {
		y, m, day = atoi(p[1]), atoi(p[2]), atoi(p[3])
		clock = p[4:]
	} else if p := compact.FindStringSubmatch(v); p != nil {
		y, m, day = atoi(p[1]), atoi(p[2]), atoi(p[3])
	} else if p := xxy.FindStringSubmatch(v); p != nil {
		a, b := atoi(p[1]), atoi(p[2])
		y, clock = atoi(p[3]), p[4:]
		switch {
		case d.order == "dmy":
			day, m = a, b
		case d.order == "mdy":
			m, day = a, b
		case a > 12 && b <= 12:
			day, m = a, b
		case b > 12 && a <= 12:
			m, day = a, b
		case a == b:
			m, day = a, b
		default:
			return time.Time{}, errAmbiguousDate
		}
	} else {
		return time.Time{}, errors.New("is not a date (write it like 2024-03-05, 2024/3/5 or 2024年3月5日)")
	}
	var hh, mm int
	var ss float64
	if len(clock) == 3 && clock[0] != "" {
		hh, mm = atoi(clock[0]), atoi(clock[1])
		if clock[2] != "" {
			ss, _ = strconv.ParseFloat(clock[2], 64)
		}
	}
	if m < 1 || m > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss >= 61 {
		return time.Time{}, errors.New("is not a date")
	}
	t := time.Date(y, time.Month(m), day, hh, mm, int(ss), 0, d.loc)
	if t.Day() != day { // 2024-02-30 rolls over: not a real day
		return time.Time{}, errors.New("is not a real day")
	}
	return t, nil
}

// dateOrderOf decides dd/mm against mm/dd from a whole column: any first part above 12
// makes it dmy, any second part above 12 mdy; both is the file's mistake.
func dateOrderOf(values []string) (string, error) {
	dmy, mdy := false, false
	for _, v := range values {
		p := xxy.FindStringSubmatch(strings.TrimSpace(width.Fold.String(v)))
		if p == nil {
			continue
		}
		a, b := atoi(p[1]), atoi(p[2])
		dmy = dmy || (a > 12 && b <= 12)
		mdy = mdy || (b > 12 && a <= 12)
	}
	switch {
	case dmy && mdy:
		return "", errors.New("the dates are written both day-first and month-first: give dateOrder in a mapping file")
	case dmy:
		return "dmy", nil
	case mdy:
		return "mdy", nil
	}
	return "", nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// currencySigns are what amounts are written with; the sign names the currency.
var currencySigns = []struct{ sign, code string }{
	{"HK$", "HKD"}, {"US$", "USD"}, {"RMB", "CNY"}, {"CNY", "CNY"}, {"USD", "USD"}, {"GBP", "GBP"}, {"EUR", "EUR"}, {"HKD", "HKD"},
	{"¥", "CNY"}, {"元", "CNY"}, {"$", "USD"}, {"£", "GBP"}, {"€", "EUR"},
}

// parseAmount reads money as businesses write it: ¥1,234.50, 1 234.50, -12, (12.00),
// 1.234,50, 12元. It returns the value and the currency its sign names ("" if none).
func parseAmount(v string) (decimal.Decimal, string, error) {
	s := strings.TrimSpace(width.Fold.String(v))
	// Full-width ￥ folds to ¥; both are yuan here (a Japanese shop would say JPY).
	if s == "" {
		return decimal.Zero, "", errors.New("is empty")
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, strings.TrimSpace(s[1:len(s)-1])
	}
	code := ""
	for _, c := range currencySigns {
		up := strings.ToUpper(s)
		if i := strings.Index(up, c.sign); i >= 0 {
			code = c.code
			s = s[:i] + s[i+len(c.sign):]
			break
		}
	}
	s = strings.TrimSpace(s)
	for _, p := range []string{"-", "+"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			neg, s = neg != (p == "-"), strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutSuffix(s, p); ok && p == "-" { // 12.00- (some ledgers)
			neg, s = !neg, strings.TrimSpace(rest)
		}
	}
	s = strings.NewReplacer(" ", "", "\u00a0", "", "'", "", "_", "").Replace(s)
	dot, comma := strings.LastIndex(s, "."), strings.LastIndex(s, ",")
	switch {
	case dot >= 0 && comma >= 0 && comma > dot: // 1.234,50
		s = strings.ReplaceAll(s[:comma], ".", "") + "." + s[comma+1:]
	case dot >= 0 && comma >= 0: // 1,234.50
		s = strings.ReplaceAll(s, ",", "")
	case comma >= 0 && !thousands(s, ','): // 12,5
		s = strings.Replace(s, ",", ".", 1)
	case comma >= 0:
		s = strings.ReplaceAll(s, ",", "")
	}
	d, err := decimal.NewFromString(s)
	if err != nil || s == "" || strings.ContainsAny(s, "eE") {
		return decimal.Zero, "", fmt.Errorf("is not an amount (%q)", v)
	}
	if neg {
		d = d.Neg()
	}
	return d, code, nil
}

// thousands reports whether every group after sep has three digits: 1,234,567.
func thousands(s string, sep byte) bool {
	parts := strings.Split(s, string(sep))
	if len(parts) < 2 || len(parts[0]) == 0 || len(parts[0]) > 3 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 {
			return false
		}
	}
	return true
}

// parseType reads a transaction's kind in the words businesses use.
func parseType(v string) (refund bool, err error) {
	switch strings.ToLower(strings.TrimSpace(width.Fold.String(v))) {
	case "", "purchase", "sale", "sales", "buy", "消费", "购买", "销售", "购物", "充值", "收款", "正常":
		return false, nil
	case "refund", "return", "退款", "退货", "退单", "退费":
		return true, nil
	}
	return false, fmt.Errorf("is neither a purchase (消费) nor a refund (退款): %q", v)
}

// parseQty reads a quantity: a whole number, maybe written 3.0.
func parseQty(v string) (int, error) {
	d, err := decimal.NewFromString(strings.ReplaceAll(strings.TrimSpace(width.Fold.String(v)), ",", ""))
	if err != nil || !d.Equal(d.Truncate(0)) || d.Abs().GreaterThan(decimal.NewFromInt(1_000_000)) {
		return 0, fmt.Errorf("is not a whole number (%q)", v)
	}
	return int(d.IntPart()), nil
}

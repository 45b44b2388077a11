package clv

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/dataset"
)

// cdnowCal is the paper's calibration: 1997-01-01 to 1997-09-30, 39 weeks.
var cdnowCal = Calibration{End: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC), Period: Week}

// cdnowHoldoutEnd closes weeks 40–78.
var cdnowHoldoutEnd = time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)

type cdnowCustomer struct {
	ID        string
	Purchases []Purchase
}

func loadCDNOW(tb testing.TB, file string) []cdnowCustomer {
	tb.Helper()
	f, err := os.Open(dataset.Require(tb, file))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := dataset.ReadCDNOW(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []cdnowCustomer
	idx := map[string]int{}
	for _, r := range rows {
		i, ok := idx[r.CustomerID]
		if !ok {
			i = len(out)
			idx[r.CustomerID] = i
			out = append(out, cdnowCustomer{ID: r.CustomerID})
		}
		out[i].Purchases = append(out[i].Purchases, Purchase{At: r.Date, Amount: r.Amount})
	}
	return out
}

func summarize(tb testing.TB, cs []cdnowCustomer, cal Calibration) []Summary {
	tb.Helper()
	ss := make([]Summary, 0, len(cs))
	for _, c := range cs {
		s, ok, err := cal.Summarize(c.Purchases)
		if err != nil {
			tb.Fatal(err)
		}
		if ok {
			ss = append(ss, s)
		}
	}
	return ss
}

var updateDocs = flag.Bool("update-docs", false, "rewrite the holdout table in docs/clv.md and docs/clv-holdout.svg")

// sig3 rounds to 3 significant digits, the precision the paper's figures are checked to.
func sig3(v float64) float64 {
	if v == 0 {
		return 0
	}
	e := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*e) / e
}

// THE validation: FHL (2005) Table/p. 279 on the 2,357-customer CDNOW sample, 39 weekly
// calibration periods, same-day purchases merged.
func TestCDNOWSampleReproducesThePaper(t *testing.T) {
	ss := summarize(t, loadCDNOW(t, dataset.CDNOWSampleFile), cdnowCal)
	if len(ss) != 2357 {
		t.Fatalf("%d customers in calibration, want 2357", len(ss))
	}
	m, err := FitBGNBD(ss, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"r", m.R, 0.243}, {"alpha", m.Alpha, 4.414}, {"a", m.A, 0.793}, {"b", m.B, 2.426},
	} {
		if sig3(c.got) != sig3(c.want) {
			t.Errorf("%s = %.5g, paper %.4g (3 significant digits)", c.name, c.got, c.want)
		}
	}
	if math.Abs(m.Fit.LogLik-(-9582.4)) > 0.05 {
		t.Errorf("log-likelihood %.2f, paper −9582.4", m.Fit.LogLik)
	}
	t.Logf("r=%.4f α=%.4f a=%.4f b=%.4f LL=%.2f in %d iterations", m.R, m.Alpha, m.A, m.B, m.Fit.LogLik, m.Fit.Iterations)
}

// FHL (2005) "RFM and CLV" fit Gamma-Gamma to the mean repeat-purchase spend of the 946
// sample customers who bought again in calibration: p = 6.25, q = 3.74, γ = 15.44 ($).
func TestCDNOWGammaGammaReproducesThePublishedFit(t *testing.T) {
	ss := summarize(t, loadCDNOW(t, dataset.CDNOWSampleFile), cdnowCal)
	g, err := FitGammaGamma(ss, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Fit.N != 946 {
		t.Errorf("%d repeat customers, want 946", g.Fit.N)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p", g.P, 6.25}, {"q", g.Q, 3.74}, {"gamma ($)", g.Gamma / 100, 15.44},
	} {
		if sig3(c.got) != sig3(c.want) {
			t.Errorf("%s = %.5g, published %.4g", c.name, c.got, c.want)
		}
	}
	t.Logf("p=%.4f q=%.4f γ=$%.4f LL=%.2f", g.P, g.Q, g.Gamma/100, g.Fit.LogLik)
}

type holdoutRow struct {
	label            string
	n                int
	actual, expected float64 // mean holdout purchases per customer
}

// TestCDNOWHoldout compares, for weeks 40–78, the purchases the calibrated model
// expects of each customer with what they did, grouped by calibration repeat purchases
// (FHL 2005, Figure 5). Run with -update-docs to rewrite the figures in docs/.
func TestCDNOWHoldout(t *testing.T) {
	cs := loadCDNOW(t, dataset.CDNOWSampleFile)
	m, err := FitBGNBD(summarize(t, cs, cdnowCal), FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	holdout := float64(dayNumber(cdnowHoldoutEnd)-dayNumber(cdnowCal.End)) / 7
	rows := make([]holdoutRow, 8)
	for i := range rows {
		rows[i].label = fmt.Sprint(i)
	}
	rows[7].label = "7+"
	var totalActual, totalExpected float64
	for _, c := range cs {
		s, ok, err := cdnowCal.Summarize(c.Purchases)
		if err != nil {
			t.Fatalf("customer %v: %v", c.ID, err)
		}
		if !ok {
			continue
		}
		r := &rows[min(int(s.X), 7)]
		a := float64(cdnowCal.Occasions(c.Purchases, cdnowHoldoutEnd))
		e := m.ExpectedPurchases(s, holdout)
		r.n++
		r.actual += a
		r.expected += e
		totalActual += a
		totalExpected += e
	}
	for i := range rows {
		rows[i].actual /= float64(rows[i].n)
		rows[i].expected /= float64(rows[i].n)
	}
	for i, r := range rows {
		if i > 0 && r.expected <= rows[i-1].expected {
			t.Errorf("customers with %s calibration purchases are expected to buy %.3f, no more than those with %s (%.3f)",
				r.label, r.expected, rows[i-1].label, rows[i-1].expected)
		}
		if math.Abs(r.expected/r.actual-1) > 0.3 {
			t.Errorf("x=%s: expected %.3f, actual %.3f: more than 30%% off", r.label, r.expected, r.actual)
		}
	}
	if math.Abs(totalExpected/totalActual-1) > 0.15 {
		t.Errorf("holdout total expected %.0f, actual %.0f", totalExpected, totalActual)
	}
	table := holdoutTable(rows, totalActual, totalExpected)
	t.Log("\n" + table)
	if *updateDocs {
		writeHoldoutDocs(t, table, holdoutSVG(rows))
	}
}

func holdoutTable(rows []holdoutRow, totalActual, totalExpected float64) string {
	var b strings.Builder
	b.WriteString("| calibration repeat purchases | customers | actual, weeks 40–78 | BG/NBD expected | expected − actual |\n")
	b.WriteString("|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %.3f | %.3f | %+.3f |\n", r.label, r.n, r.actual, r.expected, r.expected-r.actual)
	}
	n := 0
	for _, r := range rows {
		n += r.n
	}
	fmt.Fprintf(&b, "| all | %d | %.0f total | %.0f total | %+.1f%% |\n", n, totalActual, totalExpected, 100*(totalExpected/totalActual-1))
	return b.String()
}

// holdoutSVG draws the paper's Figure 5: mean holdout purchases by calibration
// purchases, actual and expected, as two lines.
func holdoutSVG(rows []holdoutRow) string {
	const w, h, left, right, top, bottom = 640, 400, 60, 20, 40, 60
	top5 := 0.0
	for _, r := range rows {
		top5 = math.Max(top5, math.Max(r.actual, r.expected))
	}
	ymax := math.Ceil(top5)
	px := func(i int) float64 { return left + float64(i)*float64(w-left-right)/float64(len(rows)-1) }
	py := func(v float64) float64 { return float64(h-bottom) - v/ymax*float64(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14" font-weight="bold">CDNOW sample: purchases in weeks 40–78 by purchases in weeks 1–39</text>`+"\n", left)
	for v := 0.0; v <= ymax; v++ {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
			left, w-right, py(v), py(v), left-8, py(v)+4, v)
	}
	for i, r := range rows {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(i), h-bottom+18, r.label)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">repeat purchases in calibration (weeks 1–39)</text>`+"\n", (left+w-right)/2, h-bottom+40)
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">mean purchases per customer, weeks 40–78</text>`+"\n", (top+h-bottom)/2)
	series := []struct {
		name, color, dash string
		v                 func(holdoutRow) float64
	}{
		{"actual", "#222", "", func(r holdoutRow) float64 { return r.actual }},
		{"BG/NBD expected", "#d62728", "6 4", func(r holdoutRow) float64 { return r.expected }},
	}
	for k, s := range series {
		pts := make([]string, len(rows))
		for i, r := range rows {
			pts[i] = fmt.Sprintf("%.1f,%.1f", px(i), py(s.v(r)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", s.color, s.dash, strings.Join(pts, " "))
		for i, r := range rows {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(i), py(s.v(r)), s.color)
		}
		ly := top + 10 + 18*k
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			left+10, left+40, ly, ly, s.color, s.dash, left+48, ly+4, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

const tableStart, tableEnd = "<!-- holdout-table:start -->", "<!-- holdout-table:end -->"

func writeHoldoutDocs(t *testing.T, table, svg string) {
	t.Helper()
	docs := filepath.Join("..", "..", "docs")
	if err := os.WriteFile(filepath.Join(docs, "clv-holdout.svg"), []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	mdPath := filepath.Join(docs, "clv.md")
	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(md), tableStart)
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the %s … %s markers", mdPath, tableStart, tableEnd)
	}
	out := before + tableStart + "\n" + table + tableEnd + after
	if err := os.WriteFile(mdPath, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRFMWritesOneRowPerCustomer(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tx.csv")
	data := `"InvoiceNo","StockCode","Description","Quantity","InvoiceDate","UnitPrice","CustomerID","Country"
"1","A","x",2,"2011-11-30 10:00:00",10.00,100,"United Kingdom"
"2","A","x",1,"2011-12-08 10:00:00",5.50,100,"United Kingdom"
"C3","A","x",-1,"2011-12-09 10:00:00",5.50,100,"United Kingdom"
"4","B","y",1,"2011-03-01 10:00:00",3.00,200,"France"
"5","B","y",1,"2011-03-01 10:00:00",3.00,,"France"
"6","B","y",1,"2011-12-12 10:00:00",99.00,300,"France"
`
	if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rfm.csv")
	if err := runRFM([]string{"-file", in, "-as-of", "2011-12-10", "-out", out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "t", "tier", "stage"},
		// Two purchases, the second refunded: frequency 2, spend net of the refund. In a
		// base of two, quintile ranks 0 and 1 score 5/1 or 3 (rank×5/N). First purchase 10
		// days before: new; spend from nothing in Sep–Nov is T=+100%, which adds a point.
		{"100", "1", "2", "20.00", "5", "3", "3", "1.0000", "B", "new"},
		// 283 days and 14 hours since 1 March: 283 whole days, sleeping.
		{"200", "283", "1", "3.00", "3", "1", "1", "0.0000", "C", "sleeping"},
		// customer 300 bought after the as-of date: not known yet
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %v", len(rows), len(want), rows)
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Errorf("row %d column %s = %q, want %q", i, want[0][j], rows[i][j], want[i][j])
			}
		}
	}
}

func TestRFMRejectsABadPolicy(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "p.json")
	if err := os.WriteFile(pol, []byte(`{"version": 0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "tx.csv")
	if err := os.WriteFile(in, []byte(`"InvoiceNo","StockCode","Description","Quantity","InvoiceDate","UnitPrice","CustomerID","Country"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The error must be the policy's: a missing input file would stop the run too.
	if err := runRFM([]string{"-file", in, "-policy", pol}); err == nil || !strings.Contains(err.Error(), "policy "+pol) {
		t.Fatalf("err = %v: an invalid policy must stop the run, naming the field", err)
	}
}

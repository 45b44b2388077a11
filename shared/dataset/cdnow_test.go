package dataset

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadCDNOWLayouts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []CDNOWPurchase
	}{
		{
			"master lines with CRLF become purchases in cents",
			" 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n 00002 19970112  5   77.00\r\n",
			[]CDNOWPurchase{
				{"00001", time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC), 1, 1177},
				{"00002", time.Date(1997, 1, 12, 0, 0, 0, 0, time.UTC), 1, 1200},
				{"00002", time.Date(1997, 1, 12, 0, 0, 0, 0, time.UTC), 5, 7700},
			},
		},
		{
			"sample lines keep the master id, not the sample id",
			" 00004 0001 19970101  2   29.33\r\n 00004 0001 19970802  1   0.00\r\n",
			[]CDNOWPurchase{
				{"00004", time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC), 2, 2933},
				{"00004", time.Date(1997, 8, 2, 0, 0, 0, 0, time.UTC), 1, 0},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadCDNOW(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d purchases, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("purchase %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestReadCDNOWRejectsWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name, in, line string
	}{
		{"a CSV file is not CDNOW", "InvoiceNo,StockCode,Description\r\n", "line 1"},
		{"a line with another width than the first", " 00001 19970101  1   11.77\r\n 00001 0001 19970101  1   11.77\r\n", "line 2"},
		{"a date that is not YYYYMMDD", " 00001 19970101  1   11.77\r\n 00001 1997-01-02  1   11.77\r\n", "line 2"},
		{"a dollar value that is not a number", " 00001 19970101  1   11,77\r\n", "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCDNOW(strings.NewReader(tc.in))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.line) {
				t.Fatalf("want ErrFormat naming %s, got %v", tc.line, err)
			}
		})
	}
}

// The published figures (data README): 69,659 lines and 23,570 customers in the master
// file, 6,919 lines and 2,357 customers in the 1/10th sample, all first buying in 1997 Q1.
func TestReadCDNOWRealFiles(t *testing.T) {
	tests := []struct {
		file             string
		lines, customers int
	}{
		{CDNOWMasterFile, 69_659, 23_570},
		{CDNOWSampleFile, 6_919, 2_357},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(Require(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ps, err := ReadCDNOW(f)
			if err != nil {
				t.Fatal(err)
			}
			first := map[string]time.Time{}
			for _, p := range ps {
				if d, ok := first[p.CustomerID]; !ok || p.Date.Before(d) {
					first[p.CustomerID] = p.Date
				}
			}
			if len(ps) != tc.lines || len(first) != tc.customers {
				t.Fatalf("%d lines, %d customers; want %d, %d", len(ps), len(first), tc.lines, tc.customers)
			}
			q2 := time.Date(1997, 4, 1, 0, 0, 0, 0, time.UTC)
			for id, d := range first {
				if !d.Before(q2) {
					t.Fatalf("customer %s first bought on %v, after the 1997 Q1 cohort", id, d)
				}
			}
		})
	}
}

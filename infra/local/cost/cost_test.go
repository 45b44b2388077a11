package cost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/tierflow/tierflow/infra/local/cost"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

var (
	customers = flag.Int("customers", 200, "synthetic base for the nights (make test: 200, make cost: 5000)")
	out       = flag.String("json", "", "write the report here (make cost prints it)")
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// The report `make cost` prints: every operation of issue #13 measured on DynamoDB
// Local, the write shares of the nights measured, and the nightly bill derived from
// them; the document has exactly the shape.
func TestCostReport(t *testing.T) {
	table := storetest.Table(t)
	r, err := cost.Run(context.Background(), table, cost.Options{Customers: *customers, Samples: 10, Prefix: "cost" + storetest.Suffix()})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]map[string]any
	if err := json.Unmarshal(doc, &shape); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for x := range m {
			k = append(k, x)
		}
		slices.Sort(k)
		return k
	}
	want := map[string][]string{
		"per_operation":     slices.Sorted(slices.Values(cost.Operations)),
		"night_run_fixed":   {"rru", "wru"},
		"night_base":        {"customers", "day_of_sales", "profile_bytes_median", "profile_bytes_p90"},
		"night_write_share": {"no_new_data", "one_day_of_sales"},
		"usd_per_night":     {"customers_10m", "customers_1m"},
		"prices":            {"region", "usd_per_million_rru", "usd_per_million_wru"},
	}
	if len(shape) != len(want) {
		t.Errorf("top-level keys %v, want %v", keys(map[string]any{"": shape}), want)
	}
	for k, w := range want {
		if got := keys(shape[k]); !slices.Equal(got, w) {
			t.Errorf("%s has %v, want %v", k, got, w)
		}
	}
	for _, op := range cost.Operations {
		u, ok := r.PerOperation[op]
		if !ok || u.RRU < 0 || u.WRU < 0 || u.RRU+u.WRU <= 0 {
			t.Errorf("%s: %+v: every operation costs something, and nothing costs less than zero", op, u)
		}
	}
	if s := r.WriteShare; s.NoNewData < 0 || s.NoNewData > 1 || s.OneDayOfSales <= 0 || s.OneDayOfSales > 1 {
		t.Errorf("write shares %+v: a share is in [0,1], and a day of sales writes someone", s)
	}
	fixed := r.NightRunFixed.RRU/1e6*r.Prices.RRU + r.NightRunFixed.WRU/1e6*r.Prices.WRU
	if u := r.USDPerNight; u.Customers1M <= fixed || math.Abs((u.Customers10M-fixed)-10*(u.Customers1M-fixed)) > 1e-9 {
		t.Errorf("usd per night %+v (fixed $%.6f): the run's fixed part plus a part linear in customers", u, fixed)
	}
	// A redelivered transaction is recognised: it is never written again.
	if d := r.PerOperation["transaction_duplicate"]; d.WRU != 0 {
		t.Errorf("a duplicate wrote %.2f WRU", d.WRU)
	}
	t.Logf("%s", doc)
	// Issue #13's targets: those of single operations on any base, those of the nights
	// on the base (make cost).
	for _, b := range cost.Budgets {
		if b.Base && *customers < cost.BaseCustomers {
			continue
		}
		if ok, got := b.Held(r); !ok {
			t.Errorf("%s: %s", b.Name, got)
		} else {
			t.Logf("holds: %s: %s", b.Name, got)
		}
	}
	if *out != "" {
		if err := os.WriteFile(*out, append(bytes.TrimSpace(doc), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

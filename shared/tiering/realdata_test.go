package tiering

import (
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/model"
)

var (
	retailOnce  sync.Once
	retailTxns  []model.Txn
	retailStats dataset.ReadStats
	retailErr   error
)

// onlineRetail reads the UCI file once per test binary.
func onlineRetail(tb testing.TB) ([]model.Txn, dataset.ReadStats) {
	tb.Helper()
	path := dataset.Require(tb, dataset.OnlineRetailFile)
	retailOnce.Do(func() {
		f, err := dataset.OpenOnlineRetail(path)
		if err != nil {
			retailErr = err
			return
		}
		defer f.Close()
		retailTxns, retailStats, retailErr = dataset.ReadOnlineRetail(f)
	})
	if retailErr != nil {
		tb.Fatal(retailErr)
	}
	return retailTxns, retailStats
}

// retailAsOf is the day after the last invoice, as RFM studies of this file use.
func retailAsOf(tb testing.TB) time.Time {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		tb.Fatal(err)
	}
	return time.Date(2011, 12, 10, 0, 0, 0, 0, loc)
}

// Golden test on the real UCI Online Retail file: the counts match the published ones,
// every customer gets a tier and a stage, and a few customers checked by hand against an
// independent computation (Python, exact decimals) have the same R, F and M.
func TestOnlineRetailGolden(t *testing.T) {
	txns, st := onlineRetail(t)
	if st.Rows != 541_909 || st.NoCustomer != 135_080 || st.Customers != 4_372 {
		t.Fatalf("read %d rows, %d without customer, %d customers; want 541909, 135080, 4372", st.Rows, st.NoCustomer, st.Customers)
	}
	customers := baseOf(txns, time.Time{})
	if len(customers) != 4_372 {
		t.Fatalf("%d customers with aggregates, want 4372", len(customers))
	}
	out, err := AssessAll(DefaultPolicy(), customers, retailAsOf(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[model.Tier]int{}
	stages := map[model.Stage]int{}
	got := map[string]Metrics{}
	for i, a := range out {
		if a.Tier.Rank() == 0 || a.Stage == "" || a.Stage == model.StageLead || a.Reason == "" {
			t.Errorf("customer %s: tier %q stage %q reason %q", customers[i].ID, a.Tier, a.Stage, a.Reason)
		}
		tiers[a.Tier]++
		stages[a.Stage]++
		got[customers[i].ID] = a.Metrics
	}
	t.Logf("tiers %v, stages %v", tiers, stages)
	golden := []struct {
		id        string
		recency   int
		frequency int
		monetary  model.Money
	}{
		{"12346", 325, 1, 0},         // one huge order, cancelled the same day
		{"12347", 2, 7, 431_000},     // a steady customer
		{"14646", 1, 74, 27_948_902}, // the biggest wholesaler
		{"17850", 372, 34, 528_863},  // only bought in the first weeks of the file
	}
	for _, g := range golden {
		m := got[g.id]
		if m.RecencyDays != g.recency || m.Frequency != g.frequency || m.Monetary != g.monetary {
			t.Errorf("customer %s: R=%d F=%d M=%v, want R=%d F=%d M=%v", g.id, m.RecencyDays, m.Frequency, m.Monetary, g.recency, g.frequency, g.monetary)
		}
	}
	if tiers[model.TierA] == 0 || tiers[model.TierB] == 0 || tiers[model.TierC] == 0 {
		t.Errorf("a real base must use every tier: %v", tiers)
	}
	if stages[model.StageChurned] == 0 || stages[model.StageActive] == 0 {
		t.Errorf("a year of data has active and churned customers: %v", stages)
	}
}

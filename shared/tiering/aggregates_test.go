package tiering

import (
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

var asOf = time.Date(2024, 6, 15, 2, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return asOf.Add(-time.Duration(n) * 24 * time.Hour) }

func buy(daysBack int, amount model.Money) model.Txn {
	return model.Txn{At: daysAgo(daysBack), Amount: amount}
}

func refund(daysBack int, amount model.Money) model.Txn {
	return model.Txn{At: daysAgo(daysBack), Amount: amount, Refund: true}
}

func aggOf(txns ...model.Txn) *Aggregates {
	a := &Aggregates{}
	for _, t := range txns {
		a.Apply(t)
	}
	return a
}

func TestAggregatesFollowTransactions(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name      string
		txns      []model.Txn
		frequency int
		monetary  model.Money
		recency   int
	}{
		{"a purchase counts once and adds its spend", []model.Txn{buy(3, 10_000)}, 1, 10_000, 3},
		{"a refund reverses spend but not the visit", []model.Txn{buy(10, 10_000), refund(5, 10_000)}, 1, 0, 10},
		{"a partial refund leaves the rest", []model.Txn{buy(10, 10_000), refund(5, 4_000)}, 1, 6_000, 10},
		{"a late transaction lands in its own month", []model.Txn{buy(2, 100), buy(70, 200), buy(40, 300)}, 3, 600, 2},
		{"purchases before the window do not count", []model.Txn{buy(500, 99_999), buy(1, 100)}, 1, 100, 1},
		{"refunds alone leave negative spend and date the customer", []model.Txn{refund(20, 500)}, 0, -500, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := aggOf(tc.txns...).Metrics(p, asOf)
			if m.Frequency != tc.frequency || m.Monetary != tc.monetary || m.RecencyDays != tc.recency {
				t.Errorf("got F=%d M=%v R=%d, want F=%d M=%v R=%d", m.Frequency, m.Monetary, m.RecencyDays, tc.frequency, tc.monetary, tc.recency)
			}
		})
	}
}

func TestMonthsStayOrderedWhateverTheArrivalOrder(t *testing.T) {
	a := aggOf(buy(2, 1), buy(100, 1), buy(40, 1), buy(70, 1), buy(41, 1))
	for i := 1; i < len(a.Months); i++ {
		if a.Months[i-1].Month >= a.Months[i].Month {
			t.Fatalf("months out of order: %+v", a.Months)
		}
	}
	if a.Purchases != 5 {
		t.Errorf("lifetime purchases = %d, want 5", a.Purchases)
	}
}

func TestCompactKeepsOnlyTheWindow(t *testing.T) {
	p := DefaultPolicy()
	a := aggOf(buy(800, 1_000), buy(400, 2_000), buy(300, 4_000), buy(1, 8_000))
	before := a.Metrics(p, asOf)
	a.Compact(p, asOf)
	if got := len(a.Months); got != 2 {
		t.Errorf("kept %d months, want the 2 inside a 12-month window: %+v", got, a.Months)
	}
	after := a.Metrics(p, asOf)
	if before != after {
		t.Errorf("compacting changed the metrics:\n%+v\n%+v", before, after)
	}
	if a.FirstPurchase != daysAgo(800) || a.Purchases != 4 {
		t.Error("compacting must keep lifetime facts")
	}
}

func TestWindowStartsAtTheSameMonthLastYear(t *testing.T) {
	p := DefaultPolicy()
	dec10 := time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)
	a := aggOf(model.Txn{At: time.Date(2010, 12, 1, 8, 26, 0, 0, time.UTC), Amount: 100},
		model.Txn{At: time.Date(2010, 11, 30, 8, 0, 0, 0, time.UTC), Amount: 1})
	if m := a.Metrics(p, dec10); m.Frequency != 1 || m.Monetary != 100 {
		t.Errorf("12-month window on 10 Dec 2011 must count 1 Dec 2010 but not November: %+v", m)
	}
}

func TestTrendComparesWholeMonths(t *testing.T) {
	p := DefaultPolicy()
	month := func(back int, amount model.Money) model.Txn {
		return model.Txn{At: time.Date(2024, time.Month(6-back), 10, 12, 0, 0, 0, time.UTC), Amount: amount}
	}
	tests := []struct {
		name string
		txns []model.Txn
		want float64
	}{
		{"spend up from 1000 to 1180 is +18%", []model.Txn{month(5, 1000), month(2, 1180)}, 0.18},
		{"spend halved is -50%", []model.Txn{month(4, 2000), month(1, 1000)}, -0.5},
		{"spend from nothing reads as +100%", []model.Txn{month(1, 500)}, 1},
		{"no spend in either period is flat", []model.Txn{month(8, 500)}, 0},
		{"the month in progress does not move the trend", []model.Txn{month(4, 1000), month(1, 1000), month(0, 50_000)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := aggOf(tc.txns...).Metrics(p, asOf).Trend
			if diff := got - tc.want; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("T = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStageFollowsRecency(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name string
		agg  *Aggregates
		want model.Stage
	}{
		{"a contact with no purchase is a lead", &Aggregates{}, model.StageLead},
		{"a first purchase 10 days ago is new", aggOf(buy(10, 1)), model.StageNew},
		{"a first purchase 31 days ago is active", aggOf(buy(31, 1)), model.StageActive},
		{"a regular who bought yesterday is active", aggOf(buy(200, 1), buy(1, 1)), model.StageActive},
		{"no purchase for 90 days is still active", aggOf(buy(90, 1)), model.StageActive},
		{"no purchase for 91 days is dormant", aggOf(buy(91, 1)), model.StageDormant},
		{"no purchase for 180 days is dormant", aggOf(buy(180, 1)), model.StageDormant},
		{"no purchase for 181 days is sleeping", aggOf(buy(181, 1)), model.StageSleeping},
		{"no purchase for 365 days is sleeping", aggOf(buy(365, 1)), model.StageSleeping},
		{"no purchase for 366 days is churned", aggOf(buy(366, 1)), model.StageChurned},
		{"a refund does not make a customer active again", aggOf(buy(200, 5), refund(2, 5)), model.StageSleeping},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.StageFor(tc.agg.Metrics(p, asOf)); got != tc.want {
				t.Errorf("stage = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestStageThresholdsArePolicy(t *testing.T) {
	p := DefaultPolicy()
	p.Lifecycle.DormantDays = 30
	if got := p.StageFor(aggOf(buy(45, 1)).Metrics(p, asOf)); got != model.StageDormant {
		t.Errorf("with dormant after 30 days, 45 days without purchase is %s", got)
	}
}

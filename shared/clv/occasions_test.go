package clv

import (
	"testing"
	"time"
)

func TestOccasionsCountPurchaseDaysAndRepeatSpend(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	sh := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var o Occasions
	o.Apply(sh("2024-01-02 10:00"), 500, false)
	o.Apply(sh("2024-01-02 18:00"), 300, false) // same day: one occasion
	o.Apply(sh("2024-01-09 10:00"), 1000, false)
	o.Apply(sh("2024-01-10 10:00"), -200, true) // refund after the second occasion
	o.Apply(sh("2024-01-16 10:00"), 600, false)
	s, ok := o.Summary("2024-01-30", Week)
	want := Summary{X: 2, Tx: 2, T: 4, MeanSpend: 700}
	if !ok || s != want || o.FirstNet != 800 {
		t.Fatalf("summary %+v (first %d), want %+v", s, o.FirstNet, want)
	}
	// The same purchases through the model's own summariser agree.
	cal := Calibration{End: time.Date(2024, 1, 30, 0, 0, 0, 0, time.UTC), Period: Week}
	ref, _, err := cal.Summarize([]Purchase{{At: sh("2024-01-02 10:00"), Amount: 500}, {At: sh("2024-01-02 18:00"), Amount: 300},
		{At: sh("2024-01-09 10:00"), Amount: 1000}, {At: sh("2024-01-10 10:00"), Amount: -200}, {At: sh("2024-01-16 10:00"), Amount: 600}})
	if err != nil || ref != s {
		t.Fatalf("clv.Summarize %+v, occasions %+v (%v)", ref, s, err)
	}
	if _, ok := o.Summary("2023-12-31", Week); ok {
		t.Fatal("a summary before the first purchase")
	}
}

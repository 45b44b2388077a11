package clv

import (
	"errors"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

func day(d int, hour int) time.Time {
	return time.Date(2024, 1, 1+d, hour, 0, 0, 0, time.UTC)
}

func TestSummarizeRules(t *testing.T) {
	weekly := Calibration{End: day(28, 0), Period: Week}
	daily := Calibration{End: day(28, 0), Period: Day}
	tests := []struct {
		name   string
		cal    Calibration
		ps     []Purchase
		want   Summary
		wantOK bool
	}{
		{"one purchase is no repeat and T runs to the end day",
			daily, []Purchase{{day(7, 9), 1000}}, Summary{X: 0, Tx: 0, T: 21}, true},
		{"two purchases on one day are one occasion",
			daily, []Purchase{{day(0, 9), 1000}, {day(0, 18), 500}, {day(10, 9), 300}},
			Summary{X: 1, Tx: 10, T: 28, MeanSpend: 300}, true},
		{"same-day purchases are summed into the repeat occasion's spend",
			daily, []Purchase{{day(0, 9), 1000}, {day(10, 9), 300}, {day(10, 20), 700}},
			Summary{X: 1, Tx: 10, T: 28, MeanSpend: 1000}, true},
		{"weeks are days over seven",
			weekly, []Purchase{{day(0, 9), 1000}, {day(14, 9), 200}, {day(21, 9), 400}},
			Summary{X: 2, Tx: 3, T: 4, MeanSpend: 300}, true},
		{"the first purchase's spend is not in the repeat mean",
			daily, []Purchase{{day(0, 9), 99_000}, {day(5, 9), 100}},
			Summary{X: 1, Tx: 5, T: 28, MeanSpend: 100}, true},
		{"a refund on a later day reduces the occasion it follows, not the count",
			daily, []Purchase{{day(0, 9), 1000}, {day(5, 9), 800}, {day(6, 9), -800}},
			Summary{X: 1, Tx: 5, T: 28, MeanSpend: 0}, true},
		{"purchases after the end of calibration are ignored",
			daily, []Purchase{{day(0, 9), 1000}, {day(29, 9), 800}},
			Summary{X: 0, Tx: 0, T: 28}, true},
		{"a purchase on the end day is in calibration with T = 0",
			daily, []Purchase{{day(28, 23), 1000}}, Summary{}, true},
		{"order of input does not matter",
			daily, []Purchase{{day(10, 9), 300}, {day(0, 9), 1000}},
			Summary{X: 1, Tx: 10, T: 28, MeanSpend: 300}, true},
		{"no purchase before the end: not yet a customer",
			daily, []Purchase{{day(29, 9), 1000}}, Summary{}, false},
		{"a refund alone is not a purchase",
			daily, []Purchase{{day(3, 9), -500}}, Summary{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := tc.cal.Summarize(tc.ps)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("got %+v ok=%v, want %+v ok=%v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestSummarizeKeepsTheLocalDay(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	// 23:30 and 00:30 the next day in Shanghai are 15:30 and 16:30 on one UTC day.
	a := time.Date(2024, 3, 1, 23, 30, 0, 0, shanghai)
	b := time.Date(2024, 3, 2, 0, 30, 0, 0, shanghai)
	cal := Calibration{End: time.Date(2024, 3, 10, 0, 0, 0, 0, shanghai), Period: Day}
	s, _, err := cal.Summarize([]Purchase{{a, 100}, {b, 100}})
	if err != nil {
		t.Fatal(err)
	}
	if s.X != 1 {
		t.Errorf("purchases on two local days should be two occasions, got x = %v", s.X)
	}
}

func TestHoldoutOccasions(t *testing.T) {
	cal := Calibration{End: day(10, 0), Period: Day}
	ps := []Purchase{{day(1, 9), 100}, {day(10, 12), 100}, {day(11, 9), 100}, {day(11, 19), 100}, {day(12, 9), -100}, {day(20, 9), 100}, {day(31, 9), 100}}
	if got := cal.Occasions(ps, day(30, 0)); got != 2 {
		t.Errorf("days 11 and 20 are the holdout occasions up to day 30, got %d", got)
	}
}

func TestCalibrationRejectsUnknownPeriod(t *testing.T) {
	_, _, err := Calibration{End: day(1, 0), Period: "month"}.Summarize([]Purchase{{day(0, 0), model.Money(1)}})
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("want ErrBadInput, got %v", err)
	}
}

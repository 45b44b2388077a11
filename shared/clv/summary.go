package clv

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// ErrBadInput is returned for a summary, calibration or policy that no model can use.
var ErrBadInput = errors.New("invalid model input")

// Period is the unit the model counts time in. The fitted rates (α, and the horizon of
// every prediction) are per Period, so a model is only meaningful with the unit it was
// fitted in.
type Period string

const (
	Day  Period = "day"
	Week Period = "week"
)

// Days is the length of the period in days.
func (p Period) Days() (float64, error) {
	switch p {
	case Day:
		return 1, nil
	case Week:
		return 7, nil
	}
	return 0, fmt.Errorf("period %q is neither %q nor %q: %w", p, Day, Week, ErrBadInput)
}

// Purchase is one transaction as the model sees it. A negative Amount is a refund: it
// is not a purchase occasion and reduces the spend of the occasion it falls on or follows.
type Purchase struct {
	At     time.Time
	Amount model.Money
}

// Summary is what the models need to know about one customer: X repeat purchase
// occasions after the first, the last of them Tx periods after the first purchase, T
// periods between the first purchase and the end of calibration, and the mean net spend
// of the repeat occasions in minor units (0 when X is 0).
type Summary struct {
	X         float64 `json:"x"`
	Tx        float64 `json:"tx"`
	T         float64 `json:"t"`
	MeanSpend float64 `json:"mean_spend"`
}

// Validate reports a summary that would make a likelihood or prediction meaningless.
func (s Summary) Validate() error {
	for _, v := range []float64{s.X, s.Tx, s.T, s.MeanSpend} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("summary %+v has a non-finite field: %w", s, ErrBadInput)
		}
	}
	if s.X < 0 || s.Tx < 0 || s.T < 0 || s.Tx > s.T {
		return fmt.Errorf("summary %+v needs 0 ≤ x, 0 ≤ tx ≤ T: %w", s, ErrBadInput)
	}
	if s.X > 0 && s.X != math.Trunc(s.X) {
		return fmt.Errorf("summary %+v: x counts purchases and must be whole: %w", s, ErrBadInput)
	}
	return nil
}

// Calibration is the window a model is fitted on: purchases up to and including the
// End day, counted in Period units.
type Calibration struct {
	End    time.Time `json:"end"`
	Period Period    `json:"period"`
}

// Validate checks the calibration can turn dates into model time.
func (c Calibration) Validate() error {
	if c.End.IsZero() {
		return fmt.Errorf("calibration has no end date: %w", ErrBadInput)
	}
	_, err := c.Period.Days()
	return err
}

// dayNumber counts whole calendar days since the epoch, on the day the purchase was made
// where it was made: several purchases on one day are one occasion (the papers' rule),
// whatever the clock time.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

type occasion struct {
	day   int64
	spend int64
}

// occasions merges purchases into one entry per day that has a purchase, with net spend;
// refunds that fall on a day without a purchase reduce the latest occasion before them.
func occasions(ps []Purchase, through int64) []occasion {
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b Purchase) int { return a.At.Compare(b.At) })
	var occ []occasion
	for _, p := range sorted {
		day := dayNumber(p.At)
		if day > through {
			break
		}
		last := len(occ) - 1
		switch {
		case last >= 0 && occ[last].day == day:
			occ[last].spend += int64(p.Amount)
		case p.Amount >= 0:
			occ = append(occ, occasion{day: day, spend: int64(p.Amount)})
		case last >= 0:
			occ[last].spend += int64(p.Amount)
		}
	}
	return occ
}

// Summarize turns one customer's purchases into a Summary. ok is false when the customer
// had bought nothing by the end of calibration: they are not part of the customer base
// the model describes. Purchases after the end are ignored.
func (c Calibration) Summarize(ps []Purchase) (s Summary, ok bool, err error) {
	if err := c.Validate(); err != nil {
		return Summary{}, false, err
	}
	unit, _ := c.Period.Days()
	end := dayNumber(c.End)
	occ := occasions(ps, end)
	if len(occ) == 0 {
		return Summary{}, false, nil
	}
	first := occ[0].day
	s.T = float64(end-first) / unit
	if len(occ) > 1 {
		s.X = float64(len(occ) - 1)
		s.Tx = float64(occ[len(occ)-1].day-first) / unit
		var sum int64
		for _, o := range occ[1:] {
			sum += o.spend
		}
		s.MeanSpend = float64(sum) / s.X
	}
	return s, true, nil
}

// Occasions counts purchase occasions (days with a purchase) after the end of
// calibration and up to and including the through day: the holdout count that the
// model's ExpectedPurchases forecasts.
func (c Calibration) Occasions(ps []Purchase, through time.Time) int {
	end := dayNumber(c.End)
	n := 0
	for _, o := range occasions(ps, dayNumber(through)) {
		if o.day > end {
			n++
		}
	}
	return n
}

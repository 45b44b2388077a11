package clv

import (
	"errors"
	"fmt"
	"math"
)

// Algorithm names the formulas a stored model was fitted with, so a reader can tell
// models of an older package version apart from the caller's own Version label.
const Algorithm = "bgnbd+gammagamma/1"

// Model is a fitted customer-base model as it is stored and served: the purchase
// model, the spend model when spend could be fitted, and how both fits went.
type Model struct {
	Version     string      `json:"version"` // the caller's label, e.g. the night and store it was fitted for
	Algorithm   string      `json:"algorithm"`
	Calibration Calibration `json:"calibration"`
	Purchases   BGNBD       `json:"purchases"`
	// Spend is nil when the spend model could not be fitted; SpendError says why.
	// Predictions then carry no spend or CLV, but P(alive) and purchases still stand.
	Spend      *GammaGamma `json:"spend,omitempty"`
	SpendError string      `json:"spend_error,omitempty"`
}

// Fit fits both models on the same customer base. The error is about the purchase
// model only (the returned Model then only says how far the fit got) (the one every prediction needs); a spend model that cannot be fitted is
// reported in SpendError instead, because a business that records visits but not
// amounts still wants P(alive).
func Fit(ss []Summary, cal Calibration, version string, opt FitOptions) (Model, error) {
	if err := cal.Validate(); err != nil {
		return Model{}, fmt.Errorf("fit customer-base model: %w", err)
	}
	bg, err := FitBGNBD(ss, opt)
	m := Model{Version: version, Algorithm: Algorithm, Calibration: cal, Purchases: bg}
	if err != nil {
		return m, err // with the fit quality reached, for the operator's report
	}
	gg, err := FitGammaGamma(ss, opt)
	if err != nil {
		m.SpendError = err.Error()
	} else {
		m.Spend = &gg
	}
	return m, nil
}

// Risk is a churn-risk band.
type Risk string

const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// RiskPolicy turns P(alive) into a band. It is policy, not code: a clinic with
// yearly check-ups and a coffee shop read the same probability differently.
type RiskPolicy struct {
	HighBelow   float64 `json:"high_below" yaml:"high_below"`     // P(alive) under this is high risk
	MediumBelow float64 `json:"medium_below" yaml:"medium_below"` // under this (and not high) is medium
}

// DefaultRiskPolicy is a starting point: under a 30% chance of still being a customer
// is high risk (the "P(alive) < 0.3" example), under 60% is medium.
var DefaultRiskPolicy = RiskPolicy{HighBelow: 0.3, MediumBelow: 0.6}

// Validate checks the thresholds are probabilities in order.
func (p RiskPolicy) Validate() error {
	if !(p.HighBelow >= 0 && p.HighBelow <= p.MediumBelow && p.MediumBelow <= 1) {
		return fmt.Errorf("risk policy needs 0 ≤ high_below ≤ medium_below ≤ 1, got %+v: %w", p, ErrBadInput)
	}
	return nil
}

// Band is the risk band of a probability of being alive.
func (p RiskPolicy) Band(pAlive float64) Risk {
	switch {
	case pAlive < p.HighBelow:
		return RiskHigh
	case pAlive < p.MediumBelow:
		return RiskMedium
	}
	return RiskLow
}

// Outlook is what a business asks of each customer: purchases over the next few days,
// value over a horizon of months discounted monthly, and the risk thresholds.
type Outlook struct {
	PurchaseDays    int        `json:"purchase_days" yaml:"purchase_days"`
	CLVMonths       int        `json:"clv_months" yaml:"clv_months"`
	MonthlyDiscount float64    `json:"monthly_discount" yaml:"monthly_discount"` // 0.01 = 1% a month
	Risk            RiskPolicy `json:"risk" yaml:"risk"`
}

// DefaultOutlook: the next 90 days, a 12-month value at 1% a month (about 12.7% a year).
var DefaultOutlook = Outlook{PurchaseDays: 90, CLVMonths: 12, MonthlyDiscount: 0.01, Risk: DefaultRiskPolicy}

// Validate rejects an outlook that would produce meaningless figures.
func (o Outlook) Validate() error {
	var errs []error
	if o.PurchaseDays < 0 || o.PurchaseDays > 3660 {
		errs = append(errs, fmt.Errorf("purchase_days %d is outside 0..3660", o.PurchaseDays))
	}
	if o.CLVMonths < 0 || o.CLVMonths > 120 {
		errs = append(errs, fmt.Errorf("clv_months %d is outside 0..120", o.CLVMonths))
	}
	if !(o.MonthlyDiscount >= 0 && o.MonthlyDiscount < 1) {
		errs = append(errs, fmt.Errorf("monthly_discount %v is outside [0, 1)", o.MonthlyDiscount))
	}
	if err := o.Risk.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("outlook: %w: %w", err, ErrBadInput)
	}
	return nil
}

// Prediction is the model's view of one customer. Every field is finite; money is in
// the minor units of the summaries.
type Prediction struct {
	PAlive            float64 `json:"p_alive"`
	ExpectedPurchases float64 `json:"expected_purchases"` // over Outlook.PurchaseDays
	ExpectedSpend     float64 `json:"expected_spend"`     // per purchase; 0 without a spend model
	CLV               float64 `json:"clv"`                // discounted over Outlook.CLVMonths
	Risk              Risk    `json:"risk"`
}

// daysPerMonth is the mean Gregorian month, so twelve monthly steps make a year.
const daysPerMonth = 365.25 / 12

// Predict applies the model to one customer.
func (m Model) Predict(s Summary, o Outlook) (Prediction, error) {
	if err := s.Validate(); err != nil {
		return Prediction{}, fmt.Errorf("predict: %w", err)
	}
	if err := o.Validate(); err != nil {
		return Prediction{}, fmt.Errorf("predict: %w", err)
	}
	unit, err := m.Calibration.Period.Days()
	if err != nil {
		return Prediction{}, fmt.Errorf("predict with model %q: %w", m.Version, err)
	}
	if !m.Purchases.valid() {
		return Prediction{}, fmt.Errorf("predict with model %q: purchase parameters %+v are not positive: %w", m.Version, m.Purchases, ErrBadInput)
	}
	bg := m.Purchases
	p := Prediction{PAlive: bg.PAlive(s)}
	p.Risk = o.Risk.Band(p.PAlive)
	p.ExpectedPurchases = bg.ExpectedPurchases(s, float64(o.PurchaseDays)/unit)
	if m.Spend == nil {
		return p, nil
	}
	p.ExpectedSpend = m.Spend.ExpectedSpend(s)
	// CLV as lifetimes computes it: the purchases expected in each month, valued at the
	// expected spend, discounted to today at the monthly rate.
	month := daysPerMonth / unit
	prev, disc := 0.0, 1.0
	for i := 1; i <= o.CLVMonths; i++ {
		cum := bg.ExpectedPurchases(s, float64(i)*month)
		disc /= 1 + o.MonthlyDiscount
		p.CLV += math.Max(cum-prev, 0) * p.ExpectedSpend * disc
		prev = cum
	}
	p.CLV = finite(p.CLV, 0)
	return p, nil
}

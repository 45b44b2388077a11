package clv

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// base is a small synthetic customer base with one-off buyers, regulars and lapsed
// customers, enough for both models to be identified.
func base() []Summary {
	var ss []Summary
	for i := range 300 {
		T := 20 + float64(i%20)
		switch i % 5 {
		case 0, 1:
			ss = append(ss, Summary{T: T})
		case 2:
			ss = append(ss, Summary{X: 1 + float64(i%3), Tx: T / 3, T: T, MeanSpend: 2000 + float64(i*37%900)})
		case 3:
			ss = append(ss, Summary{X: 4 + float64(i%7), Tx: T - float64(i%4), T: T, MeanSpend: 3500 + float64(i*53%2500)})
		case 4:
			ss = append(ss, Summary{X: 1, Tx: T - 1, T: T, MeanSpend: 900 + float64(i*11%400)})
		}
	}
	return ss
}

var weekly = Calibration{End: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Period: Week}

func TestFitRefusesWhatTheDataCannotTell(t *testing.T) {
	repeat := func(s Summary, n int) []Summary {
		out := make([]Summary, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name    string
		ss      []Summary
		want    error
		because string
	}{
		{"no customers", nil, ErrInsufficientData, "0 customers"},
		{"a single customer", []Summary{{X: 3, Tx: 5, T: 10, MeanSpend: 100}}, ErrInsufficientData, "need at least 2"},
		{"nobody bought again", repeat(Summary{T: 10}, 50), ErrInsufficientData, "none of 50 customers bought again"},
		{"everybody bought again", repeat(Summary{X: 2, Tx: 5, T: 10, MeanSpend: 100}, 50), ErrInsufficientData, "all 50 customers bought again"},
		{"every T is zero: no time observed", append(repeat(Summary{}, 20), Summary{X: 1}), ErrInsufficientData, "observed for more than a period"},
		{"a NaN in a summary", append(base(), Summary{X: math.NaN(), T: 3}), ErrBadInput, "customer 300"},
		{"a last purchase after the end", append(base(), Summary{X: 1, Tx: 5, T: 3}), ErrBadInput, "tx ≤ T"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.ss, weekly, "test", FitOptions{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.because) {
				t.Fatalf("want %v saying %q, got %v", tc.want, tc.because, err)
			}
		})
	}
}

func TestFitWithoutUsableSpendKeepsThePurchaseModel(t *testing.T) {
	tests := []struct {
		name    string
		spend   func(i int) float64
		because string
	}{
		{"all repeat spend is zero", func(int) float64 { return 0 }, "positive mean spend"},
		{"refunds net every repeat customer to ≤ 0", func(i int) float64 { return -float64(i) }, "refunds netting"},
		{"everybody spends the same", func(int) float64 { return 2500 }, "spends the same"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := base()
			for i := range ss {
				if ss[i].X > 0 {
					ss[i].MeanSpend = tc.spend(i)
				}
			}
			m, err := Fit(ss, weekly, "test", FitOptions{})
			if err != nil {
				t.Fatalf("purchase model should fit: %v", err)
			}
			if m.Spend != nil || !strings.Contains(m.SpendError, tc.because) {
				t.Fatalf("spend model %+v, error %q; want none, saying %q", m.Spend, m.SpendError, tc.because)
			}
			p, err := m.Predict(ss[3], DefaultOutlook)
			if err != nil {
				t.Fatal(err)
			}
			if p.PAlive <= 0 || p.ExpectedPurchases <= 0 || p.CLV != 0 {
				t.Errorf("without a spend model, want P(alive) and purchases but no CLV: %+v", p)
			}
		})
	}
}

// gammaRand draws from Gamma(shape, rate) (Marsaglia & Tsang 2000).
func gammaRand(rng *rand.Rand, shape, rate float64) float64 {
	if shape < 1 {
		return gammaRand(rng, shape+1, rate) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := rng.Float64(); math.Log(u) < x*x/2+d-d*v+d*math.Log(v) {
			return d * v / rate
		}
	}
}

// simulate draws a customer base from the two models' own story: purchase rate λ ~
// Gamma(r, α), dropout p ~ Beta(a, b) after each repeat purchase, transaction values
// Gamma(p, ν) with ν ~ Gamma(q, γ); customers are acquired over the first 13 weeks of a
// 39-week window, as in CDNOW.
func simulate(seed uint64, n int, bg BGNBD, gg GammaGamma) []Summary {
	rng := rand.New(rand.NewPCG(seed, 7))
	ss := make([]Summary, n)
	for i := range ss {
		lambda := gammaRand(rng, bg.R, bg.Alpha)
		g1, g2 := gammaRand(rng, bg.A, 1), gammaRand(rng, bg.B, 1)
		drop := g1 / (g1 + g2)
		nu := gammaRand(rng, gg.Q, gg.Gamma)
		T := 26 + 13*rng.Float64()
		s := Summary{T: T}
		var spent float64
		for t := 0.0; ; {
			t += rng.ExpFloat64() / lambda
			if t > T {
				break
			}
			s.X++
			s.Tx = t
			spent += gammaRand(rng, gg.P, nu)
			if rng.Float64() < drop {
				break
			}
		}
		if s.X > 0 {
			s.MeanSpend = spent / s.X
		}
		ss[i] = s
	}
	return ss
}

func TestFitRecoversTheParametersItSimulated(t *testing.T) {
	trueBG := BGNBD{R: 0.5, Alpha: 6, A: 0.8, B: 2.5}
	trueGG := GammaGamma{P: 6, Q: 4, Gamma: 1500}
	ss := simulate(1, 5000, trueBG, trueGG)
	m, err := Fit(ss, weekly, "v1", FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Purchases.Fit.Converged || m.Spend == nil || !m.Spend.Fit.Converged {
		t.Fatalf("want both fits converged: %+v", m)
	}
	// Likelihood-ratio check: the true parameters must lie inside the fit's 99.5%
	// confidence region (χ² with 4 degrees of freedom: 14.9), and the fit must be at least
	// as likely as the truth, or it is not the maximum.
	llTrue, err := trueBG.LogLikelihood(ss)
	if err != nil {
		t.Fatal(err)
	}
	if d := 2 * (m.Purchases.Fit.LogLik - llTrue); d < 0 || d > 14.9 {
		t.Errorf("2·(LL fit − LL true) = %.2f, want within [0, 14.9]; fit %+v", d, m.Purchases)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"r", m.Purchases.R, trueBG.R}, {"alpha", m.Purchases.Alpha, trueBG.Alpha},
		{"p", m.Spend.P, trueGG.P}, {"q", m.Spend.Q, trueGG.Q},
		{"mean spend", m.Spend.PopulationMeanSpend(), trueGG.PopulationMeanSpend()},
	} {
		if math.Abs(c.got/c.want-1) > 0.2 {
			t.Errorf("%s = %.4g, simulated with %.4g", c.name, c.got, c.want)
		}
	}
	// The optimum must beat any nearby point: nudge each parameter both ways.
	best := m.Purchases.Fit.LogLik
	for i, f := range []func(*BGNBD) *float64{
		func(b *BGNBD) *float64 { return &b.R }, func(b *BGNBD) *float64 { return &b.Alpha },
		func(b *BGNBD) *float64 { return &b.A }, func(b *BGNBD) *float64 { return &b.B },
	} {
		for _, k := range []float64{0.98, 1.02} {
			nb := m.Purchases
			*f(&nb) *= k
			ll, err := nb.LogLikelihood(ss)
			if err != nil {
				t.Fatalf("parameter %d × %v: %v", i, k, err)
			}
			if ll >= best {
				t.Errorf("parameter %d × %v gives LL %v ≥ the fit's %v", i, k, ll, best)
			}
		}
	}
}

// Every number the model hands out is stored in DynamoDB and served as JSON: none may
// be NaN or Inf, whatever the customer or the parameters.
func TestPredictionsAreAlwaysFinite(t *testing.T) {
	models := []Model{
		{Calibration: weekly, Purchases: paper, Spend: &GammaGamma{P: 6.25, Q: 3.74, Gamma: 1544}},
		{Calibration: weekly, Purchases: BGNBD{R: 1e-9, Alpha: 1e9, A: 1, B: 1e-9}, Spend: &GammaGamma{P: 1e-9, Q: 1 + 1e-12, Gamma: 1e10}},
		{Calibration: Calibration{End: weekly.End, Period: Day}, Purchases: BGNBD{R: 50, Alpha: 1e-6, A: 1e-8, B: 1e8}, Spend: &GammaGamma{P: 1e8, Q: 1e8, Gamma: 1e-8}},
		{Calibration: weekly, Purchases: BGNBD{R: 0.5, Alpha: 5, A: 0.3, B: 0.5}},
	}
	customers := []Summary{
		{},
		{X: 0, T: 0.001},
		{X: 1, Tx: 0, T: 0},
		{X: 1, Tx: 0, T: 1e6},
		{X: 1e5, Tx: 1e6, T: 1e6, MeanSpend: 1e12},
		{X: 1e5, Tx: 1, T: 1e6, MeanSpend: -5e9},
		{X: 3, Tx: 2, T: 2, MeanSpend: 0},
	}
	outlooks := []Outlook{DefaultOutlook, {PurchaseDays: 3660, CLVMonths: 120, MonthlyDiscount: 0.999, Risk: DefaultRiskPolicy}, {}}
	for mi, m := range models {
		for _, s := range customers {
			for _, o := range outlooks {
				p, err := m.Predict(s, o)
				if err != nil {
					t.Fatalf("model %d, %+v: %v", mi, s, err)
				}
				v := reflect.ValueOf(p)
				for i := range v.NumField() {
					if f, ok := v.Field(i).Interface().(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0) || f < 0) {
						t.Errorf("model %d, customer %+v, outlook %+v: %s = %v", mi, s, o, v.Type().Field(i).Name, f)
					}
				}
				if p.PAlive > 1 {
					t.Errorf("P(alive) %v > 1", p.PAlive)
				}
				if _, err := json.Marshal(p); err != nil {
					t.Errorf("prediction does not serialise: %v", err)
				}
			}
		}
	}
}

func TestPredictRejectsBadInput(t *testing.T) {
	m := Model{Calibration: weekly, Purchases: paper}
	tests := []struct {
		name string
		m    Model
		s    Summary
		o    Outlook
	}{
		{"an infinite T", m, Summary{T: math.Inf(1)}, DefaultOutlook},
		{"a negative count", m, Summary{X: -1, T: 3}, DefaultOutlook},
		{"risk thresholds out of order", m, Summary{T: 3}, Outlook{Risk: RiskPolicy{HighBelow: 0.7, MediumBelow: 0.2}}},
		{"a negative discount", m, Summary{T: 3}, Outlook{MonthlyDiscount: -0.1}},
		{"a model without parameters", Model{Calibration: weekly}, Summary{T: 3}, DefaultOutlook},
		{"a model without a period", Model{Purchases: paper}, Summary{T: 3}, DefaultOutlook},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.m.Predict(tc.s, tc.o); !errors.Is(err, ErrBadInput) {
				t.Fatalf("want ErrBadInput, got %v", err)
			}
		})
	}
}

func TestRiskBandsFollowPolicy(t *testing.T) {
	p := RiskPolicy{HighBelow: 0.3, MediumBelow: 0.6}
	tests := []struct {
		name   string
		pAlive float64
		want   Risk
	}{
		{"P(alive) under 0.3 is high risk", 0.29, RiskHigh},
		{"exactly the high threshold is medium", 0.3, RiskMedium},
		{"under 0.6 is medium", 0.59, RiskMedium},
		{"0.6 and above is low", 0.6, RiskLow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Band(tc.pAlive); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCLVRules(t *testing.T) {
	m := Model{Calibration: weekly, Purchases: paper, Spend: &GammaGamma{P: 6.25, Q: 3.74, Gamma: 1544}}
	active := Summary{X: 6, Tx: 37, T: 38, MeanSpend: 4000}
	lapsed := Summary{X: 6, Tx: 5, T: 38, MeanSpend: 4000}
	at := func(s Summary, o Outlook) Prediction {
		p, err := m.Predict(s, o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	year := Outlook{PurchaseDays: 365, CLVMonths: 12, Risk: DefaultRiskPolicy}
	discounted := year
	discounted.MonthlyDiscount = 0.02
	long := year
	long.CLVMonths = 36
	tests := []struct {
		name string
		ok   bool
	}{
		{"undiscounted CLV over a year is a year's purchases times spend",
			math.Abs(at(active, year).CLV-at(active, year).ExpectedPurchases*at(active, year).ExpectedSpend) < 1e-3*at(active, year).CLV},
		{"discounting lowers CLV", at(active, discounted).CLV < at(active, year).CLV},
		{"a longer horizon raises CLV", at(active, long).CLV > at(active, year).CLV},
		{"a lapsed customer is worth less than an active one with the same history", at(lapsed, year).CLV < at(active, year).CLV/3},
		{"the lapsed customer is high risk, the active one low", at(lapsed, year).Risk == RiskHigh && at(active, year).Risk == RiskLow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Fail()
			}
		})
	}
}

func TestExpectedSpendShrinksTowardsThePopulation(t *testing.T) {
	g := GammaGamma{P: 6.25, Q: 3.74, Gamma: 1544}
	pop := g.PopulationMeanSpend()
	one := g.ExpectedSpend(Summary{X: 1, Tx: 1, T: 2, MeanSpend: 10_000})
	many := g.ExpectedSpend(Summary{X: 30, Tx: 30, T: 32, MeanSpend: 10_000})
	tests := []struct {
		name string
		ok   bool
	}{
		{"a customer with no repeat purchase is expected to spend the population mean", g.ExpectedSpend(Summary{T: 5}) == pop},
		{"one big repeat purchase moves the estimate part of the way", one > pop && one < 10_000},
		{"thirty big repeat purchases move it most of the way", many > one && many > 9_000},
		{"refunds netting below zero count as zero spend, not negative", g.ExpectedSpend(Summary{X: 2, Tx: 2, T: 3, MeanSpend: -500}) >= 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("pop=%v one=%v many=%v", pop, one, many)
			}
		})
	}
}

func TestModelRoundTripsThroughJSON(t *testing.T) {
	m, err := Fit(simulate(2, 1000, paper, GammaGamma{P: 6, Q: 4, Gamma: 1500}), weekly, "2024-06-30/store-7", FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	s := Summary{X: 3, Tx: 10, T: 30, MeanSpend: 2500}
	p1, err := m.Predict(s, DefaultOutlook)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := back.Predict(s, DefaultOutlook)
	if m.Spend == nil {
		t.Fatalf("spend model did not fit: %s", m.SpendError)
	}
	if err != nil || p1 != p2 || p1.CLV == 0 {
		t.Fatalf("stored model predicts %+v (%v), fresh one %+v", p2, err, p1)
	}
	for _, key := range []string{`"version":"2024-06-30/store-7"`, `"algorithm":"` + Algorithm, `"log_likelihood"`, `"converged":true`, `"period":"week"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("stored model lacks %s: %s", key, b)
		}
	}
}

func TestFitWarnsWhenNobodySeemsToLeave(t *testing.T) {
	noDropout := BGNBD{R: 0.8, Alpha: 6, A: 1e-6, B: 1e6}
	ss := simulate(3, 3000, noDropout, GammaGamma{P: 6, Q: 4, Gamma: 1500})
	m, err := FitBGNBD(ss, FitOptions{})
	switch {
	case err != nil && errors.Is(err, ErrNotConverged):
		t.Logf("refused: %v", err) // running to a bound is an acceptable answer too
	case err != nil:
		t.Fatal(err)
	case len(m.Fit.Warnings) == 0:
		t.Fatalf("fit %+v on a base where nobody leaves carries no warning", m)
	default:
		if p := m.PAlive(Summary{X: 5, Tx: 2, T: 30}); p < 0.99 {
			t.Errorf("P(alive) %v, want ≈ 1 under a no-dropout fit", p)
		}
	}
	healthy, err := FitBGNBD(simulate(4, 3000, paper, GammaGamma{P: 6, Q: 4, Gamma: 1500}), FitOptions{})
	if err != nil || len(healthy.Fit.Warnings) != 0 {
		t.Errorf("a base with dropout should fit without warnings: %v %v", err, healthy.Fit.Warnings)
	}
}

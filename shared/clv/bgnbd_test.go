package clv

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// paper holds the parameters FHL (2005) report for the CDNOW sample.
var paper = BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

// posteriorExpectation integrates E[Y(t)] directly from the model's definition, as an
// independent check of the closed form: given alive, λ | data ~ Gamma(r+x, α+T) and
// p | data ~ Beta(a, b+x), and a customer with (λ, p) buys (1 − e^(−λpt))/p times in t.
// Averaging over λ gives (1 − ((α+T)/(α+T+pt))^(r+x))/p; the Beta average is done by
// tanh-sinh quadrature, which copes with the p^(a−1) and (1−p)^(b+x−1) end singularities.
func posteriorExpectation(m BGNBD, s Summary, t float64) float64 {
	bx := m.B + s.X
	logB := lgamma(m.A) + lgamma(bx) - lgamma(m.A+bx)
	const h = 1.0 / 128
	var sum float64
	for k := -4.5; k <= 4.5; k += h {
		u := math.Pi / 2 * math.Sinh(k)
		logP := -math.Log1p(math.Exp(-2 * u))
		log1mP := -math.Log1p(math.Exp(2 * u))
		p := math.Exp(logP)
		inner := -math.Expm1(-(m.R + s.X) * math.Log1p(p*t/(m.Alpha+s.T)))
		w := math.Pi * math.Cosh(k) * math.Exp((m.A-1)*logP+bx*log1mP-logB)
		sum += h * w * inner
	}
	return m.PAlive(s) * sum
}

func TestExpectedPurchasesMatchesTheModelDefinition(t *testing.T) {
	tests := []struct {
		name string
		m    BGNBD
		s    Summary
		t    float64
	}{
		{"paper parameters, one-off buyer", paper, Summary{X: 0, T: 38.86}, 39},
		{"paper parameters, the paper's example customer", paper, Summary{X: 2, Tx: 30.43, T: 38.86}, 39},
		{"paper parameters, heavy buyer", paper, Summary{X: 40, Tx: 38, T: 38.86}, 52},
		{"very heavy buyer over a long history", BGNBD{R: 1.2, Alpha: 30, A: 0.4, B: 3}, Summary{X: 800, Tx: 1400, T: 1460}, 365},
		{"a exactly 1 (the closed form's 0/0)", BGNBD{R: 0.5, Alpha: 5, A: 1, B: 2}, Summary{X: 3, Tx: 20, T: 30}, 20},
		{"a+b < 1 with no repeat purchase (2F1 with c ≤ 0 in the literal formula)", BGNBD{R: 0.5, Alpha: 5, A: 0.3, B: 0.5}, Summary{X: 0, T: 30}, 20},
		{"long horizon", paper, Summary{X: 1, Tx: 5, T: 38}, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.m.ExpectedPurchases(tc.s, tc.t)
			want := posteriorExpectation(tc.m, tc.s, tc.t)
			if math.Abs(got-want) > 1e-7*math.Max(1, want) {
				t.Errorf("closed form %.10g, integral %.10g", got, want)
			}
		})
	}
}

// With no history (x = 0, T = 0) the conditional expectation is the unconditional one,
// FHL eq. 9, which is evaluated here literally with gonum's 2F1.
func TestExpectedPurchasesWithoutHistoryIsThePopulationMean(t *testing.T) {
	for _, tt := range []float64{1, 10, 39, 78} {
		m := paper
		z := tt / (m.Alpha + tt)
		want := (m.A + m.B - 1) / (m.A - 1) * (1 - math.Pow(m.Alpha/(m.Alpha+tt), m.R)*mathext.Hypergeo(m.R, m.B, m.A+m.B-1, z))
		got := m.ExpectedPurchases(Summary{}, tt)
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("t=%v: got %.12g, want %.12g", tt, got, want)
		}
	}
}

// FHL (2005) p. 280: "a customer who made 2 repeat purchases, the last at 30.43 weeks,
// in 38.86 weeks of observation, is expected to make 1.226 purchases in the next 39".
func TestExpectedPurchasesReproducesThePapersExample(t *testing.T) {
	got := paper.ExpectedPurchases(Summary{X: 2, Tx: 30.43, T: 38.86}, 39)
	if math.Round(got*1000) != 1226 {
		t.Errorf("got %.4f, want 1.226", got)
	}
}

func TestPAliveRules(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a customer who never bought again is alive for sure",
			paper.PAlive(Summary{X: 0, T: 30}) == 1},
		{"a recent last purchase means more likely alive",
			paper.PAlive(Summary{X: 3, Tx: 35, T: 38}) > paper.PAlive(Summary{X: 3, Tx: 10, T: 38})},
		{"a long silence after frequent buying is a stronger sign of leaving",
			paper.PAlive(Summary{X: 20, Tx: 10, T: 38}) < paper.PAlive(Summary{X: 2, Tx: 10, T: 38})},
		{"a heavy buyer who stopped long ago is almost surely gone, not NaN",
			paper.PAlive(Summary{X: 5000, Tx: 1, T: 5000}) < 1e-12},
		{"a heavy buyer who bought today is almost surely alive",
			paper.PAlive(Summary{X: 5000, Tx: 5000, T: 5000}) > 0.99},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Fail()
			}
		})
	}
}

// The optimiser relies on the analytic gradient; a wrong sign or factor would still
// "converge" somewhere else. Compare with central differences.
func TestLikelihoodGradientsMatchFiniteDifferences(t *testing.T) {
	ss := []Summary{{X: 0, T: 30}, {X: 0, T: 12}, {X: 1, Tx: 3, T: 30}, {X: 4, Tx: 25, T: 28, MeanSpend: 1200}, {X: 12, Tx: 20, T: 31, MeanSpend: 3400}, {X: 2, Tx: 2, T: 9, MeanSpend: 800}}
	bg, err := newBGData(ss)
	if err != nil {
		t.Fatal(err)
	}
	gg, _, err := newGGData(ss)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    objective
		at   []float64
	}{
		{"BG/NBD", bg.negMeanLL, []float64{0.7, 3.1, 0.6, 2.2}},
		{"BG/NBD with a near 1", bg.negMeanLL, []float64{0.2, 40, 1.0001, 0.3}},
		{"Gamma-Gamma", gg.negMeanLL, []float64{4.1, 2.7, 900}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.at)
			grad := make([]float64, n)
			tc.f(tc.at, grad)
			for i := range n {
				const h = 1e-6
				up, dn := append([]float64(nil), tc.at...), append([]float64(nil), tc.at...)
				up[i] *= math.Exp(h)
				dn[i] *= math.Exp(-h)
				fd := (tc.f(up, nil) - tc.f(dn, nil)) / (2 * h)
				if math.Abs(fd-grad[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("∂/∂log θ%d: analytic %.9g, numeric %.9g", i, grad[i], fd)
				}
			}
		})
	}
}

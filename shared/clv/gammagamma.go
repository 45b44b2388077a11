package clv

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma is a fitted Gamma-Gamma spend model: a customer's transactions are worth
// Gamma(P, ν) each, and ν varies across customers as Gamma(Q, Gamma). Spend is assumed
// independent of purchase frequency, which the caller can check on its own data.
type GammaGamma struct {
	P     float64    `json:"p"`
	Q     float64    `json:"q"`
	Gamma float64    `json:"gamma"` // in the minor currency units the summaries were in
	Fit   FitQuality `json:"fit"`
}

type ggRow struct {
	xi                   int
	m, logM, logX, logMX float64
	w                    float64
}

type ggData struct {
	xs                       []float64
	rows                     []ggRow
	n                        int
	lgPX, lgPXQ, psPX, psPXQ []float64
}

// spendCustomers are the customers Gamma-Gamma can learn from: a repeat purchase and a
// positive mean. Refunds can push a mean to zero or below; such a customer carries no
// information on the shape of positive spend and is left out rather than clipped.
func newGGData(ss []Summary) (*ggData, int, error) {
	type key struct{ x, m float64 }
	counts := map[key]float64{}
	d := &ggData{}
	excluded := 0
	distinctM := map[float64]bool{}
	for i, s := range ss {
		if err := s.Validate(); err != nil {
			return nil, 0, fmt.Errorf("customer %d: %w", i, err)
		}
		if s.X == 0 {
			continue
		}
		if !(s.MeanSpend > 0) {
			excluded++
			continue
		}
		counts[key{s.X, s.MeanSpend}]++
		distinctM[s.MeanSpend] = true
		d.n++
	}
	switch {
	case d.n < 2:
		return nil, excluded, fmt.Errorf("%d repeat customers with a positive mean spend (%d more have refunds netting to ≤ 0), need at least 2: %w",
			d.n, excluded, ErrInsufficientData)
	case len(distinctM) < 2:
		return nil, excluded, fmt.Errorf("every repeat customer spends the same on average, so spend variation cannot be estimated: %w", ErrInsufficientData)
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.x, b.x), cmp.Compare(a.m, b.m)) })
	for _, k := range keys {
		if len(d.xs) == 0 || d.xs[len(d.xs)-1] != k.x {
			d.xs = append(d.xs, k.x)
		}
		d.rows = append(d.rows, ggRow{xi: len(d.xs) - 1, m: k.m, logM: math.Log(k.m), logX: math.Log(k.x), logMX: math.Log(k.m * k.x), w: counts[k]})
	}
	m := len(d.xs)
	buf := make([]float64, 4*m)
	d.lgPX, d.lgPXQ, d.psPX, d.psPXQ = buf[:m], buf[m:2*m], buf[2*m:3*m], buf[3*m:]
	return d, excluded, nil
}

// negMeanLL is the Gamma-Gamma likelihood of a customer's mean spend m over x
// transactions (FHL 2005 "RFM and CLV", eq. 3), constants included as lifetimes does:
//
//	ℓ = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ+mx)
func (d *ggData) negMeanLL(theta, grad []float64) float64 {
	p, q, g := theta[0], theta[1], theta[2]
	wantGrad := grad != nil
	for i, x := range d.xs {
		d.lgPX[i], d.lgPXQ[i] = lgamma(p*x), lgamma(p*x+q)
		if wantGrad {
			d.psPX[i], d.psPXQ[i] = mathext.Digamma(p*x), mathext.Digamma(p*x+q)
		}
	}
	lgQ, logG := lgamma(q), math.Log(g)
	var psQ float64
	if wantGrad {
		psQ = mathext.Digamma(q)
	}
	var ll, gp, gq, gg float64
	for _, r := range d.rows {
		x := d.xs[r.xi]
		// ln(γ+mx) = ln(mx) + ln1p(γ/mx) keeps precision when γ ≪ mx
		logGMX := r.logMX + math.Log1p(g/(r.m*x))
		ll += r.w * (d.lgPXQ[r.xi] - d.lgPX[r.xi] - lgQ + q*logG + (p*x-1)*r.logM + p*x*r.logX - (p*x+q)*logGMX)
		if wantGrad {
			gp += r.w * x * (d.psPXQ[r.xi] - d.psPX[r.xi] + r.logM + r.logX - logGMX)
			gq += r.w * (d.psPXQ[r.xi] - psQ + logG - logGMX)
			gg += r.w * (q/g - (p*x+q)/(g+r.m*x))
		}
	}
	n := float64(d.n)
	if wantGrad {
		grad[0], grad[1], grad[2] = -gp*p/n, -gq*q/n, -gg*g/n
	}
	return -ll / n
}

// FitGammaGamma finds the maximum-likelihood Gamma-Gamma parameters from the mean
// spend of repeat customers. Fit.N counts the customers used.
func FitGammaGamma(ss []Summary, opt FitOptions) (GammaGamma, error) {
	d, excluded, err := newGGData(ss)
	if err != nil {
		return GammaGamma{}, fmt.Errorf("fit Gamma-Gamma: %w", err)
	}
	if d.n < opt.minCustomers() {
		return GammaGamma{}, fmt.Errorf("fit Gamma-Gamma: %d repeat customers with positive spend, need at least %d: %w",
			d.n, opt.minCustomers(), ErrInsufficientData)
	}
	// Start with p = q = 1 and γ at the mean spend, so the starting point does not depend
	// on the currency's minor unit.
	var sum, w float64
	for _, r := range d.rows {
		sum += r.w * r.m
		w += r.w
	}
	start := []float64{0, 0, math.Log(sum / w)}
	x, q, err := maximise(d.negMeanLL, start, []string{"p", "q", "gamma"}, d.n, opt)
	q.Excluded = excluded
	m := GammaGamma{Fit: q}
	if err != nil {
		return m, fmt.Errorf("fit Gamma-Gamma on %d repeat customers: %w", d.n, err)
	}
	m.P, m.Q, m.Gamma = math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2])
	if m.Q <= 1 {
		// E[spend] = pγ/(q−1): with q ≤ 1 the fitted spend distribution has no mean, and
		// every CLV would be infinite.
		return m, fmt.Errorf("fit Gamma-Gamma: q = %.3g ≤ 1, spend is too heavy-tailed for a finite mean on %d customers: %w",
			m.Q, d.n, ErrInsufficientData)
	}
	return m, nil
}

// PopulationMeanSpend is the expected spend per purchase of a customer the model knows
// nothing about.
func (m GammaGamma) PopulationMeanSpend() float64 {
	if !(m.Q > 1) || !(m.P > 0) || !(m.Gamma > 0) {
		return 0
	}
	return finite(m.P*m.Gamma/(m.Q-1), 0)
}

// ExpectedSpend is the expected spend per future purchase of a customer (FHL "RFM and
// CLV" eq. 5): a weighted average of the population mean and the customer's own mean,
// the customer's weight growing with the number of repeat purchases behind it. A mean
// that refunds pushed to zero or below counts as zero spend.
func (m GammaGamma) ExpectedSpend(s Summary) float64 {
	pop := m.PopulationMeanSpend()
	if s.X <= 0 || pop == 0 || s.Validate() != nil {
		return pop
	}
	own := math.Max(s.MeanSpend, 0)
	px := m.P * s.X
	w := px / (px + m.Q - 1)
	return finite((1-w)*pop+w*own, pop)
}

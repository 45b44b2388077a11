package clv

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD is a fitted beta-geometric/NBD model. While active, a customer buys at a rate λ
// ~ Gamma(R, Alpha) per period; after each purchase they drop out with probability p ~
// Beta(A, B).
type BGNBD struct {
	R     float64    `json:"r"`
	Alpha float64    `json:"alpha"`
	A     float64    `json:"a"`
	B     float64    `json:"b"`
	Fit   FitQuality `json:"fit"`
}

// bgRow is a group of customers with the same (x, tx, T): most of a customer base shares
// a few histories (one purchase, in one of the acquisition weeks), so the likelihood is
// summed over distinct histories with a weight.
type bgRow struct {
	xi       int // index into the distinct x values
	tx, t, w float64
}

type bgData struct {
	xs   []float64
	rows []bgRow
	n    int
	// per-x scratch, refilled at every evaluation
	lgRX, lgBX, lgABX, logBX1, psRX, psBX, psABX []float64
}

func newBGData(ss []Summary) (*bgData, error) {
	type key struct{ x, tx, t float64 }
	counts := map[key]float64{}
	d := &bgData{}
	repeaters, informative := 0, 0
	for i, s := range ss {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("customer %d: %w", i, err)
		}
		if s.X == 0 {
			s.Tx = 0
		}
		counts[key{s.X, s.Tx, s.T}]++
		if s.X > 0 {
			repeaters++
		}
		if s.T > 0 {
			informative++
		}
		d.n++
	}
	switch {
	case informative < 2:
		return nil, fmt.Errorf("%d customers observed for more than a period, need at least 2: %w", informative, ErrInsufficientData)
	case repeaters == 0:
		return nil, fmt.Errorf("none of %d customers bought again, so how fast customers drop out cannot be estimated: %w", d.n, ErrInsufficientData)
	case repeaters == d.n:
		// With no one-off buyers, a purchase rate of infinity and no dropout explains the
		// data as well as anything else.
		return nil, fmt.Errorf("all %d customers bought again, so dropout cannot be told from purchase rate: %w", d.n, ErrInsufficientData)
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.x, b.x), cmp.Compare(a.tx, b.tx), cmp.Compare(a.t, b.t))
	})
	for _, k := range keys {
		if len(d.xs) == 0 || d.xs[len(d.xs)-1] != k.x {
			d.xs = append(d.xs, k.x)
		}
		d.rows = append(d.rows, bgRow{xi: len(d.xs) - 1, tx: k.tx, t: k.t, w: counts[k]})
	}
	m := len(d.xs)
	buf := make([]float64, 7*m)
	d.lgRX, d.lgBX, d.lgABX, d.logBX1 = buf[:m], buf[m:2*m], buf[2*m:3*m], buf[3*m:4*m]
	d.psRX, d.psBX, d.psABX = buf[4*m:5*m], buf[5*m:6*m], buf[6*m:]
	return d, nil
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// negMeanLL is the BG/NBD likelihood of FHL (2005) eq. 6 in logs:
//
//	ℓ = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
//	    + ln[ (α+T)^−(r+x) + 1{x>0} a/(b+x−1) (α+t_x)^−(r+x) ]
//
// the last term by log-sum-exp, so large x and T neither underflow nor overflow.
func (d *bgData) negMeanLL(theta, grad []float64) float64 {
	r, alpha, a, b := theta[0], theta[1], theta[2], theta[3]
	wantGrad := grad != nil
	lgR, lgB, lgAB := lgamma(r), lgamma(b), lgamma(a+b)
	var psR, psB, psAB float64
	if wantGrad {
		psR, psB, psAB = mathext.Digamma(r), mathext.Digamma(b), mathext.Digamma(a+b)
	}
	for i, x := range d.xs {
		d.lgRX[i], d.lgBX[i], d.lgABX[i] = lgamma(r+x), lgamma(b+x), lgamma(a+b+x)
		if x > 0 {
			d.logBX1[i] = math.Log(b + x - 1)
		}
		if wantGrad {
			d.psRX[i], d.psBX[i], d.psABX[i] = mathext.Digamma(r+x), mathext.Digamma(b+x), mathext.Digamma(a+b+x)
		}
	}
	logA, logAlpha := math.Log(a), math.Log(alpha)
	var ll, gR, gAlpha, gA, gB float64
	for _, row := range d.rows {
		x := d.xs[row.xi]
		logAT := math.Log(alpha + row.t)
		a1 := d.lgRX[row.xi] - lgR + r*logAlpha
		a2 := lgAB + d.lgBX[row.xi] - lgB - d.lgABX[row.xi]
		a3 := -(r + x) * logAT
		l, w4 := a1+a2+a3, 0.0
		var logATx float64
		if x > 0 {
			logATx = math.Log(alpha + row.tx)
			a4 := logA - d.logBX1[row.xi] - (r+x)*logATx
			hi, lo := max(a3, a4), min(a3, a4)
			e := math.Exp(lo - hi)
			l = a1 + a2 + hi + math.Log1p(e)
			// share of the "dropped out right after the last purchase" branch
			if a4 >= a3 {
				w4 = 1 / (1 + e)
			} else {
				w4 = e / (1 + e)
			}
		}
		ll += row.w * l
		if !wantGrad {
			continue
		}
		w3 := 1 - w4
		gR += row.w * (d.psRX[row.xi] - psR + logAlpha - w3*logAT - w4*logATx)
		gAlpha += row.w * (r/alpha - w3*(r+x)/(alpha+row.t) - w4*(r+x)/(alpha+row.tx))
		gA += row.w * (psAB - d.psABX[row.xi] + w4/a)
		gb := psAB + d.psBX[row.xi] - psB - d.psABX[row.xi]
		if x > 0 {
			gb -= w4 / (b + x - 1)
		}
		gB += row.w * gb
	}
	n := float64(d.n)
	if wantGrad {
		// chain rule to log parameters, sign for minimisation
		grad[0] = -gR * r / n
		grad[1] = -gAlpha * alpha / n
		grad[2] = -gA * a / n
		grad[3] = -gB * b / n
	}
	return -ll / n
}

// LogLikelihood is the BG/NBD log-likelihood of the summaries under m's parameters.
func (m BGNBD) LogLikelihood(ss []Summary) (float64, error) {
	d, err := newBGData(ss)
	if err != nil {
		return 0, err
	}
	return -d.negMeanLL([]float64{m.R, m.Alpha, m.A, m.B}, nil) * float64(d.n), nil
}

// FitBGNBD finds the maximum-likelihood BG/NBD parameters for a customer base.
func FitBGNBD(ss []Summary, opt FitOptions) (BGNBD, error) {
	if len(ss) < opt.minCustomers() {
		return BGNBD{}, fmt.Errorf("fit BG/NBD: %d customers, need at least %d: %w", len(ss), opt.minCustomers(), ErrInsufficientData)
	}
	d, err := newBGData(ss)
	if err != nil {
		return BGNBD{}, fmt.Errorf("fit BG/NBD: %w", err)
	}
	// Start at r = α = a = b = 1 (logs 0), as lifetimes does; α is then rescaled to the
	// data's mean purchase rate so weekly and daily data start equally close.
	start := []float64{0, 0, 0, 0}
	var sx, st float64
	for _, s := range ss {
		sx += s.X
		st += s.T
	}
	if sx > 0 && st > 0 {
		start[1] = math.Log(st / sx)
	}
	x, q, err := maximise(d.negMeanLL, start, []string{"r", "alpha", "a", "b"}, d.n, opt)
	m := BGNBD{Fit: q}
	if err != nil {
		return m, fmt.Errorf("fit BG/NBD on %d customers: %w", d.n, err)
	}
	m.R, m.Alpha, m.A, m.B = math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2]), math.Exp(x[3])
	// Along a → 0, b → ∞ the likelihood flattens into a ridge: BG/NBD becomes a plain NBD
	// where nobody ever leaves. The optimum is real, but every P(alive) will be ~1.
	if drop := m.A / (m.A + m.B); drop < 1e-6 {
		m.Fit.Warnings = append(m.Fit.Warnings, fmt.Sprintf(
			"mean dropout probability per purchase is %.2g: the data show almost no customers leaving, so P(alive) is near 1 for everyone", drop))
	}
	return m, nil
}

// valid reports parameters that every formula below can use.
func (m BGNBD) valid() bool {
	for _, v := range []float64{m.R, m.Alpha, m.A, m.B} {
		if !(v > 0) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// PAlive is the probability that a customer with summary s has not dropped out by the
// end of calibration (FHL 2005 eq. 13). A customer who never bought again cannot have
// dropped out under BG/NBD (dropout happens right after a purchase), hence 1.
func (m BGNBD) PAlive(s Summary) float64 {
	if s.X == 0 || !m.valid() {
		return 1
	}
	lr := math.Log(m.A) - math.Log(m.B+s.X-1) + (m.R+s.X)*(math.Log(m.Alpha+s.T)-math.Log(m.Alpha+s.Tx))
	// 1/(1+e^lr) without overflow for large x
	if lr > 0 {
		e := math.Exp(-lr)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(lr))
}

// ExpectedPurchases is the expected number of purchases of a customer with summary s
// in the next t periods (FHL 2005 eq. 10).
func (m BGNBD) ExpectedPurchases(s Summary, t float64) float64 {
	if !(t > 0) || !m.valid() || s.Validate() != nil {
		return 0
	}
	x := s.X
	// Eq. 10 is (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z)]
	// · P(alive), with z = t/(α+T+t). Taken literally it fails in three places: the
	// 2F1 series grows with x while the power shrinks (cancellation), a = 1 divides by 0,
	// and a+b+x−1 can be ≤ 0 when x = 0. Euler's transformation turns the bracket into
	// 1 − (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z), whose parameters do not grow with x;
	// writing 2F1 = 1 + (a−1)S and dividing by a−1 analytically leaves
	//   c·(1−(1−z)^ε)/ε − (1−z)^ε·c·S,  ε = a−1, c = a+b+x−1,
	// with c·S = Σ_{k≥1} (p)_k (1+ε)_{k−1} / ((c+1)_{k−1} k!) z^k, p = a+b−1−r: finite
	// for every a > 0, b > 0 and x ≥ 0.
	eps := m.A - 1
	c := m.A + m.B + x - 1
	p := m.A + m.B - 1 - m.R
	z := t / (m.Alpha + s.T + t)
	L := -math.Log1p(t / (m.Alpha + s.T)) // ln(1−z)
	var head float64
	if eps == 0 {
		head = -L
	} else {
		head = -math.Expm1(eps*L) / eps
	}
	cs := hypSeries(p, eps, c, z)
	e := m.PAlive(s) * (c*head - math.Exp(eps*L)*cs)
	return finite(math.Max(e, 0), 0)
}

// hypSeries sums Σ_{k≥1} (p)_k (1+ε)_{k−1} / ((c+1)_{k−1} k!) z^k for 0 ≤ z < 1. Terms
// shrink geometrically like z^k; horizons up to a few hundred times α+T need at most a
// few thousand terms.
func hypSeries(p, eps, c, z float64) float64 {
	term := p * z
	sum := term
	for k := 1.0; k < 200_000; k++ {
		term *= (p + k) * (eps + k) / ((c + k) * (k + 1)) * z
		sum += term
		if math.Abs(term) <= 1e-16*math.Abs(sum) || term == 0 {
			break
		}
	}
	return sum
}

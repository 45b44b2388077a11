package clv

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors a caller branches on to keep its previous model.
var (
	// ErrInsufficientData: the data cannot identify the model (too few customers, no
	// repeat purchases, no spend); more history is needed, not another attempt.
	ErrInsufficientData = errors.New("insufficient data to fit the model")
	// ErrNotConverged: the optimiser did not reach a maximum of the likelihood, or
	// reached it with a parameter at its bound.
	ErrNotConverged = errors.New("model fit did not converge")
)

// FitQuality says how a fit went; it travels with the model so a reader can judge it.
type FitQuality struct {
	LogLik      float64 `json:"log_likelihood"`
	Iterations  int     `json:"iterations"`
	Evaluations int     `json:"evaluations"`
	N           int     `json:"n"`                  // customers that entered the likelihood
	Excluded    int     `json:"excluded,omitempty"` // customers left out, e.g. refunds netting spend to ≤ 0
	Converged   bool    `json:"converged"`
	GradNorm    float64 `json:"grad_norm"` // largest |∂(mean LL)/∂log θ| at the optimum
	// Warnings name converged fits that sit on an edge of the model, where predictions
	// are valid but carry less information than the operator may expect.
	Warnings []string `json:"warnings,omitempty"`
}

// FitOptions tune the optimiser; the zero value is what the validation runs use.
type FitOptions struct {
	// MinCustomers is the smallest customer base a fit is attempted on (default 2;
	// callers fitting per store should set a real floor such as 200).
	MinCustomers int
	// MaxIterations bounds the optimiser's major iterations (default 1000).
	MaxIterations int
}

func (o FitOptions) minCustomers() int {
	if o.MinCustomers < 2 {
		return 2
	}
	return o.MinCustomers
}

func (o FitOptions) maxIterations() int {
	if o.MaxIterations <= 0 {
		return 1000
	}
	return o.MaxIterations
}

// logBound keeps every parameter within e^±25 (about 1e-11 to 7e10). Inside, the
// likelihood is evaluated as is; outside, a steep quadratic wall brings the optimiser
// back, so no evaluation ever sees an overflowing exp. A parameter that ends on the wall
// is one the data cannot identify.
const logBound = 25

// gradTol is the largest gradient of the mean log-likelihood (per customer, in log
// parameters) accepted at an optimum: far below what moves any parameter's third digit.
const gradTol = 1e-6

// objective evaluates the mean negative log-likelihood at θ = exp(φ) and, when grad is
// not nil, its gradient with respect to φ.
type objective func(theta, grad []float64) float64

// maximise finds the maximum-likelihood log parameters from start with BFGS and a
// backtracking (Armijo) line search. It is written here rather than taken from
// gonum/optimize because that package drags a statistics stack and golang.org/x/tools
// into every Lambda binary that fits a model, for four parameters' worth of work.
// names label the parameters in error messages.
func maximise(f objective, start []float64, names []string, n int, opt FitOptions) ([]float64, FitQuality, error) {
	dim := len(start)
	theta := make([]float64, dim)
	q := FitQuality{N: n}
	// eval returns the penalised mean negative log-likelihood at log parameters x and,
	// when g is not nil, its gradient.
	eval := func(x, g []float64) float64 {
		q.Evaluations++
		var pen float64
		for i, v := range x {
			c := math.Max(-logBound, math.Min(logBound, v))
			pen += (v - c) * (v - c)
			theta[i] = math.Exp(c)
		}
		v := f(theta, g) + 1e3*pen
		for i := range g {
			if c := math.Max(-logBound, math.Min(logBound, x[i])); c != x[i] {
				g[i] = 2e3 * (x[i] - c)
			}
		}
		return v
	}
	x := append([]float64(nil), start...)
	g := make([]float64, dim)
	fx := eval(x, g)
	if math.IsNaN(fx) || math.IsInf(fx, 0) {
		return nil, q, fmt.Errorf("log-likelihood is not finite at the starting point: %w", ErrNotConverged)
	}
	h := identity(dim)
	d, xn, gn := make([]float64, dim), make([]float64, dim), make([]float64, dim)
	s, y, hy := make([]float64, dim), make([]float64, dim), make([]float64, dim)
	scaled, flat := false, 0
	for q.Iterations < opt.maxIterations() {
		if normInf(g) <= gradTol/100 {
			break
		}
		q.Iterations++
		mulVec(d, h, g, -1)
		slope := dot(g, d)
		if !(slope < 0) {
			h, scaled = identity(dim), false
			mulVec(d, h, g, -1)
			slope = dot(g, d)
		}
		step := 1.0
		if !scaled {
			step = math.Min(1, 1/normInf(g)) // first step: move each log parameter at most 1
		}
		fn := math.Inf(1)
		accepted := false
		for k := 0; k < 60; k++ {
			for i := range x {
				xn[i] = x[i] + step*d[i]
			}
			fn = eval(xn, nil)
			if fn <= fx+1e-4*step*slope && !math.IsNaN(fn) {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			if scaled { // a stale curvature estimate; start again from steepest descent
				h, scaled = identity(dim), false
				continue
			}
			break // no descent possible at working precision: the gradient test decides
		}
		fn = eval(xn, gn)
		for i := range x {
			s[i], y[i] = xn[i]-x[i], gn[i]-g[i]
		}
		if sy := dot(s, y); sy > 1e-12*math.Sqrt(dot(s, s)*dot(y, y)) {
			if !scaled {
				h = identity(dim)
				sc := sy / dot(y, y)
				for i := range dim {
					h[i*dim+i] = sc
				}
				scaled = true
			}
			// H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ, expanded to avoid temporaries.
			rho := 1 / sy
			mulVec(hy, h, y, 1)
			yhy := dot(y, hy)
			for i := range dim {
				for j := range dim {
					h[i*dim+j] += -rho*(s[i]*hy[j]+hy[i]*s[j]) + (rho*rho*yhy+rho)*s[i]*s[j]
				}
			}
		}
		if fx-fn <= 1e-15*(1+math.Abs(fx)) {
			flat++
		} else {
			flat = 0
		}
		copy(x, xn)
		copy(g, gn)
		fx = fn
		if flat >= 10 {
			break
		}
	}
	q.LogLik = -fx * float64(n)
	q.GradNorm = normInf(g)
	if math.IsNaN(q.LogLik) || math.IsInf(q.LogLik, 0) || math.IsNaN(q.GradNorm) {
		q.LogLik, q.GradNorm = 0, 0
		return nil, q, fmt.Errorf("log-likelihood is not finite at the optimum: %w", ErrNotConverged)
	}
	for i, v := range x {
		if math.Abs(v) >= logBound-1 {
			dir := "0"
			if v > 0 {
				dir = "infinity"
			}
			return nil, q, fmt.Errorf("parameter %s runs to %s (%.3g): the data cannot identify it: %w",
				names[i], dir, math.Exp(math.Max(-logBound, math.Min(logBound, v))), ErrNotConverged)
		}
	}
	if q.GradNorm > gradTol {
		return nil, q, fmt.Errorf("optimiser stopped after %d iterations with gradient %.2g > %.0g: %w",
			q.Iterations, q.GradNorm, gradTol, ErrNotConverged)
	}
	q.Converged = true
	return x, q, nil
}

func identity(n int) []float64 {
	m := make([]float64, n*n)
	for i := range n {
		m[i*n+i] = 1
	}
	return m
}

// mulVec sets dst = k·M·v for a square row-major M.
func mulVec(dst, m, v []float64, k float64) {
	n := len(v)
	for i := range n {
		var s float64
		for j := range n {
			s += m[i*n+j] * v[j]
		}
		dst[i] = k * s
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func normInf(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// finite replaces a non-finite value by fallback: nothing the package returns may carry
// NaN or Inf into stored data or JSON.
func finite(v, fallback float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fallback
	}
	return v
}

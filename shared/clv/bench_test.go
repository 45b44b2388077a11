package clv

import (
	"runtime"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/dataset"
)

// The nightly run's cost on real bases: fitting both models, and predicting for every
// customer. Python lifetimes takes seconds to fit the CDNOW master file.

func cdnowMaster(b *testing.B) []Summary {
	b.Helper()
	return summarize(b, loadCDNOW(b, dataset.CDNOWMasterFile), cdnowCal)
}

func onlineRetail(b *testing.B) ([]Summary, Calibration) {
	b.Helper()
	f, err := dataset.OpenOnlineRetail(dataset.Require(b, dataset.OnlineRetailFile))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	txns, _, err := dataset.ReadOnlineRetail(f)
	if err != nil {
		b.Fatal(err)
	}
	byCustomer := map[string][]Purchase{}
	var last time.Time
	for _, x := range txns {
		byCustomer[x.CustomerID] = append(byCustomer[x.CustomerID], Purchase{At: x.At, Amount: x.Net()})
		if x.At.After(last) {
			last = x.At
		}
	}
	cal := Calibration{End: last, Period: Day}
	ss := make([]Summary, 0, len(byCustomer))
	for _, ps := range byCustomer {
		if s, ok, err := cal.Summarize(ps); err != nil {
			b.Fatal(err)
		} else if ok {
			ss = append(ss, s)
		}
	}
	return ss, cal
}

func benchFit(b *testing.B, ss []Summary, cal Calibration) Model {
	b.ReportAllocs()
	var m Model
	var err error
	b.ResetTimer()
	for b.Loop() {
		m, err = Fit(ss, cal, "bench", FitOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ss)), "customers")
	b.ReportMetric(float64(m.Purchases.Fit.Iterations), "bgnbd-iterations")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fit")
	b.Logf("purchases %+v spend %+v %s", m.Purchases, m.Spend, m.SpendError)
	return m
}

// BenchmarkFitCDNOWMaster backs the README's figure: BG/NBD and Gamma-Gamma fitted on
// all 23,570 CDNOW customers. A timing of a fit that did not converge, or of fewer
// customers, would not be that figure.
func BenchmarkFitCDNOWMaster(b *testing.B) {
	ss := cdnowMaster(b)
	if len(ss) != 23_570 {
		b.Fatalf("%d CDNOW customers summarised, the figure is for 23,570", len(ss))
	}
	m := benchFit(b, ss, cdnowCal)
	if !m.Purchases.Fit.Converged || m.Spend == nil || !m.Spend.Fit.Converged {
		b.Fatalf("the fit the figure times must converge on both models: BG/NBD %+v, Gamma-Gamma %+v (%s)", m.Purchases.Fit, m.Spend, m.SpendError)
	}
}

func BenchmarkFitOnlineRetail(b *testing.B) {
	ss, cal := onlineRetail(b)
	benchFit(b, ss, cal)
}

// BenchmarkSummarizeCDNOWMaster is the step before the fit: purchases to summaries.
func BenchmarkSummarizeCDNOWMaster(b *testing.B) {
	cs := loadCDNOW(b, dataset.CDNOWMasterFile)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cs {
			if _, _, err := cdnowCal.Summarize(c.Purchases); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(cs))*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}

// BenchmarkPredict is one nightly pass over the CDNOW master base with the default
// outlook (90-day purchases, 12-month CLV: 13 conditional expectations per customer).
func BenchmarkPredict(b *testing.B) {
	ss := cdnowMaster(b)
	m, err := Fit(ss, cdnowCal, "bench", FitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, s := range ss {
			if _, err := m.Predict(s, DefaultOutlook); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(ss))*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}

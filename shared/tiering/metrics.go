package tiering

import (
	"math"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Metrics are a customer's raw RFM-T figures as of one day, before any scoring.
type Metrics struct {
	HasHistory   bool        `json:"hasHistory"`   // any transaction at all; false means a lead
	RecencyDays  int         `json:"recencyDays"`  // whole days since the last purchase
	Frequency    int         `json:"frequency"`    // distinct purchases in the window
	Monetary     model.Money `json:"monetary"`     // net spend in the window
	AverageOrder model.Money `json:"averageOrder"` // monetary / frequency
	ActiveMonths int         `json:"activeMonths"` // window months since the first purchase, at least 1
	Trend        float64     `json:"trend"`        // growth of spend, last trend months vs the ones before
	TenureDays   int         `json:"tenureDays"`   // whole days since the first purchase
}

// maxTrend caps growth from a tiny base so that T stays a readable percentage.
const maxTrend = 10

// Metrics computes the raw figures as of asOf.
func (a *Aggregates) Metrics(p *Policy, asOf time.Time) Metrics {
	var m Metrics
	if a.FirstSeen.IsZero() {
		return m
	}
	m.HasHistory = true
	last, first := a.LastPurchase, a.FirstPurchase
	if last.IsZero() {
		// Only refunds seen: the purchase happened before our records began, so it is at
		// least as old as the first refund.
		last, first = a.FirstSeen, a.FirstSeen
	}
	m.RecencyDays = daysBetween(last, asOf)
	m.TenureDays = daysBetween(first, asOf)

	now := MonthOf(asOf)
	start := windowStart(p, asOf)
	m.Frequency, m.Monetary = a.sum(start, now)
	if m.Frequency > 0 {
		m.AverageOrder = m.Monetary / model.Money(m.Frequency)
	}
	from := MonthOf(first.In(asOf.Location()))
	if from < start {
		from = start
	}
	m.ActiveMonths = max(1, now.index()-from.index()+1)

	// Trend compares whole months only, so it does not swing with the day of the month.
	n := p.Trend.Months
	_, recent := a.sum(now.Add(-n), now.Add(-1))
	_, before := a.sum(now.Add(-2*n), now.Add(-n-1))
	m.Trend = trend(recent, before)
	return m
}

func trend(recent, before model.Money) float64 {
	switch {
	case before <= 0 && recent <= 0:
		return 0
	case before <= 0:
		return 1 // from nothing to something: reported as +100%
	}
	return math.Max(-1, math.Min(maxTrend, float64(recent-before)/float64(before)))
}

// daysBetween counts whole elapsed days; a purchase after asOf counts as today.
func daysBetween(from, to time.Time) int {
	if !to.After(from) {
		return 0
	}
	return int(to.Sub(from) / (24 * time.Hour))
}

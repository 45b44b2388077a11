package tiering

import (
	"sort"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Month identifies a calendar month as year×100+month (201103), readable in a table.
type Month int

// MonthOf is the calendar month of t in t's own location: the month the shop saw.
func MonthOf(t time.Time) Month { return Month(t.Year()*100 + int(t.Month())) }

// index counts months from year 0 so that month arithmetic is subtraction.
func (m Month) index() int { return int(m)/100*12 + int(m)%100 - 1 }

// Add moves n months forward (or back when n < 0).
func (m Month) Add(n int) Month {
	i := m.index() + n
	return Month(i/12*100 + i%12 + 1)
}

// MonthAgg is one month of a customer's activity.
type MonthAgg struct {
	Month     Month       `json:"month" dynamodbav:"month"`
	Purchases int         `json:"purchases" dynamodbav:"purchases"`
	Refunds   int         `json:"refunds,omitempty" dynamodbav:"refunds,omitempty"`
	Net       model.Money `json:"net" dynamodbav:"net"` // purchases minus refunds
}

// Aggregates is all the tier engine needs of a customer's history, kept up to date one
// transaction at a time so that scoring never rescans it. Only the policy window's months
// are kept (see Compact), so the size stays bounded however long the customer stays.
type Aggregates struct {
	FirstPurchase time.Time  `json:"firstPurchase,omitzero" dynamodbav:"firstPurchase,omitempty"`
	LastPurchase  time.Time  `json:"lastPurchase,omitzero" dynamodbav:"lastPurchase,omitempty"`
	FirstSeen     time.Time  `json:"firstSeen,omitzero" dynamodbav:"firstSeen,omitempty"`
	Purchases     int        `json:"purchases" dynamodbav:"purchases"` // distinct purchases, lifetime
	Months        []MonthAgg `json:"months" dynamodbav:"months"`       // ascending, window only
}

// Apply folds one transaction in. Counting it once is ingest's job (a conditional write
// on the transaction's once-key); Apply counts whatever it is given. A refund reverses
// spend in the month it happened but does not undo the purchase count: the customer did
// come.
func (a *Aggregates) Apply(t model.Txn) {
	if a.FirstSeen.IsZero() || t.At.Before(a.FirstSeen) {
		a.FirstSeen = t.At
	}
	m := a.month(MonthOf(t.At))
	m.Net += t.Net()
	if t.Refund {
		m.Refunds++
		return
	}
	m.Purchases++
	a.Purchases++
	if a.FirstPurchase.IsZero() || t.At.Before(a.FirstPurchase) {
		a.FirstPurchase = t.At
	}
	if t.At.After(a.LastPurchase) {
		a.LastPurchase = t.At
	}
}

// month returns the entry for m, inserting it in order; transactions may arrive late.
func (a *Aggregates) month(m Month) *MonthAgg {
	i := sort.Search(len(a.Months), func(i int) bool { return a.Months[i].Month >= m })
	if i == len(a.Months) || a.Months[i].Month != m {
		a.Months = append(a.Months, MonthAgg{})
		copy(a.Months[i+1:], a.Months[i:])
		a.Months[i] = MonthAgg{Month: m}
	}
	return &a.Months[i]
}

// Compact drops months that fell out of the policy window as of asOf. Lifetime fields
// (first and last purchase, purchase count) stay.
func (a *Aggregates) Compact(p *Policy, asOf time.Time) {
	first := windowStart(p, asOf)
	i := sort.Search(len(a.Months), func(i int) bool { return a.Months[i].Month >= first })
	if i > 0 {
		a.Months = append(a.Months[:0], a.Months[i:]...)
	}
}

// windowStart is the first month of the window: the month of asOf so far plus
// WindowMonths full months before it, so a 12-month window on 10 December counts from
// the previous December and a year of data is never cut short by a partial month.
func windowStart(p *Policy, asOf time.Time) Month { return MonthOf(asOf).Add(-p.WindowMonths) }

// sum adds the months in [from, to].
func (a *Aggregates) sum(from, to Month) (purchases int, net model.Money) {
	for _, m := range a.Months {
		if m.Month >= from && m.Month <= to {
			purchases += m.Purchases
			net += m.Net
		}
	}
	return purchases, net
}

// WindowSpend is net spend in the policy window as of asOf.
func (a *Aggregates) WindowSpend(p *Policy, asOf time.Time) model.Money {
	_, net := a.sum(windowStart(p, asOf), MonthOf(asOf))
	return net
}

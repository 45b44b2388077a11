package clv

import (
	"math"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Occasions is the compact purchase-occasion record the customer-base model needs and
// the monthly aggregates cannot give (they count transactions, not purchase days, and
// keep only the policy window). Ingest keeps it on the profile (`occasions`), in the same write as the tier aggregates.
//
// Days counts distinct purchase days in the purchase's own time zone. It is exact when
// transactions arrive in time order (what POS systems do) and when a late one falls on
// the first or last purchase day or outside them; a late purchase strictly between the
// first and last day is counted as a new occasion, since telling otherwise would need
// the whole day set. Net is the lifetime net spend of all occasions, FirstNet that of
// the first; refunds reduce the first occasion while it is the only one, later ones the
// repeat spend (the model's "the occasion it falls on or follows").
type Occasions struct {
	Days     int         `dynamodbav:"days" json:"days"`
	First    string      `dynamodbav:"first" json:"first"` // YYYY-MM-DD
	Last     string      `dynamodbav:"last" json:"last"`
	FirstNet model.Money `dynamodbav:"firstNet" json:"firstNet"`
	Net      model.Money `dynamodbav:"net" json:"net"`
}

// Apply folds one transaction in; amount is negative for a refund.
func (o *Occasions) Apply(at time.Time, amount model.Money, refund bool) {
	day := at.Format(time.DateOnly)
	if refund || amount < 0 {
		if o.Days == 0 || day < o.First {
			return // no occasion before it: the model ignores it too
		}
		o.Net += amount
		if o.Days == 1 || day == o.First {
			o.FirstNet += amount
		}
		return
	}
	switch {
	case o.Days == 0:
		*o = Occasions{Days: 1, First: day, Last: day, FirstNet: amount, Net: amount}
	case day == o.First:
		o.FirstNet += amount
		o.Net += amount
	case day == o.Last:
		o.Net += amount
	case day < o.First:
		o.Days++
		o.First, o.FirstNet = day, amount
		o.Net += amount
	case day > o.Last:
		o.Days++
		o.Last = day
		o.Net += amount
	default: // late, between first and last: assumed a day of its own (see the type)
		o.Days++
		o.Net += amount
	}
}

// Summary is the model's view of the customer as of a business day, in the given
// period. ok=false: no purchase on or before that day.
func (o Occasions) Summary(asOfDay string, period Period) (s Summary, ok bool) {
	unit, err := period.Days()
	if err != nil || o.Days < 1 || o.First == "" || o.First > asOfDay {
		return Summary{}, false
	}
	first, e1 := time.Parse(time.DateOnly, o.First)
	last, e2 := time.Parse(time.DateOnly, o.Last)
	end, e3 := time.Parse(time.DateOnly, asOfDay)
	if e1 != nil || e2 != nil || e3 != nil {
		return Summary{}, false
	}
	if last.After(end) {
		last = end // purchases after the as-of day are not known yet on that day
	}
	days := func(a, b time.Time) float64 { return math.Round(b.Sub(a).Hours() / 24) }
	s.T = days(first, end) / unit
	if o.Days > 1 {
		s.X = float64(o.Days - 1)
		s.Tx = days(first, last) / unit
		s.MeanSpend = float64(o.Net-o.FirstNet) / s.X
	}
	return s, true
}

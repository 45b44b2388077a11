package dataset

import (
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Txn is one purchase or refund as a POS or billing system reports it: the unit that
// ingest counts once and that the tier engine folds into a customer's aggregates.
type Txn struct {
	CustomerID string
	Invoice    string
	Store      string
	At         time.Time
	// Amount is positive for a purchase and negative for a refund, in minor units.
	Amount model.Money
	Refund bool
	Items  []Item
}

// Item is one line of a transaction. EffectDays is how long the product keeps working
// (a filler, a course of treatment); the follow-up engine schedules a repurchase reminder
// from it. Zero means the product has no known effect duration.
type Item struct {
	SKU        string
	Name       string
	Qty        int
	UnitPrice  model.Money
	EffectDays int
}

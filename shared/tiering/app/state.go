package app

import (
	"time"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// TierState is what tiering keeps on a customer profile, as ingest and the night read it.
// Version is the optimistic lock every write of the tier state is conditioned on.
type TierState struct {
	ID         string
	Version    int64
	Store      string // "" for a customer without one
	Aggregates tiering.Aggregates
	Assignment tiering.Assignment
	LastRun    string          // the run that last wrote the assignment
	PrevTier   model.Tier      // the tier before that run
	Occasions  *clv.Occasions  // nil on profiles ingested before it was kept
	CLV        *clv.ProfileCLV // the last prediction written
	// RetentionRun is the run that last flagged retentionDue (the retention rule's edge).
	RetentionRun string
	// Source and Campaign are the acquisition touch's UTM ("" when none): the sources report.
	Source, Campaign string
}

// OccasionsOrEstimate is the purchase-occasion record as best known: the stored one, or,
// for a profile ingested before it was kept, an estimate from the tier aggregates (every
// transaction a day, the window's mean order as the repeat spend).
func (p TierState) OccasionsOrEstimate() clv.Occasions {
	if p.Occasions != nil {
		return *p.Occasions
	}
	a := p.Aggregates
	if a.Purchases < 1 || a.FirstPurchase.IsZero() {
		return clv.Occasions{}
	}
	o := clv.Occasions{Days: a.Purchases, First: a.FirstPurchase.Format(time.DateOnly), Last: a.LastPurchase.Format(time.DateOnly)}
	var n int
	var net model.Money
	for _, m := range a.Months {
		n += m.Purchases
		net += m.Net
	}
	if n > 0 && o.Days > 1 {
		mean := net / model.Money(n)
		o.FirstNet, o.Net = mean, mean*model.Money(o.Days)
	}
	return o
}

// TierChange is one entry of a customer's tier history, written with the night's
// assessment that changed the tier.
type TierChange struct {
	At            time.Time   `dynamodbav:"at" json:"at"`
	From          model.Tier  `dynamodbav:"from" json:"from"`
	To            model.Tier  `dynamodbav:"to" json:"to"`
	Stage         model.Stage `dynamodbav:"stage" json:"stage"`
	Reason        string      `dynamodbav:"reason" json:"reason"`
	PolicyVersion int         `dynamodbav:"policyVersion" json:"policyVersion"`
	RunID         string      `dynamodbav:"runId" json:"runId"`
}

// TxnWrite is one transaction applied to one profile as ingest decided it. The store
// writes all of it in one transaction or nothing: the once-marker (only while the key is
// free), the transaction on the customer's timeline, and the profile's new tier state
// (only while the profile is still at Version; a new minimal profile when Create).
type TxnWrite struct {
	Txn        model.Txn
	Aggregates tiering.Aggregates
	Occasions  clv.Occasions
	Assignment tiering.Assignment
	Version    int64     // the profile version the decision was made on
	Store      string    // the store the profile belongs to after the write
	Create     bool      // no profile yet: create a minimal one (tools and tests only)
	At         time.Time // when ingest applied it (the marker's time)
}

// Assessment is what the night writes on one profile, only while it is still at
// State.Version: the new assignment, the tier it replaced, the history entry when the
// tier changed, and, in the same write, the prediction and the retention flag.
type Assessment struct {
	State        TierState
	Next         tiering.Assignment
	RunID        string
	From         model.Tier  // the tier before this run (prevTier)
	Change       *TierChange // nil: the tier did not change
	CLV          *clv.ProfileCLV
	RetentionDue *time.Time // the retention rule newly holds
}

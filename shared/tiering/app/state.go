package app

import (
	"crypto/sha256"
	"encoding/hex"
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
	// ReferredBy is the referrer's customer id ("" for a customer nobody referred);
	// Referral what the referee's spend has earned them so far.
	ReferredBy string
	Referral   *ReferralState
	// Applied are the AppliedRefs of the last transactions counted (at most
	// AppliedKept): a redelivery after a crash between counting and recording finds
	// its transaction counted already.
	Applied []string
	// Source and Campaign are the acquisition touch's UTM ("" when none): the sources report.
	Source, Campaign string
}

// AppliedKept bounds TierState.Applied. A transaction whose apply crashed after the
// profile counted it and before its item was recorded is recognised on redelivery as
// long as fewer than AppliedKept other transactions of the same customer were counted
// in between.
const AppliedKept = 4

// AppliedRef names a transaction's once-key in TierState.Applied: 10 hex digits of its
// SHA-256, short so the profile stays one write unit.
func AppliedRef(txn model.Txn) string {
	key := txn.Source + "\x00" + txn.ExternalID
	if txn.Once == model.OnceStore {
		key = txn.Store + "\x00" + key
	}
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:5])
}

// Has reports whether the profile counted the transaction ref names.
func (p TierState) Has(ref string) bool {
	for _, r := range p.Applied {
		if r == ref {
			return true
		}
	}
	return false
}

// withApplied is applied with ref appended, the oldest dropped beyond AppliedKept.
func withApplied(applied []string, ref string) []string {
	out := append(append([]string(nil), applied...), ref)
	if len(out) > AppliedKept {
		out = out[len(out)-AppliedKept:]
	}
	return out
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

// ReferralState is a referred customer's lifetime net spend and the reward it has earned
// their referrer (tiering.Referral.Reward), kept on the profile in the same write as the
// aggregates: counted exactly once with the spend.
type ReferralState struct {
	Spend  model.Money `dynamodbav:"spend" json:"spend"`
	Reward model.Money `dynamodbav:"reward" json:"reward"`
}

// ReferralEntry is one referee's line of a store's referral ledger, as of the profile
// version that wrote it (a later version always wins).
type ReferralEntry struct {
	Store, ReferrerID, RefereeID string
	Spend, Reward                model.Money
	RateBps                      int
	Version                      int64
}

// TxnWrite is one transaction applied to one profile as ingest decided it: the profile's
// new tier state (only while the profile is still at Version; a new minimal profile when
// Create) with Applied, the refs of the last transactions counted, this one's included.
// Store.ApplyTxn (tools) writes it with the marker and the item in one transaction.
type TxnWrite struct {
	Applied    []string
	Referral   *ReferralState // a referred customer's, with this transaction counted
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

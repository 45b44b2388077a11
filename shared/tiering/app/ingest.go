package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Errors of ingest that no retry mends: the message goes to the DLQ after its retries,
// never silently away, and is never applied.
var (
	// ErrIncomplete: the transaction lacks its customer, source, external id or time.
	ErrIncomplete = errors.New("tiering: the transaction lacks customer, source, external id or time")
	// ErrBeforeRecords: the transaction's time is before 2000 (EarliestTxn).
	ErrBeforeRecords = errors.New("tiering: the transaction's time is before 2000")
	// ErrNoProfile: the transaction names a customer without a profile. The API resolves
	// every customer before queueing (C2); an unknown id never creates one here.
	ErrNoProfile = errors.New("tiering: the transaction's customer has no profile")
	// ErrWrongStore: the customer belongs to another store than the transaction.
	ErrWrongStore = errors.New("tiering: the customer belongs to another store than the transaction")
	// ErrOnceConflict: the once-key was applied before with different content.
	ErrOnceConflict = errors.New("tiering: the transaction's key was applied before with different content")
)

// ErrTooManyConflicts: the profile kept changing under us; the message is retried later.
var ErrTooManyConflicts = errors.New("tiering: profile changed concurrently too many times")

// EarliestTxn: nothing a business records happened before it.
var EarliestTxn = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxApplyAttempts bounds the read-decide-write rounds one transaction gets against
// concurrent writers of the same profile.
const maxApplyAttempts = 8

// Ingest applies queued transactions, each exactly once, and plans the follow-up each
// raises.
type Ingest struct {
	Log      *slog.Logger
	Policies Policies
	Ledger   Ledger
	Planner  Planner          // nil: transactions are applied and nothing is planned
	Events   events.Publisher // instant tier moves (MoveEvents); nil: none are published
	Now      func() time.Time
	// CreateMissing gives a customer without a profile a minimal one in the same write.
	// Ingest never does (the API resolves every customer first, C2); tools and tests that
	// build a base directly do.
	CreateMissing bool
}

// Applied says what one Apply did.
type Applied struct {
	Duplicate      bool // the transaction had been applied before: nothing changed
	CreatedProfile bool // the customer had no profile; a minimal one was created
	Prev, Next     tiering.Assignment
	Attempts       int
	// PlanPurchase: the purchase was made in a win-back stage, so its purchase trigger
	// is planned (WinBackStage).
	PlanPurchase bool
	// Recovered: an earlier delivery counted the transaction and stopped before
	// recording it; this one recorded it.
	Recovered bool
}

// Policy reads the tier policy in force: once per batch of messages.
func (in *Ingest) Policy(ctx context.Context) (*tiering.Policy, error) {
	p, _, err := in.Policies.CurrentPolicy(ctx)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return p, nil
}

// Apply counts txn once under pol and plans what it raises. A redelivered transaction is
// a duplicate: nothing is written again, and its follow-up is planned again (planning is
// idempotent by ref, and a crash between the write and the plan must not lose it) — the
// purchase trigger only when the transaction item says it was planned (TxnRecord).
func (in *Ingest) Apply(ctx context.Context, pol *tiering.Policy, txn model.Txn) (Applied, error) {
	if txn.CustomerID == "" || txn.Source == "" || txn.ExternalID == "" || txn.At.IsZero() {
		return Applied{}, ErrIncomplete
	}
	res, err := in.apply(ctx, pol, txn)
	if err != nil {
		return res, err
	}
	upgraded := res.Next.Tier.Rank() > res.Prev.Tier.Rank()
	in.Log.InfoContext(ctx, "ingest: transaction", "source", txn.Source, "refund", txn.Refund,
		"duplicate", res.Duplicate, "createdProfile", res.CreatedProfile, "attempts", res.Attempts,
		"tier", string(res.Next.Tier), "upgraded", upgraded && !res.Duplicate)
	if !res.Duplicate && !res.Recovered {
		publish(ctx, in.Log, in.Events, MoveEvents(ingestMove(txn, res), txn.Store, res.Next.Reason))
	}
	if in.Planner == nil {
		return res, nil
	}
	for _, t := range ingestTriggers(txn, res) {
		if _, err := in.Planner.Handle(ctx, t); err != nil {
			return res, fmt.Errorf("plan %s: %w", t.Kind, err)
		}
	}
	return res, nil
}

// apply is the exactly-once path, without a transaction (issue #13: a transaction costs
// twice the write units of its items). In order:
//  1. the once-marker is read (eventually consistent). A marker of other content is a
//     conflict; of the same content, the transaction item tells a complete apply (a
//     duplicate: 1 read unit in all, nothing written) from one that crashed half-way,
//     which goes on where it stopped;
//  2. the profile is read (eventually consistent; strongly after a conflict), and the
//     transaction is decided by the domain (tiering.AtIngest);
//  3. the marker is claimed (attribute_not_exists): a key taken meanwhile is step 1's;
//  4. the profile counts the transaction, conditioned on the version read, and keeps its
//     AppliedRef — a redelivery after a crash here finds it counted;
//  5. the transaction item is put: the apply is complete.
//
// Every step after the claim is idempotent, so a redelivery repeats what was missing and
// nothing twice.
func (in *Ingest) apply(ctx context.Context, pol *tiering.Policy, txn model.Txn) (Applied, error) {
	var res Applied
	if txn.At.Before(EarliestTxn) {
		return res, fmt.Errorf("apply transaction %s at %s: %w", txn.Ref(), txn.At.Format(time.RFC3339), ErrBeforeRecords)
	}
	now := in.Now()
	claimed, err := in.claimed(ctx, txn, &res)
	if err != nil || res.Duplicate {
		return res, err
	}
	ref := AppliedRef(txn)
	for attempt := 1; attempt <= maxApplyAttempts; attempt++ {
		res.Attempts = attempt
		read := in.Ledger.PeekTierState
		if attempt > 1 {
			read = in.Ledger.ReadTierState
		}
		p, found, err := read(ctx, txn.CustomerID)
		if err != nil {
			return res, err
		}
		switch {
		case !found && !in.CreateMissing:
			return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), ErrNoProfile)
		case found && p.Store != "" && p.Store != txn.Store:
			return res, fmt.Errorf("apply transaction %s to a customer of another store: %w", txn.Ref(), ErrWrongStore)
		case found && p.Has(ref):
			// Counted by an apply that stopped before recording it: record it now. The
			// stage it was made in is not known any more: plan its purchase again.
			res.Prev, res.Next, res.Recovered, res.PlanPurchase = p.Assignment, p.Assignment, true, !txn.Refund
			if err := in.ledgerLine(ctx, pol, p, p.Referral, p.Version); err != nil {
				return res, err
			}
			return res, in.record(ctx, txn, res)
		}
		w := TxnWrite{Txn: txn, Version: p.Version, Store: p.Store, Create: !found, At: now,
			Aggregates: p.Aggregates, Occasions: p.OccasionsOrEstimate(), Applied: withApplied(p.Applied, ref)}
		if w.Store == "" {
			w.Store = txn.Store
		}
		w.Aggregates.Apply(txn)
		w.Occasions.Apply(txn.At, txn.Net(), txn.Refund)
		w.Assignment = tiering.AtIngest(pol, &w.Aggregates, p.Assignment, txn.At)
		if p.ReferredBy != "" {
			r := ReferralState{}
			if p.Referral != nil {
				r = *p.Referral
			}
			r.Spend += txn.Net()
			r.Reward, _ = pol.ReferralRule().Reward(r.Spend)
			w.Referral = &r
		}
		res.Prev, res.Next, res.CreatedProfile = p.Assignment, w.Assignment, !found
		res.PlanPurchase = !txn.Refund && WinBackStage(p.Assignment.Stage)

		if !claimed {
			prior, taken, err := in.Ledger.ClaimTxn(ctx, txn, now)
			if err != nil {
				return res, fmt.Errorf("apply transaction %s: claim: %w", txn.Ref(), err)
			}
			if taken {
				// A stale read missed the marker: judge it as step 1 would have.
				if err := in.judge(ctx, txn, prior, &res); err != nil || res.Duplicate {
					return res, err
				}
			}
			claimed = true
		}
		switch err := in.Ledger.CountTxn(ctx, w); {
		case errors.Is(err, ErrConflict):
			continue // the profile moved on (or was just created): read again
		case err != nil:
			return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), err)
		}
		p.Store = w.Store
		if err := in.ledgerLine(ctx, pol, p, w.Referral, w.Version+1); err != nil {
			return res, err
		}
		return res, in.record(ctx, txn, res)
	}
	return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), ErrTooManyConflicts)
}

// claimed reads txn's once-marker: claimed=false when there is none; res.Duplicate when
// the transaction was applied completely before.
func (in *Ingest) claimed(ctx context.Context, txn model.Txn, res *Applied) (bool, error) {
	prior, found, err := in.Ledger.TxnOnce(ctx, txn)
	if err != nil {
		return false, fmt.Errorf("apply transaction %s: read once-marker: %w", txn.Ref(), err)
	}
	if !found {
		return false, nil
	}
	return true, in.judge(ctx, txn, prior, res)
}

// judge decides on a once-marker that exists: a conflict when it was applied with other
// content; a duplicate when its transaction item is recorded (or the marker is a legacy
// one, written in one transaction with everything else); otherwise the apply that
// claimed it stopped half-way, and this one goes on.
func (in *Ingest) judge(ctx context.Context, txn model.Txn, prior model.TxnMarker, res *Applied) error {
	if !prior.Legacy && !prior.Same(txn) {
		return fmt.Errorf("apply transaction %s: differs in %v: %w", txn.Ref(), prior.Differences(txn), ErrOnceConflict)
	}
	if prior.Legacy {
		res.Duplicate = true
		return nil
	}
	rec, found, err := in.Ledger.TxnRecorded(ctx, txn)
	if err != nil {
		return fmt.Errorf("apply transaction %s: read transaction item: %w", txn.Ref(), err)
	}
	res.Duplicate, res.PlanPurchase = found, rec.PlanPurchase
	return nil
}

// ledgerLine writes a referred customer's line of the referral ledger from their
// referral state at version (the profile's, which counted the spend exactly once): after
// the count and before the record, so a redelivery that finds the transaction counted
// writes it again, and a later version's line is never replaced by an earlier one.
func (in *Ingest) ledgerLine(ctx context.Context, pol *tiering.Policy, p TierState, r *ReferralState, version int64) error {
	if p.ReferredBy == "" || r == nil {
		return nil
	}
	_, rate := pol.ReferralRule().Reward(r.Spend)
	e := ReferralEntry{Store: p.Store, ReferrerID: p.ReferredBy, RefereeID: p.ID, Spend: r.Spend, Reward: r.Reward,
		RateBps: rate, Version: version}
	if err := in.Ledger.PutReferral(ctx, e); err != nil {
		return fmt.Errorf("referral ledger of %s: %w", p.ID, err)
	}
	return nil
}

// record puts the transaction item, the last step of an apply.
func (in *Ingest) record(ctx context.Context, txn model.Txn, res Applied) error {
	if err := in.Ledger.RecordTxn(ctx, txn, TxnRecord{PlanPurchase: res.PlanPurchase}); err != nil {
		return fmt.Errorf("apply transaction %s: record: %w", txn.Ref(), err)
	}
	return nil
}

// WinBackStage reports whether win-back offers are planned for customers in stage
// (shared/followup/policy.json: dormant, sleeping and churned): only a purchase made in
// one of them has offers to cancel, so only such a purchase is planned — every other
// purchase costs follow-up planning nothing.
func WinBackStage(s model.Stage) bool {
	return s == model.StageDormant || s == model.StageSleeping || s == model.StageChurned
}

// ingestTriggers are the follow-up triggers one applied transaction raises: a purchase
// made in a win-back stage (which cancels the win-back offers), the repurchase reminder of each product with an
// effect duration, and — not for a duplicate — the tier move an instant rule made.
func ingestTriggers(txn model.Txn, res Applied) []followup.Trigger {
	ref := txn.Ref()
	var out []followup.Trigger
	if !txn.Refund {
		if res.PlanPurchase {
			out = append(out, followup.Trigger{Kind: followup.TriggerPurchase, CustomerID: txn.CustomerID, Ref: ref, At: txn.At})
		}
		for _, it := range txn.Items {
			if it.EffectDays > 0 {
				out = append(out, followup.Trigger{Kind: followup.TriggerEffectEnding, CustomerID: txn.CustomerID,
					Ref: ref + "#" + it.SKU, At: txn.At.AddDate(0, 0, it.EffectDays)})
			}
		}
	}
	if !res.Duplicate && !res.Recovered {
		out = append(out, MoveTriggers(ingestMove(txn, res))...)
	}
	return out
}

// ingestMove is the move an applied transaction made (an instant upgrade; a lead's first
// purchase, which MoveTriggers does not count as a move).
func ingestMove(txn model.Txn, res Applied) Move {
	return Move{CustomerID: txn.CustomerID, At: txn.At, TxnRef: txn.Ref(),
		FromTier: res.Prev.Tier, ToTier: res.Next.Tier, FromStage: res.Prev.Stage, ToStage: res.Next.Stage}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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
	Planner  Planner // nil: transactions are applied and nothing is planned
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
// idempotent by ref, and a crash between the write and the plan must not lose it).
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

// apply is the exactly-once loop: read the profile, check it is the transaction's
// store's (the same read the write is conditioned on), fold the transaction in, decide
// with the domain (tiering.AtIngest), and write the decision as data. The write refuses
// a once-key that exists — a duplicate, or a conflict when the marker says otherwise —
// and a profile that moved since the read, which is read and decided again.
func (in *Ingest) apply(ctx context.Context, pol *tiering.Policy, txn model.Txn) (Applied, error) {
	var res Applied
	if txn.At.Before(EarliestTxn) {
		return res, fmt.Errorf("apply transaction %s at %s: %w", txn.Ref(), txn.At.Format(time.RFC3339), ErrBeforeRecords)
	}
	now := in.Now()
	for attempt := 1; attempt <= maxApplyAttempts; attempt++ {
		res.Attempts = attempt
		p, found, err := in.Ledger.ReadTierState(ctx, txn.CustomerID)
		if err != nil {
			return res, err
		}
		switch {
		case !found && !in.CreateMissing:
			return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), ErrNoProfile)
		case found && p.Store != "" && p.Store != txn.Store:
			return res, fmt.Errorf("apply transaction %s to a customer of another store: %w", txn.Ref(), ErrWrongStore)
		}
		w := TxnWrite{Txn: txn, Version: p.Version, Store: p.Store, Create: !found, At: now,
			Aggregates: p.Aggregates, Occasions: p.OccasionsOrEstimate()}
		if w.Store == "" {
			w.Store = txn.Store
		}
		w.Aggregates.Apply(txn)
		w.Occasions.Apply(txn.At, txn.Net(), txn.Refund)
		w.Assignment = tiering.AtIngest(pol, &w.Aggregates, p.Assignment, txn.At)
		res.Prev, res.Next, res.CreatedProfile = p.Assignment, w.Assignment, !found

		prior, taken, err := in.Ledger.ApplyTxn(ctx, w)
		switch {
		case taken:
			if !prior.Legacy && !prior.Same(txn) {
				return res, fmt.Errorf("apply transaction %s: differs in %v: %w", txn.Ref(), prior.Differences(txn), ErrOnceConflict)
			}
			res.Duplicate, res.Next, res.CreatedProfile = true, p.Assignment, false
			return res, nil
		case errors.Is(err, ErrConflict):
			continue // the profile moved on (or was just created): read again
		case err != nil:
			return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), err)
		}
		return res, nil
	}
	return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), ErrTooManyConflicts)
}

// ingestTriggers are the follow-up triggers one applied transaction raises: a purchase
// (which cancels win-back offers), the repurchase reminder of each product with an
// effect duration, and — not for a duplicate — the tier move an instant rule made.
func ingestTriggers(txn model.Txn, res Applied) []followup.Trigger {
	ref := txn.Ref()
	var out []followup.Trigger
	if !txn.Refund {
		out = append(out, followup.Trigger{Kind: followup.TriggerPurchase, CustomerID: txn.CustomerID, Ref: ref, At: txn.At})
		for _, it := range txn.Items {
			if it.EffectDays > 0 {
				out = append(out, followup.Trigger{Kind: followup.TriggerEffectEnding, CustomerID: txn.CustomerID,
					Ref: ref + "#" + it.SKU, At: txn.At.AddDate(0, 0, it.EffectDays)})
			}
		}
	}
	if !res.Duplicate {
		out = append(out, MoveTriggers(Move{CustomerID: txn.CustomerID, At: txn.At, TxnRef: ref,
			FromTier: res.Prev.Tier, ToTier: res.Next.Tier, FromStage: res.Prev.Stage, ToStage: res.Next.Stage})...)
	}
	return out
}

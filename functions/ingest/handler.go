package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Planner is the follow-up planner (followup/app.Planner satisfies it): a purchase
// cancels win-back offers, an instant upgrade congratulates, a product with an effect
// duration gets its repurchase reminder. Nil in tests that only check ingest.
type Planner interface {
	Handle(ctx context.Context, t followup.Trigger) (fapp.PlanResult, error)
}

// Policies returns the tier policy in force.
type Policies interface {
	CurrentPolicy(ctx context.Context) (*tiering.Policy, bool, error)
}

// handler applies queued transactions, one TransactWriteItems each.
type handler struct {
	log      *slog.Logger
	table    *store.Table
	policies Policies
	planner  Planner
	now      func() time.Time
	zone     *time.Location
}

// Handle reports only the messages that failed, so SQS redelivers those alone.
func (h *handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	pol, _, err := h.policies.CurrentPolicy(ctx)
	if err != nil {
		// Without a policy nothing can be applied: every message goes back.
		h.log.ErrorContext(ctx, "ingest: read policy", "err", err)
		for _, m := range ev.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		return resp, nil
	}
	for _, m := range ev.Records {
		mctx := logx.WithRequestID(ctx, m.MessageId)
		if err := h.one(mctx, pol, m); err != nil {
			h.log.ErrorContext(mctx, "ingest: transaction failed", "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (h *handler) one(ctx context.Context, pol *tiering.Policy, m events.SQSMessage) error {
	var txn model.Txn
	if err := json.Unmarshal([]byte(m.Body), &txn); err != nil {
		// A body the API never produced cannot succeed on retry either; the redrive
		// policy moves it to the DLQ after maxReceiveCount, where it can be inspected.
		return fmt.Errorf("decode message: %w", err)
	}
	if txn.CustomerID == "" || txn.Source == "" || txn.ExternalID == "" || txn.At.IsZero() {
		return fmt.Errorf("message lacks customer, source, external id or time")
	}
	// ApplyTxn refuses, without writing, what no retry mends — a customer without a
	// profile, a customer of another store than the transaction's, a key applied before
	// with other content, a time before 2000 — so the message ends in the DLQ with that
	// error instead of being dropped or applied.
	now := h.now()
	res, err := h.table.ApplyTxn(ctx, txn, now, func(agg *tiering.Aggregates, prev tiering.Assignment) tiering.Assignment {
		return decide(pol, agg, prev, txn.At)
	})
	if err != nil {
		return err
	}
	upgraded := res.Next.Tier.Rank() > res.Prev.Tier.Rank()
	h.log.InfoContext(ctx, "ingest: transaction", "source", txn.Source, "refund", txn.Refund,
		"duplicate", res.Duplicate, "createdProfile", res.CreatedProfile, "attempts", res.Attempts,
		"tier", string(res.Next.Tier), "upgraded", upgraded && !res.Duplicate)
	return h.plan(ctx, txn, res)
}

// decide is the ingest rule: the night's assignment stays, an instant rule may lift the
// tier now, and a customer who had never bought is no longer a lead.
// Everything is judged as of the latest purchase seen, not the wall clock, so that a
// history imported years later is windowed as the shop lived it; the night re-judges
// everyone as of its own day.
func decide(pol *tiering.Policy, agg *tiering.Aggregates, prev tiering.Assignment, at time.Time) tiering.Assignment {
	asOf := at
	if agg.LastPurchase.After(asOf) {
		asOf = agg.LastPurchase
	}
	agg.Compact(pol, asOf)
	next, _ := tiering.InstantUpgrade(pol, agg, prev, asOf)
	if next.Stage == "" || next.Stage == model.StageLead {
		next.Stage = pol.StageFor(agg.Metrics(pol, asOf))
		if next.PolicyVersion == 0 {
			next.PolicyVersion = pol.Version
		}
		if next.Reason == "" {
			next.Reason = fmt.Sprintf("first transaction; tier at the next nightly run, policy v%d", pol.Version)
		}
	}
	return next
}

// triggers are the follow-up events one applied transaction raises. A duplicate raises
// them again: planning is idempotent by Ref, and a crash between the write and the plan
// must not lose them.
func triggers(txn model.Txn, res store.ApplyResult) []followup.Trigger {
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
	if !res.Duplicate && res.Prev.Tier != model.TierNone && res.Next.Tier.Rank() > res.Prev.Tier.Rank() {
		out = append(out, followup.Trigger{Kind: followup.TriggerTierChanged, CustomerID: txn.CustomerID,
			Ref: ref + "#tier", At: txn.At, FromTier: res.Prev.Tier, ToTier: res.Next.Tier})
	}
	return out
}

func (h *handler) plan(ctx context.Context, txn model.Txn, res store.ApplyResult) error {
	for _, t := range triggers(txn, res) {
		if h.planner == nil {
			continue
		}
		if _, err := h.planner.Handle(ctx, t); err != nil {
			return fmt.Errorf("plan %s: %w", t.Kind, err)
		}
	}
	return nil
}

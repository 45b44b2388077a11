// Package cost measures the request units of the tiering path's budgeted operations
// (issue #13) against a real table, for the tests that hold each budget and for the
// `make cost` harness. Each function builds what it needs under ids of its own, so it can
// run against a table other tests and measurements share, and returns the units the
// operation alone consumed (store.Table.Units, from ReturnConsumedCapacity).
package cost

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// What ingest is held to, in request units (issue #13): a new transaction 1 RRU (the
// once-marker and the profile, eventually consistent) + 3 WRU (the once-marker, the
// profile, the transaction item; the profile's store-index entry projects nothing a
// purchase changes, so it is not written), for a profile of at most 1 KB. A profile above
// 1 KB costs one unit more per KB (Night.PerSale measures the base's). A duplicate
// costs the marker's and the transaction item's reads, nothing written.
const (
	IngestNewMaxRRU       = 1.0
	IngestNewMaxWRU       = 3.0
	IngestDuplicateMaxRRU = 1.0
	IngestDuplicateMaxWRU = 0.0
)

// Ingest is one measured ingest: the units of a new transaction of a customer who has
// bought before (follow-up planning included, with the production planner) and of the
// same transaction delivered again.
type Ingest struct {
	New, Duplicate store.Units
}

// MeasureIngest creates a customer of store st (suffix makes the ids unique), applies a
// first purchase, then measures a second purchase and its redelivery.
func MeasureIngest(ctx context.Context, table *store.Table, st, suffix string) (Ingest, error) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	planner, err := boot.Planner(table, clock)
	if err != nil {
		return Ingest{}, err
	}
	in := &app.Ingest{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policies: table, Ledger: table,
		Planner: planner, Now: clock}
	pol, err := in.Policy(ctx)
	if err != nil {
		return Ingest{}, err
	}
	id, err := table.CreateByRef(ctx, access.Ref{Store: st, Number: "COST-" + suffix}, now)
	if err != nil {
		return Ingest{}, fmt.Errorf("create customer: %w", err)
	}
	buy := func(ext string, at time.Time) model.Txn {
		return model.Txn{Source: "pos", ExternalID: ext + "-" + suffix, CustomerID: id, Store: st, At: at,
			Amount: 128_000, Currency: "CNY", Once: model.OnceStore,
			Items: []model.TxnItem{{SKU: "SERUM-30", Name: "serum", Qty: 1, UnitPrice: 128_000}}}
	}
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	if _, err := in.Apply(ctx, pol, buy("COST-1", at)); err != nil {
		return Ingest{}, fmt.Errorf("first purchase: %w", err)
	}
	second := buy("COST-2", at.AddDate(0, 0, 9))
	var out Ingest
	before := table.Units.Snapshot()
	if res, err := in.Apply(ctx, pol, second); err != nil || res.Duplicate {
		return out, fmt.Errorf("new transaction: %+v: %w", res, err)
	}
	mid := table.Units.Snapshot()
	if res, err := in.Apply(ctx, pol, second); err != nil || !res.Duplicate {
		return out, fmt.Errorf("duplicate: %+v: %w", res, err)
	}
	out.New, out.Duplicate = mid.Sub(before), table.Units.Snapshot().Sub(mid)
	return out, nil
}

// Referred is what MeasureReferredIngest measured: the units of a referred customer's
// purchase (the ledger line included) and the store's ledger afterwards.
type Referred struct {
	Purchase   store.Units
	ReferrerID string
	RefereeID  string
	Ledger     []store.ReferralRow
}

// MeasureReferredIngest creates a referrer and a customer they referred (through their
// referral code, as the lead form does) in store st, applies two purchases of ¥8,000 and
// ¥6,000 and the refund of the second, each delivered twice, and measures the second
// purchase's first delivery.
func MeasureReferredIngest(ctx context.Context, table *store.Table, st, suffix string) (Referred, error) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	planner, err := boot.Planner(table, clock)
	if err != nil {
		return Referred{}, err
	}
	in := &app.Ingest{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policies: table, Ledger: table,
		Planner: planner, Now: clock}
	pol, err := in.Policy(ctx)
	if err != nil {
		return Referred{}, err
	}
	referrer, _, err := table.ResolveOrCreate(ctx, customer.Lead{Email: "referrer-" + suffix + "@example.com", Store: st},
		customer.Grading{}, now)
	if err != nil {
		return Referred{}, fmt.Errorf("create referrer: %w", err)
	}
	referee, _, err := table.ResolveOrCreate(ctx, customer.Lead{Email: "referee-" + suffix + "@example.com", Store: st,
		ReferralCode: referrer.ReferralCode}, customer.Grading{}, now)
	if err != nil {
		return Referred{}, fmt.Errorf("create referee: %w", err)
	}
	out := Referred{ReferrerID: referrer.ID, RefereeID: referee.ID}
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	txn := func(ext string, amount model.Money, refund bool) model.Txn {
		return model.Txn{Source: "pos", ExternalID: ext + "-" + suffix, CustomerID: referee.ID, Store: st, At: at,
			Amount: amount, Currency: "CNY", Refund: refund, Once: model.OnceStore}
	}
	for i, x := range []model.Txn{txn("REF-1", 800_000, false), txn("REF-2", 600_000, false), txn("REF-3", 600_000, true)} {
		x.At = x.At.AddDate(0, 0, 7*i)
		for delivery := 0; delivery < 2; delivery++ {
			before := table.Units.Snapshot()
			if _, err := in.Apply(ctx, pol, x); err != nil {
				return out, fmt.Errorf("apply %s: %w", x.Ref(), err)
			}
			if i == 1 && delivery == 0 {
				out.Purchase = table.Units.Snapshot().Sub(before)
			}
		}
	}
	out.Ledger, err = table.Referrals(ctx, st)
	return out, err
}

// MeasureTierMove measures the night's write for one customer whose tier moved: the
// profile's update (assignment, tier, stage, the store index's sort key) and the tier
// history item, without the follow-up the move plans and without the scan's share
// (Night.PerUnchanged).
func MeasureTierMove(ctx context.Context, table *store.Table, st, suffix string) (store.Units, error) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	in := &app.Ingest{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policies: table, Ledger: table,
		Now: func() time.Time { return now }}
	pol, err := in.Policy(ctx)
	if err != nil {
		return store.Units{}, err
	}
	id, err := table.CreateByRef(ctx, access.Ref{Store: st, Number: "MOVE-" + suffix}, now)
	if err != nil {
		return store.Units{}, fmt.Errorf("create customer: %w", err)
	}
	buy := model.Txn{Source: "pos", ExternalID: "MOVE-" + suffix, CustomerID: id, Store: st,
		At: time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC), Amount: 128_000, Currency: "CNY", Once: model.OnceStore}
	if _, err := in.Apply(ctx, pol, buy); err != nil {
		return store.Units{}, err
	}
	return moveOnce(ctx, table, pol, id, "move-"+suffix, time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC))
}

// moveOnce writes, as a night would, customer id's move to tier A (active) and returns
// what that write cost: the profile's update and the history item.
func moveOnce(ctx context.Context, table *store.Table, pol *tiering.Policy, id, runID string, asOf time.Time) (store.Units, error) {
	p, _, err := table.ReadTierState(ctx, id)
	if err != nil {
		return store.Units{}, err
	}
	next := p.Assignment // the move measured: to A, as a night would write it
	next.Tier, next.Computed, next.Stage, next.AssessedOn = model.TierA, model.TierA, model.StageActive, asOf.Format(time.DateOnly)
	next.Reason = fmt.Sprintf("A (%s): R=5 F=5 M=5 T=+, policy v%d", pol.Name(model.TierA), pol.Version)
	a := app.Assessment{State: p, Next: next, RunID: runID, From: p.Assignment.Tier,
		Change: &app.TierChange{At: asOf, From: p.Assignment.Tier, To: next.Tier, Stage: next.Stage,
			Reason: next.Reason, PolicyVersion: next.PolicyVersion, RunID: runID}}
	before := table.Units.Snapshot()
	if err := table.SaveAssessment(ctx, a); err != nil {
		return store.Units{}, err
	}
	return table.Units.Snapshot().Sub(before), nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// Read methods behind the reports of issue #12 that are not a run's summary (runs.go,
// runstores.go): old policy versions for the policy editor.

// PolicyAt reads one stored version of the tier policy; found=false when that version
// was never stored (the embedded default, version 1, is not an item).
func (t *Table) PolicyAt(ctx context.Context, version int) (PolicyVersion, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: PolicyVersionKey(PolicyKindTiering, version).av(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return PolicyVersion{}, false, fmt.Errorf("read policy v%d: %w", version, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return PolicyVersion{}, false, nil
	}
	v, err := decodePolicyVersion(out.Item, true)
	if err != nil {
		return PolicyVersion{}, false, fmt.Errorf("read policy v%d: %w", version, err)
	}
	return v, true, nil
}

// PolicyVersions lists the stored versions without their documents, newest first.
func (t *Table) PolicyVersions(ctx context.Context) ([]PolicyVersion, error) {
	var out []PolicyVersion
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                aws.String(t.Name),
		KeyConditionExpression:   aws.String("PK = :pk AND begins_with(SK, :v)"),
		ProjectionExpression:     aws.String("version, #at, #by"),
		ExpressionAttributeNames: map[string]string{"#at": "at", "#by": "by"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: PolicyCurrentKey(PolicyKindTiering).PK},
			":v":  &types.AttributeValueMemberS{Value: versionPrefix},
		},
		ScanIndexForward:       aws.Bool(false),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("policy versions: %w", err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		for _, it := range page.Items {
			v, err := decodePolicyVersion(it, false)
			if err != nil {
				return nil, fmt.Errorf("policy versions: %w", err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func decodePolicyVersion(it map[string]types.AttributeValue, withDoc bool) (PolicyVersion, error) {
	var v PolicyVersion
	if n, ok := it["version"].(*types.AttributeValueMemberN); ok {
		v.Version, _ = strconv.Atoi(n.Value)
	}
	if withDoc {
		s, ok := it["doc"].(*types.AttributeValueMemberS)
		if !ok {
			return v, fmt.Errorf("version %d has no document", v.Version)
		}
		pol, err := tiering.ParsePolicy([]byte(s.Value))
		if err != nil {
			return v, fmt.Errorf("version %d: %w", v.Version, err)
		}
		v.Policy, v.Version = pol, pol.Version
	}
	if s, ok := it["at"].(*types.AttributeValueMemberS); ok {
		at, err := time.Parse(time.RFC3339Nano, s.Value)
		if err != nil {
			return v, fmt.Errorf("version %d: time: %w", v.Version, err)
		}
		v.At = at
	}
	if s, ok := it["by"].(*types.AttributeValueMemberS); ok {
		v.By = s.Value
	}
	return v, nil
}

// PreviewLimits bound what a policy preview reads.
type PreviewLimits struct {
	ExactUpTo   int // read every profile when the base has at most this many
	Sample      int // otherwise read whole random scan segments until this many
	PerSegment  int // profiles per scan segment when sampling (the segment count is base/PerSegment)
	Parallel    int // segments read at once
	RandomOrder func(n int) []int
}

// PreviewRead is what a preview read: the profiles (every one, or the sample), whether
// that is the whole base, and the size of the base and of the caller's scope as the
// latest run counted them (what a sample is scaled to).
type PreviewRead struct {
	States         []app.TierState
	Exact          bool
	BaseCustomers  int // profiles in the business at the latest run (0: no run yet)
	ScopeCustomers int // of them in the caller's scope
	Segments, Read int // scan segments the base was divided in, and read
}

// PreviewBase reads profiles for a policy preview (read only; access pattern 11's scan,
// bounded): the whole base when the latest run counted at most ExactUpTo customers (or
// there is no run yet), else whole scan segments in a random order until Sample
// profiles — each segment is a hash-random part of the table, so the profiles read are a
// random sample of the base. Every profile is read, whatever the scope: the cut points of
// a quantile policy are over the whole base, as at night.
func (s *Staff) PreviewBase(ctx context.Context, sc access.Scope, lim PreviewLimits) (PreviewRead, error) {
	out := PreviewRead{Exact: true, Segments: max(1, lim.Parallel)}
	latest, err := s.t.LatestRunID(ctx)
	if err != nil {
		return out, err
	}
	var run app.Run
	if latest != "" {
		if run, _, err = s.t.GetRun(ctx, latest); err != nil {
			return out, err
		}
	}
	if run.Summary != nil {
		out.BaseCustomers = run.Summary.Customers
	}
	order := make([]int, 0)
	if out.BaseCustomers > lim.ExactUpTo {
		out.Exact = false
		out.Segments = max(2, out.BaseCustomers/max(1, lim.PerSegment))
		order = lim.RandomOrder(out.Segments)
		if sc.All() {
			out.ScopeCustomers = run.Summary.Customers
		} else if run.PerStore {
			sums, err := s.t.StoreSummaries(ctx, latest, sc.Stores())
			if err != nil {
				return out, err
			}
			for _, sum := range sums {
				out.ScopeCustomers += sum.Customers
			}
		}
	} else {
		for i := 0; i < out.Segments; i++ {
			order = append(order, i)
		}
	}
	var mu sync.Mutex
	for start := 0; start < len(order); start += max(1, lim.Parallel) {
		if !out.Exact && len(out.States) >= lim.Sample {
			break
		}
		batch := order[start:min(start+max(1, lim.Parallel), len(order))]
		errs := make(chan error, len(batch))
		var wg sync.WaitGroup
		for _, seg := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got []app.TierState
				err := s.t.ScanTierStates(ctx, seg, out.Segments, func(st app.TierState) error {
					got = append(got, st)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				out.States = append(out.States, got...)
				out.Read++
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return out, fmt.Errorf("preview: %w", err)
		}
	}
	if out.Read == out.Segments {
		out.Exact = true
	}
	if out.Exact {
		out.ScopeCustomers = 0
		for _, st := range out.States {
			if sc.Has(st.Store) {
				out.ScopeCustomers++
			}
		}
	}
	return out, nil
}

// ErrNoReferralLedger: the table keeps no referral reward ledger (a deployment from
// before the write path kept one).
var ErrNoReferralLedger = errors.New("store: no referral reward ledger")

// referralLedger is the ledger read the write path adds to the table (Table.Referrals,
// referrals.go): one store's rows, or every store's with "".
type referralLedger interface {
	Referrals(ctx context.Context, store string) ([]ReferralRow, error)
}

// Referrals reads the referral reward ledger for the scope the access layer resolved:
// every store's for all-stores staff, each of their stores' otherwise; a row of a store
// outside the scope is dropped, whatever the ledger answered.
func (s *Staff) Referrals(ctx context.Context, sc access.Scope) ([]ReferralRow, error) {
	l, ok := any(s.t).(referralLedger)
	if !ok {
		return nil, ErrNoReferralLedger
	}
	return referralsIn(ctx, l, sc)
}

func referralsIn(ctx context.Context, l referralLedger, sc access.Scope) ([]ReferralRow, error) {
	var rows []ReferralRow
	asks := []string{""}
	if !sc.All() {
		asks = sc.Stores()
	}
	for _, st := range asks {
		got, err := l.Referrals(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("referral ledger: %w", err)
		}
		for _, r := range got {
			if sc.Has(r.Store) {
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

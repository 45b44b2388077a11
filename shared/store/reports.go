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
	ExactUpTo   int               // read every profile when the base has at most this many
	Sample      int               // otherwise read whole random scan segments until this many
	PerSegment  int               // profiles per scan segment (the segment count is base/PerSegment)
	Parallel    int               // segments read at once
	Budget      time.Duration     // stop starting segments after this long (0: no limit)
	RandomOrder func(n int) []int // the order segments are read in (nil: in order)
	Now         func() time.Time  // nil: time.Now
}

// PreviewRead is what a preview read: the profiles (every one, or the sample), whether
// that is the whole base, and the size of the base and of the caller's scope as the
// latest run counted them (what a sample is scaled to).
type PreviewRead struct {
	States         []app.TierState
	Exact          bool
	BaseCustomers  int // profiles in the business at the latest run (0: no run yet)
	ScopeCustomers int // of them in the caller's scope (every one read when Exact)
	Segments, Read int // scan segments the base was divided in, and read
}

// PreviewBase reads profiles for a policy preview, read only (access pattern 11's scan,
// bounded). The table is divided into base/PerSegment parallel-scan segments (at least
// Parallel), each a hash range of the partition key, read whole in a random order: all
// of them when the latest run counted at most ExactUpTo customers (or there is no run),
// else until Sample profiles are read — a random sample of the base. With a finished
// run to scale to, no segment is started after Budget: what was read is then the sample.
// Every profile is read whatever the scope: a quantile policy's cut points are over the
// whole base, as at night.
func (s *Staff) PreviewBase(ctx context.Context, sc access.Scope, lim PreviewLimits) (PreviewRead, error) {
	now := lim.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	par := max(1, lim.Parallel)
	var out PreviewRead
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
	scalable := false // the latest run counted the base and the caller's scope
	if run.Summary != nil {
		out.BaseCustomers = run.Summary.Customers
		if sc.All() {
			out.ScopeCustomers, scalable = run.Summary.Customers, true
		} else if run.PerStore {
			sums, err := s.t.StoreSummaries(ctx, latest, sc.Stores())
			if err != nil {
				return out, err
			}
			for _, sum := range sums {
				out.ScopeCustomers += sum.Customers
			}
			scalable = true
		}
	}
	sampling := scalable && out.BaseCustomers > lim.ExactUpTo
	out.Segments = max(par, out.BaseCustomers/max(1, lim.PerSegment))
	order := make([]int, out.Segments)
	for i := range order {
		order[i] = i
	}
	if lim.RandomOrder != nil {
		order = lim.RandomOrder(out.Segments)
	}
	// With a run to scale to and the real clock, a segment still being read when the
	// budget runs out stops there too (what it read so far joins the sample): a large
	// segment cannot carry the preview past the function's timeout.
	scanCtx := ctx
	if scalable && lim.Budget > 0 && lim.Now == nil {
		var cancel context.CancelFunc
		scanCtx, cancel = context.WithDeadline(ctx, start.Add(lim.Budget))
		defer cancel()
	}
	cut := false
	var mu sync.Mutex
	for next := 0; next < len(order); next += par {
		if cut {
			break
		}
		if next > 0 && scalable && ((sampling && len(out.States) >= lim.Sample) || (lim.Budget > 0 && now().Sub(start) > lim.Budget)) {
			break
		}
		batch := order[next:min(next+par, len(order))]
		errs := make(chan error, len(batch))
		var wg sync.WaitGroup
		for _, seg := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got []app.TierState
				err := s.t.ScanTierStates(scanCtx, seg, out.Segments, func(st app.TierState) error {
					got = append(got, st)
					return nil
				})
				stopped := err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
				if err != nil && !stopped {
					errs <- err
					return
				}
				mu.Lock()
				out.States = append(out.States, got...)
				if stopped {
					cut = true
				} else {
					out.Read++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return out, fmt.Errorf("preview: %w", err)
		}
	}
	out.Exact = out.Read == out.Segments
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

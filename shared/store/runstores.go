package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// spendChunk bounds the spends one SSUM item carries (≈ 3 bytes each, well inside 400 KB).
const spendChunk = 40000

// partTTL keeps a segment's per-store share for a week: the run finishes in minutes.
const partTTL = 7 * 24 * time.Hour

// storePart is one segment's share of one store: its counts (chunk 0) and the net spend
// of each of its customers with a purchase, sorted and delta-encoded.
type storePart struct {
	Store   string          `dynamodbav:"store"`
	Seg     int             `dynamodbav:"seg"`
	Chunk   int             `dynamodbav:"chunk"`
	Chunks  int             `dynamodbav:"chunks,omitempty"` // chunk 0: how many chunks this attempt wrote
	Summary *app.RunSummary `dynamodbav:"summary,omitempty"`
	Spends  []byte          `dynamodbav:"spends,omitempty"`
}

// PutStoreParts records a pass-2 segment's per-store counts and spends before the segment
// is counted, so the finisher finds every store's share. A redelivered segment writes the
// same keys again; chunk 0 says how many chunks belong to the attempt that wrote it last.
func (t *Table) PutStoreParts(ctx context.Context, runID string, seg int, sums map[string]*app.RunSummary, spends map[string][]model.Money, now time.Time) error {
	var reqs []types.WriteRequest
	expires := strconv.FormatInt(now.Add(partTTL).Unix(), 10)
	for st, sum := range sums {
		vals := spends[st]
		chunks := max(1, (len(vals)+spendChunk-1)/spendChunk)
		slices.Sort(vals)
		for c := 0; c < chunks; c++ {
			part := storePart{Store: st, Seg: seg, Chunk: c, Spends: encodeSpends(vals[min(c*spendChunk, len(vals)):min((c+1)*spendChunk, len(vals))])}
			if c == 0 {
				part.Chunks, part.Summary = chunks, sum
			}
			item, err := attributevalue.MarshalMap(part)
			if err != nil {
				return fmt.Errorf("marshal store share of run %s: %w", runID, err)
			}
			RunStorePartKey(runID, st, seg, c).put(item)
			item[attrTTL] = &types.AttributeValueMemberN{Value: expires}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
	}
	return t.batchWrite(ctx, reqs)
}

// StoreParts merges every segment's share per store: the summed counts and every
// customer's spend, for the exact top fifth.
func (t *Table) StoreParts(ctx context.Context, runID string) (map[string]*app.RunSummary, map[string][]model.Money, error) {
	items, err := t.queryPrefix(ctx, RunKey(runID).PK, runStorePartPrefix)
	if err != nil {
		return nil, nil, fmt.Errorf("store shares of run %s: %w", runID, err)
	}
	parts := make([]storePart, 0, len(items))
	chunks := map[string]int{} // store#seg → chunks of the attempt that wrote chunk 0
	for _, it := range items {
		var p storePart
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return nil, nil, fmt.Errorf("decode store share of run %s: %w", runID, err)
		}
		if p.Chunk == 0 {
			chunks[p.Store+"#"+strconv.Itoa(p.Seg)] = p.Chunks
		}
		parts = append(parts, p)
	}
	sums, spends := map[string]*app.RunSummary{}, map[string][]model.Money{}
	for _, p := range parts {
		if p.Chunk >= chunks[p.Store+"#"+strconv.Itoa(p.Seg)] {
			continue // left by an earlier attempt of the segment that wrote more chunks
		}
		if p.Summary != nil {
			if sums[p.Store] == nil {
				sums[p.Store] = app.NewRunSummary()
			}
			sums[p.Store].Add(p.Summary)
		}
		vals, err := decodeSpends(p.Spends)
		if err != nil {
			return nil, nil, fmt.Errorf("store share %s of run %s: %w", p.Store, runID, err)
		}
		spends[p.Store] = append(spends[p.Store], vals...)
	}
	return sums, spends, nil
}

// PutStoreSummaries stores each store's finished summary (not app.NoStore's, which nobody
// but all-stores staff sees, in the business total).
func (t *Table) PutStoreSummaries(ctx context.Context, runID string, sums map[string]*app.RunSummary) error {
	var reqs []types.WriteRequest
	for st, sum := range sums {
		if st == app.NoStore {
			continue
		}
		item, err := attributevalue.MarshalMap(sum)
		if err != nil {
			return fmt.Errorf("marshal store summary of run %s: %w", runID, err)
		}
		RunStoreKey(runID, st).put(item)
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return t.batchWrite(ctx, reqs)
}

// StoreSummaries reads the finished summaries of stores (absent: no customer there).
func (t *Table) StoreSummaries(ctx context.Context, runID string, stores []string) (map[string]*app.RunSummary, error) {
	out := map[string]*app.RunSummary{}
	var keys []map[string]types.AttributeValue
	for _, st := range stores {
		keys = append(keys, RunStoreKey(runID, st).av())
	}
	for len(keys) > 0 {
		n := min(len(keys), 100)
		req := map[string]types.KeysAndAttributes{t.Name: {Keys: keys[:n], ConsistentRead: aws.Bool(true)}}
		keys = keys[n:]
		for attempt := 0; len(req[t.Name].Keys) > 0; attempt++ {
			res, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				return nil, fmt.Errorf("read store summaries of run %s: %w", runID, err)
			}
			t.Units.add(false, res.ConsumedCapacity...)
			for _, it := range res.Responses[t.Name] {
				sk, _ := it[attrSK].(*types.AttributeValueMemberS)
				if sk == nil {
					continue
				}
				s := app.NewRunSummary()
				if err := attributevalue.UnmarshalMap(it, s); err != nil {
					return nil, fmt.Errorf("decode store summary of run %s: %w", runID, err)
				}
				out[runStoreOf(sk.Value)] = s
			}
			req = res.UnprocessedKeys
			if len(req[t.Name].Keys) > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// encodeSpends writes sorted amounts as zig-zag varint deltas: a few bytes a customer.
func encodeSpends(sorted []model.Money) []byte {
	if len(sorted) == 0 {
		return nil
	}
	out := make([]byte, 0, 3*len(sorted))
	prev := int64(0)
	for _, v := range sorted {
		out = binary.AppendVarint(out, int64(v)-prev)
		prev = int64(v)
	}
	return out
}

func decodeSpends(b []byte) ([]model.Money, error) {
	var out []model.Money
	prev := int64(0)
	for len(b) > 0 {
		d, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("corrupt spend list")
		}
		prev += d
		out = append(out, model.Money(prev))
		b = b[n:]
	}
	return out, nil
}

// Run answers a run for the scope the access layer resolved (C3): all-stores staff get
// the run as it is, business totals included; anyone else gets the run's progress and the
// summary of their stores only (app.CombineStores), and the customer-base model outcome of
// their stores only. A run that kept no per-store summaries (from before they were kept)
// is not found for them.
func (s *Staff) Run(ctx context.Context, r access.Run) (app.Run, bool, error) {
	id := r.ID()
	var previous string
	if id == "" {
		latest, prev, err := s.t.LatestRuns(ctx)
		if err != nil || latest == "" {
			return app.Run{}, false, err
		}
		id, previous = latest, prev
	}
	run, found, err := s.t.GetRun(ctx, id)
	if err != nil || !found {
		return app.Run{}, false, err
	}
	if run.Status != app.RunDone && previous != "" {
		// The latest run is being marked done this instant: the one before is the latest
		// finished.
		if run, found, err = s.t.GetRun(ctx, previous); err != nil || !found {
			return app.Run{}, false, err
		}
		id = previous
	}
	sc := r.Scope()
	if sc.All() {
		return run, true, nil
	}
	stores := sc.Stores()
	run.Summary = nil
	if run.CLV != nil {
		c := &app.RunCLV{}
		for _, st := range stores {
			if f, ok := run.CLV.Stores[st]; ok {
				if c.Stores == nil {
					c.Stores = map[string]app.ScopeFit{}
				}
				c.Stores[st] = f
			}
		}
		run.CLV = c
	}
	if run.Status != app.RunDone {
		return run, true, nil
	}
	if !run.PerStore {
		return app.Run{}, false, nil
	}
	parts, err := s.t.StoreSummaries(ctx, id, stores)
	if err != nil {
		return app.Run{}, false, err
	}
	run.Summary = app.CombineStores(parts, stores)
	return run, true, nil
}

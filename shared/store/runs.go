package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// The re-tier run's items (tiering/app.Runs and Profiles): the header RUN#id / RUN, one
// item per scan segment RUN#id / SEG#n holding each pass's result, the per-store shares
// and summaries (runstores.go), the model samples (clvmodels.go), and on each profile the
// assessment and its tier history CUST#id / TIER#<time>.

// CreateRun puts the run header once (attribute_not_exists); app.ErrRunExists otherwise.
func (t *Table) CreateRun(ctx context.Context, r app.Run) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("marshal run: %w", err)
	}
	RunKey(r.ID).put(item)
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:    aws.String("attribute_not_exists(PK)"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return app.ErrRunExists
		}
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// GetRun reads a run header (strongly consistent: counters decide who finishes).
func (t *Table) GetRun(ctx context.Context, id string) (app.Run, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: RunKey(id).av(), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return app.Run{}, false, fmt.Errorf("read run %s: %w", id, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return app.Run{}, false, nil
	}
	var r app.Run
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return app.Run{}, false, fmt.Errorf("read run %s: %w", id, err)
	}
	return r, true, nil
}

// FinishPass1 records a pass-1 segment's result (attribute pass1 of RUN#id / SEG#n) and
// counts the segment on the run (finishSegment).
func (t *Table) FinishPass1(ctx context.Context, runID string, seg int, r app.Pass1Result, now time.Time) (bool, error) {
	av, err := attributevalue.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("marshal pass 1 of segment %d: %w", seg, err)
	}
	return t.finishSegment(ctx, runID, seg, 1, av, now)
}

// FinishPass2 records a pass-2 segment's counts (attribute pass2) and counts the segment.
func (t *Table) FinishPass2(ctx context.Context, runID string, seg int, sum *app.RunSummary, now time.Time) (bool, error) {
	av, err := attributevalue.Marshal(sum)
	if err != nil {
		return false, fmt.Errorf("marshal pass 2 of segment %d: %w", seg, err)
	}
	return t.finishSegment(ctx, runID, seg, 2, av, now)
}

// finishSegment records a segment's result for a pass and counts the segment on the run,
// in one transaction: the result is written only if that pass had no result yet, so a
// redelivered segment is never counted twice. counted=false means it was already.
func (t *Table) finishSegment(ctx context.Context, runID string, seg, pass int, result types.AttributeValue, now time.Time) (counted bool, err error) {
	attr := "pass" + strconv.Itoa(pass)
	_, err = t.transactWrite(ctx, []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(t.Name), Key: RunSegmentKey(runID, seg).av(),
			UpdateExpression:         aws.String("SET #r = :r, #at = :at"),
			ConditionExpression:      aws.String("attribute_not_exists(#r)"),
			ExpressionAttributeNames: map[string]string{"#r": attr, "#at": attr + "At"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":r": result,
				":at": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}}}},
		{Update: &types.Update{TableName: aws.String(t.Name), Key: RunKey(runID).av(),
			UpdateExpression:          aws.String("ADD #d :one"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames:  map[string]string{"#d": attr + "Done"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
	})
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			return false, nil
		}
		return false, fmt.Errorf("finish segment %d of run %s: %w", seg, runID, err)
	}
	return true, nil
}

// Pass1Results returns every segment's pass-1 result, by segment number.
func (t *Table) Pass1Results(ctx context.Context, runID string) (map[int]app.Pass1Result, error) {
	raw, err := t.segmentResults(ctx, runID, 1)
	if err != nil {
		return nil, err
	}
	out := make(map[int]app.Pass1Result, len(raw))
	for seg, av := range raw {
		var r app.Pass1Result
		if err := attributevalue.Unmarshal(av, &r); err != nil {
			return nil, fmt.Errorf("run %s: pass 1 of segment %d: %w", runID, seg, err)
		}
		out[seg] = r
	}
	return out, nil
}

// Pass2Results returns every segment's pass-2 counts, by segment number.
func (t *Table) Pass2Results(ctx context.Context, runID string) (map[int]*app.RunSummary, error) {
	raw, err := t.segmentResults(ctx, runID, 2)
	if err != nil {
		return nil, err
	}
	out := make(map[int]*app.RunSummary, len(raw))
	for seg, av := range raw {
		s := app.NewRunSummary()
		if err := attributevalue.Unmarshal(av, s); err != nil {
			return nil, fmt.Errorf("run %s: pass 2 of segment %d: %w", runID, seg, err)
		}
		out[seg] = s
	}
	return out, nil
}

// segmentResults reads every segment item's result attribute for a pass.
func (t *Table) segmentResults(ctx context.Context, runID string, pass int) (map[int]types.AttributeValue, error) {
	attr := "pass" + strconv.Itoa(pass)
	items, err := t.queryPrefix(ctx, RunKey(runID).PK, runSegmentPrefix)
	if err != nil {
		return nil, fmt.Errorf("segments of run %s: %w", runID, err)
	}
	out := map[int]types.AttributeValue{}
	for _, it := range items {
		sk, _ := it[attrSK].(*types.AttributeValueMemberS)
		m, ok := it[attr].(*types.AttributeValueMemberM)
		if sk == nil || !ok {
			continue
		}
		if n, ok := runSegmentOf(sk.Value); ok {
			out[n] = m
		}
	}
	return out, nil
}

func (t *Table) queryPrefix(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":p": &types.AttributeValueMemberS{Value: prefix}},
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		items = append(items, page.Items...)
	}
	return items, nil
}

// set is one attribute an update sets, in order.
type set struct {
	name string
	v    types.AttributeValue
}

// setExpr renders sets as "SET #a0 = :a0, …" with their names and values.
func setExpr(sets []set, names map[string]string, vals map[string]types.AttributeValue) string {
	expr := ""
	for i, s := range sets {
		if i > 0 {
			expr += ", "
		}
		expr += fmt.Sprintf("#a%d = :a%d", i, i)
		names[fmt.Sprintf("#a%d", i)] = s.name
		vals[fmt.Sprintf(":a%d", i)] = s.v
	}
	return expr
}

func timeAV(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}
}

// AdvanceRun moves a run from one status to the next, recording the step's attributes
// (pass1At; or summary, perStore and finishedAt); app.ErrConflict when the run is no
// longer in from (someone else advanced it).
func (t *Table) AdvanceRun(ctx context.Context, id, from, to string, step app.RunStep) error {
	sets := []set{{"status", &types.AttributeValueMemberS{Value: to}}}
	if step.Pass1At != nil {
		sets = append(sets, set{"pass1At", timeAV(*step.Pass1At)})
	}
	if step.Summary != nil {
		sav, err := attributevalue.Marshal(step.Summary)
		if err != nil {
			return fmt.Errorf("run %s summary: %w", id, err)
		}
		sets = append(sets, set{"summary", sav})
	}
	if step.PerStore {
		sets = append(sets, set{"perStore", &types.AttributeValueMemberBOOL{Value: true}})
	}
	if step.FinishedAt != nil {
		sets = append(sets, set{"finishedAt", timeAV(*step.FinishedAt)})
	}
	if step.PreviousRunID != "" {
		sets = append(sets, set{"previousRunId", &types.AttributeValueMemberS{Value: step.PreviousRunID}})
	}
	names := map[string]string{"#s": "status"}
	vals := map[string]types.AttributeValue{":from": &types.AttributeValueMemberS{Value: from}}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: RunKey(id).av(),
		UpdateExpression: aws.String("SET " + setExpr(sets, names, vals)), ConditionExpression: aws.String("#s = :from"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return app.ErrConflict
		}
		return fmt.Errorf("advance run %s to %s: %w", id, to, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// SetRunBase records the merged quantile summary and the model outcome on a run header
// without a condition (before pass 2 is queued: writing it twice writes the same value).
func (t *Table) SetRunBase(ctx context.Context, id, base string, fits *app.RunCLV) error {
	sets := []set{{"base", &types.AttributeValueMemberS{Value: base}}}
	if fits != nil {
		av, err := attributevalue.Marshal(fits)
		if err != nil {
			return fmt.Errorf("run %s: model outcome: %w", id, err)
		}
		sets = append(sets, set{"clv", av})
	}
	names, vals := map[string]string{}, map[string]types.AttributeValue{}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: RunKey(id).av(), UpdateExpression: aws.String("SET " + setExpr(sets, names, vals)),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("update run %s: %w", id, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// SetLatestRun records a finished run as the latest, unless a later business day won.
func (t *Table) SetLatestRun(ctx context.Context, r app.Run) error {
	item := LatestRunKey().av()
	item["runId"] = &types.AttributeValueMemberS{Value: r.ID}
	item["asOf"] = &types.AttributeValueMemberS{Value: sortTime(r.AsOf)}
	if r.PreviousRunID != "" {
		item["previousRunId"] = &types.AttributeValueMemberS{Value: r.PreviousRunID}
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR asOf <= :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": item["asOf"]},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil
		}
		return fmt.Errorf("record latest run: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// LatestRunID returns the last finished run's id, "" when none finished yet. The pointer
// moves just before its run is marked done (app.Nightly): LatestRuns also says the run it
// replaced, for a reader that finds the named run not done yet.
func (t *Table) LatestRunID(ctx context.Context) (string, error) {
	id, _, err := t.LatestRuns(ctx)
	return id, err
}

// LatestRuns returns the latest run's id and the one it replaced ("" for none).
func (t *Table) LatestRuns(ctx context.Context) (latest, previous string, err error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: LatestRunKey().av(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return "", "", fmt.Errorf("read latest run: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if s, ok := out.Item["runId"].(*types.AttributeValueMemberS); ok {
		latest = s.Value
	}
	if s, ok := out.Item["previousRunId"].(*types.AttributeValueMemberS); ok {
		previous = s.Value
	}
	return latest, previous, nil
}

// ScanTierStates calls fn for every customer profile of one segment of the run: the
// profile shards the segment owns, one Query each (access pattern 11), so the night reads
// profiles and nothing else. Reads are eventually consistent: writes are conditioned on
// version.
func (t *Table) ScanTierStates(ctx context.Context, segment, total int, fn func(app.TierState) error) error {
	return t.queryProfiles(ctx, segment, total, tierProjection, map[string]string{"#st": "store"}, func(it map[string]types.AttributeValue) error {
		st, err := decodeTierState(it)
		if err != nil {
			return err
		}
		return fn(st)
	})
}

// SaveAssessment writes a night's assessment if the profile is still at a.State.Version;
// when the tier changed, the history item goes in the same transaction. app.ErrConflict:
// re-read.
func (t *Table) SaveAssessment(ctx context.Context, a app.Assessment) error {
	row, next := a.State, a.Next
	asg, err := marshalAssignment(next)
	if err != nil {
		return fmt.Errorf("marshal assignment: %w", err)
	}
	expr := "SET assignment = :a, stage = :st, version = :v1, lastRun = :run, prevTier = :pt"
	vals := map[string]types.AttributeValue{
		":a": asg, ":st": &types.AttributeValueMemberS{Value: string(next.Stage)},
		":v1":  &types.AttributeValueMemberN{Value: strconv.FormatInt(row.Version+1, 10)},
		":run": &types.AttributeValueMemberS{Value: a.RunID}, ":pt": &types.AttributeValueMemberS{Value: string(a.From)},
	}
	if a.CLV != nil {
		if !a.CLV.Finite() {
			return fmt.Errorf("save assessment of %s: prediction: %w", row.ID, app.ErrNonFinite)
		}
		c, err := attributevalue.Marshal(a.CLV)
		if err != nil {
			return fmt.Errorf("marshal prediction: %w", err)
		}
		expr += ", clv = :clv"
		vals[":clv"] = c
	}
	if a.RetentionDue != nil {
		expr += ", retentionDue = :rd, retentionRun = :run"
		vals[":rd"] = &types.AttributeValueMemberS{Value: a.RetentionDue.UTC().Format(time.RFC3339)}
	}
	if next.Tier != model.TierNone {
		expr += ", tier = :t"
		vals[":t"] = &types.AttributeValueMemberS{Value: string(next.Tier)}
	}
	cond := "version = :v"
	if row.Version == 0 {
		cond = "attribute_exists(PK) AND attribute_not_exists(version)"
	} else {
		vals[":v"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(row.Version, 10)}
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(t.Name), Key: CustomerKey(row.ID).av(),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: vals, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			t.Units.add(true)
			return app.ErrConflict
		}
		return fmt.Errorf("save assessment of %s: %w", row.ID, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	if a.Change == nil {
		return nil
	}
	return t.RecordTierChange(ctx, row.ID, *a.Change)
}

// RecordTierChange puts a customer's tier history entry (tiering/app.Profiles). It
// follows the profile's update instead of sharing a transaction with it (a transaction
// bills its items twice, issue #13); its key is the run's time, so a redelivered segment
// that finds the profile already at this run's answer puts the same entry again.
func (t *Table) RecordTierChange(ctx context.Context, id string, c app.TierChange) error {
	hist, err := attributevalue.MarshalMap(c)
	if err != nil {
		return fmt.Errorf("marshal tier change: %w", err)
	}
	Key{CustomerPK(id), TierSK(c.At)}.put(hist)
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: hist,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("record tier change of %s: %w", id, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// TierHistory lists a customer's tier changes, oldest first.
func (t *Table) TierHistory(ctx context.Context, id string) ([]app.TierChange, error) {
	items, err := t.queryPrefix(ctx, CustomerPK(id), tierSKPrefix)
	if err != nil {
		return nil, fmt.Errorf("tier history of %s: %w", id, err)
	}
	var out []app.TierChange
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, fmt.Errorf("tier history of %s: %w", id, err)
	}
	return out, nil
}

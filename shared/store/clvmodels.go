package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// The customer-base model's items (tiering/app.Models): each pass-1 segment's sample per
// scope next to the run (RUN#id / SAMPLE#seg#scope), fitted versions per namespace and
// scope (MODEL#… / V#<run id>, and CURRENT holding a copy of the live one), and the
// at-risk report's read of a store's predictions.

const sampleEntryBytes = 20 // hash + four float32

// encodeSample packs entries as little-endian uint32 hash + float32 x, tx, T, mean spend:
// 2,000 customers take 40 KB, a tenth of DynamoDB's item limit.
func encodeSample(es []app.SampleEntry) []byte {
	b := make([]byte, 0, len(es)*sampleEntryBytes)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint32(b, e.Hash)
		for _, v := range []float64{e.S.X, e.S.Tx, e.S.T, e.S.MeanSpend} {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		}
	}
	return b
}

// decodeSample reverses encodeSample, dropping any entry that is not a valid summary.
func decodeSample(b []byte) ([]app.SampleEntry, error) {
	if len(b)%sampleEntryBytes != 0 {
		return nil, fmt.Errorf("sample of %d bytes is not whole entries", len(b))
	}
	out := make([]app.SampleEntry, 0, len(b)/sampleEntryBytes)
	for i := 0; i < len(b); i += sampleEntryBytes {
		f := func(k int) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i+4+4*k:])))
		}
		e := app.SampleEntry{Hash: binary.LittleEndian.Uint32(b[i:]), S: clv.Summary{X: f(0), Tx: f(1), T: f(2), MeanSpend: f(3)}}
		if e.S.Validate() == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// PutSample stores one segment's sample of one scope as its own item next to the run. A
// redelivered segment writes the same sample again.
func (t *Table) PutSample(ctx context.Context, runID string, smp app.SegmentSample) error {
	item := map[string]types.AttributeValue{
		"threshold": &types.AttributeValueMemberN{Value: strconv.FormatUint(uint64(smp.Threshold), 10)},
		"scope":     &types.AttributeValueMemberS{Value: smp.Scope},
		"customers": &types.AttributeValueMemberN{Value: strconv.Itoa(smp.Customers)},
		"n":         &types.AttributeValueMemberN{Value: strconv.Itoa(len(smp.Entries))},
		"sample":    &types.AttributeValueMemberB{Value: encodeSample(smp.Entries)},
	}
	RunSampleKey(runID, smp.Segment, smp.Scope).put(item)
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("store sample of segment %d (%s) of run %s: %w", smp.Segment, smp.Scope, runID, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// Samples reads every segment's samples of a run (tiering/app merges them per scope).
func (t *Table) Samples(ctx context.Context, runID string) ([]app.SegmentSample, error) {
	items, err := t.queryPrefix(ctx, RunKey(runID).PK, runSamplePrefix)
	if err != nil {
		return nil, fmt.Errorf("samples of run %s: %w", runID, err)
	}
	out := make([]app.SegmentSample, 0, len(items))
	for _, it := range items {
		var raw struct {
			SK        string `dynamodbav:"SK"`
			Scope     string `dynamodbav:"scope"`
			Customers int    `dynamodbav:"customers"`
			Threshold uint32 `dynamodbav:"threshold"`
			Sample    []byte `dynamodbav:"sample"`
		}
		if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		es, err := decodeSample(raw.Sample)
		if err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		out = append(out, app.SegmentSample{Segment: runSampleSegmentOf(raw.SK), Scope: raw.Scope, Customers: raw.Customers,
			Threshold: raw.Threshold, Entries: es})
	}
	return out, nil
}

// --- models --------------------------------------------------------------------------

// checkFinite walks the model's JSON form: every number must be finite (encoding/json
// refuses NaN and Inf, so a marshal error says the same).
func checkFinite(m clv.Model) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", app.ErrNonFinite, err)
	}
	return b, nil
}

// modelItem is a stored model's item under k: its fields, and the model as a JSON
// document (checked finite).
func modelItem(m app.StoredModel, k Key) (map[string]types.AttributeValue, error) {
	doc, err := checkFinite(m.Model)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(m.LogLik) || math.IsInf(m.LogLik, 0) {
		return nil, fmt.Errorf("%w: log-likelihood %v", app.ErrNonFinite, m.LogLik)
	}
	it, err := attributevalue.MarshalMap(m)
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	k.put(it)
	it["model"] = &types.AttributeValueMemberS{Value: string(doc)}
	it["asOfKey"] = &types.AttributeValueMemberS{Value: sortTime(m.AsOf)}
	return it, nil
}

// PutModel stores a fitted model as its version and makes it CURRENT unless a model of a
// later as-of is current already. Both writes are idempotent for a run; a model with a
// non-finite number is app.ErrNonFinite and not stored.
func (t *Table) PutModel(ctx context.Context, ns string, m app.StoredModel) error {
	ver, err := modelItem(m, ModelVersionKey(ns, m.Scope, m.Version))
	if err != nil {
		return fmt.Errorf("model %s of %s: %w", m.Version, m.Scope, err)
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: ver,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("store model %s of %s: %w", m.Version, m.Scope, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	cur, _ := modelItem(m, ModelCurrentKey(ns, m.Scope)) // the same checks passed above
	out, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: cur,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR asOfKey <= :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": cur["asOfKey"]},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // a later night's model is current
		}
		return fmt.Errorf("make model %s of %s current: %w", m.Version, m.Scope, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// CurrentModel reads a scope's live model; found=false when none was ever fitted.
func (t *Table) CurrentModel(ctx context.Context, ns, scope string) (app.StoredModel, bool, error) {
	return t.getModel(ctx, ModelCurrentKey(ns, scope), scope)
}

// ModelVersion reads one stored model version.
func (t *Table) ModelVersion(ctx context.Context, ns, scope, version string) (app.StoredModel, bool, error) {
	return t.getModel(ctx, ModelVersionKey(ns, scope, version), scope)
}

func (t *Table) getModel(ctx context.Context, k Key, scope string) (app.StoredModel, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name),
		Key: k.av(), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return app.StoredModel{}, false, fmt.Errorf("read model %s %s: %w", scope, k.SK, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return app.StoredModel{}, false, nil
	}
	var m app.StoredModel
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return app.StoredModel{}, false, fmt.Errorf("read model %s %s: %w", scope, k.SK, err)
	}
	doc, _ := out.Item["model"].(*types.AttributeValueMemberS)
	if doc == nil {
		return app.StoredModel{}, false, fmt.Errorf("read model %s %s: no model document", scope, k.SK)
	}
	if err := json.Unmarshal([]byte(doc.Value), &m.Model); err != nil {
		return app.StoredModel{}, false, fmt.Errorf("read model %s %s: %w", scope, k.SK, err)
	}
	return m, true, nil
}

// --- at-risk report --------------------------------------------------------------------

// AtRiskRow is one customer of the at-risk report (tiering/app.AtRiskRow).
type AtRiskRow = app.AtRiskRow

// AtRiskRows reads a store's at-risk customers as the last finished run kept them in the
// store's summary (app.AtRiskKept at most, largest expected loss first; access pattern
// 15): two reads, however many customers the store has. No run yet: none.
func (t *Table) AtRiskRows(ctx context.Context, store string) ([]AtRiskRow, error) {
	id, err := t.LatestRunID(ctx)
	if err != nil || id == "" {
		return nil, err
	}
	sums, err := t.StoreSummaries(ctx, id, []string{store})
	if err != nil {
		return nil, fmt.Errorf("at-risk customers of %s: %w", store, err)
	}
	sum := sums[store]
	if sum == nil {
		return nil, nil
	}
	rows := slices.Clone(sum.AtRisk)
	for i := range rows {
		rows[i].CLV.Explanation = rows[i].CLV.Explain()
	}
	return rows, nil
}

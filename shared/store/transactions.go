package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// jsonTags makes attributevalue read the domain types' json tags, so an item attribute
// carries the same names as the API (tiering.Assignment has no dynamodbav tags).
func jsonTags(o *attributevalue.EncoderOptions)    { o.TagKey = "json" }
func jsonTagsDec(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// marshalAssignment / unmarshalAssignment store an assignment under its JSON names.
func marshalAssignment(a tiering.Assignment) (types.AttributeValue, error) {
	return attributevalue.MarshalWithOptions(a, jsonTags)
}
func unmarshalAssignment(av types.AttributeValue, a *tiering.Assignment) error {
	return attributevalue.UnmarshalWithOptions(av, a, jsonTagsDec)
}

// tierProjection is what tiering reads of a profile item.
const tierProjection = "id, PK, version, #st, aggregates, assignment, lastRun, prevTier, occasions, clv, retentionRun, touches[0].utm"

// ReadTierState reads a profile's tier state, strongly consistent (tiering/app.Ledger and
// Profiles); found=false when the customer has no profile.
func (t *Table) ReadTierState(ctx context.Context, id string) (app.TierState, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: CustomerKey(id).av(), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String(tierProjection),
		ExpressionAttributeNames: map[string]string{"#st": "store"},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return app.TierState{}, false, fmt.Errorf("read profile %s: %w", id, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return app.TierState{}, false, nil
	}
	st, err := decodeTierState(out.Item)
	return st, err == nil, err
}

// decodeTierState reads the tier attributes of a profile item.
func decodeTierState(it map[string]types.AttributeValue) (app.TierState, error) {
	var raw struct {
		PK         string             `dynamodbav:"PK"`
		Version    int64              `dynamodbav:"version"`
		Store      string             `dynamodbav:"store"`
		Aggregates tiering.Aggregates `dynamodbav:"aggregates"`
		LastRun    string             `dynamodbav:"lastRun"`
		PrevTier   string             `dynamodbav:"prevTier"`
		Occasions  *clv.Occasions     `dynamodbav:"occasions"`
		CLV        *clv.ProfileCLV    `dynamodbav:"clv"`
		Retention  string             `dynamodbav:"retentionRun"`
		Touches    []struct {
			UTM customer.UTM `dynamodbav:"utm"`
		} `dynamodbav:"touches"`
	}
	if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
		return app.TierState{}, fmt.Errorf("decode profile: %w", err)
	}
	st := app.TierState{ID: customerIDOf(raw.PK), Version: raw.Version, Store: raw.Store, Aggregates: raw.Aggregates,
		LastRun: raw.LastRun, PrevTier: model.Tier(raw.PrevTier), Occasions: raw.Occasions, CLV: raw.CLV, RetentionRun: raw.Retention}
	if len(raw.Touches) > 0 {
		st.Source, st.Campaign = raw.Touches[0].UTM.Source, raw.Touches[0].UTM.Campaign
	}
	if av, ok := it["assignment"]; ok {
		if err := unmarshalAssignment(av, &st.Assignment); err != nil {
			return app.TierState{}, fmt.Errorf("decode assignment of %s: %w", st.ID, err)
		}
	}
	return st, nil
}

// ApplyTxn writes one transaction's outcome as ingest decided it (tiering/app.Ledger), in a
// single TransactWriteItems: the once-marker (attribute_not_exists), the transaction item,
// and the profile's new aggregates, occasions and assignment conditioned on the version
// the decision was made on (or a new minimal profile, when w.Create). A marker that exists
// comes back with the cancellation (taken, no extra read); a version that moved is
// app.ErrConflict.
func (t *Table) ApplyTxn(ctx context.Context, w app.TxnWrite) (model.TxnMarker, bool, error) {
	items, err := t.applyItems(w)
	if err != nil {
		return model.TxnMarker{}, false, err
	}
	out, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err == nil {
		t.Units.add(true, out.ConsumedCapacity...)
		return model.TxnMarker{}, false, nil
	}
	t.Units.add(true) // a cancelled transaction still costs; the emulator does not report it
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return model.TxnMarker{}, false, err
	}
	reasons := tce.CancellationReasons
	if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
		var m model.TxnMarker
		if err := attributevalue.UnmarshalMap(reasons[0].Item, &m); err != nil {
			return model.TxnMarker{}, false, fmt.Errorf("decode marker: %w", err)
		}
		m.Legacy = w.Txn.Once != model.OnceStore // it was read under the key without the store
		return m, true, nil
	}
	if len(reasons) > 2 && aws.ToString(reasons[2].Code) == "ConditionalCheckFailed" {
		return model.TxnMarker{}, false, app.ErrConflict // the profile moved on (or was just created)
	}
	if conflictOnly(reasons) {
		return model.TxnMarker{}, false, app.ErrConflict // TransactionConflict with a concurrent writer
	}
	return model.TxnMarker{}, false, err
}

func conflictOnly(rs []types.CancellationReason) bool {
	seen := false
	for _, r := range rs {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "TransactionConflict":
			seen = true
		default:
			return false
		}
	}
	return seen
}

// applyItems builds the three writes of ApplyTxn.
func (t *Table) applyItems(w app.TxnWrite) ([]types.TransactWriteItem, error) {
	txn, now, agg, occ, next, store := w.Txn, w.At, w.Aggregates, w.Occasions, w.Assignment, w.Store
	once := TxnOnceKey(txn.Store, txn.Source, txn.ExternalID)
	if txn.Once != model.OnceStore {
		once = LegacyTxnOnceKey(txn.Source, txn.ExternalID)
	}
	m := model.MarkerOf(txn)
	m.AppliedAt = sortTime(now)
	marker, err := attributevalue.MarshalMap(m)
	if err != nil {
		return nil, fmt.Errorf("marshal transaction marker: %w", err)
	}
	marker[attrPK], marker[attrSK] = &types.AttributeValueMemberS{Value: once.PK}, &types.AttributeValueMemberS{Value: once.SK}

	txnItem, err := attributevalue.MarshalMap(txn)
	if err != nil {
		return nil, fmt.Errorf("marshal transaction: %w", err)
	}
	txnItem[attrPK] = &types.AttributeValueMemberS{Value: CustomerPK(txn.CustomerID)}
	txnItem[attrSK] = &types.AttributeValueMemberS{Value: TxnSK(txn.At, txn.Source, txn.ExternalID)}
	txnItem["kind"] = &types.AttributeValueMemberS{Value: "txn"}

	aggAV, err := attributevalue.Marshal(agg)
	if err != nil {
		return nil, fmt.Errorf("marshal aggregates: %w", err)
	}
	asgAV, err := marshalAssignment(next)
	if err != nil {
		return nil, fmt.Errorf("marshal assignment: %w", err)
	}
	occAV, err := attributevalue.Marshal(occ)
	if err != nil {
		return nil, fmt.Errorf("marshal occasions: %w", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(t.Name), Item: marker,
			ConditionExpression:                 aws.String("attribute_not_exists(PK)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &types.Put{TableName: aws.String(t.Name), Item: txnItem}},
	}
	if w.Create {
		prof := map[string]types.AttributeValue{
			attrPK:       &types.AttributeValueMemberS{Value: CustomerPK(txn.CustomerID)},
			attrSK:       &types.AttributeValueMemberS{Value: "PROFILE"},
			"id":         &types.AttributeValueMemberS{Value: txn.CustomerID},
			"createdAt":  &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			"updatedAt":  &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			"version":    &types.AttributeValueMemberN{Value: "1"},
			"aggregates": aggAV,
			"occasions":  occAV,
			"assignment": asgAV,
			"stage":      &types.AttributeValueMemberS{Value: string(next.Stage)},
		}
		if next.Tier != model.TierNone {
			prof["tier"] = &types.AttributeValueMemberS{Value: string(next.Tier)}
		}
		if store != "" {
			prof["store"] = &types.AttributeValueMemberS{Value: store}
			prof[attrGSI2PK] = &types.AttributeValueMemberS{Value: StorePK(store)}
			prof[attrGSI2SK] = &types.AttributeValueMemberS{Value: StoreCustomerSK(string(next.Tier), string(next.Stage), txn.CustomerID)}
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.Name), Item: prof,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}})
		return items, nil
	}
	upd, err := tierUpdate(txn.CustomerID, agg, occAV, next, w.Version, store)
	if err != nil {
		return nil, err
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(t.Name), Key: CustomerKey(txn.CustomerID).av(),
		UpdateExpression: upd.Update(), ConditionExpression: upd.Condition(),
		ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values(),
	}})
	return items, nil
}

// tierUpdate sets the tier attributes of an existing profile, conditioned on version.
func tierUpdate(id string, agg tiering.Aggregates, occ types.AttributeValue, next tiering.Assignment, version int64, store string) (expression.Expression, error) {
	aggAV, err := attributevalue.Marshal(agg)
	if err != nil {
		return expression.Expression{}, fmt.Errorf("marshal aggregates: %w", err)
	}
	asgAV, err := marshalAssignment(next)
	if err != nil {
		return expression.Expression{}, fmt.Errorf("marshal assignment: %w", err)
	}
	u := expression.Set(expression.Name("aggregates"), expression.Value(aggAV)).
		Set(expression.Name("assignment"), expression.Value(asgAV)).
		Set(expression.Name("version"), expression.Value(version+1)).
		Set(expression.Name("occasions"), expression.Value(occ))
	u = setTierCopies(u, id, next, store)
	expr, err := expression.NewBuilder().WithUpdate(u).WithCondition(profileVersionIs(version)).Build()
	if err != nil {
		return expr, fmt.Errorf("build profile update: %w", err)
	}
	return expr, nil
}

// setTierCopies writes the top-level tier, stage and the store index sort key that
// queries filter on.
func setTierCopies(u expression.UpdateBuilder, id string, a tiering.Assignment, store string) expression.UpdateBuilder {
	if a.Tier != model.TierNone {
		u = u.Set(expression.Name("tier"), expression.Value(string(a.Tier)))
	}
	if a.Stage != "" {
		u = u.Set(expression.Name("stage"), expression.Value(string(a.Stage)))
	}
	if store != "" {
		u = u.Set(expression.Name(attrGSI2SK), expression.Value(StoreCustomerSK(string(a.Tier), string(a.Stage), id)))
	}
	return u
}

// Transactions lists a customer's transactions, oldest first.
func (t *Table) Transactions(ctx context.Context, customerID string) ([]model.Txn, error) {
	var out []model.Txn
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :txn)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: CustomerPK(customerID)},
			":txn": &types.AttributeValueMemberS{Value: txnSKPrefix},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list transactions: %w", err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		var txns []model.Txn
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &txns); err != nil {
			return nil, fmt.Errorf("list transactions: %w", err)
		}
		out = append(out, txns...)
	}
	return out, nil
}

// CustomerByContact finds an existing customer by normalised phone, then email, through
// the uniqueness items lead intake writes (access pattern 2). found=false: nobody yet.
func (t *Table) CustomerByContact(ctx context.Context, phoneE164, email string) (id string, found bool, err error) {
	var keys []Key
	if phoneE164 != "" {
		keys = append(keys, PhoneKey(phoneE164))
	}
	if email != "" {
		keys = append(keys, EmailKey(email))
	}
	for _, k := range keys {
		out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(t.Name), Key: k.av(), ConsistentRead: aws.Bool(true),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return "", false, fmt.Errorf("find customer by contact: %w", err)
		}
		t.Units.addOne(false, out.ConsumedCapacity)
		if s, ok := out.Item["customerId"].(*types.AttributeValueMemberS); ok && s.Value != "" {
			return s.Value, true, nil
		}
	}
	return "", false, nil
}

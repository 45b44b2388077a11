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

// marshalAssignment / unmarshalAssignment store an assignment under its JSON names,
// without its metrics: every night recomputes them from the aggregates and nothing reads
// them back, so the profile does not carry them (a profile write stays a unit smaller,
// issue #13); the scores, which the reason restates, stay.
func marshalAssignment(a tiering.Assignment) (types.AttributeValue, error) {
	av, err := attributevalue.MarshalWithOptions(a, jsonTags)
	if m, ok := av.(*types.AttributeValueMemberM); ok {
		delete(m.Value, "metrics")
	}
	return av, err
}
func unmarshalAssignment(av types.AttributeValue, a *tiering.Assignment) error {
	return attributevalue.UnmarshalWithOptions(av, a, jsonTagsDec)
}

// tierProjection is what tiering reads of a profile item.
const tierProjection = "id, version, #st, aggregates, assignment, lastRun, prevTier, occasions, clv, retentionRun, applied, referredBy, referral, touches[0].utm"

// ReadTierState reads a profile's tier state, strongly consistent (tiering/app.Ledger and
// Profiles); found=false when the customer has no profile.
func (t *Table) ReadTierState(ctx context.Context, id string) (app.TierState, bool, error) {
	return t.readTierState(ctx, id, true)
}

// PeekTierState is ReadTierState eventually consistent: half the read units, for a read
// whose write is conditioned on the version it saw (tiering/app.Ledger).
func (t *Table) PeekTierState(ctx context.Context, id string) (app.TierState, bool, error) {
	return t.readTierState(ctx, id, false)
}

func (t *Table) readTierState(ctx context.Context, id string, consistent bool) (app.TierState, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: CustomerKey(id).av(), ConsistentRead: aws.Bool(consistent),
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
		ID         string             `dynamodbav:"id"`
		Version    int64              `dynamodbav:"version"`
		Store      string             `dynamodbav:"store"`
		Aggregates tiering.Aggregates `dynamodbav:"aggregates"`
		LastRun    string             `dynamodbav:"lastRun"`
		PrevTier   string             `dynamodbav:"prevTier"`
		Occasions  *clv.Occasions     `dynamodbav:"occasions"`
		CLV        *clv.ProfileCLV    `dynamodbav:"clv"`
		Retention  string             `dynamodbav:"retentionRun"`
		Applied    []string           `dynamodbav:"applied"`
		ReferredBy string             `dynamodbav:"referredBy"`
		Referral   *app.ReferralState `dynamodbav:"referral"`
		Touches    []struct {
			UTM customer.UTM `dynamodbav:"utm"`
		} `dynamodbav:"touches"`
	}
	if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
		return app.TierState{}, fmt.Errorf("decode profile: %w", err)
	}
	st := app.TierState{ID: raw.ID, Version: raw.Version, Store: raw.Store, Aggregates: raw.Aggregates,
		LastRun: raw.LastRun, PrevTier: model.Tier(raw.PrevTier), Occasions: raw.Occasions, CLV: raw.CLV, RetentionRun: raw.Retention, Applied: raw.Applied,
		ReferredBy: raw.ReferredBy, Referral: raw.Referral}
	if len(raw.Touches) > 0 {
		st.Source, st.Campaign = raw.Touches[0].UTM.Source, raw.Touches[0].UTM.Campaign
	}
	if st.CLV != nil {
		st.CLV.Explanation = st.CLV.Explain()
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
	_, err = t.transactWrite(ctx, items)
	if err == nil {
		return model.TxnMarker{}, false, nil
	}
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
	marker, err := markerItem(w.Txn, w.At)
	if err != nil {
		return nil, err
	}
	txnItem, err := txnItem(w.Txn, app.TxnRecord{})
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(t.Name), Item: marker,
			ConditionExpression:                 aws.String("attribute_not_exists(PK)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &types.Put{TableName: aws.String(t.Name), Item: txnItem}},
	}
	put, upd, err := t.countWrite(w)
	if err != nil {
		return nil, err
	}
	return append(items, types.TransactWriteItem{Put: put, Update: upd}), nil
}

// onceKey is the once-key txn is counted under.
func onceKey(txn model.Txn) Key {
	if txn.Once != model.OnceStore {
		return LegacyTxnOnceKey(txn.Source, txn.ExternalID)
	}
	return TxnOnceKey(txn.Store, txn.Source, txn.ExternalID)
}

// txnItemKey is where txn lives on its customer's timeline.
func txnItemKey(txn model.Txn) Key {
	return Key{CustomerPK(txn.CustomerID), TxnSK(txn.At, txn.Source, txn.ExternalID)}
}

// markerItem is txn's once-marker, applied at now.
func markerItem(txn model.Txn, now time.Time) (map[string]types.AttributeValue, error) {
	m := model.MarkerOf(txn)
	m.AppliedAt = sortTime(now)
	marker, err := attributevalue.MarshalMap(m)
	if err != nil {
		return nil, fmt.Errorf("marshal transaction marker: %w", err)
	}
	onceKey(txn).put(marker)
	return marker, nil
}

// txnItem is txn on its customer's timeline, with what ingest recorded of it.
func txnItem(txn model.Txn, rec app.TxnRecord) (map[string]types.AttributeValue, error) {
	it, err := attributevalue.MarshalMap(txn)
	if err != nil {
		return nil, fmt.Errorf("marshal transaction: %w", err)
	}
	txnItemKey(txn).put(it)
	it["kind"] = &types.AttributeValueMemberS{Value: "txn"}
	if rec.PlanPurchase {
		it[attrPlanPurchase] = &types.AttributeValueMemberBOOL{Value: true}
	}
	return it, nil
}

// attrPlanPurchase marks a transaction item whose purchase was planned (app.TxnRecord).
const attrPlanPurchase = "planPurchase"

// countWrite is the profile's side of w: a new minimal profile (put) when w.Create, the
// tier attributes conditioned on w.Version (update) otherwise.
func (t *Table) countWrite(w app.TxnWrite) (*types.Put, *types.Update, error) {
	txn, now, next, store := w.Txn, w.At, w.Assignment, w.Store
	aggAV, err := attributevalue.Marshal(w.Aggregates)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal aggregates: %w", err)
	}
	asgAV, err := marshalAssignment(next)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal assignment: %w", err)
	}
	occAV, err := attributevalue.Marshal(w.Occasions)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal occasions: %w", err)
	}
	if w.Create {
		prof := map[string]types.AttributeValue{
			"type":       &types.AttributeValueMemberS{Value: typeCustomer},
			"id":         &types.AttributeValueMemberS{Value: txn.CustomerID},
			"createdAt":  &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			"updatedAt":  &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			"version":    &types.AttributeValueMemberN{Value: "1"},
			"aggregates": aggAV,
			"occasions":  occAV,
			"assignment": asgAV,
			"stage":      &types.AttributeValueMemberS{Value: string(next.Stage)},
		}
		if len(w.Applied) > 0 {
			prof[attrApplied] = appliedAV(w.Applied)
		}
		if w.Referral != nil {
			if prof[attrReferral], err = attributevalue.Marshal(w.Referral); err != nil {
				return nil, nil, fmt.Errorf("marshal referral: %w", err)
			}
		}
		if next.Tier != model.TierNone {
			prof["tier"] = &types.AttributeValueMemberS{Value: string(next.Tier)}
		}
		CustomerKey(txn.CustomerID).put(prof)
		if store != "" {
			prof["store"] = &types.AttributeValueMemberS{Value: store}
			prof[attrGSI4PK] = &types.AttributeValueMemberS{Value: StorePK(store)}
			prof[attrGSI4SK] = &types.AttributeValueMemberS{Value: StoreCustomerSK(txn.CustomerID)}
		}
		return &types.Put{TableName: aws.String(t.Name), Item: prof,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}, nil, nil
	}
	var refAV types.AttributeValue
	if w.Referral != nil {
		if refAV, err = attributevalue.Marshal(w.Referral); err != nil {
			return nil, nil, fmt.Errorf("marshal referral: %w", err)
		}
	}
	upd, err := tierUpdate(txn.CustomerID, aggAV, occAV, asgAV, refAV, next, w.Version, store, w.Applied)
	if err != nil {
		return nil, nil, err
	}
	return nil, &types.Update{
		TableName: aws.String(t.Name), Key: CustomerKey(txn.CustomerID).av(),
		UpdateExpression: upd.Update(), ConditionExpression: upd.Condition(),
		ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values(),
	}, nil
}

// attrApplied holds a profile's app.TierState.Applied; attrReferral its Referral.
const (
	attrApplied  = "applied"
	attrReferral = "referral"
)

func appliedAV(refs []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(refs))
	for i, r := range refs {
		l[i] = &types.AttributeValueMemberS{Value: r}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// tierUpdate sets the tier attributes of an existing profile, conditioned on version.
func tierUpdate(id string, aggAV, occ, asgAV, refAV types.AttributeValue, next tiering.Assignment, version int64, store string, applied []string) (expression.Expression, error) {
	u := expression.Set(expression.Name("aggregates"), expression.Value(aggAV)).
		Set(expression.Name("assignment"), expression.Value(asgAV)).
		Set(expression.Name("version"), expression.Value(version+1)).
		Set(expression.Name("occasions"), expression.Value(occ))
	if len(applied) > 0 {
		u = u.Set(expression.Name(attrApplied), expression.Value(appliedAV(applied)))
	}
	if refAV != nil {
		u = u.Set(expression.Name(attrReferral), expression.Value(refAV))
	}
	u = setTierCopies(u, next)
	expr, err := expression.NewBuilder().WithUpdate(u).WithCondition(profileVersionIs(version)).Build()
	if err != nil {
		return expr, fmt.Errorf("build profile update: %w", err)
	}
	return expr, nil
}

// setTierCopies writes the top-level tier and stage that lists filter on (projected on
// the customers-by-store index, so setting them to what they were writes no index entry).
func setTierCopies(u expression.UpdateBuilder, a tiering.Assignment) expression.UpdateBuilder {
	if a.Tier != model.TierNone {
		u = u.Set(expression.Name("tier"), expression.Value(string(a.Tier)))
	}
	if a.Stage != "" {
		u = u.Set(expression.Name("stage"), expression.Value(string(a.Stage)))
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

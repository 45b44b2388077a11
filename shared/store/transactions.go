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

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// TierState is what the tier engine keeps on a profile.
type TierState struct {
	Aggregates tiering.Aggregates
	Assignment tiering.Assignment
	Occasions  *Occasions // purchase days for the customer-base model (clvmodels.go)
}

// Decide is the ingest rule run inside ApplyTxn's read-modify-write: given the state
// after the transaction was folded in, it returns the assignment to store.
type Decide func(agg *tiering.Aggregates, prev tiering.Assignment) tiering.Assignment

// ApplyResult says what one ApplyTxn did.
type ApplyResult struct {
	Duplicate      bool // the transaction had been applied before: nothing changed
	CreatedProfile bool // the customer had no profile; a minimal one was created
	Prev, Next     tiering.Assignment
	Attempts       int
}

// ErrTooManyConflicts: the profile kept changing under us; the caller retries later.
var ErrTooManyConflicts = errors.New("profile changed concurrently too many times")

// jsonTags makes attributevalue read the domain types' json tags, so an item attribute
// carries the same names as the API (tiering.Assignment has no dynamodbav tags).
func jsonTags(o *attributevalue.EncoderOptions)    { o.TagKey = "json" }
func jsonTagsDec(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// MarshalAssignment / UnmarshalAssignment store an assignment under its JSON names.
func MarshalAssignment(a tiering.Assignment) (types.AttributeValue, error) {
	return attributevalue.MarshalWithOptions(a, jsonTags)
}
func UnmarshalAssignment(av types.AttributeValue, a *tiering.Assignment) error {
	return attributevalue.UnmarshalWithOptions(av, a, jsonTagsDec)
}

// tierItem is the part of the profile item that tiering reads.
type tierItem struct {
	Version    int64              `dynamodbav:"version"`
	Store      string             `dynamodbav:"store"`
	Aggregates tiering.Aggregates `dynamodbav:"aggregates"`
	Occasions  *Occasions         `dynamodbav:"occasions"`
}

// readTierState reads the tier attributes of a profile; found=false if it does not exist.
func (t *Table) readTierState(ctx context.Context, id string) (st TierState, version int64, store string, found bool, err error) {
	k := CustomerKey(id)
	out, err := t.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(t.Name),
		Key:                      k.av(),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("version, #s, aggregates, assignment, occasions"),
		ExpressionAttributeNames: map[string]string{"#s": "store"},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return st, 0, "", false, fmt.Errorf("read profile %s: %w", id, err)
	}
	t.Units.AddOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return st, 0, "", false, nil
	}
	var it tierItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return st, 0, "", false, fmt.Errorf("read profile %s: %w", id, err)
	}
	st.Aggregates = it.Aggregates
	st.Occasions = it.Occasions
	if av, ok := out.Item["assignment"]; ok {
		if err := UnmarshalAssignment(av, &st.Assignment); err != nil {
			return st, 0, "", false, fmt.Errorf("read profile %s assignment: %w", id, err)
		}
	}
	return st, it.Version, it.Store, true, nil
}

// av renders a key as an item key.
func (k Key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// ApplyOptions loosen ApplyTxn for tools and tests that build a base directly.
type ApplyOptions struct {
	// CreateMissing gives a customer without a profile a minimal one in the same
	// transaction. Ingest never does: the API resolves every customer first (C2).
	CreateMissing bool
}

// ApplyTxn counts one transaction exactly once: a single TransactWriteItems puts the
// once-marker (attribute_not_exists), the transaction item, and the profile's new
// aggregates and assignment conditioned on the version that was read. The profile must
// exist and belong to the transaction's store (or to none): otherwise ErrNoProfile or
// ErrWrongStore, and nothing is written. A marker that exists with the same content is a
// redelivery (Duplicate, nothing written); with other content it is ErrOnceConflict. A
// version that moved means a concurrent writer, so the profile is read again and the
// transaction re-applied.
func (t *Table) ApplyTxn(ctx context.Context, txn model.Txn, now time.Time, decide Decide) (ApplyResult, error) {
	return t.ApplyTxnWith(ctx, txn, now, decide, ApplyOptions{})
}

// ApplyTxnWith is ApplyTxn with options.
func (t *Table) ApplyTxnWith(ctx context.Context, txn model.Txn, now time.Time, decide Decide, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	if txn.At.Before(earliestTxn) {
		return res, fmt.Errorf("apply transaction %s: time %s is before 2000", txn.Ref(), txn.At.Format(time.RFC3339))
	}
	for attempt := 1; attempt <= 8; attempt++ {
		res.Attempts = attempt
		st, version, store, found, err := t.readTierState(ctx, txn.CustomerID)
		if err != nil {
			return res, err
		}
		// The same read that the update is conditioned on: the store the profile is
		// changed in is the store it was checked against.
		switch {
		case !found && !opts.CreateMissing:
			return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), ErrNoProfile)
		case found && store != "" && store != txn.Store:
			return res, fmt.Errorf("apply transaction %s to a customer of another store: %w", txn.Ref(), ErrWrongStore)
		}
		agg := st.Aggregates
		// A profile from before purchase days were kept starts from the estimate.
		occ := ProfileRow{Aggregates: st.Aggregates, Occasions: st.Occasions}.OccasionsOrEstimate()
		agg.Apply(txn)
		occ.Apply(txn.At, txn.Net(), txn.Refund)
		next := decide(&agg, st.Assignment)
		res.Prev, res.Next, res.CreatedProfile = st.Assignment, next, !found
		if store == "" {
			store = txn.Store
		}

		items, err := t.applyItems(txn, now, agg, occ, next, version, store, found)
		if err != nil {
			return res, err
		}
		out, err := t.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems:          items,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			t.Units.Add(true, out.ConsumedCapacity...)
			return res, nil
		}
		t.Units.Add(true) // a cancelled transaction still costs; the emulator does not report it
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), err)
		}
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			// The marker exists: it came back with the cancellation (no extra read).
			var m model.TxnMarker
			if err := attributevalue.UnmarshalMap(reasons[0].Item, &m); err != nil {
				return res, fmt.Errorf("apply transaction %s: decode marker: %w", txn.Ref(), err)
			}
			m.Legacy = txn.Once != model.OnceStore
			if !m.Legacy && !m.Same(txn) {
				return res, fmt.Errorf("apply transaction %s: differs in %v: %w", txn.Ref(), m.Differences(txn), ErrOnceConflict)
			}
			res.Duplicate, res.Next, res.CreatedProfile = true, st.Assignment, false
			return res, nil
		}
		if len(reasons) > 2 && aws.ToString(reasons[2].Code) == "ConditionalCheckFailed" {
			continue // the profile moved on (or was just created): read again
		}
		if conflictOnly(reasons) {
			continue // TransactionConflict with a concurrent writer
		}
		return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), err)
	}
	return res, fmt.Errorf("apply transaction %s: %w", txn.Ref(), ErrTooManyConflicts)
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
func (t *Table) applyItems(txn model.Txn, now time.Time, agg tiering.Aggregates, occ Occasions, next tiering.Assignment, version int64, store string, found bool) ([]types.TransactWriteItem, error) {
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
	asgAV, err := MarshalAssignment(next)
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
	if !found {
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
	upd, err := tierUpdate(txn.CustomerID, agg, occAV, next, version, store)
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
	asgAV, err := MarshalAssignment(next)
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

// ReadTierState returns a customer's aggregates and assignment (found=false: no profile).
func (t *Table) ReadTierState(ctx context.Context, id string) (TierState, bool, error) {
	st, _, _, found, err := t.readTierState(ctx, id)
	return st, found, err
}

// Transactions lists a customer's transactions, oldest first.
func (t *Table) Transactions(ctx context.Context, customerID string) ([]model.Txn, error) {
	var out []model.Txn
	p := dynamodb.NewQueryPaginator(t.DB, &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :txn)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: CustomerPK(customerID)},
			":txn": &types.AttributeValueMemberS{Value: "TXN#"},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list transactions: %w", err)
		}
		t.Units.AddOne(false, page.ConsumedCapacity)
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
		out, err := t.DB.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(t.Name), Key: k.av(), ConsistentRead: aws.Bool(true),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return "", false, fmt.Errorf("find customer by contact: %w", err)
		}
		t.Units.AddOne(false, out.ConsumedCapacity)
		if s, ok := out.Item["customerId"].(*types.AttributeValueMemberS); ok && s.Value != "" {
			return s.Value, true, nil
		}
	}
	return "", false, nil
}

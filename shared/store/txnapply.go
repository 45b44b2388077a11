package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// The steps of ingest's apply without a transaction (tiering/app.Ledger; the order and
// why it is exactly-once are in app.Ingest.apply). Each step is one single-item request
// on an item of at most 1 KB, so a new transaction costs 3 write units (marker, profile,
// transaction item) and two eventually consistent reads (marker, profile: 1 read unit);
// a duplicate costs the marker's and the transaction item's reads (1 read unit).

// TxnOnce reads txn's once-marker, eventually consistent.
func (t *Table) TxnOnce(ctx context.Context, txn model.Txn) (model.TxnMarker, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: onceKey(txn).av(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return model.TxnMarker{}, false, fmt.Errorf("read once-marker: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return model.TxnMarker{}, false, nil
	}
	return decodeMarker(txn, out.Item)
}

// decodeMarker reads a marker item. A marker under the key without the store is legacy
// when it carries only the customer (written in one transaction with everything else);
// one that carries the content was claimed by this ingest, and is judged like any other.
func decodeMarker(txn model.Txn, it map[string]types.AttributeValue) (model.TxnMarker, bool, error) {
	var m model.TxnMarker
	if err := attributevalue.UnmarshalMap(it, &m); err != nil {
		return model.TxnMarker{}, false, fmt.Errorf("decode marker: %w", err)
	}
	m.Legacy = txn.Once != model.OnceStore && m.Fingerprint == ""
	return m, true, nil
}

// TxnRecorded reads whether txn's item is on its customer's timeline, eventually
// consistent, projecting only the plan flag.
func (t *Table) TxnRecorded(ctx context.Context, txn model.Txn) (app.TxnRecord, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: txnItemKey(txn).av(),
		ProjectionExpression:   aws.String("PK, " + attrPlanPurchase),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return app.TxnRecord{}, false, fmt.Errorf("read transaction item: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return app.TxnRecord{}, false, nil
	}
	var rec app.TxnRecord
	if b, ok := out.Item[attrPlanPurchase].(*types.AttributeValueMemberBOOL); ok {
		rec.PlanPurchase = b.Value
	}
	return rec, true, nil
}

// ClaimTxn puts txn's once-marker unless its key exists; a taken key comes back with the
// marker it holds (taken, nothing written).
func (t *Table) ClaimTxn(ctx context.Context, txn model.Txn, at time.Time) (model.TxnMarker, bool, error) {
	item, err := markerItem(txn, at)
	if err != nil {
		return model.TxnMarker{}, false, err
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(PK)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		t.Units.add(true) // a failed condition still costs a write
		return decodeMarker(txn, ccf.Item)
	case err != nil:
		return model.TxnMarker{}, false, fmt.Errorf("claim once-marker: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return model.TxnMarker{}, false, nil
}

// CountTxn writes the profile's side of w alone. app.ErrConflict: the profile is no
// longer at w.Version (or, when w.Create, exists).
func (t *Table) CountTxn(ctx context.Context, w app.TxnWrite) error {
	put, upd, err := t.countWrite(w)
	if err != nil {
		return err
	}
	var cc *types.ConsumedCapacity
	if put != nil {
		var out *dynamodb.PutItemOutput
		out, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item,
			ConditionExpression: put.ConditionExpression, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			cc = out.ConsumedCapacity
		}
	} else {
		var out *dynamodb.UpdateItemOutput
		out, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: upd.TableName, Key: upd.Key,
			UpdateExpression: upd.UpdateExpression, ConditionExpression: upd.ConditionExpression,
			ExpressionAttributeNames: upd.ExpressionAttributeNames, ExpressionAttributeValues: upd.ExpressionAttributeValues,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			cc = out.ConsumedCapacity
		}
	}
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		t.Units.add(true)
		return app.ErrConflict
	case err != nil:
		return fmt.Errorf("count transaction on profile %s: %w", w.Txn.CustomerID, err)
	}
	t.Units.addOne(true, cc)
	return nil
}

// RecordTxn puts txn's item on its customer's timeline: the last step of an apply.
func (t *Table) RecordTxn(ctx context.Context, txn model.Txn, rec app.TxnRecord) error {
	item, err := txnItem(txn, rec)
	if err != nil {
		return err
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("record transaction: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// RecordTxns puts transaction items in batches of 25 (BatchWriteItem): for tools that load
// a customer's history whose profile they write themselves (ApplyTxn with Create). The
// items are the ones RecordTxn puts; nothing is counted on any profile.
func (t *Table) RecordTxns(ctx context.Context, txns []model.Txn) error {
	reqs := make([]types.WriteRequest, 0, len(txns))
	for _, txn := range txns {
		item, err := txnItem(txn, app.TxnRecord{})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	if err := t.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("record transactions: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
)

// AuditEntry is one entry of a customer's audit log (shared/customer).
type AuditEntry = customer.AuditEntry

// Audit appends an entry. The write is conditional on the key being new, so an entry is
// never overwritten (append-only); a request id repeated within the same millisecond gets
// a distinct suffix from the caller's request id.
func (t *Table) Audit(ctx context.Context, e AuditEntry) error {
	if e.RequestID == "" {
		e.RequestID = NewID()
	}
	item, err := attributevalue.MarshalMap(e)
	if err != nil {
		return fmt.Errorf("marshal audit entry: %w", err)
	}
	item[attrPK] = &types.AttributeValueMemberS{Value: AuditPK(e.CustomerID)}
	item[attrSK] = &types.AttributeValueMemberS{Value: AuditSK(e.At, e.RequestID+"#"+e.Action+"#"+NewID()[:6])}
	item["type"] = &types.AttributeValueMemberS{Value: typeAudit}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:    aws.String("attribute_not_exists(PK)"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// AuditLog returns a page of a customer's audit entries, newest first.
func (t *Table) AuditLog(ctx context.Context, customerID string, limit int32, cursor string) ([]AuditEntry, string, error) {
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	pk := AuditPK(customerID)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build audit query: %w", err)
	}
	items, next, err := t.queryPage(ctx, &dynamodb.QueryInput{
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(limit),
	}, cursor, attrPK, pk)
	if err != nil {
		return nil, "", fmt.Errorf("query audit log: %w", err)
	}
	var es []AuditEntry
	if err := attributevalue.UnmarshalListOfMaps(items, &es); err != nil {
		return nil, "", fmt.Errorf("decode audit log: %w", err)
	}
	return es, next, nil
}

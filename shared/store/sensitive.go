package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/seal"
)

type sensitiveItem struct {
	Envelope  seal.Envelope `dynamodbav:"envelope"`
	UpdatedAt time.Time     `dynamodbav:"updatedAt"`
}

// GetSensitive returns the sealed section; found=false when none was ever written.
func (t *Table) GetSensitive(ctx context.Context, customerID string) (seal.Envelope, bool, error) {
	raw, err := t.getItem(ctx, SensitiveKey(customerID))
	if err != nil {
		return seal.Envelope{}, false, fmt.Errorf("get sensitive section of %s: %w", customerID, err)
	}
	if raw == nil {
		return seal.Envelope{}, false, nil
	}
	var it sensitiveItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return seal.Envelope{}, false, fmt.Errorf("decode sensitive section of %s: %w", customerID, err)
	}
	return it.Envelope, true, nil
}

// putSensitive is the write of a sealed section, to go in the same transaction as the
// profile update (saveProfile's extra items) so the two never disagree.
func (t *Table) putSensitive(customerID string, env seal.Envelope, at time.Time) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(sensitiveItem{Envelope: env, UpdatedAt: at})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal sensitive section: %w", err)
	}
	k := SensitiveKey(customerID)
	item[attrPK] = &types.AttributeValueMemberS{Value: k.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: k.SK}
	item["type"] = &types.AttributeValueMemberS{Value: typeSensitive}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.Name), Item: item}}, nil
}

// deleteSensitive is the removal of the section, for an edit that clears it and for
// erasure.
func (t *Table) deleteSensitive(customerID string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(t.Name), Key: SensitiveKey(customerID).av()}}
}

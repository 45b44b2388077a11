package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/seal"
)

// SensitiveKey is the item of a customer's sealed clinical section. It lives apart from
// the profile so that no profile read, list or index ever carries it, even encrypted.
func SensitiveKey(customerID string) Key { return Key{CustomerPK(customerID), "SENSITIVE"} }

type sensitiveItem struct {
	Envelope  seal.Envelope `dynamodbav:"envelope"`
	UpdatedAt time.Time     `dynamodbav:"updatedAt"`
}

// GetSensitive returns the sealed section; found=false when none was ever written.
func (t *Table) GetSensitive(ctx context.Context, customerID string) (seal.Envelope, bool, error) {
	out, err := t.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: keyAV(SensitiveKey(customerID)), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return seal.Envelope{}, false, fmt.Errorf("get sensitive section of %s: %w", customerID, err)
	}
	t.Units.AddOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return seal.Envelope{}, false, nil
	}
	var it sensitiveItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return seal.Envelope{}, false, fmt.Errorf("decode sensitive section of %s: %w", customerID, err)
	}
	return it.Envelope, true, nil
}

// PutSensitiveItem is the write of a sealed section, to go in the same transaction as the
// profile update (SaveProfile's extra items) so the two never disagree.
func (t *Table) PutSensitiveItem(customerID string, env seal.Envelope, at time.Time) (types.TransactWriteItem, error) {
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

// DeleteSensitiveItem is the removal of the section, for an edit that clears it.
func (t *Table) DeleteSensitiveItem(customerID string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(t.Name), Key: keyAV(SensitiveKey(customerID))}}
}

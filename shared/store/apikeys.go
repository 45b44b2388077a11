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

	"github.com/tierflow/tierflow/shared/apikey"
)

// API keys (shared/apikey) are two items: the key itself in the APIKEYS partition (what
// admins list, rotate and revoke) and its lookup item under the secret's hash (the one
// item the authorizer reads per key and cache period, 0.5 RRU). Revoking deletes both;
// rotating swaps the lookup item in the same transaction, so the old secret stops
// working the moment the new one starts.

// ErrNoAPIKey: no key has that id (or it was revoked).
var ErrNoAPIKey = errors.New("store: no such API key")

// apiKeyItem is the stored key; the expiry is not the table's TTL attribute (expiresAt):
// an expired key stays listed until an admin deletes it.
type apiKeyItem struct {
	ID            string     `dynamodbav:"id"`
	Name          string     `dynamodbav:"name"`
	Stores        []string   `dynamodbav:"stores"`
	Permissions   []string   `dynamodbav:"permissions"`
	RatePerMinute int        `dynamodbav:"ratePerMinute"`
	CreatedBy     string     `dynamodbav:"createdBy,omitempty"`
	CreatedAt     time.Time  `dynamodbav:"createdAt"`
	KeyExpires    *time.Time `dynamodbav:"keyExpiresAt,omitempty"`
	RotatedAt     *time.Time `dynamodbav:"rotatedAt,omitempty"`
	LastUsedAt    *time.Time `dynamodbav:"lastUsedAt,omitempty"`
	Hint          string     `dynamodbav:"hint"`
	Hash          string     `dynamodbav:"secretHash"`
}

func apiKeyItemOf(k apikey.Key, hash string) apiKeyItem {
	perms := make([]string, len(k.Permissions))
	for i, p := range k.Permissions {
		perms[i] = string(p)
	}
	return apiKeyItem{ID: k.ID, Name: k.Name, Stores: k.Stores, Permissions: perms, RatePerMinute: k.RatePerMinute,
		CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, KeyExpires: k.ExpiresAt, RotatedAt: k.RotatedAt,
		LastUsedAt: k.LastUsedAt, Hint: k.Hint, Hash: hash}
}

func (it apiKeyItem) key() apikey.Key {
	perms := make([]apikey.Permission, len(it.Permissions))
	for i, p := range it.Permissions {
		perms[i] = apikey.Permission(p)
	}
	return apikey.Key{ID: it.ID, Name: it.Name, Stores: it.Stores, Permissions: perms, RatePerMinute: it.RatePerMinute,
		CreatedBy: it.CreatedBy, CreatedAt: it.CreatedAt, ExpiresAt: it.KeyExpires, RotatedAt: it.RotatedAt,
		LastUsedAt: it.LastUsedAt, Hint: it.Hint}
}

func (t *Table) apiKeyPuts(it apiKeyItem) ([]types.TransactWriteItem, error) {
	meta, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal API key: %w", err)
	}
	APIKeyKey(it.ID).put(meta)
	meta["type"] = &types.AttributeValueMemberS{Value: typeAPIKey}
	lookup, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal API key: %w", err)
	}
	delete(lookup, "lastUsedAt")
	APIKeyHashKey(it.Hash).put(lookup)
	lookup["type"] = &types.AttributeValueMemberS{Value: typeUnique}
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(t.Name), Item: meta, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(t.Name), Item: lookup, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}, nil
}

// CreateAPIKey stores a new key (k.ID set) with the hash of its secret.
func (t *Table) CreateAPIKey(ctx context.Context, k apikey.Key, s apikey.Secret) error {
	k.Hint = s.Hint
	puts, err := t.apiKeyPuts(apiKeyItemOf(k, s.Hash))
	if err != nil {
		return err
	}
	if err := t.transact(ctx, puts); err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	return nil
}

// APIKeys lists every key, oldest id first.
func (t *Table) APIKeys(ctx context.Context) ([]apikey.Key, error) {
	items, err := t.query(ctx, apiKeysPK, "KEY#")
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	out := make([]apikey.Key, 0, len(items))
	for _, av := range items {
		var it apiKeyItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("read API key: %w", err)
		}
		out = append(out, it.key())
	}
	return out, nil
}

// APIKey reads one key; ErrNoAPIKey when there is none.
func (t *Table) APIKey(ctx context.Context, id string) (apikey.Key, error) {
	it, err := t.apiKeyItem(ctx, id)
	return it.key(), err
}

func (t *Table) apiKeyItem(ctx context.Context, id string) (apiKeyItem, error) {
	av, err := t.getItem(ctx, APIKeyKey(id))
	if err != nil {
		return apiKeyItem{}, fmt.Errorf("read API key: %w", err)
	}
	if av == nil {
		return apiKeyItem{}, ErrNoAPIKey
	}
	var it apiKeyItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return apiKeyItem{}, fmt.Errorf("read API key: %w", err)
	}
	return it, nil
}

// RevokeAPIKey deletes a key and its lookup item: its secret finds nothing from now on
// (API Gateway's cached answer for it lasts at most the authorizer's TTL).
func (t *Table) RevokeAPIKey(ctx context.Context, id string) error {
	it, err := t.apiKeyItem(ctx, id)
	if err != nil {
		return err
	}
	err = t.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(t.Name), Key: APIKeyKey(id).av(),
			ConditionExpression:       aws.String("secretHash = :h"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: it.Hash}}}},
		{Delete: &types.Delete{TableName: aws.String(t.Name), Key: APIKeyHashKey(it.Hash).av()}},
	})
	if cancelReasons(err) != nil {
		return ErrNoAPIKey // revoked or rotated meanwhile: the caller reads it again
	}
	if err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	return nil
}

// RotateAPIKey gives key id a new secret: the old one stops working in the same
// transaction. It returns the key as stored.
func (t *Table) RotateAPIKey(ctx context.Context, id string, s apikey.Secret, now time.Time) (apikey.Key, error) {
	it, err := t.apiKeyItem(ctx, id)
	if err != nil {
		return apikey.Key{}, err
	}
	old := it.Hash
	at := now.UTC()
	it.Hash, it.Hint, it.RotatedAt = s.Hash, s.Hint, &at
	puts, err := t.apiKeyPuts(it)
	if err != nil {
		return apikey.Key{}, err
	}
	puts[0].Put.ConditionExpression = aws.String("secretHash = :h")
	puts[0].Put.ExpressionAttributeValues = map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: old}}
	items := append(puts, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(t.Name), Key: APIKeyHashKey(old).av()}})
	err = t.transact(ctx, items)
	if cancelReasons(err) != nil {
		return apikey.Key{}, ErrNoAPIKey
	}
	if err != nil {
		return apikey.Key{}, fmt.Errorf("rotate API key: %w", err)
	}
	return it.key(), nil
}

// APIKeyBySecretHash finds the key a secret's hash belongs to: one eventually consistent
// GetItem (0.5 RRU). found=false for a revoked, rotated-away or unknown secret.
func (t *Table) APIKeyBySecretHash(ctx context.Context, hash string) (apikey.Key, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: APIKeyHashKey(hash).av(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return apikey.Key{}, false, fmt.Errorf("look up API key: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return apikey.Key{}, false, nil
	}
	var it apiKeyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return apikey.Key{}, false, fmt.Errorf("read API key: %w", err)
	}
	return it.key(), true, nil
}

// TouchAPIKey records that key id was used at now (1 WRU; the authorizer calls it at
// most once a minute per key). A revoked key is not brought back.
func (t *Table) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	v, err := attributevalue.Marshal(now.UTC())
	if err != nil {
		return err
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: APIKeyKey(id).av(),
		UpdateExpression:          aws.String("SET lastUsedAt = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": v},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		t.Units.add(true)
		return nil
	}
	if err != nil {
		return fmt.Errorf("touch API key: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

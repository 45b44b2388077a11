package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// RateLimit is a fixed-window counter: at most Limit hits per Window per subject.
type RateLimit struct {
	Scope  string // "lead-ip", "lead-phone"
	Limit  int64
	Window time.Duration
}

// Allow counts one hit for subject in the window containing now. It answers false with
// the time until the window ends once the limit is reached; the counter is one UpdateItem
// (ADD, conditioned on staying within the limit) and expires through TTL.
func (t *Table) Allow(ctx context.Context, rl RateLimit, subject string, now time.Time) (bool, time.Duration, error) {
	if rl.Limit <= 0 || rl.Window <= 0 {
		return true, 0, nil
	}
	start := now.Truncate(rl.Window)
	end := start.Add(rl.Window)
	u := expression.Add(expression.Name("hits"), expression.Value(1)).
		Set(expression.Name(attrTTL), expression.Value(end.Add(time.Minute).Unix()))
	cond := expression.AttributeNotExists(expression.Name("hits")).
		Or(expression.Name("hits").LessThan(expression.Value(rl.Limit)))
	expr, err := expression.NewBuilder().WithUpdate(u).WithCondition(cond).Build()
	if err != nil {
		return false, 0, fmt.Errorf("build rate limit update: %w", err)
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: RateKey(rl.Scope, subject, start).av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		t.Units.add(true)
		return false, end.Sub(now), nil
	case err != nil:
		return false, 0, fmt.Errorf("rate limit %s: %w", rl.Scope, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return true, 0, nil
}

// Exhausted reports, without counting a hit, whether subject has used up the window
// containing now, and how long until it ends: a caller that must stop answering once the
// limit is reached (not only when it counts) asks this first.
func (t *Table) Exhausted(ctx context.Context, rl RateLimit, subject string, now time.Time) (bool, time.Duration, error) {
	if rl.Limit <= 0 || rl.Window <= 0 {
		return false, 0, nil
	}
	start := now.Truncate(rl.Window)
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: RateKey(rl.Scope, subject, start).av(),
		ProjectionExpression: aws.String("hits"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", rl.Scope, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	var c struct {
		Hits int64 `dynamodbav:"hits"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", rl.Scope, err)
	}
	if c.Hits < rl.Limit {
		return false, 0, nil
	}
	return true, start.Add(rl.Window).Sub(now), nil
}

// StoredResponse is what an idempotency key replays.
type StoredResponse struct {
	Status  int               `dynamodbav:"status"`
	Headers map[string]string `dynamodbav:"headers,omitempty"`
	Body    string            `dynamodbav:"body"`
}

// Idempotency errors.
var (
	// ErrInProgress: a request with this key is being processed right now.
	ErrInProgress = errors.New("store: a request with this idempotency key is in progress")
	// ErrKeyReused: the key was used before with another request body.
	ErrKeyReused = errors.New("store: idempotency key reused with a different request")
)

// IdempotencyTTL is how long a stored response is replayed.
const IdempotencyTTL = 24 * time.Hour

// idemPending is how long a claim without a response blocks retries: longer than any
// request takes, short enough that a crashed attempt does not block its retry for long.
const idemPending = 2 * time.Minute

type idemItem struct {
	Fingerprint string          `dynamodbav:"fingerprint"`
	State       string          `dynamodbav:"state"`
	ClaimedAt   int64           `dynamodbav:"claimedAt"`
	Response    *StoredResponse `dynamodbav:"response,omitempty"`
}

// BeginIdempotent claims key for a request whose body hashes to fingerprint. It returns
// the stored response when the request was answered before (replay it), nil when the
// caller now owns the key (process, then FinishIdempotent or AbandonIdempotent),
// ErrInProgress while another attempt holds it and ErrKeyReused for a different body.
func (t *Table) BeginIdempotent(ctx context.Context, scope, key, fingerprint string, now time.Time) (*StoredResponse, error) {
	k := IdempotencyKey(scope, key)
	item, err := attributevalue.MarshalMap(idemItem{Fingerprint: fingerprint, State: "pending", ClaimedAt: now.Unix()})
	if err != nil {
		return nil, fmt.Errorf("marshal idempotency key: %w", err)
	}
	item[attrPK] = &types.AttributeValueMemberS{Value: k.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: k.SK}
	item[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(IdempotencyTTL).Unix(), 10)}
	// A pending claim older than idemPending was left by an attempt that died; take it over.
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(PK) OR (#s = :pending AND claimedAt < :stale AND fingerprint = :fp)"),
		ExpressionAttributeNames: map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": &types.AttributeValueMemberS{Value: "pending"},
			":stale":   &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(-idemPending).Unix(), 10)},
			":fp":      &types.AttributeValueMemberS{Value: fingerprint},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		t.Units.addOne(true, out.ConsumedCapacity)
		return nil, nil
	case !errors.As(err, &ccf):
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	t.Units.add(true)
	var old idemItem
	if err := attributevalue.UnmarshalMap(ccf.Item, &old); err != nil {
		return nil, fmt.Errorf("decode idempotency key: %w", err)
	}
	switch {
	case old.Fingerprint != fingerprint:
		return nil, ErrKeyReused
	case old.State == "done" && old.Response != nil:
		return old.Response, nil
	}
	return nil, ErrInProgress
}

// FinishIdempotent stores the response a retry with the same key will get.
func (t *Table) FinishIdempotent(ctx context.Context, scope, key string, resp StoredResponse) error {
	av, err := attributevalue.Marshal(resp)
	if err != nil {
		return fmt.Errorf("marshal stored response: %w", err)
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: IdempotencyKey(scope, key).av(),
		UpdateExpression:          aws.String("SET #s = :done, #r = :resp"),
		ExpressionAttributeNames:  map[string]string{"#s": "state", "#r": "response"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": &types.AttributeValueMemberS{Value: "done"}, ":resp": av},
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// AbandonIdempotent releases a claim whose request failed, so its retry runs afresh.
func (t *Table) AbandonIdempotent(ctx context.Context, scope, key string) error {
	out, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.Name), Key: IdempotencyKey(scope, key).av(),
		ConditionExpression:       aws.String("#s = :pending"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": &types.AttributeValueMemberS{Value: "pending"}},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	if out != nil {
		t.Units.addOne(true, out.ConsumedCapacity)
	}
	return nil
}

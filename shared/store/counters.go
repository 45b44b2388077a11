package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Counters are atomic counters (app.Counters): frequency-cap windows, round-robin
// assignment and the calendar's day marker.
type Counters struct{ t *Table }

// NewCounters returns the counter adapter over t.
func NewCounters(t *Table) *Counters { return &Counters{t: t} }

// Add implements app.Counters: UpdateItem ADD under a condition that keeps the result
// within limit, with a TTL so cap windows clean themselves up.
func (c *Counters) Add(ctx context.Context, key string, delta, limit int64, expires time.Time) (bool, int64, error) {
	if limit >= 0 && delta > limit {
		return false, 0, nil
	}
	ub := expression.Add(expression.Name("n"), expression.Value(delta)).Set(expression.Name("type"), expression.Value(typeCounter))
	if !expires.IsZero() {
		ub = ub.Set(expression.Name(attrTTL), expression.Value(expires.Unix()))
	}
	b := expression.NewBuilder().WithUpdate(ub)
	if limit >= 0 {
		b = b.WithCondition(expression.AttributeNotExists(expression.Name("n")).
			Or(expression.Name("n").LessThanEqual(expression.Value(limit - delta))))
	}
	ex, err := b.Build()
	if err != nil {
		return false, 0, fmt.Errorf("counter %s: %w", key, err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: CounterKey(key).av(),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	}
	if limit >= 0 {
		in.ConditionExpression = ex.Condition()
	}
	out, err := c.t.db.UpdateItem(ctx, in)
	if err != nil {
		c.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return false, counterValue(ccf.Item), nil
		}
		return false, 0, fmt.Errorf("counter %s: %w", key, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return true, counterValue(out.Attributes), nil
}

func counterValue(item map[string]types.AttributeValue) int64 {
	if n, ok := item["n"].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return v
	}
	return 0
}

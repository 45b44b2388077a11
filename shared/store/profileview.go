package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
)

// ProfileView is the stored profile with its tier, prediction and aggregates; the type
// lives in shared/customer so that shared/access can read it without this adapter.
type ProfileView = customer.View

// GetProfileView reads the profile item once; ErrNotFound if absent.
func (t *Table) GetProfileView(ctx context.Context, id string) (ProfileView, error) {
	p, v, item, err := t.getProfileItem(ctx, id)
	if err != nil {
		return ProfileView{}, err
	}
	view := ProfileView{Profile: p, Version: v}
	var extras struct {
		Assignment map[string]any `dynamodbav:"assignment"`
		CLV        map[string]any `dynamodbav:"clv"`
		Aggregates map[string]any `dynamodbav:"aggregates"`
		OptOut     bool           `dynamodbav:"marketingOptOut"`
	}
	if err := attributevalue.UnmarshalMap(item, &extras); err != nil {
		return view, fmt.Errorf("decode profile %s: %w", id, err)
	}
	view.Assignment, view.CLV, view.Aggregates = extras.Assignment, extras.CLV, extras.Aggregates
	view.MarketingOptOut = extras.OptOut
	return view, nil
}

// RemindersByID reads reminders in consistent batch reads of up to 100 keys, retrying
// what DynamoDB leaves unprocessed; ids that do not exist are skipped.
func (t *Table) RemindersByID(ctx context.Context, ids []string) ([]followup.Reminder, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, ReminderKey(id).av())
	}
	var out []followup.Reminder
	for len(keys) > 0 {
		n := min(len(keys), 100)
		req := map[string]types.KeysAndAttributes{t.Name: {Keys: keys[:n], ConsistentRead: aws.Bool(true)}}
		keys = keys[n:]
		for attempt := 0; len(req) > 0 && len(req[t.Name].Keys) > 0; attempt++ {
			res, err := t.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				return nil, fmt.Errorf("read reminders: %w", err)
			}
			t.Units.Add(false, res.ConsumedCapacity...)
			for _, it := range res.Responses[t.Name] {
				r, err := decodeReminder(it)
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
			req = res.UnprocessedKeys
			if len(req) > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/customer"
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
	if av, ok := item["clv"]; ok && view.CLV != nil {
		var pred clv.ProfileCLV
		if err := attributevalue.Unmarshal(av, &pred); err != nil {
			return view, fmt.Errorf("decode prediction of %s: %w", id, err)
		}
		view.CLV["explanation"] = pred.Explain()
		delete(view.CLV, "storeModel")
	}
	view.MarketingOptOut = extras.OptOut
	if view.Deliverability, err = deliverability(item); err != nil {
		return view, fmt.Errorf("decode profile %s: %w", id, err)
	}
	return view, nil
}

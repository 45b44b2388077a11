package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/tiering"
)

// Read methods behind the reports of issue #12 that are not a run's summary (runs.go,
// runstores.go): old policy versions for the policy editor.

// PolicyAt reads one stored version of the tier policy; found=false when that version
// was never stored (the embedded default, version 1, is not an item).
func (t *Table) PolicyAt(ctx context.Context, version int) (PolicyVersion, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: PolicyVersionKey(PolicyKindTiering, version).av(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return PolicyVersion{}, false, fmt.Errorf("read policy v%d: %w", version, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return PolicyVersion{}, false, nil
	}
	v, err := decodePolicyVersion(out.Item, true)
	if err != nil {
		return PolicyVersion{}, false, fmt.Errorf("read policy v%d: %w", version, err)
	}
	return v, true, nil
}

// PolicyVersions lists the stored versions without their documents, newest first.
func (t *Table) PolicyVersions(ctx context.Context) ([]PolicyVersion, error) {
	var out []PolicyVersion
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                aws.String(t.Name),
		KeyConditionExpression:   aws.String("PK = :pk AND begins_with(SK, :v)"),
		ProjectionExpression:     aws.String("version, #at, #by"),
		ExpressionAttributeNames: map[string]string{"#at": "at", "#by": "by"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: PolicyCurrentKey(PolicyKindTiering).PK},
			":v":  &types.AttributeValueMemberS{Value: versionPrefix},
		},
		ScanIndexForward:       aws.Bool(false),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("policy versions: %w", err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		for _, it := range page.Items {
			v, err := decodePolicyVersion(it, false)
			if err != nil {
				return nil, fmt.Errorf("policy versions: %w", err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func decodePolicyVersion(it map[string]types.AttributeValue, withDoc bool) (PolicyVersion, error) {
	var v PolicyVersion
	if n, ok := it["version"].(*types.AttributeValueMemberN); ok {
		v.Version, _ = strconv.Atoi(n.Value)
	}
	if withDoc {
		s, ok := it["doc"].(*types.AttributeValueMemberS)
		if !ok {
			return v, fmt.Errorf("version %d has no document", v.Version)
		}
		pol, err := tiering.ParsePolicy([]byte(s.Value))
		if err != nil {
			return v, fmt.Errorf("version %d: %w", v.Version, err)
		}
		v.Policy, v.Version = pol, pol.Version
	}
	if s, ok := it["at"].(*types.AttributeValueMemberS); ok {
		at, err := time.Parse(time.RFC3339Nano, s.Value)
		if err != nil {
			return v, fmt.Errorf("version %d: time: %w", v.Version, err)
		}
		v.At = at
	}
	if s, ok := it["by"].(*types.AttributeValueMemberS); ok {
		v.By = s.Value
	}
	return v, nil
}

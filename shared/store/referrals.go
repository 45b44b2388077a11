package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// ReferralRow is one referee's line of the referral ledger (MISSION.md "Referrals"):
// their lifetime net spend, the reward it has earned the referrer and the rate of the
// band the spend is in (basis points, 500–1500). Ingest keeps it, exactly once with the
// spend; a refund takes its share back.
type ReferralRow struct {
	Store      string      `dynamodbav:"store"`
	ReferrerID string      `dynamodbav:"referrerId"`
	RefereeID  string      `dynamodbav:"refereeId"`
	Spend      model.Money `dynamodbav:"spend"`
	Reward     model.Money `dynamodbav:"reward"`
	RateBps    int         `dynamodbav:"rateBps"`
}

// PutReferral writes a referee's ledger line unless a later profile version's is there
// (tiering/app.Ledger). One write unit, for a referred customer's transactions only.
func (t *Table) PutReferral(ctx context.Context, e app.ReferralEntry) error {
	item, err := attributevalue.MarshalMap(ReferralRow{Store: e.Store, ReferrerID: e.ReferrerID, RefereeID: e.RefereeID,
		Spend: e.Spend, Reward: e.Reward, RateBps: e.RateBps})
	if err != nil {
		return fmt.Errorf("marshal referral line: %w", err)
	}
	ReferralLineKey(e.Store, e.ReferrerID, e.RefereeID).put(item)
	item["version"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Version, 10)}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR version < :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": item["version"]},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		t.Units.add(true)
		return nil // this version's line or a later one is there
	case err != nil:
		return fmt.Errorf("put referral line: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// Referrals lists the referral ledger of one store ("" for every store), ordered by
// store, referrer and referee: one Query of the ledger's partition (reports).
func (t *Table) Referrals(ctx context.Context, store string) ([]ReferralRow, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: referralPK}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if store != "" {
		in.KeyConditionExpression = aws.String("PK = :pk AND begins_with(SK, :st)")
		in.ExpressionAttributeValues[":st"] = &types.AttributeValueMemberS{Value: store + "#"}
	}
	var out []ReferralRow
	p := dynamodb.NewQueryPaginator(t.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list referrals: %w", err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		var rows []ReferralRow
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &rows); err != nil {
			return nil, fmt.Errorf("decode referrals: %w", err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// A table written before layout 2 keeps its customers: the migration moves each profile
// from its customer's partition (on the tier index GSI2) to its shard (on the store index
// GSI4), after which the profile reads, lists and counts as one written today; a second
// migration moves nothing.
func TestLayoutOneProfilesMoveToTheirShards(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	db := storetest.Emulators(t).DynamoDBClient()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	id := "legacy" + storetest.Suffix()
	legacy := map[string]types.AttributeValue{
		"PK": s("CUST#" + id), "SK": s("PROFILE"), "id": s(id), "type": s("customer"), "name": s("Wang Fang"),
		"store": s("sh-01"), "tier": s("A"), "stage": s("active"), "version": &types.AttributeValueMemberN{Value: "7"},
		"GSI2PK": s("STORE#sh-01"), "GSI2SK": s("TIER#A#active#" + id),
		"createdAt": s("2024-01-02T03:04:05Z"), "updatedAt": s("2024-01-02T03:04:05Z"),
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl.Name), Item: legacy}); err != nil {
		t.Fatal(err)
	}
	if v, err := tbl.Layout(ctx); err != nil || v != 1 {
		t.Fatalf("layout of an unmigrated table: %d, %v; want 1", v, err)
	}
	moved, err := tbl.MigrateProfiles(ctx, time.Now())
	if err != nil || moved != 1 {
		t.Fatalf("migrate: moved %d, %v; want 1", moved, err)
	}
	p, version, err := tbl.GetProfile(ctx, id)
	if err != nil || p.Name != "Wang Fang" || p.Tier != "A" || version != 7 {
		t.Fatalf("after the move: %+v v%d %v", p, version, err)
	}
	list, _, err := tbl.ListCustomers(ctx, store.ListQuery{Store: "sh-01", Tier: "A"})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("the store's A list after the move: %v %v", list, err)
	}
	old, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl.Name), Key: map[string]types.AttributeValue{"PK": s("CUST#" + id), "SK": s("PROFILE")}})
	if err != nil || old.Item != nil {
		t.Fatalf("the layout-1 item is still there: %v %v", old.Item, err)
	}
	item, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl.Name), Key: map[string]types.AttributeValue{
		"PK": s(store.CustomerKey(id).PK), "SK": s(store.CustomerKey(id).SK)}})
	if err != nil || item.Item["GSI2PK"] != nil || item.Item["GSI2SK"] != nil {
		t.Fatalf("the moved profile still carries the tier index's keys: %v %v", item.Item, err)
	}
	if v, err := tbl.Layout(ctx); err != nil || v != store.LayoutVersion {
		t.Fatalf("layout after the migration: %d, %v", v, err)
	}
	if moved, err := tbl.MigrateProfiles(ctx, time.Now()); err != nil || moved != 0 {
		t.Fatalf("a second migration moved %d, %v; want 0", moved, err)
	}
}

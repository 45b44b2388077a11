package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// LayoutVersion is the item layout this package reads and writes. Version 2 (issue #13)
// moved every profile from its customer's partition (CUST#<id> / PROFILE, on GSI2 by
// tier) into the sharded profile partitions (CustomerKey, on GSI4 by store); a table
// written before it is moved once by MigrateProfiles (docs/data-model.md, "Layout").
const LayoutVersion = 2

// layoutKey records the layout a table is in.
func layoutKey() Key { return Key{"META", "LAYOUT"} }

// Layout is the table's recorded layout version: 1 for a table that never recorded one.
func (t *Table) Layout(ctx context.Context) (int, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: layoutKey().av(),
		ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return 0, fmt.Errorf("read layout: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	n, ok := out.Item["version"].(*types.AttributeValueMemberN)
	if !ok {
		return 1, nil
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, fmt.Errorf("read layout: %w", err)
	}
	return v, nil
}

// legacyProfileSK is the sort key of a profile in layout 1.
const legacyProfileSK = "PROFILE"

// MigrateProfiles moves every layout-1 profile to its layout-2 key, then records layout 2:
// one parallel scan of the table, a conditional put of the new item (a profile already at
// its new key is kept) and a delete of the old one, conditioned on the version it was
// copied at. Running it again moves nothing. moved counts the profiles moved.
func (t *Table) MigrateProfiles(ctx context.Context, now time.Time) (moved int, err error) {
	const segments = 4
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, segments)
	for seg := range segments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := t.migrateSegment(ctx, seg, segments)
			mu.Lock()
			moved += n
			mu.Unlock()
			errs[seg] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return moved, fmt.Errorf("migrate profiles: %w", err)
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: layoutKey().PK}, attrSK: &types.AttributeValueMemberS{Value: layoutKey().SK},
		"version":    &types.AttributeValueMemberN{Value: strconv.Itoa(LayoutVersion)},
		"migratedAt": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339)},
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return moved, fmt.Errorf("record layout: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return moved, nil
}

func (t *Table) migrateSegment(ctx context.Context, seg, total int) (int, error) {
	p := dynamodb.NewScanPaginator(t.db, &dynamodb.ScanInput{
		TableName: aws.String(t.Name), Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(int32(total)),
		FilterExpression: aws.String("SK = :p AND begins_with(PK, :c)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": &types.AttributeValueMemberS{Value: legacyProfileSK}, ":c": &types.AttributeValueMemberS{Value: CustomerPK("")}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	moved := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return moved, fmt.Errorf("scan segment %d: %w", seg, err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		for _, old := range page.Items {
			if err := t.migrateOne(ctx, old); err != nil {
				return moved, err
			}
			moved++
		}
	}
	return moved, nil
}

// migrateOne moves one layout-1 profile item.
func (t *Table) migrateOne(ctx context.Context, old map[string]types.AttributeValue) error {
	id, _ := old["id"].(*types.AttributeValueMemberS)
	if id == nil || id.Value == "" {
		return fmt.Errorf("a layout-1 profile without its id: %v", old[attrPK])
	}
	item := make(map[string]types.AttributeValue, len(old))
	for k, v := range old {
		item[k] = v
	}
	delete(item, attrGSI2PK)
	delete(item, attrGSI2SK)
	CustomerKey(id.Value).put(item)
	if st, ok := old["store"].(*types.AttributeValueMemberS); ok && st.Value != "" {
		item[attrGSI4PK] = &types.AttributeValueMemberS{Value: StorePK(st.Value)}
		item[attrGSI4SK] = &types.AttributeValueMemberS{Value: StoreCustomerSK(id.Value)}
	}
	if _, ok := item["type"]; !ok {
		item["type"] = &types.AttributeValueMemberS{Value: typeCustomer}
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		t.Units.add(true) // moved before: the item at the new key is the newer one
	case err != nil:
		return fmt.Errorf("move profile %s: %w", id.Value, err)
	default:
		t.Units.addOne(true, out.ConsumedCapacity)
	}
	del := &dynamodb.DeleteItemInput{TableName: aws.String(t.Name),
		Key: Key{CustomerPK(id.Value), legacyProfileSK}.av(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	if v, ok := old["version"]; ok {
		del.ConditionExpression = aws.String("version = :v")
		del.ExpressionAttributeValues = map[string]types.AttributeValue{":v": v}
	}
	dout, err := t.db.DeleteItem(ctx, del)
	switch {
	case errors.As(err, &ccf):
		t.Units.add(true)
		return fmt.Errorf("move profile %s: it changed while it was moved; run the migration again", id.Value)
	case err != nil:
		return fmt.Errorf("delete layout-1 profile %s: %w", id.Value, err)
	}
	t.Units.addOne(true, dout.ConsumedCapacity)
	return nil
}

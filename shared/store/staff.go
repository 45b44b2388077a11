package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
)

// Staff directory: one item per staff member and role in a store, PK=STAFF#<store>,
// SK=<role>#<sub>. The API registers whoever calls it (RegisterStaff), so the round-robin
// of new tasks reaches the people who actually use tierflow; operators can seed it too.
const typeStaff = "staff"

// StaffKey is one staff member's directory item.
func StaffKey(store string, role model.Role, sub string) Key {
	return Key{"STAFF#" + store, string(role) + "#" + sub}
}

// staffRefresh bounds directory writes: a warm API function writes a member at most once
// per interval, so a busy agent costs one write unit an hour, not one per request.
const staffRefresh = time.Hour

// RegisterStaff upserts a staff member (lastSeen). Cheap to call on every request.
func (f *Followup) RegisterStaff(ctx context.Context, store string, role model.Role, sub string) error {
	if store == "" || sub == "" || !role.Valid() {
		return nil
	}
	now := f.opts.Now()
	k := StaffKey(store, role, sub)
	f.mu.Lock()
	last, ok := f.staffSeen[k.PK+k.SK]
	f.mu.Unlock()
	if ok && now.Sub(last) < staffRefresh {
		return nil
	}
	upd := expression.Set(expression.Name("lastSeen"), expression.Value(now.UTC().Format(time.RFC3339))).
		Set(expression.Name("type"), expression.Value(typeStaff)).
		Set(expression.Name("store"), expression.Value(store)).
		Set(expression.Name("role"), expression.Value(string(role))).
		Set(expression.Name("sub"), expression.Value(sub))
	ex, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("register staff: %w", err)
	}
	out, err := f.t.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(f.t.Name), Key: k.av(), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("register staff: %w", err)
	}
	f.t.Units.AddOne(true, out.ConsumedCapacity)
	f.mu.Lock()
	if len(f.staffSeen) > 10000 {
		clear(f.staffSeen)
	}
	f.staffSeen[k.PK+k.SK] = now
	f.mu.Unlock()
	return nil
}

// Members implements app.Staff: the store's members with the role, ordered by id.
func (f *Followup) Members(ctx context.Context, store string, role model.Role) ([]string, error) {
	if store == "" {
		return nil, nil
	}
	items, err := f.t.QueryPartition(ctx, "STAFF#"+store, string(role)+"#")
	if err != nil {
		return nil, fmt.Errorf("staff of %s: %w", store, err)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it[attrSK].(*types.AttributeValueMemberS); ok {
			out = append(out, strings.TrimPrefix(s.Value, string(role)+"#"))
		}
	}
	return out, nil
}

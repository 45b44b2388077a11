package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
)

// StaffDirectory lists who can take a task (app.Staff): one item per staff member and
// role in a store. The API registers whoever calls it (Register), so the round-robin of
// new tasks reaches the people who actually use tierflow; operators can seed it too.
type StaffDirectory struct {
	t   *Table
	now func() time.Time

	mu   sync.Mutex
	seen map[Key]time.Time // member → last registration written by this process
}

// NewStaffDirectory returns the directory over t; now stamps registrations (nil: time.Now).
func NewStaffDirectory(t *Table, now func() time.Time) *StaffDirectory {
	return &StaffDirectory{t: t, now: clock(now), seen: map[Key]time.Time{}}
}

// staffRefresh bounds directory writes: a warm API function writes a member at most once
// per interval, so a busy agent costs one write unit an hour, not one per request.
const staffRefresh = time.Hour

// Register upserts a staff member (lastSeen). Cheap to call on every request.
func (d *StaffDirectory) Register(ctx context.Context, store string, role model.Role, sub string) error {
	if store == "" || sub == "" || !role.Valid() {
		return nil
	}
	now := d.now()
	k := StaffKey(store, role, sub)
	d.mu.Lock()
	last, ok := d.seen[k]
	d.mu.Unlock()
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
	out, err := d.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.t.Name), Key: k.av(), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("register staff: %w", err)
	}
	d.t.Units.addOne(true, out.ConsumedCapacity)
	d.mu.Lock()
	if len(d.seen) > 10000 {
		clear(d.seen)
	}
	d.seen[k] = now
	d.mu.Unlock()
	return nil
}

// Members implements app.Staff: the store's members with the role, ordered by id.
func (d *StaffDirectory) Members(ctx context.Context, store string, role model.Role) ([]string, error) {
	if store == "" {
		return nil, nil
	}
	prefix := StaffKey(store, role, "").SK
	items, err := d.t.query(ctx, StaffPK(store), prefix)
	if err != nil {
		return nil, fmt.Errorf("staff of %s: %w", store, err)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if sk, ok := it[attrSK].(*types.AttributeValueMemberS); ok {
			out = append(out, strings.TrimPrefix(sk.Value, prefix))
		}
	}
	return out, nil
}

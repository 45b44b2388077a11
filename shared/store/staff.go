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

	"github.com/tierflow/tierflow/shared/access"
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

// StaffMember is one member of a store's directory.
type StaffMember struct {
	Sub  string     `json:"sub"`
	Role model.Role `json:"role"`
}

// Of lists the directory of the store st grants (shared/access), every role, in role
// then id order (one Query).
func (d *StaffDirectory) Of(ctx context.Context, st access.Store) ([]StaffMember, error) {
	store := st.ID()
	if store == "" {
		return nil, nil
	}
	items, err := d.t.query(ctx, StaffPK(store), "")
	if err != nil {
		return nil, fmt.Errorf("staff of %s: %w", store, err)
	}
	out := make([]StaffMember, 0, len(items))
	for _, it := range items {
		if sk, ok := it[attrSK].(*types.AttributeValueMemberS); ok {
			role, sub, found := strings.Cut(sk.Value, "#")
			if found {
				out = append(out, StaffMember{Sub: sub, Role: model.Role(role)})
			}
		}
	}
	return out, nil
}

// TaskCustomer is the customer a task card shows, masked by the caller's role like the
// customer list (saves the app one read per card).
type TaskCustomer struct {
	Name         string      `json:"name,omitempty"`
	Tier         model.Tier  `json:"tier,omitempty"`
	Stage        model.Stage `json:"stage,omitempty"`
	Phone        string      `json:"phone,omitempty"`
	LastPurchase *time.Time  `json:"lastPurchase,omitempty"`
}

// TaskCustomers reads the customers of the tasks listed (one consistent batch read per
// 100) and returns the summary of each the list may show: a customer of a store the
// caller does not cover (moved since the task was planned) or erased is left out.
func (s *Staff) TaskCustomers(ctx context.Context, ts access.TaskScope, role model.Role, ids []string) (map[string]TaskCustomer, error) {
	out := map[string]TaskCustomer{}
	var keys []Key
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, CustomerKey(id))
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.t.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("task customers: %w", err)
	}
	for _, it := range items {
		p, _, err := decodeProfile(it)
		if err != nil {
			return nil, err
		}
		if p.Erased() || !ts.Shows(p.Store) {
			continue
		}
		sum := p.Summary(role)
		tc := TaskCustomer{Name: sum.Name, Tier: sum.Tier, Stage: sum.Stage, Phone: sum.Phone}
		if lp := lastPurchase(it); !lp.IsZero() {
			tc.LastPurchase = &lp
		}
		out[p.ID] = tc
	}
	return out, nil
}

// lastPurchase reads the profile's last purchase (aggregates.lastPurchase or
// lastPurchase), zero when it has none.
func lastPurchase(it map[string]types.AttributeValue) time.Time {
	v := it["lastPurchase"]
	if agg, ok := it["aggregates"].(*types.AttributeValueMemberM); ok && v == nil {
		v = agg.Value["lastPurchase"]
	}
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		if t, err := time.Parse(time.RFC3339Nano, s.Value); err == nil {
			return t
		}
		if t, err := time.Parse(time.DateOnly, s.Value); err == nil {
			return t
		}
	}
	return time.Time{}
}

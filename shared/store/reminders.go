package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
)

// Reminders keeps reminders and staff tasks (app.Reminders): one item per reminder under
// its own id, on the sparse due index while the sweep must look at it, tasks also on the
// store's and the assignee's lists, and a pointer in the customer's partition.
type Reminders struct{ t *Table }

// NewReminders returns the reminder adapter over t.
func NewReminders(t *Table) *Reminders { return &Reminders{t: t} }

var remEncOpts = func(o *attributevalue.EncoderOptions) { o.TagKey = "json" }
var remDecOpts = func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// reminderItem is the stored form: the domain struct (json names) plus keys.
func reminderItem(r followup.Reminder) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMapWithOptions(r, remEncOpts)
	if err != nil {
		return nil, fmt.Errorf("marshal reminder %s: %w", r.ID, err)
	}
	// Zero times, empty strings and zero numbers are dropped: they decode back to the
	// same zero values, and a smaller item costs fewer write units on every transition.
	for name, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			if v.Value == "" || v.Value == "0001-01-01T00:00:00Z" {
				delete(item, name)
			}
		case *types.AttributeValueMemberN:
			if v.Value == "0" && name != "version" {
				delete(item, name)
			}
		case *types.AttributeValueMemberNULL:
			delete(item, name)
		}
	}
	k := ReminderKey(r.ID)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	if r.Task == nil && !r.DueAt.IsZero() {
		// The due second as a number, for the claim's condition (ClaimMessage).
		item[attrDueUnix] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.DueAt.Unix(), 10)}
	}
	item[attrPK], item[attrSK], item["type"] = s(k.PK), s(k.SK), s(typeReminder)
	if !r.SweepAt.IsZero() {
		item[attrGSI1PK] = s(DuePK(DueShard(r.ID)))
		item[attrGSI1SK] = s(DueSK(r.SweepAt, r.ID))
	}
	if r.Task != nil {
		sk := TaskSK(string(r.Status), r.Task.DeadlineAt, r.ID)
		if r.Store != "" {
			item[attrGSI2PK], item[attrGSI2SK] = s(StoreTaskPK(r.Store)), s(sk)
		}
		if r.Task.Assignee != "" {
			item[attrGSI3PK], item[attrGSI3SK] = s(AssigneePK(r.Task.Assignee)), s(sk)
		}
	}
	return item, nil
}

func decodeReminder(item map[string]types.AttributeValue) (followup.Reminder, error) {
	var r followup.Reminder
	if err := attributevalue.UnmarshalMapWithOptions(item, &r, remDecOpts); err != nil {
		return r, fmt.Errorf("unmarshal reminder: %w", err)
	}
	return r, nil
}

func decodeReminders(items []map[string]types.AttributeValue) ([]followup.Reminder, error) {
	out := make([]followup.Reminder, 0, len(items))
	for _, it := range items {
		r, err := decodeReminder(it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Create implements app.Reminders: each reminder and its customer pointer in one
// transaction, the reminder conditioned on attribute_not_exists so re-planning adds nothing.
func (rs *Reminders) Create(ctx context.Context, all []followup.Reminder) ([]followup.Reminder, error) {
	var out []followup.Reminder
	for _, r := range all {
		r.Version = 1
		ok, err := rs.createOne(ctx, r)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (rs *Reminders) createOne(ctx context.Context, r followup.Reminder) (bool, error) {
	item, err := reminderItem(r)
	if err != nil {
		return false, err
	}
	idx := ReminderIndexKey(r.CustomerID, r.ID).av()
	idx["type"] = &types.AttributeValueMemberS{Value: typeReminderIndex}
	idx["reminderId"] = &types.AttributeValueMemberS{Value: r.ID}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(rs.t.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(rs.t.Name), Item: idx}},
	}
	for attempt := 1; ; attempt++ {
		err := rs.t.transact(ctx, items)
		if err == nil {
			return true, nil
		}
		if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] {
			return false, nil // exists: re-planned occurrence
		}
		if !retryable(err) || attempt >= 8 {
			return false, fmt.Errorf("create reminder %s: %w", r.ID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
	}
}

// Get implements app.Reminders (strongly consistent: the dispatcher decides on it) and
// access.Tasks.
func (rs *Reminders) Get(ctx context.Context, id string) (followup.Reminder, error) {
	if id == "" {
		return followup.Reminder{}, app.ErrNotFound
	}
	item, err := rs.t.getItem(ctx, ReminderKey(id))
	if err != nil {
		return followup.Reminder{}, fmt.Errorf("get reminder %s: %w", id, err)
	}
	if item == nil {
		return followup.Reminder{}, app.ErrNotFound
	}
	return decodeReminder(item)
}

// Update implements app.Reminders: a Put conditioned on the version read.
func (rs *Reminders) Update(ctx context.Context, r followup.Reminder) (followup.Reminder, error) {
	next := r
	next.Version = r.Version + 1
	item, err := reminderItem(next)
	if err != nil {
		return r, err
	}
	cond := expression.AttributeExists(expression.Name(attrPK)).And(expression.Name("version").Equal(expression.Value(r.Version)))
	ex, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return r, fmt.Errorf("update reminder %s: %w", r.ID, err)
	}
	out, err := rs.t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(rs.t.Name), Item: item,
		ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		rs.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if len(ccf.Item) == 0 {
				return r, app.ErrNotFound
			}
			cur, derr := decodeReminder(ccf.Item)
			if derr != nil {
				return r, app.ErrConflict
			}
			return cur, app.ErrConflict
		}
		return r, fmt.Errorf("update reminder %s: %w", r.ID, err)
	}
	rs.t.Units.addOne(true, out.ConsumedCapacity)
	return next, nil
}

// attrDueUnix is a message's DueAt in unix seconds: ClaimMessage's condition compares it.
const attrDueUnix = "dueUnix"

// ClaimMessage implements app.Claimer: one UpdateItem, conditioned on the message being
// sendable and due, sets it sending with a lease and returns it (ALL_NEW); on a lost
// condition the item as it stands comes back with the error, for free. SweepAt stays, so
// the due index is not moved (one index write for the item's new attributes, instead of
// a delete and a put).
func (rs *Reminders) ClaimMessage(ctx context.Context, id string, now time.Time, lease followup.Offset) (followup.Reminder, followup.Reminder, bool, error) {
	if id == "" {
		return followup.Reminder{}, followup.Reminder{}, false, app.ErrNotFound
	}
	st := expression.Name("status")
	cond := expression.AttributeExists(expression.Name(attrPK)).
		And(expression.AttributeNotExists(expression.Name("task"))).
		And(expression.Or(st.Equal(expression.Value(followup.StatusPending)), st.Equal(expression.Value(followup.StatusDeferred)), st.Equal(expression.Value(followup.StatusRetry)))).
		And(expression.Or(expression.AttributeNotExists(expression.Name(attrDueUnix)), expression.Name(attrDueUnix).LessThanEqual(expression.Value(now.Unix()))))
	upd := expression.Set(st, expression.Value(followup.StatusSending)).
		Set(expression.Name("leaseUntil"), expression.Value(lease.From(now))).
		Set(expression.Name("version"), expression.Name("version").Plus(expression.Value(1))).
		Add(expression.Name("attempts"), expression.Value(1))
	ex, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return followup.Reminder{}, followup.Reminder{}, false, fmt.Errorf("claim reminder %s: %w", id, err)
	}
	out, err := rs.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(rs.t.Name), Key: ReminderKey(id).av(),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		rs.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if len(ccf.Item) == 0 {
				return followup.Reminder{}, followup.Reminder{}, false, app.ErrNotFound
			}
			cur, derr := decodeReminder(ccf.Item)
			return followup.Reminder{}, cur, false, derr
		}
		return followup.Reminder{}, followup.Reminder{}, false, fmt.Errorf("claim reminder %s: %w", id, err)
	}
	rs.t.Units.addOne(true, out.ConsumedCapacity)
	claimed, err := decodeReminder(out.Attributes)
	if err != nil {
		return claimed, claimed, false, err
	}
	before := claimed
	before.Status, before.Attempts, before.LeaseUntil, before.Version = followup.StatusPending, claimed.Attempts-1, time.Time{}, claimed.Version-1
	return claimed, before, true, nil
}

// DueBefore implements app.Reminders: one Query per shard of the sparse GSI1, merged.
func (rs *Reminders) DueBefore(ctx context.Context, t time.Time, limit int) ([]followup.Reminder, error) {
	if limit <= 0 {
		return nil, nil
	}
	var all []followup.Reminder
	upper := sortTime(t) + "$" // '$' sorts right after '#': every id at exactly t is included
	for shard := 0; shard < DueShards; shard++ {
		kc := expression.Key(attrGSI1PK).Equal(expression.Value(DuePK(shard))).
			And(expression.Key(attrGSI1SK).LessThan(expression.Value(upper)))
		ex, err := expression.NewBuilder().WithKeyCondition(kc).Build()
		if err != nil {
			return nil, fmt.Errorf("due query: %w", err)
		}
		var start map[string]types.AttributeValue
		got := 0
		for got < limit {
			out, err := rs.t.db.Query(ctx, &dynamodb.QueryInput{
				TableName: aws.String(rs.t.Name), IndexName: aws.String(IndexDue),
				KeyConditionExpression: ex.KeyCondition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
				Limit: aws.Int32(int32(limit - got)), ExclusiveStartKey: start,
				ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
			})
			if err != nil {
				return nil, fmt.Errorf("due query shard %d: %w", shard, err)
			}
			rs.t.Units.addOne(false, out.ConsumedCapacity)
			due, err := decodeReminders(out.Items)
			if err != nil {
				return nil, err
			}
			all, got = append(all, due...), got+len(due)
			if start = out.LastEvaluatedKey; len(start) == 0 {
				break
			}
		}
	}
	slices.SortFunc(all, func(a, b followup.Reminder) int {
		if c := a.SweepAt.Compare(b.SweepAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// OpenForCustomer implements app.Reminders: the customer's pointers, then the reminders
// in consistent batch reads, keeping those not terminal.
func (rs *Reminders) OpenForCustomer(ctx context.Context, customerID string) ([]followup.Reminder, error) {
	ids, err := rs.idsOf(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("open reminders of %s: %w", customerID, err)
	}
	all, err := rs.ByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("open reminders of %s: %w", customerID, err)
	}
	out := all[:0]
	for _, r := range all {
		if !r.Status.Terminal() {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b followup.Reminder) int { return a.DueAt.Compare(b.DueAt) })
	return out, nil
}

// idsOf lists the reminder ids the customer's partition points at.
func (rs *Reminders) idsOf(ctx context.Context, customerID string) ([]string, error) {
	items, err := rs.t.query(ctx, CustomerPK(customerID), prefixReminder)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if sk, ok := it[attrSK].(*types.AttributeValueMemberS); ok {
			ids = append(ids, strings.TrimPrefix(sk.Value, prefixReminder))
		}
	}
	return ids, nil
}

// ByID reads reminders in consistent batch reads of up to 100 keys, retrying what
// DynamoDB leaves unprocessed; ids that do not exist are skipped. The order is not the
// ids' order.
func (rs *Reminders) ByID(ctx context.Context, ids []string) ([]followup.Reminder, error) {
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = ReminderKey(id)
	}
	byPK, err := rs.t.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read reminders: %w", err)
	}
	return decodeReminders(slices.Collect(maps.Values(byPK)))
}

// TaskView selects a list of tasks.
type TaskView struct {
	Store    string // STORETASK#<store> on GSI2
	Assignee string // ASSIGNEE#<staff> on GSI3; takes precedence over Store
	Status   followup.Status
	Before   time.Time // non-zero: only deadlines before it (overdue)
	Limit    int
	Cursor   string
}

// ListTasks returns one page of tasks ordered by deadline, and the next cursor.
func (rs *Reminders) ListTasks(ctx context.Context, v TaskView) ([]followup.Reminder, string, error) {
	index, pkAttr, skAttr, pk := IndexStore, attrGSI2PK, attrGSI2SK, StoreTaskPK(v.Store)
	if v.Assignee != "" {
		index, pkAttr, skAttr, pk = IndexAssignee, attrGSI3PK, attrGSI3SK, AssigneePK(v.Assignee)
	}
	status := string(v.Status)
	if status == "" {
		status = string(followup.StatusOpen)
	}
	kc := expression.Key(pkAttr).Equal(expression.Value(pk))
	if v.Before.IsZero() {
		kc = kc.And(expression.Key(skAttr).BeginsWith(status + "#"))
	} else {
		kc = kc.And(expression.Key(skAttr).Between(expression.Value(status+"#"), expression.Value(status+"#"+sortTime(v.Before))))
	}
	ex, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, "", fmt.Errorf("task query: %w", err)
	}
	limit := v.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	items, next, err := rs.t.queryPage(ctx, &dynamodb.QueryInput{
		IndexName: aws.String(index), KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), Limit: aws.Int32(int32(limit)),
	}, v.Cursor, pkAttr, pk)
	if err != nil {
		return nil, "", fmt.Errorf("task query: %w", err)
	}
	tasks, err := decodeReminders(items)
	return tasks, next, err
}

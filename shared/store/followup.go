package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/feedback"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/queue"
)

// Follow-up items (see docs/data-model.md):
//
//	reminder        REM#<id>          / REM            the state machine; GSI1 while SweepAt is set,
//	                                                   GSI2 (STORETASK#<store>) and GSI3 (ASSIGNEE#<staff>) for tasks
//	customer index  CUST#<customer>   / REM#<id>       written once with the reminder: cancellation lists them
//	counter         CTR#<key>         / CTR            frequency caps and round-robin, TTL expiresAt
//	staff member    STAFF#<store>     / <role>#<sub>   who can take a task (staff.go)
//	alert           ALERT#<store>     / <time>#<task>  escalation inbox, TTL 30 days
//
// The reminder lives under its own id, not under the customer, because the dispatcher and
// the task API know only the id: Get is one GetItem.
const (
	typeReminder      = "reminder"
	typeReminderIndex = "reminderIndex"
	typeCounter       = "counter"
	typeAlert         = "alert"
)

// ReminderKey is the primary key of a reminder or task.
func ReminderKey(id string) Key { return Key{"REM#" + id, "REM"} }

// ReminderIndexKey is the customer-partition pointer to a reminder.
func ReminderIndexKey(customerID, id string) Key { return Key{CustomerPK(customerID), ReminderSK(id)} }

// CounterKey is an atomic counter (frequency-cap windows, round-robin).
func CounterKey(key string) Key { return Key{"CTR#" + key, "CTR"} }

// AlertKey is one escalation alert in a store's inbox.
func AlertKey(store string, at time.Time, taskID string) Key {
	return Key{"ALERT#" + store, sortTime(at) + "#" + taskID}
}

// DueShard spreads reminder ids over the DueShards partitions of GSI1.
func DueShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % DueShards)
}

// SQSSender is the part of the SQS client the follow-up queue uses.
type SQSSender = queue.API

// FollowupOptions configures NewFollowup.
type FollowupOptions struct {
	SQS           SQSSender // nil: Enqueue fails (services that never enqueue need none)
	QueueURL      string    // DISPATCH_QUEUE_URL
	PublicBaseURL string    // PUBLIC_BASE_URL: unsubscribe and survey links live under it
	Now           func() time.Time
}

// Followup implements every port of shared/followup/app over the table:
// Reminders, Customers, Counters, Staff, Queue, Alerts and Links.
type Followup struct {
	t    *Table
	opts FollowupOptions

	mu        sync.Mutex
	tokens    map[string]string    // customer id → unsubscribe token, filled by ContactView
	staffSeen map[string]time.Time // store#role#sub → last registration (staff.go)
}

var (
	_ app.Reminders = (*Followup)(nil)
	_ app.Customers = (*Followup)(nil)
	_ app.Counters  = (*Followup)(nil)
	_ app.Staff     = (*Followup)(nil)
	_ app.Queue     = (*Followup)(nil)
	_ app.Alerts    = (*Followup)(nil)
	_ app.Links     = (*Followup)(nil)

	_ app.ConsentLinks = (*Followup)(nil)
)

// NewFollowup returns the DynamoDB/SQS adapter of the follow-up ports.
func NewFollowup(t *Table, opts FollowupOptions) *Followup {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.PublicBaseURL = strings.TrimRight(opts.PublicBaseURL, "/")
	return &Followup{t: t, opts: opts, tokens: map[string]string{}, staffSeen: map[string]time.Time{}}
}

// NewPlanner is the wiring the leads and transactions slices use to plan follow-up from
// their handlers: the default cadence policy over this table.
//
//	planner, err := store.NewPlanner(table, time.Now)
//	_, err = planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerNewLead, CustomerID: id, Ref: touchID, At: now, Grade: grade})
func NewPlanner(t *Table, now func() time.Time) (*app.Planner, error) {
	p, err := followup.DefaultPolicy()
	if err != nil {
		return nil, fmt.Errorf("follow-up policy: %w", err)
	}
	f := NewFollowup(t, FollowupOptions{Now: now})
	return f.Planner(p), nil
}

// Planner returns a Planner over f.
func (f *Followup) Planner(p followup.Policy) *app.Planner {
	return &app.Planner{Policy: p, Reminders: f, Customers: f, Staff: f, Counters: f, Now: f.opts.Now}
}

// Sweeper returns a Sweeper over f.
func (f *Followup) Sweeper(p followup.Policy) *app.Sweeper {
	return &app.Sweeper{Policy: p, Reminders: f, Customers: f, Staff: f, Counters: f, Queue: f, Alerts: f, Now: f.opts.Now}
}

// Tasks returns the staff task service over f.
func (f *Followup) Tasks(p followup.Policy) *app.Tasks {
	return &app.Tasks{Policy: p, Reminders: f, Customers: f, Staff: f, Counters: f, Planner: f.Planner(p), Now: f.opts.Now}
}

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

// Create implements app.Reminders: each reminder and its customer pointer in one
// transaction, the reminder conditioned on attribute_not_exists so re-planning adds nothing.
func (f *Followup) Create(ctx context.Context, rs []followup.Reminder) ([]followup.Reminder, error) {
	var out []followup.Reminder
	for _, r := range rs {
		r.Version = 1
		ok, err := f.createOne(ctx, r)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *Followup) createOne(ctx context.Context, r followup.Reminder) (bool, error) {
	item, err := reminderItem(r)
	if err != nil {
		return false, err
	}
	ik := ReminderIndexKey(r.CustomerID, r.ID)
	idx := map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: ik.PK}, attrSK: &types.AttributeValueMemberS{Value: ik.SK},
		"type": &types.AttributeValueMemberS{Value: typeReminderIndex}, "reminderId": &types.AttributeValueMemberS{Value: r.ID},
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(f.t.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(f.t.Name), Item: idx}},
	}
	for attempt := 1; ; attempt++ {
		err := f.t.transact(ctx, items)
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

// Get implements app.Reminders (strongly consistent: the dispatcher decides on it).
func (f *Followup) Get(ctx context.Context, id string) (followup.Reminder, error) {
	if id == "" {
		return followup.Reminder{}, app.ErrNotFound
	}
	out, err := f.t.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(f.t.Name), Key: ReminderKey(id).av(), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return followup.Reminder{}, fmt.Errorf("get reminder %s: %w", id, err)
	}
	f.t.Units.AddOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return followup.Reminder{}, app.ErrNotFound
	}
	return decodeReminder(out.Item)
}

// Update implements app.Reminders: a Put conditioned on the version read.
func (f *Followup) Update(ctx context.Context, r followup.Reminder) (followup.Reminder, error) {
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
	out, err := f.t.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(f.t.Name), Item: item,
		ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		f.t.Units.Add(true)
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
	f.t.Units.AddOne(true, out.ConsumedCapacity)
	return next, nil
}

// DueBefore implements app.Reminders: one Query per shard of the sparse GSI1, merged.
func (f *Followup) DueBefore(ctx context.Context, t time.Time, limit int) ([]followup.Reminder, error) {
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
			out, err := f.t.DB.Query(ctx, &dynamodb.QueryInput{
				TableName: aws.String(f.t.Name), IndexName: aws.String(IndexDue),
				KeyConditionExpression: ex.KeyCondition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
				Limit: aws.Int32(int32(limit - got)), ExclusiveStartKey: start,
				ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
			})
			if err != nil {
				return nil, fmt.Errorf("due query shard %d: %w", shard, err)
			}
			f.t.Units.AddOne(false, out.ConsumedCapacity)
			for _, it := range out.Items {
				r, err := decodeReminder(it)
				if err != nil {
					return nil, err
				}
				all = append(all, r)
				got++
			}
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
func (f *Followup) OpenForCustomer(ctx context.Context, customerID string) ([]followup.Reminder, error) {
	items, err := f.t.QueryPartition(ctx, CustomerPK(customerID), "REM#")
	if err != nil {
		return nil, fmt.Errorf("open reminders of %s: %w", customerID, err)
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it[attrSK].(*types.AttributeValueMemberS); ok {
			ids = append(ids, strings.TrimPrefix(s.Value, "REM#"))
		}
	}
	all, err := f.t.RemindersByID(ctx, ids)
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
func (f *Followup) ListTasks(ctx context.Context, v TaskView) ([]followup.Reminder, string, error) {
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
	start, err := DecodeCursor(v.Cursor)
	if err != nil {
		return nil, "", err
	}
	if start != nil {
		// A cursor of another list (another store's, someone else's) is not ours to follow.
		if got, ok := start[pkAttr].(*types.AttributeValueMemberS); !ok || got.Value != pk {
			return nil, "", ErrBadCursor
		}
	}
	limit := v.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	out, err := f.t.DB.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(f.t.Name), IndexName: aws.String(index),
		KeyConditionExpression: ex.KeyCondition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		Limit: aws.Int32(int32(limit)), ExclusiveStartKey: start,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if cursorRejected(err, start) {
		return nil, "", ErrBadCursor
	}
	if err != nil {
		return nil, "", fmt.Errorf("task query: %w", err)
	}
	f.t.Units.AddOne(false, out.ConsumedCapacity)
	tasks := make([]followup.Reminder, 0, len(out.Items))
	for _, it := range out.Items {
		r, err := decodeReminder(it)
		if err != nil {
			return nil, "", err
		}
		tasks = append(tasks, r)
	}
	next, err := EncodeCursor(out.LastEvaluatedKey)
	return tasks, next, err
}

// ContactView implements app.Customers from the profile item plus the attributes this
// file owns on it (marketingOptOut, badChannels, unsubToken, locale). It also makes sure
// the customer has an unsubscribe token, so every link rendered afterwards works.
func (f *Followup) ContactView(ctx context.Context, customerID string) (followup.CustomerView, error) {
	_, _, raw, err := f.t.getProfileItem(ctx, customerID)
	if errors.Is(err, ErrNotFound) {
		return followup.CustomerView{}, app.ErrNotFound
	}
	if err != nil {
		return followup.CustomerView{}, err
	}
	v, tok, err := viewFromItem(raw)
	if err != nil || v.Erased {
		return v, err
	}
	if tok == "" {
		if tok, err = f.ensureToken(ctx, customerID); err != nil {
			return v, err
		}
	}
	f.mu.Lock()
	if len(f.tokens) > 10000 {
		clear(f.tokens) // a warm Lambda serves many customers; the map is a per-batch cache
	}
	f.tokens[customerID] = tok
	f.mu.Unlock()
	return v, nil
}

// viewFromItem maps a stored profile item to the contact view and its unsubscribe token.
func viewFromItem(raw map[string]types.AttributeValue) (followup.CustomerView, string, error) {
	p, _, err := decodeProfile(raw)
	if err != nil {
		return followup.CustomerView{}, "", err
	}
	var extra struct {
		Locale          string   `dynamodbav:"locale"`
		MarketingOptOut bool     `dynamodbav:"marketingOptOut"`
		BadChannels     []string `dynamodbav:"badChannels"`
		UnsubToken      string   `dynamodbav:"unsubToken"`
	}
	if err := attributevalue.UnmarshalMap(raw, &extra); err != nil {
		return followup.CustomerView{}, "", fmt.Errorf("contact view %s: %w", p.ID, err)
	}
	v := followup.CustomerView{
		ID: p.ID, Store: p.Store, Locale: extra.Locale, TimeZone: p.TimeZone, Name: p.Name, Phone: p.Phone, Email: p.Email,
		Tier: p.Tier, Stage: p.Stage, Birthday: followup.BirthdayFrom(p.Birthday, p.BirthdayLunar), Consents: slices.Clone([]model.Consent(p.Consents)),
		MarketingOptOut: extra.MarketingOptOut, Erased: p.Erased(),
	}
	slices.Sort(extra.BadChannels)
	for _, c := range extra.BadChannels {
		v.BadChannels = append(v.BadChannels, model.Channel(c))
	}
	return v, extra.UnsubToken, nil
}

// ScanContactViews calls fn for every customer profile in one parallel-scan segment
// (eventually consistent: the calendar pass plans days ahead).
func (f *Followup) ScanContactViews(ctx context.Context, segment, segments int, fn func(followup.CustomerView) error) error {
	filt := expression.Name(attrSK).Equal(expression.Value("PROFILE")).And(expression.Name("type").Equal(expression.Value(typeCustomer)))
	ex, err := expression.NewBuilder().WithFilter(filt).Build()
	if err != nil {
		return fmt.Errorf("scan customers: %w", err)
	}
	var start map[string]types.AttributeValue
	for {
		out, err := f.t.DB.Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String(f.t.Name), FilterExpression: ex.Filter(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
			Segment: aws.Int32(int32(segment)), TotalSegments: aws.Int32(int32(segments)), ExclusiveStartKey: start,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return fmt.Errorf("scan customers segment %d: %w", segment, err)
		}
		f.t.Units.AddOne(false, out.ConsumedCapacity)
		for _, it := range out.Items {
			v, _, err := viewFromItem(it)
			if err != nil {
				return err
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return nil
		}
	}
}

func newToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// ensureToken gives the customer an unsubscribe token (160 random bits) and its
// UNSUB#<token> lookup item, in one transaction; a concurrent winner's token is kept.
func (f *Followup) ensureToken(ctx context.Context, customerID string) (string, error) {
	tok := newToken()
	put, err := putUnique(f.t.Name, UnsubscribeKey(tok), customerID)
	if err != nil {
		return "", err
	}
	upd := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(f.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression:          aws.String("SET unsubToken = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(unsubToken) AND attribute_not_exists(erasedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tok}},
	}}
	if err := f.t.transact(ctx, []types.TransactWriteItem{upd, put}); err != nil {
		if !retryable(err) {
			return "", fmt.Errorf("unsubscribe token for %s: %w", customerID, err)
		}
		var cur string
		if _, err := f.t.ProfileAttr(ctx, customerID, "unsubToken", &cur); err != nil {
			return "", err
		}
		return cur, nil // "" if erased meanwhile: the link is then simply absent
	}
	return tok, nil
}

// UnsubscribeToken returns the customer's token, creating it if needed.
func (f *Followup) UnsubscribeToken(ctx context.Context, customerID string) (string, error) {
	var tok string
	found, err := f.t.ProfileAttr(ctx, customerID, "unsubToken", &tok)
	if err != nil {
		return "", err
	}
	if found && tok != "" {
		return tok, nil
	}
	return f.ensureToken(ctx, customerID)
}

// CustomerByToken resolves an unsubscribe/survey token; ErrNotFound if unknown (or the
// customer was erased, which deletes the token).
func (f *Followup) CustomerByToken(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 64 {
		return "", ErrNotFound
	}
	owners, err := f.t.lookupUnique(ctx, UnsubscribeKey(token))
	if err != nil {
		return "", err
	}
	id, ok := owners[UnsubscribeKey(token).PK]
	if !ok {
		return "", ErrNotFound
	}
	return id, nil
}

// CustomerByPhone resolves an E.164 number to its customer; ErrNotFound if unknown.
func (f *Followup) CustomerByPhone(ctx context.Context, e164 string) (string, error) {
	owners, err := f.t.lookupUnique(ctx, PhoneKey(e164))
	if err != nil {
		return "", err
	}
	id, ok := owners[PhoneKey(e164).PK]
	if !ok {
		return "", ErrNotFound
	}
	return id, nil
}

// SetMarketingOptOut records a marketing opt-out on every channel at once (STOP reply,
// unsubscribe link). Repeating it changes nothing but the latest source.
func (f *Followup) SetMarketingOptOut(ctx context.Context, customerID, source string, at time.Time) error {
	upd := expression.Set(expression.Name("marketingOptOut"), expression.Value(true)).
		Set(expression.Name("marketingOptOutAt"), expression.Value(at.UTC().Format(time.RFC3339))).
		Set(expression.Name("marketingOptOutSource"), expression.Value(source))
	return f.updateProfile(ctx, customerID, upd, "opt out")
}

// MarkBadContact implements app.Customers: the channel joins the badChannels set.
func (f *Followup) MarkBadContact(ctx context.Context, customerID string, ch model.Channel) error {
	upd := expression.Add(expression.Name("badChannels"), expression.Value(&types.AttributeValueMemberSS{Value: []string{string(ch)}}))
	return f.updateProfile(ctx, customerID, upd, "mark bad contact")
}

// SetLocale records the customer's message language (zh-CN, en).
func (f *Followup) SetLocale(ctx context.Context, customerID, locale string) error {
	return f.updateProfile(ctx, customerID, expression.Set(expression.Name("locale"), expression.Value(locale)), "set locale")
}

func (f *Followup) updateProfile(ctx context.Context, customerID string, upd expression.UpdateBuilder, what string) error {
	ex, err := expression.NewBuilder().WithUpdate(upd).WithCondition(expression.AttributeExists(expression.Name(attrPK))).Build()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, customerID, err)
	}
	out, err := f.t.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(f.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		f.t.Units.Add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return app.ErrNotFound
		}
		return fmt.Errorf("%s %s: %w", what, customerID, err)
	}
	f.t.Units.AddOne(true, out.ConsumedCapacity)
	return nil
}

// Add implements app.Counters: UpdateItem ADD under a condition that keeps the result
// within limit, with a TTL so cap windows clean themselves up.
func (f *Followup) Add(ctx context.Context, key string, delta, limit int64, expires time.Time) (bool, int64, error) {
	if limit >= 0 && delta > limit {
		return false, 0, nil
	}
	ub := expression.Add(expression.Name("n"), expression.Value(delta)).Set(expression.Name("type"), expression.Value(typeCounter))
	if !expires.IsZero() {
		ub = ub.Set(expression.Name(attrTTL), expression.Value(expires.Unix()))
	}
	b := expression.NewBuilder().WithUpdate(ub)
	if limit >= 0 {
		b = b.WithCondition(expression.AttributeNotExists(expression.Name("n")).
			Or(expression.Name("n").LessThanEqual(expression.Value(limit - delta))))
	}
	ex, err := b.Build()
	if err != nil {
		return false, 0, fmt.Errorf("counter %s: %w", key, err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(f.t.Name), Key: CounterKey(key).av(),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	}
	if limit >= 0 {
		in.ConditionExpression = ex.Condition()
	}
	out, err := f.t.DB.UpdateItem(ctx, in)
	if err != nil {
		f.t.Units.Add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return false, counterValue(ccf.Item), nil
		}
		return false, 0, fmt.Errorf("counter %s: %w", key, err)
	}
	f.t.Units.AddOne(true, out.ConsumedCapacity)
	return true, counterValue(out.Attributes), nil
}

func counterValue(item map[string]types.AttributeValue) int64 {
	if n, ok := item["n"].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return v
	}
	return 0
}

// Enqueue implements app.Queue: the reminder ids go to the dispatch queue through the
// one SQS sender (shared/queue); what SQS keeps rejecting fails the call, and the sweep's
// requeue window brings those reminders back.
func (f *Followup) Enqueue(ctx context.Context, ids []string) error {
	if _, err := queue.New(f.opts.SQS, f.opts.QueueURL).Send(ctx, ids); err != nil {
		return fmt.Errorf("enqueue %d reminders: %w", len(ids), err)
	}
	return nil
}

// Alert implements app.Alerts: the escalation lands in the store's alert inbox (and on
// the assignee's task list through the escalation task itself).
func (f *Followup) Alert(ctx context.Context, a app.Alert) error {
	now := f.opts.Now()
	k := AlertKey(a.Store, now, a.TaskID)
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return fmt.Errorf("alert %s: %w", a.TaskID, err)
	}
	item[attrPK] = &types.AttributeValueMemberS{Value: k.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: k.SK}
	item["type"] = &types.AttributeValueMemberS{Value: typeAlert}
	item[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(30*24*time.Hour).Unix(), 10)}
	out, err := f.t.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.t.Name), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("alert %s: %w", a.TaskID, err)
	}
	f.t.Units.AddOne(true, out.ConsumedCapacity)
	return nil
}

// Unsubscribe implements app.Links. The token was loaded by ContactView, which the
// dispatcher always calls first; a customer without one gets no link (never a wrong one).
func (f *Followup) Unsubscribe(customerID string) string {
	tok := f.token(customerID)
	if tok == "" || f.opts.PublicBaseURL == "" {
		return ""
	}
	return f.opts.PublicBaseURL + "/v1/unsubscribe?t=" + url.QueryEscape(tok)
}

// Survey implements app.Links: the same token, plus the reminder as the answer's ref.
func (f *Followup) Survey(reminderID, customerID string) string {
	tok := f.token(customerID)
	if tok == "" || f.opts.PublicBaseURL == "" {
		return ""
	}
	return f.opts.PublicBaseURL + "/v1/feedback?t=" + url.QueryEscape(tok) + "&r=" + url.QueryEscape(reminderID)
}

func (f *Followup) token(customerID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[customerID]
}

// Dispatcher returns a Dispatcher over f sending through sender; f's links (PUBLIC_BASE_URL)
// go into the messages.
func (f *Followup) Dispatcher(p followup.Policy, cat *message.Catalog, sender app.Sender) *app.Dispatcher {
	return &app.Dispatcher{Policy: p, Reminders: f, Customers: f, Counters: f, Sender: sender, Catalog: cat, Links: f, Consent: f, Now: f.opts.Now}
}

// FeedbackSK is one survey answer on the customer's timeline; ref makes it once-only.
func FeedbackSK(ref string) string { return "FEEDBACK#" + ref }

// RecordFeedback stores one survey answer once (ref: the survey reminder or form) and, in
// the same transaction, moves the profile's scores: the emotion account (+1 satisfied,
// −3 dissatisfied, clamped), the latest CSAT/NPS. recorded=false means the same answer
// was stored before and nothing changed.
func (f *Followup) RecordFeedback(ctx context.Context, customerID, ref string, at time.Time, r feedback.Response) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	for attempt := 1; ; attempt++ {
		var acct feedback.EmotionAccount
		found, err := f.t.ProfileAttr(ctx, customerID, "emotion", &acct)
		if err != nil {
			return false, err
		}
		next := acct.Record(r.Sentiment())
		ans := map[string]any{"PK": CustomerPK(customerID), "SK": FeedbackSK(ref), "type": "feedback", "at": at.UTC().Format(time.RFC3339), "ref": ref}
		ub := expression.Set(expression.Name("emotion"), expression.Value(next)).
			Set(expression.Name("emotionScore"), expression.Value(next.Score())).
			Set(expression.Name("feedbackAt"), expression.Value(at.UTC().Format(time.RFC3339)))
		if r.CSAT != nil {
			ans["csat"] = int(*r.CSAT)
			ub = ub.Set(expression.Name("lastCsat"), expression.Value(int(*r.CSAT)))
		}
		if r.NPS != nil {
			ans["nps"] = int(*r.NPS)
			ub = ub.Set(expression.Name("lastNps"), expression.Value(int(*r.NPS)))
		}
		cond := expression.AttributeExists(expression.Name(attrPK)).And(expression.AttributeNotExists(expression.Name("erasedAt")))
		if found {
			cond = cond.And(expression.Name("emotion.balance").Equal(expression.Value(acct.Balance)))
		} else {
			cond = cond.And(expression.AttributeNotExists(expression.Name("emotion")))
		}
		ex, err := expression.NewBuilder().WithUpdate(ub).WithCondition(cond).Build()
		if err != nil {
			return false, fmt.Errorf("feedback %s: %w", customerID, err)
		}
		item, err := attributevalue.MarshalMap(ans)
		if err != nil {
			return false, fmt.Errorf("feedback %s: %w", customerID, err)
		}
		err = f.t.transact(ctx, []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(f.t.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			{Update: &types.Update{TableName: aws.String(f.t.Name), Key: CustomerKey(customerID).av(), UpdateExpression: ex.Update(),
				ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}},
		})
		if err == nil {
			return true, nil
		}
		if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] {
			return false, nil // answered before
		}
		if !retryable(err) || attempt >= 10 {
			return false, fmt.Errorf("feedback %s: %w", customerID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
	}
}

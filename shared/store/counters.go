package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/followup"
)

// Counters are atomic counters (app.Counters): frequency-cap windows, round-robin
// assignment and the calendar's day marker.
type Counters struct{ t *Table }

// NewCounters returns the counter adapter over t.
func NewCounters(t *Table) *Counters { return &Counters{t: t} }

// Add implements app.Counters: UpdateItem ADD under a condition that keeps the result
// within limit, with a TTL so cap windows clean themselves up.
func (c *Counters) Add(ctx context.Context, key string, delta, limit int64, expires time.Time) (bool, int64, error) {
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
		TableName: aws.String(c.t.Name), Key: CounterKey(key).av(),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	}
	if limit >= 0 {
		in.ConditionExpression = ex.Condition()
	}
	out, err := c.t.db.UpdateItem(ctx, in)
	if err != nil {
		c.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return false, counterValue(ccf.Item), nil
		}
		return false, 0, fmt.Errorf("counter %s: %w", key, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return true, counterValue(out.Attributes), nil
}

func counterValue(item map[string]types.AttributeValue) int64 {
	if n, ok := item["n"].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return v
	}
	return 0
}

// Tallies are the counts reports read (app.Tallies): one item per report, period and
// store, one numeric attribute per count, each changed with UpdateItem ADD — kept on the
// paths that are not budgeted (delivery events, opt-outs, task completion, the sweep),
// so a report reads a few items per period instead of scanning the table.
type Tallies struct {
	t      *Table
	report string
}

// NewTallies returns the tally adapter of one report ("msg", "followup", "feedback").
func NewTallies(t *Table, report string) *Tallies { return &Tallies{t: t, report: report} }

// Add adds counts to the store's item of the period (a day or a month).
func (c *Tallies) Add(ctx context.Context, store, period string, counts map[string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	if store == "" {
		store = "-"
	}
	names := map[string]string{"#type": "type"}
	values := map[string]types.AttributeValue{":type": &types.AttributeValueMemberS{Value: "tally"}}
	expr := ""
	i := 0
	for k, n := range counts {
		nk, vk := fmt.Sprintf("#c%d", i), fmt.Sprintf(":c%d", i)
		names[nk], values[vk] = k, &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
		if expr != "" {
			expr += ", "
		}
		expr += nk + " " + vk
		i++
	}
	out, err := c.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: TallyKey(c.report, period, store).av(),
		UpdateExpression:         aws.String("SET #type = :type ADD " + expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		c.t.Units.add(true)
		return fmt.Errorf("tally %s %s %s: %w", c.report, period, store, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// TallyRow is one store's counts for one period.
type TallyRow struct {
	Period string
	Store  string
	Counts map[string]int64
}

// Read returns the counts of each period for the stores sc grants (shared/access).
func (c *Tallies) Read(ctx context.Context, periods []string, sc access.Scope) ([]TallyRow, error) {
	return c.ReadStores(ctx, periods, sc.Stores(), sc.All())
}

// ReadStores returns the counts of each period for the stores listed (all stores when
// all). One Query per period: bound the number of periods at the caller.
func (c *Tallies) ReadStores(ctx context.Context, periods []string, stores []string, all bool) ([]TallyRow, error) {
	var rows []TallyRow
	for _, period := range periods {
		pk := TallyKey(c.report, period, "").PK
		p := dynamodb.NewQueryPaginator(c.t.db, &dynamodb.QueryInput{
			TableName: aws.String(c.t.Name), KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("tally %s %s: %w", c.report, period, err)
			}
			c.t.Units.addOne(false, out.ConsumedCapacity)
			for _, it := range out.Items {
				sk, _ := it[attrSK].(*types.AttributeValueMemberS)
				if sk == nil || (!all && !slices.Contains(stores, sk.Value)) {
					continue
				}
				row := TallyRow{Period: period, Store: sk.Value, Counts: map[string]int64{}}
				for k, v := range it {
					if n, ok := v.(*types.AttributeValueMemberN); ok && k != attrTTL {
						row.Counts[k], _ = strconv.ParseInt(n.Value, 10, 64)
					}
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// ReserveCap implements app.CapReserver: the customer's cap item of the ISO week (key
// w.Week) counts the week in `n` and each local day in `d<date>`, so one conditional
// UpdateItem checks and takes both slots (delta -1 gives them back; limits < 0: none).
func (c *Counters) ReserveCap(ctx context.Context, w followup.CapWindows, delta, perDay, perWeek int64, expires time.Time) (bool, bool, int64, int64, error) {
	dayAttr := "d" + w.Day[strings.LastIndexByte(w.Day, '#')+1:]
	n, d := expression.Name("n"), expression.Name(dayAttr)
	ub := expression.Add(n, expression.Value(delta)).Add(d, expression.Value(delta)).
		Set(expression.Name("type"), expression.Value(typeCounter)).
		Set(expression.Name(attrTTL), expression.Value(expires.Unix()))
	b := expression.NewBuilder().WithUpdate(ub)
	if perDay >= 0 && perWeek >= 0 {
		b = b.WithCondition(expression.And(
			expression.Or(expression.AttributeNotExists(n), n.LessThanEqual(expression.Value(perWeek-delta))),
			expression.Or(expression.AttributeNotExists(d), d.LessThanEqual(expression.Value(perDay-delta)))))
	}
	ex, err := b.Build()
	if err != nil {
		return false, false, 0, 0, fmt.Errorf("cap %s: %w", w.Week, err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: CounterKey(w.Week).av(),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	}
	if perDay >= 0 && perWeek >= 0 {
		in.ConditionExpression = ex.Condition()
	}
	out, err := c.t.db.UpdateItem(ctx, in)
	if err != nil {
		c.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			weekN, dayN := attrInt(ccf.Item, "n"), attrInt(ccf.Item, dayAttr)
			return false, weekN+delta > perWeek && dayN+delta <= perDay, dayN, weekN, nil
		}
		return false, false, 0, 0, fmt.Errorf("cap %s: %w", w.Week, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return true, false, attrInt(out.Attributes, dayAttr), attrInt(out.Attributes, "n"), nil
}

func attrInt(item map[string]types.AttributeValue, name string) int64 {
	if n, ok := item[name].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return v
	}
	return 0
}

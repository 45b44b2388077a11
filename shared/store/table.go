package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Table is the single tierflow table. Every adapter of this package reaches DynamoDB
// through one, and every call is counted on its meter.
type Table struct {
	db    *dynamodb.Client
	Name  string
	Units *Meter
}

// New returns a Table that counts the request units of every call made through it.
func New(db *dynamodb.Client, name string) *Table {
	return &Table{db: db, Name: name, Units: &Meter{}}
}

// Ping asks DynamoDB about the table (DescribeTable): the health check's question, read
// only and without request units.
func (t *Table) Ping(ctx context.Context) error {
	if _, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}); err != nil {
		return fmt.Errorf("describe table %s: %w", t.Name, err)
	}
	return nil
}

// clock is now, or time.Now when the caller gave none.
func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// Meter adds up consumed capacity: cost per operation is a product feature, so every
// call asks DynamoDB for ReturnConsumedCapacity and reports it here.
type Meter struct {
	mu    sync.Mutex
	read  float64
	write float64
	calls int
}

// Units is a snapshot of a Meter.
type Units struct {
	Read, Write float64
	Calls       int
}

// Total is read + write units.
func (u Units) Total() float64 { return u.Read + u.Write }

// Add returns u and o together.
func (u Units) Add(o Units) Units {
	return Units{Read: u.Read + o.Read, Write: u.Write + o.Write, Calls: u.Calls + o.Calls}
}

// Sub returns the units consumed between two snapshots.
func (u Units) Sub(before Units) Units {
	return Units{Read: u.Read - before.Read, Write: u.Write - before.Write, Calls: u.Calls - before.Calls}
}

// add records consumed capacity returned by one call. Reads and writes are told apart by
// the call kind because DynamoDB reports only the total for single-item operations. A
// write that reports nothing returned an error, which carries no capacity: it is counted
// as 1 unit, what DynamoDB bills for the usual one here, a failed condition (a throttled
// request, billed nothing, is counted the same).
func (m *Meter) add(write bool, cc ...types.ConsumedCapacity) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if write && len(cc) == 0 {
		m.write++
		return
	}
	for _, c := range cc {
		var units float64
		switch {
		case c.CapacityUnits != nil:
			units = *c.CapacityUnits
		case c.ReadCapacityUnits != nil || c.WriteCapacityUnits != nil:
			if c.ReadCapacityUnits != nil {
				m.read += *c.ReadCapacityUnits
			}
			if c.WriteCapacityUnits != nil {
				m.write += *c.WriteCapacityUnits
			}
			continue
		}
		if write {
			m.write += units
		} else {
			m.read += units
		}
	}
}

// addOne is add for the single *ConsumedCapacity most calls return.
func (m *Meter) addOne(write bool, cc *types.ConsumedCapacity) {
	if cc == nil {
		m.add(false) // nothing reported: the call alone is counted
		return
	}
	m.add(write, *cc)
}

// Snapshot returns the totals so far.
func (m *Meter) Snapshot() Units {
	if m == nil {
		return Units{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return Units{Read: m.read, Write: m.write, Calls: m.calls}
}

// ErrBadCursor is returned for a cursor this package did not produce, or one of another
// list than the one asked for.
var ErrBadCursor = fmt.Errorf("invalid cursor")

// encodeCursor turns a LastEvaluatedKey into an opaque page cursor. Every key attribute
// of the table is a string, so the cursor is a small JSON object.
func encodeCursor(lek map[string]types.AttributeValue) (string, error) {
	if len(lek) == 0 {
		return "", nil
	}
	m := make(map[string]string, len(lek))
	for k, v := range lek {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("encode cursor: key attribute %s is not a string", k)
		}
		m[k] = s.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor is the inverse of encodeCursor for the list whose partition attribute
// pkAttr is pk: a cursor of another list (another store's, someone else's) is not ours
// to follow.
func decodeCursor(cursor, pkAttr, pk string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrBadCursor
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) == 0 || len(m) > 6 {
		return nil, ErrBadCursor
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		if !slices.Contains(keyAttrs, k) {
			return nil, ErrBadCursor
		}
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	if m[pkAttr] != pk {
		return nil, ErrBadCursor
	}
	return out, nil
}

// cursorRejected reports whether a query failed on its start key: DynamoDB answers a
// start key that does not fit the query (another partition, a missing key attribute, a
// sort key outside the condition) with a ValidationException, which for a cursor the
// client sent is the client's fault, not ours.
func cursorRejected(err error, start map[string]types.AttributeValue) bool {
	var ae smithy.APIError
	return start != nil && errors.As(err, &ae) && ae.ErrorCode() == "ValidationException"
}

// queryPage runs one page of in from the cursor a client sent, for the list whose
// partition attribute pkAttr is pk, and returns the page's items and the next page's
// cursor ("" at the end). A cursor of another list is ErrBadCursor.
func (t *Table) queryPage(ctx context.Context, in *dynamodb.QueryInput, cursor, pkAttr, pk string) ([]map[string]types.AttributeValue, string, error) {
	start, err := decodeCursor(cursor, pkAttr, pk)
	if err != nil {
		return nil, "", err
	}
	in.TableName, in.ExclusiveStartKey = aws.String(t.Name), start
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := t.db.Query(ctx, in)
	if cursorRejected(err, start) {
		return nil, "", ErrBadCursor
	}
	if err != nil {
		return nil, "", err
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	next, err := encodeCursor(out.LastEvaluatedKey)
	return out.Items, next, err
}

// query returns every item of a partition whose sort key begins with prefix (every item
// for ""), in sort-key order, following pages; reads are strongly consistent.
func (t *Table) query(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(t.Name), KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("PK = :pk AND begins_with(SK, :p)")
		in.ExpressionAttributeValues[":p"] = &types.AttributeValueMemberS{Value: prefix}
	}
	var items []map[string]types.AttributeValue
	for p := dynamodb.NewQueryPaginator(t.db, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", pk, err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		items = append(items, page.Items...)
	}
	return items, nil
}

// getItem reads one item, strongly consistent; nil when there is none.
func (t *Table) getItem(ctx context.Context, k Key) (map[string]types.AttributeValue, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: k.av(), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, err
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	return out.Item, nil
}

// queryProfiles calls fn for every profile of the shards segment seg of total owns
// (ProfileShardsOf), one paginated Query per shard, eventually consistent; projection
// ("" for every attribute) and names as in a QueryInput.
func (t *Table) queryProfiles(ctx context.Context, seg, total int, projection string, names map[string]string, fn func(map[string]types.AttributeValue) error) error {
	for _, shard := range ProfileShardsOf(seg, total) {
		in := &dynamodb.QueryInput{
			TableName:              aws.String(t.Name),
			KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: ProfilesPK(shard)}},
			ExpressionAttributeNames: names,
			ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
		}
		if projection != "" {
			in.ProjectionExpression = aws.String(projection)
		}
		p := dynamodb.NewQueryPaginator(t.db, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("read profiles of shard %d (segment %d/%d): %w", shard, seg, total, err)
			}
			t.Units.addOne(false, page.ConsumedCapacity)
			for _, it := range page.Items {
				if err := fn(it); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// batchGet reads items by key in consistent batches of 100, retrying what DynamoDB
// leaves unprocessed; keys without an item are absent. With attrs, only those attributes
// (and the key) are read: the same units, fewer bytes.
func (t *Table) batchGet(ctx context.Context, keys []Key, attrs ...string) (map[Key]map[string]types.AttributeValue, error) {
	out := map[Key]map[string]types.AttributeValue{}
	var projection *string
	var names map[string]string
	if len(attrs) > 0 {
		names = map[string]string{"#pk": attrPK, "#sk": attrSK}
		p := "#pk, #sk"
		for i, a := range attrs {
			n := fmt.Sprintf("#a%d", i)
			names[n], p = a, p+", "+n
		}
		projection = aws.String(p)
	}
	var avs []map[string]types.AttributeValue
	seen := map[Key]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			avs = append(avs, k.av())
		}
	}
	for len(avs) > 0 {
		n := min(len(avs), 100)
		req := map[string]types.KeysAndAttributes{t.Name: {Keys: avs[:n], ConsistentRead: aws.Bool(true),
			ProjectionExpression: projection, ExpressionAttributeNames: names}}
		avs = avs[n:]
		for attempt := 0; len(req[t.Name].Keys) > 0; attempt++ {
			res, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				return nil, err
			}
			t.Units.add(false, res.ConsumedCapacity...)
			for _, it := range res.Responses[t.Name] {
				pk, ok1 := it[attrPK].(*types.AttributeValueMemberS)
				sk, ok2 := it[attrSK].(*types.AttributeValueMemberS)
				if ok1 && ok2 {
					out[Key{pk.Value, sk.Value}] = it
				}
			}
			req = res.UnprocessedKeys
			if len(req[t.Name].Keys) > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// batchWrite writes in batches of 25, resubmitting what DynamoDB left unprocessed.
func (t *Table) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for attempt := 0; len(reqs) > 0; attempt++ {
		n := min(len(reqs), 25)
		out, err := t.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems:           map[string][]types.WriteRequest{t.Name: reqs[:n]},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		t.Units.add(true, out.ConsumedCapacity...)
		reqs = append(out.UnprocessedItems[t.Name], reqs[n:]...)
		if len(out.UnprocessedItems[t.Name]) > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
	}
	return nil
}

// transact runs TransactWriteItems and counts its units. A cancellation is returned as
// *types.TransactionCanceledException for the caller to read the reasons.
func (t *Table) transact(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := t.transactWrite(ctx, items)
	return err
}

// transactWrite runs one TransactWriteItems and meters it as DynamoDB bills it, which
// DynamoDB Local does not report: it answers 2 units for any transaction, whatever it
// holds. A transactional write costs 2 write units per KB of each item it writes; a Put's
// size is known here, an Update's, Delete's or ConditionCheck's result is not and is
// counted as one KB (the items this package updates in transactions are below it). Every
// index entry a Put carries keys for is counted as one more unit. A cancelled transaction
// is metered the same: its prepare phase is billed.
func (t *Table) transactWrite(ctx context.Context, items []types.TransactWriteItem) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	units := transactUnits(items)
	t.Units.add(true, types.ConsumedCapacity{WriteCapacityUnits: &units})
	return out, err
}

// transactUnits is what a TransactWriteItems of items is billed in write units (see
// transactWrite).
func transactUnits(items []types.TransactWriteItem) float64 {
	var units float64
	for _, it := range items {
		if it.Put == nil {
			units += 2
			continue
		}
		units += 2 * math.Ceil(float64(itemSize(it.Put.Item))/1024)
		for _, index := range []string{attrGSI1PK, attrGSI2PK, attrGSI3PK, attrGSI4PK} {
			if _, ok := it.Put.Item[index]; ok {
				units++
			}
		}
	}
	return units
}

// itemSize is an item's size as DynamoDB counts it for capacity: each attribute's name
// and value; a number is about one byte per two digits plus one; a list or map adds 3
// bytes and one per element, a map also its names.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return (len(strings.TrimLeft(x.Value, "-0"))+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range x.Value {
			n += len(e)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, e := range x.Value {
			n += (len(e)+1)/2 + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// cancelReasons returns, for a cancelled transaction, which items failed their
// condition (by index), or nil for any other error.
func cancelReasons(err error) []bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	failed := make([]bool, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		failed[i] = aws.ToString(r.Code) == "ConditionalCheckFailed"
	}
	return failed
}

// retryable reports errors worth another optimistic round: a lost condition or a
// transaction conflicting with another in flight.
func retryable(err error) bool {
	var tce *types.TransactionCanceledException
	var ccf *types.ConditionalCheckFailedException
	var tc *types.TransactionConflictException
	return errors.As(err, &tce) || errors.As(err, &ccf) || errors.As(err, &tc)
}

// backoff waits a little, with jitter, before another optimistic round, so that fifty
// concurrent submissions of one person do not retry in lock step.
func backoff(ctx context.Context, attempt int) error {
	ceiling := int64(2 << min(attempt, 3)) // 4 ms … 16 ms
	n, _ := rand.Int(rand.Reader, big.NewInt(ceiling))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(n.Int64()+1) * time.Millisecond):
		return nil
	}
}

package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Table is the single tierflow table.
type Table struct {
	DB    *dynamodb.Client
	Name  string
	Units *Meter
}

// New returns a Table that counts the request units of every call made through it.
func New(db *dynamodb.Client, name string) *Table {
	return &Table{DB: db, Name: name, Units: &Meter{}}
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

// Sub returns the units consumed between two snapshots.
func (u Units) Sub(before Units) Units {
	return Units{Read: u.Read - before.Read, Write: u.Write - before.Write, Calls: u.Calls - before.Calls}
}

// Add records consumed capacity returned by one call. Reads and writes are told apart by
// the call kind because DynamoDB reports only the total for single-item operations.
func (m *Meter) Add(write bool, cc ...types.ConsumedCapacity) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
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

// AddOne is Add for the single *ConsumedCapacity most calls return.
func (m *Meter) AddOne(write bool, cc *types.ConsumedCapacity) {
	if cc == nil {
		m.Add(write)
		return
	}
	m.Add(write, *cc)
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

// EncodeCursor turns a LastEvaluatedKey into an opaque page cursor. Every key attribute
// of the table is a string, so the cursor is a small JSON object.
func EncodeCursor(lek map[string]types.AttributeValue) (string, error) {
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

// ErrBadCursor is returned for a cursor this package did not produce.
var ErrBadCursor = fmt.Errorf("invalid cursor")

// DecodeCursor is the inverse of EncodeCursor.
func DecodeCursor(cursor string) (map[string]types.AttributeValue, error) {
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
		switch k {
		case attrPK, attrSK, attrGSI1PK, attrGSI1SK, attrGSI2PK, attrGSI2SK, attrGSI3PK, attrGSI3SK:
			out[k] = &types.AttributeValueMemberS{Value: v}
		default:
			return nil, ErrBadCursor
		}
	}
	return out, nil
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/model"
)

// OnceStore is Txn.Once for a transaction whose once-key names its store (every one the
// API queues now); a message without it was queued before, and is counted against the
// legacy key it was posted under.
const OnceStore = "store"

// Errors of ingest that no retry mends: the message goes to the DLQ, never silently away.
var (
	// ErrNoProfile: the transaction names a customer without a profile. The API resolves
	// every customer before queueing (C2); an unknown id never creates one here.
	ErrNoProfile = errors.New("store: the transaction's customer has no profile")
	// ErrWrongStore: the customer belongs to another store than the transaction.
	ErrWrongStore = errors.New("store: the customer belongs to another store than the transaction")
	// ErrOnceConflict: the once-key was applied before with different content.
	ErrOnceConflict = errors.New("store: the transaction's key was applied before with different content")
)

// earliestTxn: nothing a business records happened before it.
var earliestTxn = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// TxnKey is a transaction's once-key.
type TxnKey struct{ Store, Source, ExternalID string }

// Key is t's once-key.
func (t Txn) Key() TxnKey { return TxnKey{Store: t.Store, Source: t.Source, ExternalID: t.ExternalID} }

// txnContent is what a transaction says, in a fixed order: the fingerprint's input.
type txnContent struct {
	V          int         `json:"v"`
	CustomerID string      `json:"customerId"`
	At         string      `json:"at"`
	Amount     model.Money `json:"amount"`
	Currency   string      `json:"currency"`
	Refund     bool        `json:"refund"`
	RefundOf   string      `json:"refundOf"`
	Items      string      `json:"items"`
}

func sum256(v any) string {
	b, _ := json.Marshal(v) // plain strings, ints and bools: cannot fail
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (t Txn) itemsFingerprint() string {
	if len(t.Items) == 0 {
		return ""
	}
	return sum256(t.Items)
}

func (t Txn) content() txnContent {
	return txnContent{V: 1, CustomerID: t.CustomerID, At: t.At.UTC().Format(time.RFC3339Nano), Amount: t.Amount,
		Currency: t.Currency, Refund: t.Refund, RefundOf: t.RefundOf, Items: t.itemsFingerprint()}
}

// Fingerprint is a canonical hash of what the transaction says (customer, time, amount,
// currency, type, refunded purchase, lines), not of how it was spelled.
func (t Txn) Fingerprint() string { return sum256(t.content()) }

// TxnMarker is a once-marker: the transaction its key was applied with, kept so that the
// same key posted again can be told apart as the same (duplicate) or not (conflict).
type TxnMarker struct {
	CustomerID  string      `dynamodbav:"customerId"`
	AppliedAt   string      `dynamodbav:"at"` // when ingest applied it
	Store       string      `dynamodbav:"store,omitempty"`
	Fingerprint string      `dynamodbav:"fp,omitempty"`
	TxnAt       string      `dynamodbav:"txnAt,omitempty"`
	Amount      model.Money `dynamodbav:"amount,omitempty"`
	Currency    string      `dynamodbav:"currency,omitempty"`
	Refund      bool        `dynamodbav:"refund,omitempty"`
	RefundOf    string      `dynamodbav:"refundOf,omitempty"`
	ItemsFP     string      `dynamodbav:"itemsFp,omitempty"`
	// Legacy: a marker under the key without the store, written before it named one;
	// it carries only the customer.
	Legacy bool `dynamodbav:"-"`
}

// MarkerOf is the marker t leaves when it is applied (without the time it is).
func MarkerOf(t Txn) TxnMarker {
	c := t.content()
	return TxnMarker{CustomerID: t.CustomerID, Store: t.Store, Fingerprint: t.Fingerprint(),
		TxnAt: c.At, Amount: t.Amount, Currency: t.Currency, Refund: t.Refund, RefundOf: t.RefundOf, ItemsFP: c.Items}
}

// Same reports whether t is the transaction the marker was applied with.
func (m TxnMarker) Same(t Txn) bool {
	if m.Legacy {
		return m.CustomerID == t.CustomerID // all a legacy marker knows
	}
	return m.Fingerprint == t.Fingerprint()
}

// Differences names, as JSON pointers of the posted transaction, what t says otherwise
// than the transaction the marker was applied with.
func (m TxnMarker) Differences(t Txn) []string {
	if m.Legacy {
		if m.CustomerID != t.CustomerID {
			return []string{"/customer"}
		}
		return nil
	}
	c := t.content()
	var out []string
	for _, d := range []struct {
		field string
		same  bool
	}{
		{"/customer", m.CustomerID == t.CustomerID}, {"/at", m.TxnAt == c.At}, {"/amount", m.Amount == t.Amount},
		{"/currency", m.Currency == t.Currency}, {"/type", m.Refund == t.Refund}, {"/refundOf", m.RefundOf == t.RefundOf},
		{"/items", m.ItemsFP == c.Items},
	} {
		if !d.same {
			out = append(out, d.field)
		}
	}
	if len(out) == 0 && m.Fingerprint != t.Fingerprint() {
		out = []string{""}
	}
	return out
}

// TxnMarkers reads the once-markers of a batch of transactions (one BatchGetItem per 100
// keys), with the legacy key of each: a legacy marker counts for a key only if the
// customer it names belongs to the key's store — it is then the same transaction, posted
// before keys named the store. Keys without a marker are absent.
func (t *Table) TxnMarkers(ctx context.Context, keys []TxnKey) (map[TxnKey]TxnMarker, error) {
	var ks []Key
	for _, k := range keys {
		ks = append(ks, TxnOnceKey(k.Store, k.Source, k.ExternalID), LegacyTxnOnceKey(k.Source, k.ExternalID))
	}
	items, err := t.batchGet(ctx, ks)
	if err != nil {
		return nil, fmt.Errorf("read transaction markers: %w", err)
	}
	out := map[TxnKey]TxnMarker{}
	legacy := map[TxnKey]TxnMarker{}
	var legacyCustomers []string
	for _, k := range keys {
		if it, ok := items[TxnOnceKey(k.Store, k.Source, k.ExternalID).PK]; ok {
			var m TxnMarker
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, fmt.Errorf("decode transaction marker: %w", err)
			}
			out[k] = m
			continue
		}
		if it, ok := items[LegacyTxnOnceKey(k.Source, k.ExternalID).PK]; ok {
			var m TxnMarker
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, fmt.Errorf("decode transaction marker: %w", err)
			}
			m.Legacy = true
			legacy[k] = m
			legacyCustomers = append(legacyCustomers, m.CustomerID)
		}
	}
	if len(legacy) == 0 {
		return out, nil
	}
	stores, err := t.CustomerStores(ctx, legacyCustomers)
	if err != nil {
		return nil, err
	}
	for k, m := range legacy {
		if st, ok := stores[m.CustomerID]; ok && st == k.Store {
			out[k] = m
		}
	}
	return out, nil
}

// TxnMarker reads one transaction's marker (TxnMarkers for one key).
func (t *Table) TxnMarker(ctx context.Context, k TxnKey) (TxnMarker, bool, error) {
	ms, err := t.TxnMarkers(ctx, []TxnKey{k})
	m, ok := ms[k]
	return m, ok, err
}

// TxnMarkers reads the markers of transactions of stores in the caller's scope; keys of
// other stores are left out, as if they had none (the caller is refused them anyway).
func (s *Staff) TxnMarkers(ctx context.Context, sc access.Scope, keys []TxnKey) (map[TxnKey]TxnMarker, error) {
	var mine []TxnKey
	for _, k := range keys {
		if sc.Has(k.Store) {
			mine = append(mine, k)
		}
	}
	if len(mine) == 0 {
		return map[TxnKey]TxnMarker{}, nil
	}
	return s.t.TxnMarkers(ctx, mine)
}

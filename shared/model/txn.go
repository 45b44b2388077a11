package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Txn is one purchase or refund: what the API validates a POS or billing system's post
// into, what the ingest queue carries (its JSON is the message body: the names are a wire
// format), what the data set readers produce, what the tier engine folds into a
// customer's aggregates and what the store keeps on the customer's timeline.
//
// Amount is always positive minor units; Refund says which way it counts (Net).
type Txn struct {
	Source     string    `json:"source" dynamodbav:"source"`
	ExternalID string    `json:"externalId" dynamodbav:"externalId"` // the invoice or receipt number
	CustomerID string    `json:"customerId" dynamodbav:"customerId"`
	Store      string    `json:"store,omitempty" dynamodbav:"store,omitempty"`
	At         time.Time `json:"at" dynamodbav:"at"`
	Amount     Money     `json:"amount" dynamodbav:"amount"`
	Currency   string    `json:"currency" dynamodbav:"currency"`
	Refund     bool      `json:"refund,omitempty" dynamodbav:"refund,omitempty"`
	RefundOf   string    `json:"refundOf,omitempty" dynamodbav:"refundOf,omitempty"`
	Items      []TxnItem `json:"items,omitempty" dynamodbav:"items,omitempty"`
	// Once is OnceStore when the once-key names the store (every transaction the API
	// queues now); a message queued before that has none, and is counted against the key
	// it was posted under. It travels on the queue only.
	Once string `json:"once,omitempty" dynamodbav:"-"`
}

// TxnItem is one line of a transaction. EffectDays is how long the product keeps working
// (a filler, a course of treatment); follow-up schedules a repurchase reminder from it.
// Zero means the product has no known effect duration.
type TxnItem struct {
	SKU        string `json:"sku" dynamodbav:"sku"`
	Name       string `json:"name,omitempty" dynamodbav:"name,omitempty"`
	Qty        int    `json:"qty" dynamodbav:"qty"`
	UnitPrice  Money  `json:"unitPrice" dynamodbav:"unitPrice"`
	EffectDays int    `json:"effectDays,omitempty" dynamodbav:"effectDays,omitempty"`
}

// OnceStore is Txn.Once for a transaction whose once-key names its store.
const OnceStore = "store"

// Net is the amount as it counts towards spend: negative for a refund.
func (t Txn) Net() Money {
	if t.Refund {
		return -t.Amount
	}
	return t.Amount
}

// Ref identifies the transaction across systems; follow-up triggers use it so that
// planning the same transaction twice creates nothing twice.
func (t Txn) Ref() string { return t.Source + "#" + t.ExternalID }

// TxnKey is a transaction's once-key: per store, so one store's ids never block another's.
type TxnKey struct{ Store, Source, ExternalID string }

// Key is t's once-key.
func (t Txn) Key() TxnKey { return TxnKey{Store: t.Store, Source: t.Source, ExternalID: t.ExternalID} }

// txnContent is what a transaction says, in a fixed order: the fingerprint's input.
type txnContent struct {
	V          int    `json:"v"`
	CustomerID string `json:"customerId"`
	At         string `json:"at"`
	Amount     Money  `json:"amount"`
	Currency   string `json:"currency"`
	Refund     bool   `json:"refund"`
	RefundOf   string `json:"refundOf"`
	Items      string `json:"items"`
}

func sum256(v any) string {
	b, _ := json.Marshal(v) // plain strings, ints and bools: cannot fail
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// itemsFingerprint is a hash of the lines ("" without lines).
func (t Txn) itemsFingerprint() string {
	if len(t.Items) == 0 {
		return ""
	}
	return sum256(t.Items)
}

// canonicalAt is the time as a fingerprint and a marker compare it.
func (t Txn) canonicalAt() string { return t.At.UTC().Format(time.RFC3339Nano) }

func (t Txn) content() txnContent {
	return txnContent{V: 1, CustomerID: t.CustomerID, At: t.canonicalAt(), Amount: t.Amount,
		Currency: t.Currency, Refund: t.Refund, RefundOf: t.RefundOf, Items: t.itemsFingerprint()}
}

// Fingerprint is a canonical hash of what the transaction says (customer, time, amount,
// currency, type, refunded purchase, lines), not of how it was spelled.
func (t Txn) Fingerprint() string { return sum256(t.content()) }

// TxnMarker is a once-marker: the transaction its key was applied with, kept so that the
// same key posted again can be told apart as the same (a duplicate) or not (a conflict).
type TxnMarker struct {
	CustomerID  string `dynamodbav:"customerId"`
	AppliedAt   string `dynamodbav:"at"` // when ingest applied it
	Store       string `dynamodbav:"store,omitempty"`
	Fingerprint string `dynamodbav:"fp,omitempty"`
	TxnAt       string `dynamodbav:"txnAt,omitempty"`
	Amount      Money  `dynamodbav:"amount,omitempty"`
	Currency    string `dynamodbav:"currency,omitempty"`
	Refund      bool   `dynamodbav:"refund,omitempty"`
	RefundOf    string `dynamodbav:"refundOf,omitempty"`
	ItemsFP     string `dynamodbav:"itemsFp,omitempty"`
	// Legacy: a marker under the key without the store, written before it named one;
	// it carries only the customer.
	Legacy bool `dynamodbav:"-"`
}

// MarkerOf is the marker t leaves when it is applied (without the time it is).
func MarkerOf(t Txn) TxnMarker {
	return TxnMarker{CustomerID: t.CustomerID, Store: t.Store, Fingerprint: t.Fingerprint(), TxnAt: t.canonicalAt(),
		Amount: t.Amount, Currency: t.Currency, Refund: t.Refund, RefundOf: t.RefundOf, ItemsFP: t.itemsFingerprint()}
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

package model

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestARefundCountsNegativeAndAPurchasePositive(t *testing.T) {
	buy := Txn{Amount: 12_000}
	back := Txn{Amount: 4_000, Refund: true}
	if buy.Net() != 12_000 || back.Net() != -4_000 {
		t.Fatalf("net purchase %s, refund %s; want 120.00 and -40.00", buy.Net(), back.Net())
	}
}

// The queue carries the JSON of Txn: messages queued before this type existed must
// decode into the same transaction, and a new one must keep those names.
func TestTheIngestMessageKeepsItsFieldNames(t *testing.T) {
	old := `{"source":"pos","externalId":"INV-1","customerId":"c1","store":"sh-01","at":"2025-02-20T15:00:00+08:00",` +
		`"amount":120000,"currency":"CNY","refund":true,"refundOf":"INV-0","items":[{"sku":"FILL-1","name":"filler","qty":1,"unitPrice":120000,"effectDays":180}],"once":"store"}`
	var got Txn
	if err := json.Unmarshal([]byte(old), &got); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.FixedZone("", 8*3600))
	want := Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", Store: "sh-01", At: at, Amount: 120000, Currency: "CNY",
		Refund: true, RefundOf: "INV-0", Items: []TxnItem{{SKU: "FILL-1", Name: "filler", Qty: 1, UnitPrice: 120000, EffectDays: 180}}, Once: OnceStore}
	if got.Fingerprint() != want.Fingerprint() || got.Once != OnceStore || got.Ref() != "pos#INV-1" || !got.At.Equal(at) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back, orig map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(old), &orig); err != nil {
		t.Fatal(err)
	}
	var gotKeys, wantKeys []string
	for k := range back {
		gotKeys = append(gotKeys, k)
	}
	for k := range orig {
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("encoded fields %v, want %v", gotKeys, wantKeys)
	}
}

func TestAMarkerTellsTheSameTransactionFromAnother(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	posted := Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", Store: "sh-01", At: time.Date(2025, 2, 20, 15, 0, 0, 0, sh),
		Amount: 1000, Currency: "CNY", Items: []TxnItem{{SKU: "A", Qty: 1, UnitPrice: 1000}}}
	m := MarkerOf(posted)
	respelled := posted
	respelled.At = posted.At.UTC() // the same instant written in another zone
	tests := []struct {
		name   string
		change func(*Txn)
		want   []string
	}{
		{"the same transaction in another time zone is the same", func(*Txn) {}, nil},
		{"another amount is named", func(x *Txn) { x.Amount = 2000 }, []string{"/amount"}},
		{"a refund of the purchase's key is another type", func(x *Txn) { x.Refund = true }, []string{"/type"}},
		{"other lines are named", func(x *Txn) { x.Items[0].Qty = 2 }, []string{"/items"}},
		{"another customer and time are both named", func(x *Txn) { x.CustomerID, x.At = "c2", x.At.Add(time.Hour) }, []string{"/customer", "/at"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := respelled
			x.Items = slices.Clone(respelled.Items)
			tc.change(&x)
			if got := m.Differences(x); !slices.Equal(got, tc.want) || m.Same(x) != (tc.want == nil) {
				t.Fatalf("differences %v (same=%v), want %v", got, m.Same(x), tc.want)
			}
		})
	}
	legacy := TxnMarker{CustomerID: "c1", Legacy: true}
	if !legacy.Same(posted) || legacy.Same(Txn{CustomerID: "c2"}) {
		t.Fatal("a legacy marker knows only its customer")
	}
}

package access_test

import (
	"context"
	"testing"

	"github.com/tierflow/tierflow/shared/access"
)

func TestTransactionCustomers(t *testing.T) {
	req := access.Request{ID: "req-1", SourceIP: "192.0.2.1"}
	type want struct {
		id      string // "new": a customer created for the transaction
		field   string // refused at this field
		created int
		audited bool
	}
	cases := []struct {
		name string
		item access.TxnCustomer
		want want
	}{
		{"an id of the caller's store is the customer", access.TxnCustomer{Store: "sh-01", ID: "c-sh"}, want{id: "c-sh"}},
		{"an unknown id is refused and creates nobody", access.TxnCustomer{Store: "sh-01", ID: "c-invented"}, want{field: "/customer/id"}},
		{"another store's id is refused like an unknown one", access.TxnCustomer{Store: "sh-01", ID: "c-bj"}, want{field: "/customer/id"}},
		{"a phone of another store's customer is refused, never attached, and the attempt audited",
			access.TxnCustomer{Store: "sh-01", Phone: "+8613900000002"}, want{field: "/customer", audited: true}},
		{"a phone of the caller's customer finds them", access.TxnCustomer{Store: "sh-01", Phone: "+8613900000001"}, want{id: "c-sh"}},
		{"an unknown phone creates a customer in the transaction's store", access.TxnCustomer{Store: "sh-01", Phone: "+8613900000009"}, want{id: "new", created: 1}},
		{"a phone whose customer has no profile (a creation that died) creates one: the store settles the claim",
			access.TxnCustomer{Store: "sh-01", Phone: "+8613900000003"}, want{id: "new", created: 1}},
		{"an unknown number creates that store's customer", access.TxnCustomer{Store: "sh-01", Ref: "POS-77"}, want{id: "new", created: 1}},
		{"a known number finds that store's customer", access.TxnCustomer{Store: "sh-01", Ref: "POS-1"}, want{id: "c-sh"}},
		{"the same number in another store is another customer", access.TxnCustomer{Store: "sh-01", Ref: "BJ-1"}, want{id: "new", created: 1}},
		{"a known transaction never creates its customer", access.TxnCustomer{Store: "sh-01", Ref: "POS-88", LookupOnly: true}, want{}},
		{"a store the caller does not cover is refused", access.TxnCustomer{Store: "bj-01", Ref: "BJ-1"}, want{field: "/store"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.add("c-sh", "sh-01", "+8613900000001")
			f.add("c-bj", "bj-01", "+8613900000002")
			f.contacts["+8613900000003"] = "c-dead" // a claim whose profile never came
			f.refs[access.Ref{Store: "sh-01", Number: "POS-1"}] = "c-sh"
			f.refs[access.Ref{Store: "bj-01", Number: "BJ-1"}] = "c-bj"
			res := f.layer().TxnCustomers(context.Background(), shClinician, []access.TxnCustomer{tc.item}, req)[0]
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			switch {
			case tc.want.field != "":
				if len(res.Refused) != 1 || res.Refused[0].Field != tc.want.field || res.CustomerID != "" {
					t.Fatalf("got %+v, want refused at %s", res, tc.want.field)
				}
			case tc.want.id == "new":
				if res.CustomerID == "" || f.profiles[res.CustomerID].Store != tc.item.Store {
					t.Fatalf("got %+v, want a new customer of %s", res, tc.item.Store)
				}
			default:
				if res.CustomerID != tc.want.id || len(res.Refused) > 0 {
					t.Fatalf("got %+v, want %q", res, tc.want.id)
				}
			}
			if f.creates != tc.want.created {
				t.Fatalf("%d customers created, want %d", f.creates, tc.want.created)
			}
			if audited := len(f.audit) > 0; audited != tc.want.audited {
				t.Fatalf("audit %+v, want audited=%v", f.audit, tc.want.audited)
			}
			if tc.want.audited {
				e := f.audit[0]
				if e.CustomerID != "c-bj" || e.Actor != shClinician.Sub || e.Action != access.AuditTxnRefused || e.RequestID != "req-1" || e.Fields[0] != "phone" {
					t.Fatalf("audit entry %+v", e)
				}
			}
		})
	}
}

func TestAnUnknownIDRefusalReadsLikeAnotherStores(t *testing.T) {
	f := newFake()
	f.add("c-bj", "bj-01", "")
	res := f.layer().TxnCustomers(context.Background(), shClinician, []access.TxnCustomer{
		{Store: "sh-01", ID: "c-bj"}, {Store: "sh-01", ID: "c-nobody"}}, access.Request{})
	if res[0].Refused[0] != res[1].Refused[0] {
		t.Fatalf("another store's id: %+v; unknown id: %+v", res[0].Refused, res[1].Refused)
	}
}

func TestOneNumberInABatchCreatesOneCustomerAndLooksUpOnce(t *testing.T) {
	f := newFake()
	f.add("c-sh", "sh-01", "")
	items := []access.TxnCustomer{{Store: "sh-01", Ref: "N-1"}, {Store: "sh-01", Ref: "N-1"}, {Store: "sh-01", Ref: "N-2"}, {Store: "sh-01", ID: "c-sh"}}
	res := f.layer().TxnCustomers(context.Background(), shClinician, items, access.Request{})
	if res[0].CustomerID == "" || res[0].CustomerID != res[1].CustomerID || res[2].CustomerID == res[0].CustomerID || res[3].CustomerID != "c-sh" {
		t.Fatalf("%+v", res)
	}
	if f.creates != 2 || f.refReads != 1 || f.storeRead != 1 {
		t.Fatalf("creates %d, number reads %d, store reads %d; want 2, 1, 1", f.creates, f.refReads, f.storeRead)
	}
}

// A contact created meanwhile by another store's lead is not attached: the race ends
// like the lookup would have.
func TestAContactTakenMeanwhileByAnotherStoreIsRefused(t *testing.T) {
	f := newFake()
	f.add("c-bj", "bj-01", "")
	f.takeOnCreate = "c-bj"
	res := f.layer().TxnCustomers(context.Background(), shClinician, []access.TxnCustomer{{Store: "sh-01", Phone: "+8613900000005"}}, access.Request{})[0]
	if res.Err != nil || len(res.Refused) != 1 || res.Refused[0].Field != "/customer" {
		t.Fatalf("%+v", res)
	}
}

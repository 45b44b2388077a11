package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var shanghai = func() *time.Location { l, _ := time.LoadLocation("Asia/Shanghai"); return l }()

func newHandler(t *testing.T) (*handler, *store.Table) { return newHandlerTB(t) }

func newHandlerTB(t testing.TB) (*handler, *store.Table) {
	table := storetest.Table(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, shanghai)
	return &handler{log: slog.New(slog.NewTextHandler(io.Discard, nil)), table: table,
		policies: fixedPolicy{tiering.DefaultPolicy()}, now: func() time.Time { return now }, zone: shanghai}, table
}

type fixedPolicy struct{ p *tiering.Policy }

func (f fixedPolicy) CurrentPolicy(context.Context) (*tiering.Policy, bool, error) {
	return f.p, false, nil
}

func msg(t *testing.T, id string, txn store.Txn) events.SQSMessage { return msgTB(t, id, txn) }

func msgTB(t testing.TB, id string, txn store.Txn) events.SQSMessage {
	b, err := json.Marshal(txn)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(b)}
}

func purchase(cust, ext string, at time.Time, amount model.Money) store.Txn {
	return store.Txn{Source: "pos", ExternalID: ext, CustomerID: cust, Store: "sh-01", At: at, Amount: amount, Currency: "CNY",
		Items: []store.TxnItem{{SKU: "FILL-1", Name: "filler", Qty: 1, UnitPrice: amount}}}
}

func windowSpend(t *testing.T, table *store.Table, id string, asOf time.Time) model.Money {
	t.Helper()
	st, found, err := table.ReadTierState(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("read %s: found=%v err=%v", id, found, err)
	}
	return st.Aggregates.WindowSpend(tiering.DefaultPolicy(), asOf)
}

func TestRedeliveredTransactionCountsOnce(t *testing.T) {
	h, table := newHandler(t)
	ctx := context.Background()
	cust, ext := "c-"+storetest.Suffix(), "INV-"+storetest.Suffix()
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	txn := purchase(cust, ext, at, 120000)
	for i := 0; i < 3; i++ { // the first delivery, a redelivery, and a replay in another batch
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msg(t, "m1", txn)}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %+v %v", i, resp, err)
		}
	}
	if got := windowSpend(t, table, cust, at); got != 120000 {
		t.Fatalf("spend after three deliveries = %s, want 1200.00", got)
	}
	st, _, _ := table.ReadTierState(ctx, cust)
	if st.Aggregates.Purchases != 1 {
		t.Fatalf("purchases = %d, want 1", st.Aggregates.Purchases)
	}
	if st.Assignment.Stage != model.StageNew {
		t.Fatalf("stage after first purchase = %q, want new", st.Assignment.Stage)
	}
	txns, err := table.Transactions(ctx, cust)
	if err != nil || len(txns) != 1 {
		t.Fatalf("timeline has %d transactions (%v), want 1", len(txns), err)
	}
}

func TestRefundReversesSpend(t *testing.T) {
	h, table := newHandler(t)
	ctx := context.Background()
	cust := "c-" + storetest.Suffix()
	at := time.Date(2025, 2, 10, 10, 0, 0, 0, shanghai)
	buy := purchase(cust, "INV-"+storetest.Suffix(), at, 80000)
	refund := buy
	refund.ExternalID, refund.Refund, refund.RefundOf, refund.At = "RF-"+storetest.Suffix(), true, buy.ExternalID, at.Add(48*time.Hour)
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msg(t, "a", buy), msg(t, "b", refund)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	if got := windowSpend(t, table, cust, refund.At); got != 0 {
		t.Fatalf("net spend after refund = %s, want 0.00", got)
	}
}

func TestInstantUpgradeAtIngest(t *testing.T) {
	h, table := newHandler(t)
	ctx := context.Background()
	cust := "c-" + storetest.Suffix()
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, shanghai)
	// 3000 then 2500: the second purchase takes window spend over 5000 → Silver at once.
	for i, amt := range []model.Money{300000, 250000} {
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
			msg(t, "m", purchase(cust, "INV-"+storetest.Suffix(), at.AddDate(0, 0, i), amt))}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%+v %v", resp, err)
		}
		st, _, _ := table.ReadTierState(ctx, cust)
		want := model.TierNone
		if i == 1 {
			want = model.TierB
		}
		if st.Assignment.Tier != want {
			t.Fatalf("after purchase %d tier = %q, want %q (%s)", i+1, st.Assignment.Tier, want, st.Assignment.Reason)
		}
	}
	st, _, _ := table.ReadTierState(ctx, cust)
	if st.Assignment.Reason == "" || st.Assignment.PolicyVersion != 1 {
		t.Fatalf("upgrade without explanation: %+v", st.Assignment)
	}
}

func TestBadMessageFailsAloneInItsBatch(t *testing.T) {
	h, table := newHandler(t)
	ctx := context.Background()
	cust := "c-" + storetest.Suffix()
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, shanghai)
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		msg(t, "good-1", purchase(cust, "INV-"+storetest.Suffix(), at, 1000)),
		{MessageId: "bad", Body: `{"source":"pos"`},
		msg(t, "good-2", purchase(cust, "INV-"+storetest.Suffix(), at.Add(time.Hour), 2000)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad" {
		t.Fatalf("failures = %+v, want only the bad message", resp.BatchItemFailures)
	}
	if got := windowSpend(t, table, cust, at); got != 3000 {
		t.Fatalf("spend = %s, want 30.00 from the two good messages", got)
	}
}

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

	"github.com/tierflow/tierflow/shared/access"
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

func msg(t *testing.T, id string, txn model.Txn) events.SQSMessage { return msgTB(t, id, txn) }

func msgTB(t testing.TB, id string, txn model.Txn) events.SQSMessage {
	b, err := json.Marshal(txn)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(b)}
}

func purchase(cust, ext string, at time.Time, amount model.Money) model.Txn {
	return model.Txn{Source: "pos", ExternalID: ext, CustomerID: cust, Store: "sh-01", At: at, Amount: amount, Currency: "CNY",
		Items: []model.TxnItem{{SKU: "FILL-1", Name: "filler", Qty: 1, UnitPrice: amount}}, Once: model.OnceStore}
}

// customerOf creates a customer of st the way the API does for a transaction naming the
// business's customer number, and returns their id.
func customerOf(t testing.TB, table *store.Table, st string) string {
	t.Helper()
	id, err := table.CreateByRef(context.Background(), access.Ref{Store: st, Number: "N-" + storetest.Suffix()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return id
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
	cust, ext := customerOf(t, table, "sh-01"), "INV-"+storetest.Suffix()
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
	cust := customerOf(t, table, "sh-01")
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
	cust := customerOf(t, table, "sh-01")
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
	cust := customerOf(t, table, "sh-01")
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

// handleOne delivers one message and reports whether it failed (to be redelivered and,
// in the end, moved to the DLQ).
func handleOne(t *testing.T, h *handler, txn model.Txn) bool {
	t.Helper()
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{msg(t, "m-"+txn.ExternalID, txn)}})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.BatchItemFailures) == 1
}

func purchases(t *testing.T, table *store.Table, id string) int {
	t.Helper()
	st, found, err := table.ReadTierState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return -1
	}
	return st.Aggregates.Purchases
}

// C2, last bullet: ingest re-checks what the API checked, against the profile it changes.
func TestIngestAppliesOnlyToAnExistingCustomerOfTheTransactionsStore(t *testing.T) {
	h, table := newHandler(t)
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	bj := customerOf(t, table, "bj-01")
	cases := []struct {
		name    string
		txn     model.Txn
		fails   bool
		cust    string
		applied int // purchases of cust afterwards; -1: no profile
	}{
		{"a customer of another store is never applied to", purchase(bj, "X-"+storetest.Suffix(), at, 900000), true, bj, 0},
		{"an unknown customer gets no profile", purchase("c-invented-"+storetest.Suffix(), "X-"+storetest.Suffix(), at, 1000), true, "", -1},
		{"a time before 2000 is refused", func() model.Txn {
			tx := purchase(customerOf(t, table, "sh-01"), "X-"+storetest.Suffix(), time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), 1000)
			return tx
		}(), true, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := handleOne(t, h, tc.txn); got != tc.fails {
				t.Fatalf("failed=%v, want %v", got, tc.fails)
			}
			cust := tc.cust
			if cust == "" {
				cust = tc.txn.CustomerID
			}
			if got := purchases(t, table, cust); got != tc.applied {
				t.Fatalf("purchases of %s = %d, want %d", cust, got, tc.applied)
			}
		})
	}
}

// Finding 2: the once-key is per store, and the same key with other content fails to the
// DLQ instead of vanishing as a "duplicate".
func TestOnceKeysArePerStoreAndADifferentBodyIsAnError(t *testing.T) {
	h, table := newHandler(t)
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	sh, bj := customerOf(t, table, "sh-01"), customerOf(t, table, "bj-01")
	ext := "INV-" + storetest.Suffix()
	mine := purchase(sh, ext, at, 1000)
	theirs := purchase(bj, ext, at, 2000)
	theirs.Store = "bj-01"
	if handleOne(t, h, mine) || handleOne(t, h, theirs) {
		t.Fatal("the same source and external id in two stores: one was refused")
	}
	if purchases(t, table, sh) != 1 || purchases(t, table, bj) != 1 {
		t.Fatalf("purchases sh %d bj %d, want 1 and 1", purchases(t, table, sh), purchases(t, table, bj))
	}
	if handleOne(t, h, mine) {
		t.Fatal("a redelivery of the same transaction failed; it is a duplicate")
	}
	changed := mine
	changed.Amount = 99900
	if !handleOne(t, h, changed) {
		t.Fatal("the same key with another amount was dropped silently")
	}
	if got := windowSpend(t, table, sh, at); got != 1000 || purchases(t, table, sh) != 1 {
		t.Fatalf("spend %s, purchases %d after a conflicting redelivery; want 10.00 and 1", got, purchases(t, table, sh))
	}
}

// A message queued before once-keys named the store carries no Once: it is counted under
// the key it was posted with, as it would have been.
func TestAMessageQueuedBeforeTheChangeCountsOnceUnderItsOldKey(t *testing.T) {
	h, table := newHandler(t)
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	cust := customerOf(t, table, "sh-01")
	old := purchase(cust, "OLD-"+storetest.Suffix(), at, 5000)
	old.Once = ""
	for i := 0; i < 2; i++ {
		if handleOne(t, h, old) {
			t.Fatalf("delivery %d failed", i)
		}
	}
	if got := purchases(t, table, cust); got != 1 {
		t.Fatalf("purchases %d, want 1", got)
	}
	if _, found, _ := table.TxnMarker(context.Background(), model.TxnKey{Store: "sh-01", Source: old.Source, ExternalID: old.ExternalID}); !found {
		t.Fatal("the legacy marker is not found for the transaction's store")
	}
}

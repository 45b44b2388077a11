package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// The tests of this file and nightly_store_test.go run the services against DynamoDB
// Local through shared/store, the adapter production uses.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// shanghai is the business's clock (China has kept UTC+8 without summer time since 1991).
var shanghai = time.FixedZone("CST", 8*3600)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type fixedPolicy struct{ p *tiering.Policy }

func (f fixedPolicy) CurrentPolicy(context.Context) (*tiering.Policy, bool, error) {
	return f.p, false, nil
}

// newIngest is ingest over the table, with the default policy and no planner.
func newIngest(tb testing.TB) (*app.Ingest, *store.Table) {
	table := storetest.Table(tb)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, shanghai)
	return &app.Ingest{Log: discard(), Policies: fixedPolicy{tiering.DefaultPolicy()}, Ledger: table,
		Now: func() time.Time { return now }}, table
}

// apply delivers one transaction the way the ingest function does (a policy read per
// batch, then Apply).
func apply(tb testing.TB, in *app.Ingest, txn model.Txn) (app.Applied, error) {
	tb.Helper()
	pol, err := in.Policy(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return in.Apply(context.Background(), pol, txn)
}

func purchase(cust, ext string, at time.Time, amount model.Money) model.Txn {
	return model.Txn{Source: "pos", ExternalID: ext, CustomerID: cust, Store: "sh-01", At: at, Amount: amount, Currency: "CNY",
		Items: []model.TxnItem{{SKU: "FILL-1", Name: "filler", Qty: 1, UnitPrice: amount}}, Once: model.OnceStore}
}

// customerOf creates a customer of st the way the API does for a transaction naming the
// business's customer number, and returns their id.
func customerOf(tb testing.TB, table *store.Table, st string) string {
	tb.Helper()
	id, err := table.CreateByRef(context.Background(), access.Ref{Store: st, Number: "N-" + storetest.Suffix()}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func tierState(t *testing.T, table *store.Table, id string) (app.TierState, bool) {
	t.Helper()
	st, found, err := table.ReadTierState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st, found
}

func windowSpend(t *testing.T, table *store.Table, id string, asOf time.Time) model.Money {
	t.Helper()
	st, found := tierState(t, table, id)
	if !found {
		t.Fatalf("%s has no profile", id)
	}
	return st.Aggregates.WindowSpend(tiering.DefaultPolicy(), asOf)
}

// purchases counts a customer's purchases; -1 when there is no profile.
func purchases(t *testing.T, table *store.Table, id string) int {
	t.Helper()
	st, found := tierState(t, table, id)
	if !found {
		return -1
	}
	return st.Aggregates.Purchases
}

func TestRedeliveredTransactionCountsOnce(t *testing.T) {
	in, table := newIngest(t)
	ctx := context.Background()
	cust, ext := customerOf(t, table, "sh-01"), "INV-"+storetest.Suffix()
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	txn := purchase(cust, ext, at, 120000)
	for i := 0; i < 3; i++ { // the first delivery, a redelivery, and a replay in another batch
		res, err := apply(t, in, txn)
		if err != nil || res.Duplicate != (i > 0) {
			t.Fatalf("delivery %d: %+v %v", i, res, err)
		}
	}
	if got := windowSpend(t, table, cust, at); got != 120000 {
		t.Fatalf("spend after three deliveries = %s, want 1200.00", got)
	}
	st, _ := tierState(t, table, cust)
	if st.Aggregates.Purchases != 1 || st.Occasions == nil || st.Occasions.Days != 1 || st.Occasions.Net != 120000 {
		t.Fatalf("purchases %d, occasions %+v; want 1 purchase day of 1200.00", st.Aggregates.Purchases, st.Occasions)
	}
	if st.Assignment.Stage != model.StageNew {
		t.Fatalf("stage after first purchase = %q, want new", st.Assignment.Stage)
	}
	txns, err := table.Transactions(ctx, cust)
	if err != nil || len(txns) != 1 || txns[0].Fingerprint() != txn.Fingerprint() {
		t.Fatalf("timeline has %d transactions (%v), want the one posted", len(txns), err)
	}
}

func TestRefundReversesSpend(t *testing.T) {
	in, table := newIngest(t)
	cust := customerOf(t, table, "sh-01")
	at := time.Date(2025, 2, 10, 10, 0, 0, 0, shanghai)
	buy := purchase(cust, "INV-"+storetest.Suffix(), at, 80000)
	refund := buy
	refund.ExternalID, refund.Refund, refund.RefundOf, refund.At, refund.Items = "RF-"+storetest.Suffix(), true, buy.ExternalID, at.Add(48*time.Hour), nil
	for _, x := range []model.Txn{buy, refund} {
		if _, err := apply(t, in, x); err != nil {
			t.Fatal(err)
		}
	}
	if got := windowSpend(t, table, cust, refund.At); got != 0 {
		t.Fatalf("net spend after refund = %s, want 0.00", got)
	}
	if got := purchases(t, table, cust); got != 1 {
		t.Fatalf("purchases after a refund = %d, want 1 (the customer did come)", got)
	}
}

func TestInstantUpgradeAtIngest(t *testing.T) {
	in, table := newIngest(t)
	cust := customerOf(t, table, "sh-01")
	at := time.Date(2025, 2, 1, 10, 0, 0, 0, shanghai)
	// 3000 then 2500: the second purchase takes window spend over 5000 → Silver at once.
	for i, amt := range []model.Money{300000, 250000} {
		if _, err := apply(t, in, purchase(cust, "INV-"+storetest.Suffix(), at.AddDate(0, 0, i), amt)); err != nil {
			t.Fatal(err)
		}
		st, _ := tierState(t, table, cust)
		want := model.TierNone
		if i == 1 {
			want = model.TierB
		}
		if st.Assignment.Tier != want {
			t.Fatalf("after purchase %d tier = %q, want %q (%s)", i+1, st.Assignment.Tier, want, st.Assignment.Reason)
		}
	}
	st, _ := tierState(t, table, cust)
	if st.Assignment.Reason == "" || st.Assignment.PolicyVersion != 1 {
		t.Fatalf("upgrade without explanation: %+v", st.Assignment)
	}
}

// C2, last bullet: ingest re-checks what the API checked, against the profile it changes.
func TestIngestAppliesOnlyToAnExistingCustomerOfTheTransactionsStore(t *testing.T) {
	in, table := newIngest(t)
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	bj := customerOf(t, table, "bj-01")
	sh := customerOf(t, table, "sh-01")
	invented := "c-invented-" + storetest.Suffix()
	early := purchase(sh, "X-"+storetest.Suffix(), time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), 1000)
	cases := []struct {
		name    string
		txn     model.Txn
		err     error
		cust    string
		applied int // purchases of cust afterwards; -1: no profile
	}{
		{"a customer of another store is never applied to", purchase(bj, "X-"+storetest.Suffix(), at, 900000), app.ErrWrongStore, bj, 0},
		{"an unknown customer gets no profile", purchase(invented, "X-"+storetest.Suffix(), at, 1000), app.ErrNoProfile, invented, -1},
		{"a time before 2000 is refused", early, app.ErrBeforeRecords, sh, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apply(t, in, tc.txn); !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if got := purchases(t, table, tc.cust); got != tc.applied {
				t.Fatalf("purchases of %s = %d, want %d", tc.cust, got, tc.applied)
			}
		})
	}
}

// Finding 2: the once-key is per store, and the same key with other content fails to the
// DLQ instead of vanishing as a "duplicate".
func TestOnceKeysArePerStoreAndADifferentBodyIsAnError(t *testing.T) {
	in, table := newIngest(t)
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	sh, bj := customerOf(t, table, "sh-01"), customerOf(t, table, "bj-01")
	ext := "INV-" + storetest.Suffix()
	mine := purchase(sh, ext, at, 1000)
	theirs := purchase(bj, ext, at, 2000)
	theirs.Store = "bj-01"
	for _, x := range []model.Txn{mine, theirs} {
		if res, err := apply(t, in, x); err != nil || res.Duplicate {
			t.Fatalf("the same source and external id in two stores: %+v %v", res, err)
		}
	}
	if purchases(t, table, sh) != 1 || purchases(t, table, bj) != 1 {
		t.Fatalf("purchases sh %d bj %d, want 1 and 1", purchases(t, table, sh), purchases(t, table, bj))
	}
	if res, err := apply(t, in, mine); err != nil || !res.Duplicate {
		t.Fatalf("a redelivery of the same transaction: %+v %v; want a duplicate", res, err)
	}
	changed := mine
	changed.Amount = 99900
	if _, err := apply(t, in, changed); !errors.Is(err, app.ErrOnceConflict) {
		t.Fatalf("the same key with another amount: %v, want ErrOnceConflict", err)
	}
	if got := windowSpend(t, table, sh, at); got != 1000 || purchases(t, table, sh) != 1 {
		t.Fatalf("spend %s, purchases %d after a conflicting redelivery; want 10.00 and 1", got, purchases(t, table, sh))
	}
}

// A message queued before once-keys named the store carries no Once: it is counted under
// the key it was posted with, as it would have been.
func TestAMessageQueuedBeforeTheChangeCountsOnceUnderItsOldKey(t *testing.T) {
	in, table := newIngest(t)
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	cust := customerOf(t, table, "sh-01")
	old := purchase(cust, "OLD-"+storetest.Suffix(), at, 5000)
	old.Once = ""
	for i := 0; i < 2; i++ {
		if res, err := apply(t, in, old); err != nil || res.Duplicate != (i > 0) {
			t.Fatalf("delivery %d: %+v %v", i, res, err)
		}
	}
	if got := purchases(t, table, cust); got != 1 {
		t.Fatalf("purchases %d, want 1", got)
	}
	if _, found, err := table.TxnMarker(context.Background(), model.TxnKey{Store: "sh-01", Source: old.Source, ExternalID: old.ExternalID}); err != nil || !found {
		t.Fatalf("the legacy marker is not found for the transaction's store (%v)", err)
	}
}

// Four deliveries of different transactions of one customer at once: each reads, decides
// and writes against the same profile version; the losers read again and decide again,
// and every one counts exactly once.
func TestConcurrentTransactionsOfOneCustomerAllCountOnce(t *testing.T) {
	in, table := newIngest(t)
	cust := customerOf(t, table, "sh-01")
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, shanghai)
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		txn := purchase(cust, "C-"+storetest.Suffix(), at.Add(time.Duration(i)*time.Minute), 1000)
		go func() {
			_, err := in.Apply(context.Background(), tiering.DefaultPolicy(), txn)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got, spend := purchases(t, table, cust), windowSpend(t, table, cust, at); got != n || spend != n*1000 {
		t.Fatalf("purchases %d, spend %s; want %d and %s", got, spend, n, model.Money(n*1000))
	}
}

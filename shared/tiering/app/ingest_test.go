package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// memLedger keeps profiles, once-markers and transaction items in memory, with the
// store's conditions: a taken once-key writes nothing, a version that moved is
// ErrConflict. moveFirst bumps a profile's version before the first count, as a
// concurrent writer would; crashAfter stops an apply after that step ("claim",
// "count"), once, as a crashed function would.
type memLedger struct {
	states     map[string]TierState
	markers    map[model.TxnKey]model.TxnMarker
	recorded   map[model.TxnKey]TxnRecord
	lines      map[string]ReferralEntry // by referee
	moveFirst  int
	crashAfter string
	writes     int // profile writes
}

var errCrash = errors.New("crashed")

func newLedger(states ...TierState) *memLedger {
	l := &memLedger{states: map[string]TierState{}, markers: map[model.TxnKey]model.TxnMarker{}, recorded: map[model.TxnKey]TxnRecord{}, lines: map[string]ReferralEntry{}}
	for _, s := range states {
		l.states[s.ID] = s
	}
	return l
}

func (l *memLedger) crash(step string) error {
	if l.crashAfter == step {
		l.crashAfter = ""
		return errCrash
	}
	return nil
}

func onceOf(txn model.Txn) model.TxnKey {
	k := txn.Key()
	if txn.Once != model.OnceStore {
		k.Store = ""
	}
	return k
}

func (l *memLedger) ReadTierState(_ context.Context, id string) (TierState, bool, error) {
	s, ok := l.states[id]
	return s, ok, nil
}

func (l *memLedger) PeekTierState(ctx context.Context, id string) (TierState, bool, error) {
	return l.ReadTierState(ctx, id)
}

func (l *memLedger) TxnOnce(_ context.Context, txn model.Txn) (model.TxnMarker, bool, error) {
	k := onceOf(txn)
	m, ok := l.markers[k]
	m.Legacy = k.Store == "" && m.Fingerprint == ""
	return m, ok, nil
}

func (l *memLedger) TxnRecorded(_ context.Context, txn model.Txn) (TxnRecord, bool, error) {
	r, ok := l.recorded[onceOf(txn)]
	return r, ok, nil
}

func (l *memLedger) ClaimTxn(ctx context.Context, txn model.Txn, _ time.Time) (model.TxnMarker, bool, error) {
	if m, ok, _ := l.TxnOnce(ctx, txn); ok {
		return m, true, nil
	}
	l.markers[onceOf(txn)] = model.MarkerOf(txn)
	return model.TxnMarker{}, false, l.crash("claim")
}

func (l *memLedger) CountTxn(_ context.Context, w TxnWrite) error {
	if l.moveFirst > 0 {
		l.moveFirst--
		s := l.states[w.Txn.CustomerID]
		s.Version++
		l.states[w.Txn.CustomerID] = s
		return ErrConflict
	}
	cur, found := l.states[w.Txn.CustomerID]
	if found == w.Create || (found && cur.Version != w.Version) {
		return ErrConflict
	}
	occ := w.Occasions
	l.states[w.Txn.CustomerID] = TierState{ID: w.Txn.CustomerID, Version: w.Version + 1, Store: w.Store,
		Aggregates: w.Aggregates, Assignment: w.Assignment, Occasions: &occ, Applied: w.Applied,
		ReferredBy: cur.ReferredBy, Referral: w.Referral}
	l.writes++
	return l.crash("count")
}

func (l *memLedger) PutReferral(_ context.Context, e ReferralEntry) error {
	if cur, ok := l.lines[e.RefereeID]; !ok || cur.Version < e.Version {
		l.lines[e.RefereeID] = e
	}
	return l.crash("referral")
}

func (l *memLedger) RecordTxn(_ context.Context, txn model.Txn, rec TxnRecord) error {
	l.recorded[onceOf(txn)] = rec
	return nil
}

func TestIngestAppliesOnceAndDecidesAgainAfterAConflict(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	pol := tiering.DefaultPolicy()
	buy := func(ext string, amount model.Money) model.Txn {
		return model.Txn{Source: "pos", ExternalID: ext, CustomerID: "c1", Store: "sh-01", At: at, Amount: amount, Currency: "CNY", Once: model.OnceStore}
	}
	tests := []struct {
		name      string
		ledger    *memLedger
		create    bool
		txns      []model.Txn
		err       error
		purchases int
		attempts  int // of the last delivery; 0 when the once-marker decided it
	}{
		{"a purchase counts once however often it is delivered", newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1}), false,
			[]model.Txn{buy("INV-1", 1000), buy("INV-1", 1000), buy("INV-1", 1000)}, nil, 1, 0},
		{"a profile that moved under the write is read and decided again", func() *memLedger {
			l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1})
			l.moveFirst = 2
			return l
		}(), false, []model.Txn{buy("INV-1", 1000)}, nil, 1, 3},
		{"a profile that never stops moving is retried later", func() *memLedger {
			l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1})
			l.moveFirst = maxApplyAttempts
			return l
		}(), false, []model.Txn{buy("INV-1", 1000)}, ErrTooManyConflicts, 0, maxApplyAttempts},
		{"the same key with another amount fails instead of vanishing as a duplicate", newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1}), false,
			[]model.Txn{buy("INV-1", 1000), buy("INV-1", 2000)}, ErrOnceConflict, 1, 0},
		{"a customer of another store is never applied to", newLedger(TierState{ID: "c1", Store: "bj-01", Version: 1}), false,
			[]model.Txn{buy("INV-1", 1000)}, ErrWrongStore, 0, 1},
		{"an unknown customer gets no profile", newLedger(), false, []model.Txn{buy("INV-1", 1000)}, ErrNoProfile, -1, 1},
		{"a tool that builds a base may create the profile", newLedger(), true, []model.Txn{buy("INV-1", 1000)}, nil, 1, 1},
		{"a time before 2000 is refused", newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1}), false,
			[]model.Txn{func() model.Txn {
				x := buy("INV-1", 1000)
				x.At = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
				return x
			}()}, ErrBeforeRecords, 0, 0},
		{"a message without its customer is refused", newLedger(), false,
			[]model.Txn{func() model.Txn { x := buy("INV-1", 1000); x.CustomerID = ""; return x }()}, ErrIncomplete, -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &Ingest{Log: discard(), Ledger: tc.ledger, Now: func() time.Time { return at }, CreateMissing: tc.create}
			var err error
			var res Applied
			for _, x := range tc.txns {
				res, err = in.Apply(context.Background(), pol, x)
			}
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("last delivery: %v, want %v", err, tc.err)
			}
			st, found := tc.ledger.states["c1"]
			got := -1
			if found {
				got = st.Aggregates.Purchases
			}
			if got != tc.purchases || res.Attempts != tc.attempts || tc.ledger.writes > 1 {
				t.Fatalf("purchases %d after %d attempts (%d writes); want %d after %d", got, res.Attempts, tc.ledger.writes, tc.purchases, tc.attempts)
			}
		})
	}
}

// A message queued before once-keys named the store is counted against the key it was
// posted under; the marker found there is the same transaction whatever it says.
func TestALegacyMarkerIsADuplicate(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1})
	old := model.Txn{Source: "pos", ExternalID: "OLD-1", CustomerID: "c1", Store: "sh-01", At: at, Amount: 5000, Currency: "CNY"}
	l.markers[model.TxnKey{Source: "pos", ExternalID: "OLD-1"}] = model.TxnMarker{CustomerID: "c1"}
	in := &Ingest{Log: discard(), Ledger: l, Now: func() time.Time { return at }}
	res, err := in.Apply(context.Background(), tiering.DefaultPolicy(), old)
	if err != nil || !res.Duplicate || l.writes != 0 {
		t.Fatalf("legacy redelivery: %+v %v (%d writes)", res, err, l.writes)
	}
}

// An apply that crashed after any of its writes is completed by the redelivery, and
// counts once: the marker without the profile's count, and the count without the
// transaction item.
func TestACrashedApplyIsCompletedOnceByTheRedelivery(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	buy := model.Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", Store: "sh-01", At: at, Amount: 1000, Currency: "CNY", Once: model.OnceStore}
	legacy := buy
	legacy.Once = "" // queued before once-keys named the store
	for _, tc := range []struct {
		step string
		txn  model.Txn
	}{{"claim", buy}, {"count", buy}, {"claim", legacy}} {
		step, buy := tc.step, tc.txn
		t.Run("after "+step+" once="+buy.Once, func(t *testing.T) {
			l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1})
			l.crashAfter = step
			in := &Ingest{Log: discard(), Ledger: l, Now: func() time.Time { return at }}
			if _, err := in.Apply(context.Background(), tiering.DefaultPolicy(), buy); !errors.Is(err, errCrash) {
				t.Fatalf("first delivery: %v, want the crash", err)
			}
			res, err := in.Apply(context.Background(), tiering.DefaultPolicy(), buy)
			if err != nil || res.Duplicate {
				t.Fatalf("redelivery: %+v %v: want it completed", res, err)
			}
			res, err = in.Apply(context.Background(), tiering.DefaultPolicy(), buy)
			if err != nil || !res.Duplicate {
				t.Fatalf("third delivery: %+v %v: want a duplicate", res, err)
			}
			if got := l.states["c1"].Aggregates.Purchases; got != 1 || l.writes != 1 {
				t.Fatalf("%d purchases counted in %d profile writes, want 1 in 1", got, l.writes)
			}
			if _, ok := l.recorded[onceOf(buy)]; !ok {
				t.Fatal("the transaction item was never recorded")
			}
		})
	}
}

// Only a purchase made in a win-back stage has offers to cancel: only it is planned, and
// its redelivery plans it again.
func TestOnlyAPurchaseInAWinBackStagePlansItsPurchase(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		stage model.Stage
		want  bool
	}{{model.StageActive, false}, {model.StageNew, false}, {model.StageDormant, true}, {model.StageSleeping, true}, {model.StageChurned, true}} {
		t.Run(string(tc.stage), func(t *testing.T) {
			l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1, Assignment: tiering.Assignment{Stage: tc.stage, Tier: model.TierB}})
			in := &Ingest{Log: discard(), Ledger: l, Now: func() time.Time { return at }}
			buy := model.Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", Store: "sh-01", At: at, Amount: 1000, Currency: "CNY", Once: model.OnceStore}
			for i := 0; i < 2; i++ {
				res, err := in.Apply(context.Background(), tiering.DefaultPolicy(), buy)
				if err != nil {
					t.Fatal(err)
				}
				planned := false
				for _, tr := range ingestTriggers(buy, res) {
					planned = planned || tr.Kind == followup.TriggerPurchase
				}
				if planned != tc.want {
					t.Fatalf("delivery %d planned the purchase: %v, want %v", i+1, planned, tc.want)
				}
			}
		})
	}
}

// A referred customer's purchases earn the referrer the policy's share of their actual
// spend, exactly once however often a message is delivered or an apply crashes, and a
// refund takes its share back.
func TestTheReferralLedgerCountsTheRefereesSpendOnce(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	txn := func(ext string, amount model.Money, refund bool) model.Txn {
		return model.Txn{Source: "pos", ExternalID: ext, CustomerID: "c1", Store: "sh-01", At: at, Amount: amount,
			Currency: "CNY", Refund: refund, Once: model.OnceStore}
	}
	l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1, ReferredBy: "r9"})
	in := &Ingest{Log: discard(), Ledger: l, Now: func() time.Time { return at }}
	pol := tiering.DefaultPolicy()
	deliver := func(x model.Txn, crashAfter string) {
		t.Helper()
		l.crashAfter = crashAfter
		if _, err := in.Apply(context.Background(), pol, x); err != nil && !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
	}
	deliver(txn("INV-1", 800_000, false), "")
	deliver(txn("INV-1", 800_000, false), "") // redelivered
	deliver(txn("INV-2", 600_000, false), "count")
	deliver(txn("INV-2", 600_000, false), "") // completes the crashed apply
	deliver(txn("INV-3", 600_000, true), "referral")
	deliver(txn("INV-3", 600_000, true), "")
	got := l.lines["c1"]
	// ¥8,000 + ¥6,000 − ¥6,000 = ¥8,000 spent: 5 % of it.
	if got.ReferrerID != "r9" || got.Store != "sh-01" || got.Spend != 800_000 || got.Reward != 40_000 || got.RateBps != 500 {
		t.Fatalf("ledger line %+v, want r9's ¥8,000 earning ¥400 at 500 bps", got)
	}
}

// A customer nobody referred writes no ledger line.
func TestAnUnreferredCustomerWritesNoLedgerLine(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1})
	in := &Ingest{Log: discard(), Ledger: l, Now: func() time.Time { return at }}
	buy := model.Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", Store: "sh-01", At: at, Amount: 1000, Currency: "CNY", Once: model.OnceStore}
	if _, err := in.Apply(context.Background(), tiering.DefaultPolicy(), buy); err != nil {
		t.Fatal(err)
	}
	if len(l.lines) != 0 {
		t.Fatalf("ledger lines %v for a customer nobody referred", l.lines)
	}
}

// An instant upgrade at ingest is published once: its redelivery publishes nothing.
func TestAnInstantUpgradeIsPublishedOnce(t *testing.T) {
	at := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	pol := tiering.DefaultPolicy()
	if len(pol.InstantUpgrades) == 0 {
		t.Skip("the default policy has no instant rule")
	}
	l := newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1, Assignment: tiering.Assignment{Tier: model.TierC, Stage: model.StageActive}})
	pub := &events.Memory{}
	in := &Ingest{Log: discard(), Ledger: l, Events: pub, Now: func() time.Time { return at }}
	big := model.Txn{Source: "pos", ExternalID: "INV-1", CustomerID: "c1", Store: "sh-01", At: at,
		Amount: model.Money(pol.InstantUpgrades[0].WindowSpendOver) + 100, Currency: "CNY", Once: model.OnceStore}
	for i := 0; i < 2; i++ {
		if _, err := in.Apply(context.Background(), pol, big); err != nil {
			t.Fatal(err)
		}
	}
	got := pub.Events()
	if len(got) != 1 || got[0].Type != events.TierChanged || got[0].Store != "sh-01" {
		t.Fatalf("published %+v, want one tier.changed", got)
	}
}

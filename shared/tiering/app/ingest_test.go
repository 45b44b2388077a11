package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// memLedger keeps profiles and once-markers in memory, with the store's conditions:
// a taken once-key writes nothing, a version that moved is ErrConflict. moveFirst bumps a
// profile's version before the first write, as a concurrent writer would.
type memLedger struct {
	states    map[string]TierState
	markers   map[model.TxnKey]model.TxnMarker
	moveFirst int
	writes    int
}

func newLedger(states ...TierState) *memLedger {
	l := &memLedger{states: map[string]TierState{}, markers: map[model.TxnKey]model.TxnMarker{}}
	for _, s := range states {
		l.states[s.ID] = s
	}
	return l
}

func (l *memLedger) ReadTierState(_ context.Context, id string) (TierState, bool, error) {
	s, ok := l.states[id]
	return s, ok, nil
}

func (l *memLedger) ApplyTxn(_ context.Context, w TxnWrite) (model.TxnMarker, bool, error) {
	k := w.Txn.Key()
	if w.Txn.Once != model.OnceStore {
		k.Store = ""
	}
	if m, ok := l.markers[k]; ok {
		m.Legacy = k.Store == ""
		return m, true, nil
	}
	if l.moveFirst > 0 {
		l.moveFirst--
		s := l.states[w.Txn.CustomerID]
		s.Version++
		l.states[w.Txn.CustomerID] = s
		return model.TxnMarker{}, false, ErrConflict
	}
	cur, found := l.states[w.Txn.CustomerID]
	if found == w.Create || (found && cur.Version != w.Version) {
		return model.TxnMarker{}, false, ErrConflict
	}
	l.markers[k] = model.MarkerOf(w.Txn)
	occ := w.Occasions
	l.states[w.Txn.CustomerID] = TierState{ID: w.Txn.CustomerID, Version: w.Version + 1, Store: w.Store,
		Aggregates: w.Aggregates, Assignment: w.Assignment, Occasions: &occ}
	l.writes++
	return model.TxnMarker{}, false, nil
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
		attempts  int
	}{
		{"a purchase counts once however often it is delivered", newLedger(TierState{ID: "c1", Store: "sh-01", Version: 1}), false,
			[]model.Txn{buy("INV-1", 1000), buy("INV-1", 1000), buy("INV-1", 1000)}, nil, 1, 1},
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
			[]model.Txn{buy("INV-1", 1000), buy("INV-1", 2000)}, ErrOnceConflict, 1, 1},
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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// The handler is event mapping only: these tests give tiering/app.Ingest a ledger in
// memory. The exactly-once rules themselves are tested in shared/tiering/app, against
// DynamoDB Local.

type policies struct{ err error }

func (p policies) CurrentPolicy(context.Context) (*tiering.Policy, bool, error) {
	return tiering.DefaultPolicy(), false, p.err
}

// ledger keeps what was applied; a customer it does not know has no profile.
type ledger struct {
	states  map[string]app.TierState
	applied []model.Txn
}

func (l *ledger) ReadTierState(_ context.Context, id string) (app.TierState, bool, error) {
	s, ok := l.states[id]
	return s, ok, nil
}

func (l *ledger) PeekTierState(ctx context.Context, id string) (app.TierState, bool, error) {
	return l.ReadTierState(ctx, id)
}

func (l *ledger) TxnOnce(context.Context, model.Txn) (model.TxnMarker, bool, error) {
	return model.TxnMarker{}, false, nil
}

func (l *ledger) TxnRecorded(context.Context, model.Txn) (app.TxnRecord, bool, error) {
	return app.TxnRecord{}, false, nil
}

func (l *ledger) ClaimTxn(context.Context, model.Txn, time.Time) (model.TxnMarker, bool, error) {
	return model.TxnMarker{}, false, nil
}

func (l *ledger) CountTxn(_ context.Context, w app.TxnWrite) error {
	l.applied = append(l.applied, w.Txn)
	s := l.states[w.Txn.CustomerID]
	s.Version, s.Aggregates, s.Assignment = s.Version+1, w.Aggregates, w.Assignment
	l.states[w.Txn.CustomerID] = s
	return nil
}

func (l *ledger) RecordTxn(context.Context, model.Txn, app.TxnRecord) error { return nil }

func (l *ledger) PutReferral(context.Context, app.ReferralEntry) error { return nil }

func newHandler(polErr error) (*handler, *ledger) {
	l := &ledger{states: map[string]app.TierState{"c1": {ID: "c1", Store: "sh-01", Version: 1}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return &handler{log: log, ingest: &app.Ingest{Log: log, Policies: policies{polErr}, Ledger: l, Now: func() time.Time { return now }}}, l
}

// body is a queued message as the transactions API writes it (model.Txn's JSON).
func body(ext, customer string) string {
	return `{"source":"pos","externalId":"` + ext + `","customerId":"` + customer + `","store":"sh-01",` +
		`"at":"2025-02-20T15:00:00+08:00","amount":120000,"currency":"CNY","items":[{"sku":"FILL-1","qty":1,"unitPrice":120000,"effectDays":180}],"once":"store"}`
}

func failed(resp events.SQSEventResponse) (ids []string) {
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestEachMessageFailsAloneInItsBatch(t *testing.T) {
	tests := []struct {
		name    string
		records []events.SQSMessage
		polErr  error
		failed  []string
		applied []string
	}{
		{"a body the API never produced fails alone", []events.SQSMessage{
			{MessageId: "good-1", Body: body("INV-1", "c1")}, {MessageId: "bad", Body: `{"source":"pos"`}, {MessageId: "good-2", Body: body("INV-2", "c1")}},
			nil, []string{"bad"}, []string{"INV-1", "INV-2"}},
		{"a transaction the app refuses (no such customer) fails alone", []events.SQSMessage{
			{MessageId: "unknown", Body: body("INV-3", "c-invented")}, {MessageId: "good", Body: body("INV-4", "c1")}},
			nil, []string{"unknown"}, []string{"INV-4"}},
		{"a message without its customer fails", []events.SQSMessage{{MessageId: "empty", Body: body("INV-5", "")}},
			nil, []string{"empty"}, nil},
		{"without a policy every message goes back", []events.SQSMessage{
			{MessageId: "a", Body: body("INV-6", "c1")}, {MessageId: "b", Body: body("INV-7", "c1")}},
			errors.New("throttled"), []string{"a", "b"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, l := newHandler(tc.polErr)
			resp, err := h.Handle(context.Background(), events.SQSEvent{Records: tc.records})
			if err != nil {
				t.Fatal(err)
			}
			var applied []string
			for _, x := range l.applied {
				applied = append(applied, x.ExternalID)
			}
			if !slices.Equal(failed(resp), tc.failed) || !slices.Equal(applied, tc.applied) {
				t.Fatalf("failed %v, applied %v; want %v and %v", failed(resp), applied, tc.failed, tc.applied)
			}
		})
	}
}

// A message decodes into the transaction the API queued: amount, lines, once-key form.
func TestAQueuedMessageIsAppliedAsPosted(t *testing.T) {
	h, l := newHandler(nil)
	if resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: body("INV-1", "c1")}}}); err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	var want model.Txn
	if err := json.Unmarshal([]byte(body("INV-1", "c1")), &want); err != nil {
		t.Fatal(err)
	}
	agg := l.states["c1"].Aggregates
	if len(l.applied) != 1 || l.applied[0].Fingerprint() != want.Fingerprint() || l.applied[0].Once != model.OnceStore ||
		agg.WindowSpend(tiering.DefaultPolicy(), want.At) != 120000 {
		t.Fatalf("applied %+v, state %+v", l.applied, l.states["c1"])
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var shanghai = func() *time.Location { l, _ := time.LoadLocation("Asia/Shanghai"); return l }()

func newRetier(tb testing.TB, table *store.Table, segments int, now time.Time) *Retier {
	return &Retier{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Table: table,
		SQS: storetest.Emulators(tb).SQSClient(), QueueURL: storetest.Queue(tb, "retier"), Segments: segments,
		Zone: shanghai, Now: func() time.Time { return now }}
}

// seed ingests a synthetic base through the same once-only write the ingest function
// uses, one goroutine per customer group; ids get a prefix unique to the test.
func seed(tb testing.TB, table *store.Table, n int, prefix string) (ids []string, buyers map[string]bool) {
	syn := dataset.Synth(dataset.SynthConfig{Seed: 7, Customers: n,
		From: time.Date(2023, 1, 1, 0, 0, 0, 0, shanghai), To: time.Date(2025, 1, 1, 0, 0, 0, 0, shanghai)})
	pol := tiering.DefaultPolicy()
	byCust := map[string][]dataset.Txn{}
	for _, t := range syn.Txns {
		byCust[t.CustomerID] = append(byCust[t.CustomerID], t)
	}
	buyers = map[string]bool{}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, c := range syn.Customers {
		id := prefix + c.ID
		ids = append(ids, id)
		txns := byCust[c.ID]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for _, t := range txns {
				amt := t.Amount
				if t.Refund {
					amt = -amt
				}
				txn := store.Txn{Source: "synth", ExternalID: prefix + t.Invoice, CustomerID: id, Store: t.Store, At: t.At,
					Amount: amt, Currency: "CNY", Refund: t.Refund}
				_, err := table.ApplyTxn(context.Background(), txn, t.At, func(agg *tiering.Aggregates, prev tiering.Assignment) tiering.Assignment {
					next, _ := tiering.InstantUpgrade(pol, agg, prev, t.At)
					return next
				})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if !t.Refund {
					buyers[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	return ids, buyers
}

// drain plays the event source mapping: receive segment messages, hand them to the
// handler as SQS events, delete what succeeded, until the run is done.
func drain(tb testing.TB, r *Retier, runID string) store.Run {
	tb.Helper()
	c := storetest.Emulators(tb).SQSClient()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		run, _, err := r.Table.GetRun(ctx, runID)
		if err != nil {
			tb.Fatal(err)
		}
		if run.Status == store.RunDone {
			return run
		}
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.QueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range out.Messages {
			ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)}}}
			resp, err := r.HandleSQS(ctx, ev)
			if err != nil {
				tb.Fatal(err)
			}
			if len(resp.BatchItemFailures) > 0 {
				tb.Fatalf("segment %s failed", aws.ToString(m.Body))
			}
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	tb.Fatalf("run %s not done within the deadline", runID)
	return store.Run{}
}

func start(tb testing.TB, r *Retier, ev string) string {
	tb.Helper()
	out, err := r.Handle(context.Background(), json.RawMessage(ev))
	if err != nil {
		tb.Fatal(err)
	}
	return out.(map[string]string)["runId"]
}

func TestNightlyRunTiersEveryBuyerAndIsStableWhenRepeated(t *testing.T) {
	table := storetest.Table(t)
	prefix := "rt" + storetest.Suffix() + "-"
	ids, buyers := seed(t, table, 300, prefix)
	asOf := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
	r := newRetier(t, table, 4, asOf)

	runID := start(t, r, `{"action":"nightly"}`)
	if runID != "night-2025-01-01" {
		t.Fatalf("run id %q", runID)
	}
	// The schedule firing twice the same night starts no second run.
	if again := start(t, r, `{"action":"nightly"}`); again != runID {
		t.Fatalf("second start made run %q", again)
	}
	run := drain(t, r, runID)
	s := run.Summary
	if s == nil || s.Customers < len(buyers) {
		t.Fatalf("summary %+v", s)
	}
	ctx := context.Background()
	tiers := map[model.Tier]int{}
	for _, id := range ids {
		st, found, err := table.ReadTierState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !buyers[id] {
			continue
		}
		a := st.Assignment
		if !found || a.Tier == model.TierNone || a.Stage == "" || a.Reason == "" || a.AssessedOn != "2025-01-01" {
			t.Fatalf("%s: found=%v assignment %+v", id, found, a)
		}
		tiers[a.Tier]++
	}
	if tiers[model.TierA] == 0 || tiers[model.TierB] == 0 || tiers[model.TierC] == 0 {
		t.Fatalf("tier spread %v", tiers)
	}
	if s.Top20Share <= 0.2 || s.Top20Share > 1 {
		t.Fatalf("top 20%% revenue share %.3f", s.Top20Share)
	}
	hist, err := table.TierHistory(ctx, ids[0])
	if err != nil || (buyers[ids[0]] && len(hist) == 0) {
		t.Fatalf("history of %s: %v %v", ids[0], hist, err)
	}
	t.Logf("tiers %v, stages %v, changed %d, top20 %.1f%%", s.Tiers, s.Stages, s.Changed, 100*s.Top20Share)

	// Same as-of again (a manual re-run): nothing changes, nothing is written.
	again := fmt.Sprintf(`{"action":"nightly","runId":"rerun-%s","asOf":%q}`, storetest.Suffix(), asOf.Format(time.RFC3339))
	run2 := drain(t, r, start(t, r, again))
	if run2.Summary.Changed != 0 || run2.Summary.TierChanges != 0 {
		t.Fatalf("re-run changed %d profiles, %d tiers", run2.Summary.Changed, run2.Summary.TierChanges)
	}
	for k, v := range s.Tiers {
		if run2.Summary.Tiers[k] != v {
			t.Fatalf("re-run tiers %v, first run %v", run2.Summary.Tiers, s.Tiers)
		}
	}
}

func TestRedeliveredSegmentIsCountedOnce(t *testing.T) {
	table := storetest.Table(t)
	prefix := "rd" + storetest.Suffix() + "-"
	seed(t, table, 40, prefix)
	asOf := time.Date(2025, 1, 2, 2, 0, 0, 0, shanghai)
	r := newRetier(t, table, 2, asOf)
	runID := start(t, r, fmt.Sprintf(`{"action":"nightly","runId":"redo-%s"}`, storetest.Suffix()))
	ctx := context.Background()
	// Segment 0 of pass 1 delivered twice before anything else.
	for i := 0; i < 2; i++ {
		if err := r.Segment(ctx, SegmentMsg{RunID: runID, Pass: 1, Segment: 0}); err != nil {
			t.Fatal(err)
		}
	}
	run, _, _ := table.GetRun(ctx, runID)
	if run.Pass1Done != 1 || run.Status != store.RunPass1 {
		t.Fatalf("after a redelivered segment: pass1Done=%d status=%s", run.Pass1Done, run.Status)
	}
	done := drain(t, r, runID)
	// Redeliver a pass-2 segment after the run is done: no counts move.
	if err := r.Segment(ctx, SegmentMsg{RunID: runID, Pass: 2, Segment: 1}); err != nil {
		t.Fatal(err)
	}
	after, _, _ := table.GetRun(ctx, runID)
	if after.Pass2Done != 2 || after.Summary.Customers != done.Summary.Customers {
		t.Fatalf("pass2Done=%d customers %d→%d", after.Pass2Done, done.Summary.Customers, after.Summary.Customers)
	}
}

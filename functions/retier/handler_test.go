package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// The handler is event mapping only: these tests give tiering/app.Nightly run headers
// and a queue in memory. The run itself is tested in shared/tiering/app, against
// DynamoDB Local.

type policies struct{}

func (policies) CurrentPolicy(context.Context) (*tiering.Policy, bool, error) {
	return tiering.DefaultPolicy(), false, nil
}

// runs keeps headers; the other operations of app.Runs are not reached by these tests.
type runs struct {
	app.Runs
	byID map[string]app.Run
}

func (r *runs) CreateRun(_ context.Context, run app.Run) error {
	if _, ok := r.byID[run.ID]; ok {
		return app.ErrRunExists
	}
	r.byID[run.ID] = run
	return nil
}

func (r *runs) GetRun(_ context.Context, id string) (app.Run, bool, error) {
	run, ok := r.byID[id]
	return run, ok, nil
}

type segQueue struct{ bodies []string }

func (q *segQueue) Send(_ context.Context, bodies []string) ([]bool, error) {
	q.bodies = append(q.bodies, bodies...)
	return make([]bool, len(bodies)), nil
}

func newHandler() (*handler, *runs, *segQueue) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	r, q := &runs{byID: map[string]app.Run{}}, &segQueue{}
	shanghai := time.FixedZone("CST", 8*3600)
	return &handler{log: log, night: &app.Nightly{Log: log, Policies: policies{}, Runs: r, Queue: q, Segments: 3,
		Zone: shanghai, Now: func() time.Time { return now }}}, r, q
}

func TestTheScheduleStartsOneRunPerBusinessDay(t *testing.T) {
	h, r, q := newHandler()
	for i := 0; i < 2; i++ { // the schedule firing twice
		out, err := h.Handle(context.Background(), json.RawMessage(`{"action":"nightly"}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(map[string]string); got["runId"] != "night-2025-03-01" || got["status"] != app.RunPass1 {
			t.Fatalf("start %d answered %v", i, got)
		}
	}
	if len(r.byID) != 1 {
		t.Fatalf("%d runs created, want 1", len(r.byID))
	}
	var msgs []app.SegmentMsg
	for _, b := range q.bodies {
		var m app.SegmentMsg
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	// Pass 1 is queued again by the second start (a crash may have lost it); each
	// segment counts once on the run however often it is delivered.
	if len(msgs) != 6 || msgs[0] != (app.SegmentMsg{RunID: "night-2025-03-01", Pass: 1, Segment: 0}) || msgs[5].Segment != 2 {
		t.Fatalf("queued %+v", msgs)
	}
}

func TestAnEventThatIsNeitherTheScheduleNorSQSIsRefused(t *testing.T) {
	h, r, _ := newHandler()
	for _, ev := range []string{`{"action":"weekly"}`, `{}`, `[1,2]`, `not json`} {
		if _, err := h.Handle(context.Background(), json.RawMessage(ev)); err == nil {
			t.Errorf("%s was accepted", ev)
		}
	}
	if len(r.byID) != 0 {
		t.Fatalf("a refused event created %d runs", len(r.byID))
	}
}

// Segment messages are worked through one by one; only those that failed are reported,
// so SQS redelivers them alone. The API's pass 0 starts the run it names.
func TestASegmentThatFailsIsReportedAlone(t *testing.T) {
	h, r, _ := newHandler()
	r.byID["done-1"] = app.Run{ID: "done-1", Segments: 2, Status: app.RunDone, Policy: mustPolicy(t)}
	asOf := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	start, err := json.Marshal(app.SegmentMsg{RunID: "run-api-1", Pass: 0, AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "late", Body: `{"runId":"done-1","pass":2,"segment":1}`},    // a late duplicate of a finished run
		{MessageId: "unknown", Body: `{"runId":"nobody","pass":1,"segment":0}`}, // no such run
		{MessageId: "bad", Body: `{"runId":`},
		{MessageId: "outside", Body: `{"runId":"done-1","pass":1,"segment":2}`}, // the run has two segments
		{MessageId: "start", Body: string(start)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range out.(events.SQSEventResponse).BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if !slices.Equal(ids, []string{"unknown", "bad", "outside"}) {
		t.Fatalf("failures %v, want unknown, bad and outside", ids)
	}
	if run, ok := r.byID["run-api-1"]; !ok || run.Day != "2025-02-01" || run.Status != app.RunPass1 {
		t.Fatalf("the API's start made %+v", run)
	}
}

func mustPolicy(t *testing.T) string {
	b, err := json.Marshal(tiering.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeLayout is a table in some item layout; migrating moves its profiles once.
type fakeLayout struct {
	version, profiles, migrations int
}

func (f *fakeLayout) Layout(context.Context) (int, error) { return f.version, nil }
func (f *fakeLayout) MigrateProfiles(context.Context, time.Time) (int, error) {
	f.migrations++
	moved := f.profiles
	f.version, f.profiles = 2, 0
	return moved, nil
}

// A table written before the current layout is migrated by the deploy's
// {"action":"migrate"}, or, if that never ran, by the first nightly run, before it reads a
// profile; a migrated table is never migrated again.
func TestATableFromBeforeIsMigratedOnceBeforeTheNightReadsIt(t *testing.T) {
	h, r, _ := newHandler()
	tbl := &fakeLayout{version: 1, profiles: 12}
	h.layout = tbl
	out, err := h.Handle(context.Background(), json.RawMessage(`{"action":"migrate"}`))
	if err != nil || out.(map[string]any)["profilesMoved"] != 12 || len(r.byID) != 0 {
		t.Fatalf("migrate answered %v, %v (runs %d); want 12 profiles moved and no run", out, err, len(r.byID))
	}
	if _, err := h.Handle(context.Background(), json.RawMessage(`{"action":"nightly"}`)); err != nil {
		t.Fatal(err)
	}
	if tbl.migrations != 1 || len(r.byID) != 1 {
		t.Fatalf("%d migrations, %d runs; want 1 and 1", tbl.migrations, len(r.byID))
	}

	h2, r2, _ := newHandler()
	old := &fakeLayout{version: 1, profiles: 3}
	h2.layout = old
	if _, err := h2.Handle(context.Background(), json.RawMessage(`{"action":"nightly"}`)); err != nil {
		t.Fatal(err)
	}
	if old.migrations != 1 || old.version != 2 || len(r2.byID) != 1 {
		t.Fatalf("a nightly run on an unmigrated table: %d migrations, layout %d, %d runs", old.migrations, old.version, len(r2.byID))
	}
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Sender is the SQS call the run makes to hand out segments.
type Sender = queue.API

// Retier runs the nightly two-pass re-tiering over the table.
type Retier struct {
	Log      *slog.Logger
	Table    *store.Table
	SQS      Sender
	QueueURL string
	Segments int
	Zone     *time.Location
	Now      func() time.Time
	CLV      CLVConfig        // the customer-base model (clv.go); zero value: defaults
	Planner  RetentionPlanner // nil: the retention rule only flags the profile
}

// SegmentMsg is one unit of work on the retier queue.
// Pass 0 is a start request queued by the API (POST /v1/retier).
type SegmentMsg struct {
	RunID   string     `json:"runId"`
	Pass    int        `json:"pass"`
	Segment int        `json:"segment"`
	AsOf    *time.Time `json:"asOf,omitempty"` // pass 0 only
}

// StartRequest starts a run: the schedule sends {"action":"nightly"}; the API may give an
// as-of time (a re-run of the same as-of changes nothing).
type StartRequest struct {
	Action string     `json:"action"`
	AsOf   *time.Time `json:"asOf,omitempty"`
	RunID  string     `json:"runId,omitempty"`
}

// Handle is the Lambda entry point: a schedule event or a batch of segment messages.
func (r *Retier) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []json.RawMessage `json:"Records"`
		Action  string            `json:"action"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("retier: unreadable event: %w", err)
	}
	if probe.Records != nil {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("retier: unreadable SQS event: %w", err)
		}
		return r.HandleSQS(ctx, ev)
	}
	var req StartRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.Action != "nightly" {
		return nil, fmt.Errorf("retier: unknown event (want {\"action\":\"nightly\"} or SQS)")
	}
	run, err := r.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	return map[string]string{"runId": run.ID, "status": run.Status}, nil
}

// HandleSQS works through segment messages, reporting only the failed ones.
func (r *Retier) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		mctx := logx.WithRequestID(ctx, m.MessageId)
		var msg SegmentMsg
		err := json.Unmarshal([]byte(m.Body), &msg)
		if err == nil {
			err = r.Segment(mctx, msg)
		}
		if err != nil {
			r.Log.ErrorContext(mctx, "retier: segment failed", "run", msg.RunID, "pass", msg.Pass, "segment", msg.Segment, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// Start creates the run (once per id) and queues pass 1. A nightly run's id is its
// business day, so a schedule that fires twice starts one run.
func (r *Retier) Start(ctx context.Context, req StartRequest) (store.Run, error) {
	asOf := r.Now().In(r.Zone)
	if req.AsOf != nil {
		asOf = req.AsOf.In(r.Zone)
	}
	id := req.RunID
	if id == "" {
		id = "night-" + asOf.Format(time.DateOnly)
	}
	pol, _, err := r.Table.CurrentPolicy(ctx)
	if err != nil {
		return store.Run{}, err
	}
	doc, err := json.Marshal(pol)
	if err != nil {
		return store.Run{}, fmt.Errorf("retier: %w", err)
	}
	run := store.Run{ID: id, AsOf: asOf, Day: asOf.Format(time.DateOnly), Segments: r.Segments,
		PolicyVersion: pol.Version, Policy: string(doc), Status: store.RunPass1, CreatedAt: r.Now()}
	switch err := r.Table.CreateRun(ctx, run); {
	case errors.Is(err, store.ErrRunExists):
		existing, _, err := r.Table.GetRun(ctx, id)
		if err != nil {
			return store.Run{}, err
		}
		if existing.Status != store.RunPass1 {
			r.Log.InfoContext(ctx, "retier: run exists", "run", id, "status", existing.Status)
			return existing, nil
		}
		run = existing // queue pass 1 again: a crash may have lost it; segments count once
	case err != nil:
		return store.Run{}, err
	}
	if err := r.enqueue(ctx, run, 1); err != nil {
		return store.Run{}, err
	}
	r.Log.InfoContext(ctx, "retier: run started", "run", id, "day", run.Day, "segments", run.Segments, "policyVersion", run.PolicyVersion)
	return run, nil
}

// NewRunID names a run requested by hand.
func NewRunID(asOf time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "run-" + asOf.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func (r *Retier) enqueue(ctx context.Context, run store.Run, pass int) error {
	bodies := make([]string, run.Segments)
	for s := range bodies {
		b, _ := json.Marshal(SegmentMsg{RunID: run.ID, Pass: pass, Segment: s}) // ints and a string: cannot fail
		bodies[s] = string(b)
	}
	if _, err := queue.New(r.SQS, r.QueueURL).Send(ctx, bodies); err != nil {
		return fmt.Errorf("queue pass %d of run %s: %w", pass, run.ID, err)
	}
	return nil
}

// Segment does one segment of one pass. Redelivery redoes only this segment: pass 1
// rebuilds the same summary, pass 2 writes nothing already written, and a segment is
// counted on the run once.
func (r *Retier) Segment(ctx context.Context, msg SegmentMsg) error {
	if msg.Pass == 0 {
		_, err := r.Start(ctx, StartRequest{Action: "nightly", RunID: msg.RunID, AsOf: msg.AsOf})
		return err
	}
	run, found, err := r.Table.GetRun(ctx, msg.RunID)
	if err != nil {
		return err
	}
	if !found || msg.Segment < 0 || msg.Segment >= run.Segments {
		return fmt.Errorf("no run %q with segment %d", msg.RunID, msg.Segment)
	}
	pol, err := tiering.ParsePolicy([]byte(run.Policy))
	if err != nil {
		return fmt.Errorf("run %s policy: %w", run.ID, err)
	}
	switch msg.Pass {
	case 1:
		if run.Status != store.RunPass1 {
			return nil // the run moved on: this is a late duplicate
		}
		return r.pass1(ctx, run, pol, msg.Segment)
	case 2:
		switch run.Status {
		case store.RunDone:
			return nil
		case store.RunPass1:
			// The last pass-1 finisher stores the merged summary, queues pass 2, then
			// advances the run; a pass-2 worker can be faster than that last step. With
			// every pass-1 segment counted and the merge stored, it advances the run itself
			// (the finisher's own advance then finds it done), instead of failing its
			// message into a redelivery a visibility timeout later.
			if run.Pass1Done < run.Segments || run.Base == "" {
				return fmt.Errorf("run %s: pass 2 before pass 1 finished", run.ID)
			}
			err := r.Table.AdvanceRun(ctx, run.ID, store.RunPass1, store.RunPass2, map[string]types.AttributeValue{
				"pass1At": &types.AttributeValueMemberS{Value: r.Now().UTC().Format(time.RFC3339Nano)}})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
		return r.pass2(ctx, run, pol, msg.Segment)
	}
	return fmt.Errorf("unknown pass %d", msg.Pass)
}

// pass1 summarises the segment's customers for the quantile cut points, and samples
// their purchase summaries for the customer-base model (stored before the segment is
// counted, so the last finisher finds every sample).
func (r *Retier) pass1(ctx context.Context, run store.Run, pol *tiering.Policy, seg int) error {
	base := tiering.NewBase(0)
	smp := newSampler(r.clv().SegmentSample)
	n := 0
	err := r.Table.ScanProfiles(ctx, seg, run.Segments, func(row store.ProfileRow) error {
		base.Add(row.Aggregates.Metrics(pol, run.AsOf))
		r.sampleRow(smp, run, row)
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.saveSamples(ctx, run.ID, seg, smp); err != nil {
		return err
	}
	b, err := json.Marshal(base)
	if err != nil {
		return fmt.Errorf("pass 1: %w", err)
	}
	counted, err := r.Table.FinishSegment(ctx, run.ID, seg, 1, map[string]types.AttributeValue{
		"base": &types.AttributeValueMemberS{Value: string(b)}, "customers": &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
	}, r.Now())
	if err != nil {
		return err
	}
	r.Log.InfoContext(ctx, "retier: pass 1 segment", "run", run.ID, "segment", seg, "customers", n, "counted", counted, "bytes", len(b))
	return r.maybeStartPass2(ctx, run.ID)
}

// maybeStartPass2 is run by every pass-1 finisher; the one that sees all segments done
// merges the summaries, stores the merged base, queues pass 2 and only then advances
// the run, so a crash anywhere leaves the run resumable by a redelivered segment.
func (r *Retier) maybeStartPass2(ctx context.Context, id string) error {
	run, _, err := r.Table.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if run.Status != store.RunPass1 || run.Pass1Done < run.Segments {
		return nil
	}
	results, err := r.Table.SegmentResults(ctx, id, 1)
	if err != nil {
		return err
	}
	if len(results) < run.Segments {
		return fmt.Errorf("run %s: %d of %d segment summaries found", id, len(results), run.Segments)
	}
	merged := tiering.NewBase(0)
	for _, res := range results {
		s, _ := res["base"].(*types.AttributeValueMemberS)
		if s == nil {
			return fmt.Errorf("run %s: a segment summary is empty", id)
		}
		var b tiering.Base
		if err := json.Unmarshal([]byte(s.Value), &b); err != nil {
			return fmt.Errorf("run %s: segment summary: %w", id, err)
		}
		merged.Merge(&b)
	}
	mb, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	fits, err := r.fitModels(ctx, run)
	if err != nil {
		return err
	}
	attrs := map[string]types.AttributeValue{"base": &types.AttributeValueMemberS{Value: string(mb)}}
	if fits != nil {
		if attrs["clv"], err = attributevalue.Marshal(fits); err != nil {
			return fmt.Errorf("run %s: model outcome: %w", id, err)
		}
	}
	if err := r.Table.SetRunAttrs(ctx, id, attrs); err != nil {
		return err
	}
	run.Base, run.CLV = string(mb), fits
	if err := r.enqueue(ctx, run, 2); err != nil {
		return err
	}
	now := r.Now().UTC().Format(time.RFC3339Nano)
	err = r.Table.AdvanceRun(ctx, id, store.RunPass1, store.RunPass2, map[string]types.AttributeValue{"pass1At": &types.AttributeValueMemberS{Value: now}})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	if fits != nil {
		r.Log.InfoContext(ctx, "retier: models", "run", id, "model", fits.Business.Status,
			"modelVersion", fits.Business.ModelVersion, "modelN", fits.Business.N, "reason", fits.Business.Reason)
	}
	r.Log.InfoContext(ctx, "retier: pass 2 queued", "run", id, "baseBytes", len(mb))
	return nil
}

// pass2 assesses every customer of the segment and writes only those whose answer moved.
func (r *Retier) pass2(ctx context.Context, run store.Run, pol *tiering.Policy, seg int) error {
	var base tiering.Base
	if err := json.Unmarshal([]byte(run.Base), &base); err != nil {
		return fmt.Errorf("run %s base: %w", run.ID, err)
	}
	cuts := base.Freeze()
	ms, err := r.loadModels(ctx, run)
	if err != nil {
		return err
	}
	sum := store.NewRunSummary()
	shares := segmentShares{sums: map[string]*store.RunSummary{}, spends: map[string][]model.Money{}}
	err = r.Table.ScanProfiles(ctx, seg, run.Segments, func(row store.ProfileRow) error {
		return r.assessOne(ctx, run, pol, cuts, ms, row, sum, shares)
	})
	if err != nil {
		return err
	}
	// Each store's share goes first: the finisher, which may be this very worker, must
	// find every counted segment's.
	if err := r.Table.PutStoreParts(ctx, run.ID, seg, shares.sums, shares.spends, r.Now()); err != nil {
		return err
	}
	res, err := attributevalue.MarshalMap(sum)
	if err != nil {
		return fmt.Errorf("pass 2 summary: %w", err)
	}
	counted, err := r.Table.FinishSegment(ctx, run.ID, seg, 2, res, r.Now())
	if err != nil {
		return err
	}
	r.Log.InfoContext(ctx, "retier: pass 2 segment", "run", run.ID, "segment", seg, "customers", sum.Customers,
		"changed", sum.Changed, "tierChanges", sum.TierChanges, "counted", counted)
	logx.Count(ctx, "TierChanges", float64(sum.TierChanges)) // metric (docs/operations.md)
	return r.maybeFinish(ctx, run.ID)
}

// segmentShares is a pass-2 segment's outcome per store (store.NoStore for customers
// without one): counts, and every buyer's net spend for the exact top fifth.
type segmentShares struct {
	sums   map[string]*store.RunSummary
	spends map[string][]model.Money
}

func (sh segmentShares) of(st string) *store.RunSummary {
	if st == "" {
		st = store.NoStore
	}
	s := sh.sums[st]
	if s == nil {
		s = store.NewRunSummary()
		sh.sums[st] = s
	}
	return s
}

func (r *Retier) assessOne(ctx context.Context, run store.Run, pol *tiering.Policy, cuts *tiering.Cuts, ms models, row store.ProfileRow, sum *store.RunSummary, shares segmentShares) error {
	storeSum := shares.of(row.Store)
	for attempt := 0; ; attempt++ {
		next, err := tiering.Assess(pol, cuts, row.ID, &row.Aggregates, row.Assignment, run.AsOf)
		if err != nil {
			return fmt.Errorf("assess %s: %w", row.ID, err)
		}
		pred, extras, moved, retain, flagged, err := r.assessCLV(run, ms, row, next)
		if err != nil {
			return err
		}
		// The tier before this run: on a redelivered segment, the profile already holds
		// this run's answer and remembers what it replaced.
		from := row.Assignment.Tier
		if row.LastRun == run.ID {
			from = row.PrevTier
		}
		if row.Assignment.Changed(next) || moved {
			var change *store.TierChange
			if next.Tier != row.Assignment.Tier {
				change = &store.TierChange{At: run.AsOf, From: row.Assignment.Tier, To: next.Tier, Stage: next.Stage,
					Reason: next.Reason, PolicyVersion: next.PolicyVersion, RunID: run.ID}
			}
			if extras.CLV == nil && pred != nil && row.CLV == nil {
				extras.CLV = pred
			}
			err := r.Table.SaveAssessment(ctx, row, next, run.ID, from, change, extras)
			if errors.Is(err, store.ErrConflict) && attempt < 5 {
				fresh, found, rerr := r.Table.ReadProfileRow(ctx, row.ID)
				if rerr != nil {
					return rerr
				}
				if !found {
					return nil // erased meanwhile
				}
				row = fresh
				continue
			}
			if err != nil {
				return err
			}
			sum.Changed++
			storeSum.Changed++
		}
		for _, s := range []*store.RunSummary{sum, storeSum} {
			count(s, from, next)
			if pred != nil {
				s.Predicted++
				s.Risk[string(pred.Risk)]++
			}
			if retain {
				s.AtRiskA++
			}
			if flagged {
				s.RetentionDue++
			}
		}
		if next.Metrics.HasHistory {
			k := row.Store
			if k == "" {
				k = store.NoStore
			}
			shares.spends[k] = append(shares.spends[k], next.Metrics.Monetary)
		}
		if flagged {
			r.planRetention(ctx, run, row.ID, sum)
		}
		r.planMoves(ctx, run, row, from, next, sum)
		return nil
	}
}

// count adds one customer's outcome to a summary (the segment's, or its store's share).
// The top fifth by spend is computed when the run is done, from every buyer's spend.
func count(sum *store.RunSummary, from model.Tier, next tiering.Assignment) {
	sum.Customers++
	sum.Stages[string(next.Stage)]++
	if !next.Metrics.HasHistory {
		sum.Leads++
		return
	}
	t := string(next.Tier)
	sum.Tiers[t]++
	m := next.Metrics.Monetary
	sum.Revenue[t] += m
	sum.TotalRevenue += m
	if from != next.Tier {
		sum.TierChanges++
		f := string(from)
		if f == "" {
			f = "none"
		}
		sum.Migrations[f+">"+t]++
	}
}

// maybeFinish closes the run once every pass-2 segment is counted.
func (r *Retier) maybeFinish(ctx context.Context, id string) error {
	run, _, err := r.Table.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if run.Status != store.RunPass2 || run.Pass2Done < run.Segments {
		return nil
	}
	results, err := r.Table.SegmentResults(ctx, id, 2)
	if err != nil {
		return err
	}
	total := store.NewRunSummary()
	for _, res := range results {
		s := store.NewRunSummary()
		if err := attributevalue.UnmarshalMap(res, s); err != nil {
			return fmt.Errorf("run %s: segment summary: %w", id, err)
		}
		total.Add(s)
	}
	// Each store's summary, and the business's top fifth, from every buyer's spend: exact
	// for one store and for all of them (a subset of stores: store.CombineStores).
	stores, spends, err := r.Table.StoreParts(ctx, id)
	if err != nil {
		return err
	}
	var all []model.Money
	for st, sum := range stores {
		all = append(all, spends[st]...)
		sum.FinishTop20(spends[st])
	}
	total.FinishTop20(all)
	if err := r.Table.PutStoreSummaries(ctx, id, stores); err != nil {
		return err
	}
	sav, err := attributevalue.Marshal(total)
	if err != nil {
		return fmt.Errorf("run %s summary: %w", id, err)
	}
	now := r.Now()
	err = r.Table.AdvanceRun(ctx, id, store.RunPass2, store.RunDone, map[string]types.AttributeValue{
		"summary": sav, "perStore": &types.AttributeValueMemberBOOL{Value: true},
		"finishedAt": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	run.Status = store.RunDone
	if err := r.Table.SetLatestRun(ctx, run); err != nil {
		return err
	}
	logx.Duration(ctx, "NightlyRunDuration", now.Sub(run.CreatedAt)) // metric (docs/operations.md)
	r.Log.InfoContext(ctx, "retier: run done", "run", id, "customers", total.Customers, "changed", total.Changed,
		"tierChanges", total.TierChanges, "top20Share", total.Top20Share)
	return nil
}

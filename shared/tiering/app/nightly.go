package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Nightly is the re-tier run: the schedule (or POST /v1/retier) starts it, and the retier
// queue carries its scan segments through two passes. Every step is safe to repeat: a
// redelivered segment redoes only itself, a segment is counted on the run once, and the
// last finisher of each pass moves the run on.
type Nightly struct {
	Log      *slog.Logger
	Policies Policies
	Runs     Runs
	Profiles Profiles
	Models   Models
	Queue    Queue // the retier queue: the run's own segments
	// Planner gets tonight's tier and stage moves and the retention rule's calls; nil:
	// the retention rule only flags the profile.
	Planner  Planner
	Segments int // parallel scan segments
	Zone     *time.Location
	Now      func() time.Time
	CLV      CLVConfig // the customer-base model (customerbase.go); zero value: defaults
	// Finished, when set, is told once per run that it is done: its summary and how long
	// it took from creation (the function turns it into metrics).
	Finished func(ctx context.Context, sum *RunSummary, took time.Duration)
	// Units, when set, reads the request units the store consumed so far (read, write):
	// each segment records what it consumed, the run's summary their sum.
	Units func() (read, write float64)
	// Events gets tonight's tier and stage moves (MoveEvents); nil: none are published.
	Events events.Publisher
}

// meter returns a function that says what the store consumed since meter was called.
func (n *Nightly) meter() func() (read, write float64) {
	if n.Units == nil {
		return func() (float64, float64) { return 0, 0 }
	}
	r0, w0 := n.Units()
	return func() (float64, float64) {
		r, w := n.Units()
		return r - r0, w - w0
	}
}

// Start creates the run (once per id) and queues pass 1. A nightly run's id is its
// business day, so a schedule that fires twice starts one run.
func (n *Nightly) Start(ctx context.Context, req StartRequest) (Run, error) {
	asOf := n.Now().In(n.Zone)
	if req.AsOf != nil {
		asOf = req.AsOf.In(n.Zone)
	}
	id := req.RunID
	if id == "" {
		id = NightlyID(asOf)
	}
	pol, _, err := n.Policies.CurrentPolicy(ctx)
	if err != nil {
		return Run{}, err
	}
	doc, err := json.Marshal(pol)
	if err != nil {
		return Run{}, fmt.Errorf("retier: %w", err)
	}
	run := Run{ID: id, AsOf: asOf, Day: asOf.Format(time.DateOnly), Segments: n.Segments,
		PolicyVersion: pol.Version, Policy: string(doc), Status: RunPass1, CreatedAt: n.Now()}
	switch err := n.Runs.CreateRun(ctx, run); {
	case errors.Is(err, ErrRunExists):
		existing, _, err := n.Runs.GetRun(ctx, id)
		if err != nil {
			return Run{}, err
		}
		if existing.Status != RunPass1 {
			n.Log.InfoContext(ctx, "retier: run exists", "run", id, "status", existing.Status)
			return existing, nil
		}
		run = existing // queue pass 1 again: a crash may have lost it; segments count once
	case err != nil:
		return Run{}, err
	}
	if err := n.enqueue(ctx, run, 1); err != nil {
		return Run{}, err
	}
	n.Log.InfoContext(ctx, "retier: run started", "run", id, "day", run.Day, "segments", run.Segments, "policyVersion", run.PolicyVersion)
	return run, nil
}

func (n *Nightly) enqueue(ctx context.Context, run Run, pass int) error {
	bodies := make([]string, run.Segments)
	for s := range bodies {
		b, _ := json.Marshal(SegmentMsg{RunID: run.ID, Pass: pass, Segment: s}) // ints and a string: cannot fail
		bodies[s] = string(b)
	}
	if _, err := n.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("queue pass %d of run %s: %w", pass, run.ID, err)
	}
	return nil
}

// Segment does one segment of one pass. Redelivery redoes only this segment: pass 1
// rebuilds the same summary, pass 2 writes nothing already written, and a segment is
// counted on the run once. Pass 0 starts the run (the API's request).
func (n *Nightly) Segment(ctx context.Context, msg SegmentMsg) error {
	if msg.Pass == 0 {
		_, err := n.Start(ctx, StartRequest{Action: "nightly", RunID: msg.RunID, AsOf: msg.AsOf})
		return err
	}
	run, found, err := n.Runs.GetRun(ctx, msg.RunID)
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
		if run.Status != RunPass1 {
			return nil // the run moved on: this is a late duplicate
		}
		return n.pass1(ctx, run, pol, msg.Segment)
	case 2:
		switch run.Status {
		case RunDone:
			return nil
		case RunPass1:
			// The last pass-1 finisher stores the merged summary, queues pass 2, then
			// advances the run; a pass-2 worker can be faster than that last step. With
			// every pass-1 segment counted and the merge stored, it advances the run itself
			// (the finisher's own advance then finds it done), instead of failing its
			// message into a redelivery a visibility timeout later.
			if run.Pass1Done < run.Segments || run.Base == "" {
				return fmt.Errorf("run %s: pass 2 before pass 1 finished", run.ID)
			}
			at := n.Now()
			err := n.Runs.AdvanceRun(ctx, run.ID, RunPass1, RunPass2, RunStep{Pass1At: &at})
			if err != nil && !errors.Is(err, ErrConflict) {
				return err
			}
		}
		return n.pass2(ctx, run, pol, msg.Segment)
	}
	return fmt.Errorf("unknown pass %d", msg.Pass)
}

// pass1 summarises the segment's customers for the quantile cut points, and samples
// their purchase summaries for the customer-base model (stored before the segment is
// counted, so the last finisher finds every sample).
func (n *Nightly) pass1(ctx context.Context, run Run, pol *tiering.Policy, seg int) error {
	used := n.meter()
	base := tiering.NewBase(0)
	smp := newSampler(n.clv().SegmentSample)
	seen := 0
	err := n.Profiles.ScanTierStates(ctx, seg, run.Segments, func(p TierState) error {
		base.Add(p.Aggregates.Metrics(pol, run.AsOf))
		n.sampleState(smp, run, p)
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if err := n.saveSamples(ctx, run.ID, seg, smp); err != nil {
		return err
	}
	b, err := json.Marshal(base)
	if err != nil {
		return fmt.Errorf("pass 1: %w", err)
	}
	res := Pass1Result{Base: string(b), Customers: seen}
	res.ReadUnits, res.WriteUnits = used()
	counted, err := n.Runs.FinishPass1(ctx, run.ID, seg, res, n.Now())
	if err != nil {
		return err
	}
	n.Log.InfoContext(ctx, "retier: pass 1 segment", "run", run.ID, "segment", seg, "customers", seen, "counted", counted, "bytes", len(b))
	return n.maybeStartPass2(ctx, run.ID)
}

// maybeStartPass2 is run by every pass-1 finisher; the one that sees all segments done
// merges the summaries, fits the models, stores both, queues pass 2 and only then
// advances the run, so a crash anywhere leaves the run resumable by a redelivered segment.
func (n *Nightly) maybeStartPass2(ctx context.Context, id string) error {
	run, _, err := n.Runs.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if run.Status != RunPass1 || run.Pass1Done < run.Segments {
		return nil
	}
	results, err := n.Runs.Pass1Results(ctx, id)
	if err != nil {
		return err
	}
	if len(results) < run.Segments {
		return fmt.Errorf("run %s: %d of %d segment summaries found", id, len(results), run.Segments)
	}
	merged := tiering.NewBase(0)
	for _, res := range results {
		if res.Base == "" {
			return fmt.Errorf("run %s: a segment summary is empty", id)
		}
		var b tiering.Base
		if err := json.Unmarshal([]byte(res.Base), &b); err != nil {
			return fmt.Errorf("run %s: segment summary: %w", id, err)
		}
		merged.Merge(&b)
	}
	mb, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	fits, err := n.fitModels(ctx, run)
	if err != nil {
		return err
	}
	if err := n.Runs.SetRunBase(ctx, id, string(mb), fits); err != nil {
		return err
	}
	run.Base, run.CLV = string(mb), fits
	if err := n.enqueue(ctx, run, 2); err != nil {
		return err
	}
	at := n.Now()
	err = n.Runs.AdvanceRun(ctx, id, RunPass1, RunPass2, RunStep{Pass1At: &at})
	if err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	if fits != nil {
		n.Log.InfoContext(ctx, "retier: models", "run", id, "model", fits.Business.Status,
			"modelVersion", fits.Business.ModelVersion, "modelN", fits.Business.N, "reason", fits.Business.Reason)
	}
	n.Log.InfoContext(ctx, "retier: pass 2 queued", "run", id, "baseBytes", len(mb))
	return nil
}

// pass2 assesses every customer of the segment and writes only those whose answer moved.
func (n *Nightly) pass2(ctx context.Context, run Run, pol *tiering.Policy, seg int) error {
	used := n.meter()
	var base tiering.Base
	if err := json.Unmarshal([]byte(run.Base), &base); err != nil {
		return fmt.Errorf("run %s base: %w", run.ID, err)
	}
	cuts := base.Freeze()
	ms, err := n.loadModels(ctx, run)
	if err != nil {
		return err
	}
	sum := NewRunSummary()
	shares := segmentShares{sums: map[string]*RunSummary{}, spends: map[string][]model.Money{}}
	err = n.Profiles.ScanTierStates(ctx, seg, run.Segments, func(p TierState) error {
		return n.assessOne(ctx, run, pol, cuts, ms, p, sum, shares)
	})
	if err != nil {
		return err
	}
	for _, st := range shares.sums {
		st.trimAtRisk()
	}
	// Each store's share goes first: the finisher, which may be this very worker, must
	// find every counted segment's.
	if err := n.Runs.PutStoreParts(ctx, run.ID, seg, shares.sums, shares.spends, n.Now()); err != nil {
		return err
	}
	sum.ReadUnits, sum.WriteUnits = used()
	counted, err := n.Runs.FinishPass2(ctx, run.ID, seg, sum, n.Now())
	if err != nil {
		return err
	}
	n.Log.InfoContext(ctx, "retier: pass 2 segment", "run", run.ID, "segment", seg, "customers", sum.Customers,
		"changed", sum.Changed, "tierChanges", sum.TierChanges, "counted", counted)
	return n.maybeFinish(ctx, run.ID)
}

// segmentShares is a pass-2 segment's outcome per store (NoStore for customers without
// one): counts, and every buyer's net spend for the exact top fifth.
type segmentShares struct {
	sums   map[string]*RunSummary
	spends map[string][]model.Money
}

func storeKey(st string) string {
	if st == "" {
		return NoStore
	}
	return st
}

func (sh segmentShares) of(st string) *RunSummary {
	k := storeKey(st)
	s := sh.sums[k]
	if s == nil {
		s = NewRunSummary()
		sh.sums[k] = s
	}
	return s
}

// assessOne assesses one customer as of the run, writes the answer if it moved (re-read
// and re-assessed on a conflict), counts it, and plans its follow-up.
func (n *Nightly) assessOne(ctx context.Context, run Run, pol *tiering.Policy, cuts *tiering.Cuts, ms models, p TierState, sum *RunSummary, shares segmentShares) error {
	storeSum := shares.of(p.Store)
	for attempt := 0; ; attempt++ {
		next, err := tiering.Assess(pol, cuts, p.ID, &p.Aggregates, p.Assignment, run.AsOf)
		if err != nil {
			return fmt.Errorf("assess %s: %w", p.ID, err)
		}
		step, err := n.modelStep(run, ms, p, next)
		if err != nil {
			return err
		}
		// The tier before this run: on a redelivered segment, the profile already holds
		// this run's answer and remembers what it replaced.
		from := p.Assignment.Tier
		if p.LastRun == run.ID {
			from = p.PrevTier
		}
		if p.LastRun == run.ID && from != next.Tier && !p.Assignment.Changed(next) {
			// This run's answer is on the profile: its history entry may not be, if the
			// delivery that wrote the profile stopped before it.
			c := TierChange{At: run.AsOf, From: from, To: next.Tier, Stage: next.Stage,
				Reason: p.Assignment.Reason, PolicyVersion: p.Assignment.PolicyVersion, RunID: run.ID}
			if err := n.Profiles.RecordTierChange(ctx, p.ID, c); err != nil {
				return err
			}
		}
		if p.Assignment.Changed(next) || step.write != nil {
			a := Assessment{State: p, Next: next, RunID: run.ID, From: from, CLV: step.write, RetentionDue: step.due}
			if next.Tier != p.Assignment.Tier {
				a.Change = &TierChange{At: run.AsOf, From: p.Assignment.Tier, To: next.Tier, Stage: next.Stage,
					Reason: next.Reason, PolicyVersion: next.PolicyVersion, RunID: run.ID}
			}
			if a.CLV == nil && step.pred != nil && p.CLV == nil {
				a.CLV = step.pred
			}
			err := n.Profiles.SaveAssessment(ctx, a)
			if errors.Is(err, ErrConflict) && attempt < 5 {
				fresh, found, rerr := n.Profiles.ReadTierState(ctx, p.ID)
				if rerr != nil {
					return rerr
				}
				if !found {
					return nil // erased meanwhile
				}
				p = fresh
				continue
			}
			if err != nil {
				return err
			}
			sum.Changed++
			storeSum.Changed++
		}
		for _, s := range []*RunSummary{sum, storeSum} {
			count(s, from, next)
			countReports(s, pol, run.AsOf, p, next)
			if step.pred != nil {
				s.Predicted++
				s.Risk[string(step.pred.Risk)]++
			}
			if step.atRisk {
				s.AtRiskA++
			}
			if step.flagged {
				s.RetentionDue++
			}
		}
		if step.pred != nil {
			storeSum.keepAtRisk(AtRiskRow{ID: p.ID, Tier: next.Tier, Stage: next.Stage, CLV: *step.pred, ExpectedLoss: step.pred.ExpectedLoss()})
		}
		if next.Metrics.HasHistory {
			k := storeKey(p.Store)
			shares.spends[k] = append(shares.spends[k], next.Metrics.Monetary)
		}
		n.planNight(ctx, run, p, from, next, step.flagged, sum)
		return nil
	}
}

// planNight hands tonight's follow-up to the planner: the retention call when the rule
// holds for this run, and the customer's tier and stage moves (MoveTriggers). Refs carry
// the run id, so a redelivered segment plans nothing twice; a plan that fails is counted
// and logged, and the run goes on (the flag stays on the profile).
func (n *Nightly) planNight(ctx context.Context, run Run, p TierState, from model.Tier, next tiering.Assignment, retain bool, sum *RunSummary) {
	prevStage := p.Assignment.Stage
	if p.LastRun == run.ID {
		prevStage = next.Stage // already planned by the delivery that wrote this run's answer
	}
	move := Move{CustomerID: p.ID, At: run.AsOf, FromTier: from, ToTier: next.Tier,
		FromStage: prevStage, ToStage: next.Stage, RunID: run.ID}
	publish(ctx, n.Log, n.Events, MoveEvents(move, p.Store, next.Reason))
	if n.Planner == nil {
		return
	}
	var ts []trigger
	if retain {
		ts = append(ts, trigger{retentionTrigger(run, p.ID), "retier: retention follow-up not planned; retentionDue stays on the profile"})
	}
	for _, t := range MoveTriggers(move) {
		ts = append(ts, trigger{t, "retier: follow-up not planned"})
	}
	for _, t := range ts {
		if _, err := n.Planner.Handle(ctx, t.Trigger); err != nil {
			sum.FollowupPlanFails++
			n.Log.WarnContext(ctx, t.failed, "run", run.ID, "customer", p.ID, "trigger", string(t.Kind), "err", err)
		}
	}
}

// trigger is a follow-up trigger and what to log if it cannot be planned.
type trigger struct {
	followup.Trigger
	failed string
}

// count adds one customer's outcome to a summary (the segment's, or its store's share).
// The top fifth by spend is computed when the run is done, from every buyer's spend.
func count(sum *RunSummary, from model.Tier, next tiering.Assignment) {
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
func (n *Nightly) maybeFinish(ctx context.Context, id string) error {
	run, _, err := n.Runs.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if run.Status != RunPass2 || run.Pass2Done < run.Segments {
		return nil
	}
	results, err := n.Runs.Pass2Results(ctx, id)
	if err != nil {
		return err
	}
	total := NewRunSummary()
	for _, s := range results {
		total.Add(s)
	}
	p1, err := n.Runs.Pass1Results(ctx, id)
	if err != nil {
		return err
	}
	for _, r := range p1 {
		total.ReadUnits += r.ReadUnits
		total.WriteUnits += r.WriteUnits
	}
	// Each store's summary, and the business's top fifth, from every buyer's spend: exact
	// for one store and for all of them (a subset of stores: CombineStores).
	stores, spends, err := n.Runs.StoreParts(ctx, id)
	if err != nil {
		return err
	}
	var all []model.Money
	for st, sum := range stores {
		all = append(all, spends[st]...)
		sum.FinishTop20(spends[st])
	}
	total.FinishTop20(all)
	if err := n.Runs.PutStoreSummaries(ctx, id, stores); err != nil {
		return err
	}
	prev, before, err := n.Runs.LatestRuns(ctx)
	if err != nil {
		return err
	}
	if prev == id {
		prev = before // a redelivery: the pointer moved to this run already
	}
	now := n.Now()
	// The pointer reports read moves first, naming the run it replaces: whoever sees this
	// run done finds it there, and a report asked in between reads the one before
	// (store.Staff.Run) instead of finding nothing.
	run.PreviousRunID = prev
	if err := n.Runs.SetLatestRun(ctx, run); err != nil {
		return err
	}
	err = n.Runs.AdvanceRun(ctx, id, RunPass2, RunDone, RunStep{Summary: total, PerStore: true, FinishedAt: &now, PreviousRunID: run.PreviousRunID})
	if errors.Is(err, ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	n.Log.InfoContext(ctx, "retier: run done", "run", id, "customers", total.Customers, "changed", total.Changed,
		"tierChanges", total.TierChanges, "top20Share", total.Top20Share)
	if n.Finished != nil {
		n.Finished(ctx, total, now.Sub(run.CreatedAt))
	}
	return nil
}

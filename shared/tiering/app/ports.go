package app

import (
	"context"
	"errors"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Errors the adapters return so the services can branch on them.
var (
	// ErrConflict: a conditional write lost (the profile or the run moved on): read
	// again and decide again.
	ErrConflict = errors.New("tiering: conditional write conflict")
	// ErrRunExists: a run with this id was created before.
	ErrRunExists = errors.New("tiering: run exists")
	// ErrNonFinite: a model or a prediction with a NaN or infinite number is never stored.
	ErrNonFinite = errors.New("tiering: a non-finite number")
)

// Policies reads the tier policy in force (the embedded default until one is stored).
type Policies interface {
	CurrentPolicy(ctx context.Context) (*tiering.Policy, bool, error)
}

// Ledger is the profile side of ingest: read a profile's tier state, and write one
// transaction's outcome.
type Ledger interface {
	// ReadTierState reads one profile, strongly consistent; found=false when there is none.
	ReadTierState(ctx context.Context, id string) (p TierState, found bool, err error)
	// ApplyTxn writes w in one transaction, or nothing. taken=true: the once-key exists,
	// and prior is the marker it was applied with (nothing written). ErrConflict: the
	// profile is no longer at w.Version (or was created meanwhile).
	ApplyTxn(ctx context.Context, w TxnWrite) (prior model.TxnMarker, taken bool, err error)
}

// Profiles is the profile side of the nightly run.
type Profiles interface {
	// ScanTierStates calls fn for every customer profile in one parallel-scan segment.
	// Reads are eventually consistent: every write is conditioned on the version read.
	ScanTierStates(ctx context.Context, segment, total int, fn func(TierState) error) error
	// ReadTierState re-reads one profile, strongly consistent, after a conflict.
	ReadTierState(ctx context.Context, id string) (p TierState, found bool, err error)
	// SaveAssessment writes a, with its history entry in the same transaction when the
	// tier changed. ErrConflict: the profile moved on (or is gone).
	SaveAssessment(ctx context.Context, a Assessment) error
}

// Runs keeps a run's header, its segments' results and its per-store shares.
type Runs interface {
	// CreateRun puts the header once; ErrRunExists when the id is taken.
	CreateRun(ctx context.Context, r Run) error
	// GetRun reads a header, strongly consistent (counters decide who finishes).
	GetRun(ctx context.Context, id string) (Run, bool, error)
	// FinishPass1 and FinishPass2 record a segment's result and count the segment on the
	// run in one transaction; a segment already recorded for that pass is not counted
	// again (counted=false).
	FinishPass1(ctx context.Context, runID string, seg int, r Pass1Result, now time.Time) (counted bool, err error)
	FinishPass2(ctx context.Context, runID string, seg int, sum *RunSummary, now time.Time) (counted bool, err error)
	// Pass1Results and Pass2Results read every recorded segment result, by segment.
	Pass1Results(ctx context.Context, runID string) (map[int]Pass1Result, error)
	Pass2Results(ctx context.Context, runID string) (map[int]*RunSummary, error)
	// SetRunBase records the merged quantile summary and the model outcome before pass 2
	// is queued (writing them twice writes the same).
	SetRunBase(ctx context.Context, id, base string, fits *RunCLV) error
	// AdvanceRun moves a run from one status to the next, recording step; ErrConflict
	// when the run is no longer in from.
	AdvanceRun(ctx context.Context, id, from, to string, step RunStep) error
	// SetLatestRun records a finished run as the one reports read, unless a later
	// business day's run already is.
	SetLatestRun(ctx context.Context, r Run) error
	// LatestRunID is the last finished run's id, "" before the first.
	LatestRunID(ctx context.Context) (string, error)
	// PutStoreParts records a pass-2 segment's counts and buyers' spends per store before
	// the segment is counted; StoreParts merges every segment's, per store.
	PutStoreParts(ctx context.Context, runID string, seg int, sums map[string]*RunSummary, spends map[string][]model.Money, now time.Time) error
	StoreParts(ctx context.Context, runID string) (map[string]*RunSummary, map[string][]model.Money, error)
	// PutStoreSummaries keeps each store's finished summary (not NoStore's).
	PutStoreSummaries(ctx context.Context, runID string, sums map[string]*RunSummary) error
}

// Models keeps the customer-base model's samples (per run) and fitted versions (per
// namespace and scope).
type Models interface {
	// PutSample stores one segment's sample of one scope; a redelivered segment writes
	// the same again. Samples returns every segment's.
	PutSample(ctx context.Context, runID string, s SegmentSample) error
	Samples(ctx context.Context, runID string) ([]SegmentSample, error)
	// PutModel stores a version and makes it current unless a later as-of is current;
	// ErrNonFinite for a model with a non-finite number.
	PutModel(ctx context.Context, ns string, m StoredModel) error
	CurrentModel(ctx context.Context, ns, scope string) (StoredModel, bool, error)
	ModelVersion(ctx context.Context, ns, scope, version string) (StoredModel, bool, error)
}

// Queue hands the run's segments out (shared/queue.Queue): sent[i] says whether bodies[i]
// is on the queue; err is nil only when all are.
type Queue interface {
	Send(ctx context.Context, bodies []string) (sent []bool, err error)
}

// Planner is the follow-up planner (followup/app.Planner): tier and stage moves,
// purchases and the retention rule become reminders through it.
type Planner interface {
	Handle(ctx context.Context, t followup.Trigger) (fapp.PlanResult, error)
}

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

// Ledger is the profile side of ingest. Ingest writes without a transaction, in an
// order that stays exactly-once across crashes and redeliveries (Ingest.apply): the
// once-marker is claimed first, the profile counts the transaction next (conditioned on
// its version, remembering the transaction's AppliedRef), and the transaction item,
// written last, says the transaction is complete.
type Ledger interface {
	// TxnOnce reads txn's once-marker, eventually consistent (a marker missed by a stale
	// read is caught by ClaimTxn's condition); found=false when there is none.
	TxnOnce(ctx context.Context, txn model.Txn) (m model.TxnMarker, found bool, err error)
	// TxnRecorded reads whether txn's item is on the customer's timeline (the last write
	// of an apply), eventually consistent, and the plan flag it was recorded with.
	TxnRecorded(ctx context.Context, txn model.Txn) (rec TxnRecord, found bool, err error)
	// PeekTierState reads one profile, eventually consistent (the first attempt: the
	// write is conditioned on the version read); ReadTierState strongly consistent.
	PeekTierState(ctx context.Context, id string) (p TierState, found bool, err error)
	ReadTierState(ctx context.Context, id string) (p TierState, found bool, err error)
	// ClaimTxn puts txn's once-marker unless the key exists: taken=true, and prior is
	// the marker it holds (nothing written).
	ClaimTxn(ctx context.Context, txn model.Txn, at time.Time) (prior model.TxnMarker, taken bool, err error)
	// CountTxn writes the profile's new tier state as w says (a new minimal profile when
	// w.Create). ErrConflict: the profile is no longer at w.Version (or was created).
	CountTxn(ctx context.Context, w TxnWrite) error
	// RecordTxn puts the transaction item (a put of the same item again writes the same).
	RecordTxn(ctx context.Context, txn model.Txn, rec TxnRecord) error
	// PutReferral writes a referee's ledger line unless the ledger holds a later
	// version's (an older or the same one again writes nothing new).
	PutReferral(ctx context.Context, e ReferralEntry) error
}

// TxnRecord is what the transaction item keeps beyond the transaction itself.
type TxnRecord struct {
	// PlanPurchase: the purchase was made in a stage win-back offers are planned for,
	// so a redelivery plans its purchase trigger again (ingestTriggers).
	PlanPurchase bool
}

// Profiles is the profile side of the nightly run.
type Profiles interface {
	// ScanTierStates calls fn for every customer profile in one parallel-scan segment.
	// Reads are eventually consistent: every write is conditioned on the version read.
	ScanTierStates(ctx context.Context, segment, total int, fn func(TierState) error) error
	// ReadTierState re-reads one profile, strongly consistent, after a conflict.
	ReadTierState(ctx context.Context, id string) (p TierState, found bool, err error)
	// SaveAssessment writes a, then its history entry when the tier changed.
	// ErrConflict: the profile moved on (or is gone), and nothing was written.
	SaveAssessment(ctx context.Context, a Assessment) error
	// RecordTierChange puts a history entry again (the same key writes the same): a
	// redelivered segment whose profile holds this run's answer already.
	RecordTierChange(ctx context.Context, id string, c TierChange) error
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
	// LatestRuns is the latest run's id ("" before the first) and the one it replaced:
	// the pointer moves just before its run is marked done.
	LatestRuns(ctx context.Context) (latest, previous string, err error)
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

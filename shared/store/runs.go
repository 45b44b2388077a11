package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// Run statuses, in order.
const (
	RunPass1 = "pass1" // segments summarise the base
	RunPass2 = "pass2" // segments assess every customer
	RunDone  = "done"
)

// Run is a nightly (or requested) re-tier run: the header item RUN#id / RUN.
type Run struct {
	ID            string      `dynamodbav:"id" json:"id"`
	AsOf          time.Time   `dynamodbav:"asOf" json:"asOf"`
	Day           string      `dynamodbav:"day" json:"day"` // business day of AsOf
	Segments      int         `dynamodbav:"segments" json:"segments"`
	PolicyVersion int         `dynamodbav:"policyVersion" json:"policyVersion"`
	Policy        string      `dynamodbav:"policy" json:"-"` // the document every worker uses
	Status        string      `dynamodbav:"status" json:"status"`
	Pass1Done     int         `dynamodbav:"pass1Done" json:"pass1Done"`
	Pass2Done     int         `dynamodbav:"pass2Done" json:"pass2Done"`
	Base          string      `dynamodbav:"base,omitempty" json:"-"` // merged quantile summary (JSON)
	CreatedAt     time.Time   `dynamodbav:"createdAt" json:"createdAt"`
	Pass1At       *time.Time  `dynamodbav:"pass1At,omitempty" json:"pass1At,omitempty"`
	FinishedAt    *time.Time  `dynamodbav:"finishedAt,omitempty" json:"finishedAt,omitempty"`
	Summary       *RunSummary `dynamodbav:"summary,omitempty" json:"summary,omitempty"`
	// PerStore: the run kept each store's summary (runs before it did are answered to
	// all-stores staff only).
	PerStore bool `dynamodbav:"perStore,omitempty" json:"-"`
	// CLV says which customer-base model each scope uses in pass 2, set by the last
	// pass-1 finisher: fitted this run, or kept from before with the reason.
	CLV *RunCLV `dynamodbav:"clv,omitempty" json:"clv,omitempty"`
}

// RunCLV is the model outcome of a run, per scope.
type RunCLV struct {
	Business ScopeFit            `dynamodbav:"business" json:"business,omitzero"`
	Stores   map[string]ScopeFit `dynamodbav:"stores,omitempty" json:"stores,omitempty"`
}

// Fit outcomes of a scope.
const (
	FitFitted  = "fitted"  // a new model from this run
	FitKept    = "kept"    // this run's fit failed; the previous model stays
	FitNone    = "none"    // no model: the fit failed and there was none before
	FitSkipped = "skipped" // a store below the minimum: its customers use the business model
)

// ScopeFit is how one scope's fit went and which model version pass 2 uses.
type ScopeFit struct {
	Status       string   `dynamodbav:"status" json:"status"`
	ModelVersion string   `dynamodbav:"modelVersion,omitempty" json:"modelVersion,omitempty"` // "" with FitNone/FitSkipped
	Customers    int      `dynamodbav:"customers" json:"customers"`                           // with a purchase, in the scope
	N            int      `dynamodbav:"n" json:"n"`                                           // in the sample fitted
	LogLik       float64  `dynamodbav:"logLik,omitempty" json:"logLik,omitempty"`
	Iterations   int      `dynamodbav:"iterations,omitempty" json:"iterations,omitempty"`
	Warnings     []string `dynamodbav:"warnings,omitempty" json:"warnings,omitempty"`
	Reason       string   `dynamodbav:"reason,omitempty" json:"reason,omitempty"` // why not fitted
	SpendError   string   `dynamodbav:"spendError,omitempty" json:"spendError,omitempty"`
}

// RunSummary counts one run's outcome (or one segment's share of it).
type RunSummary struct {
	Customers    int                    `dynamodbav:"customers" json:"customers"` // profiles seen
	Leads        int                    `dynamodbav:"leads" json:"leads"`         // no transaction yet
	Changed      int                    `dynamodbav:"changed" json:"changed"`     // profiles written
	TierChanges  int                    `dynamodbav:"tierChanges" json:"tierChanges"`
	Tiers        map[string]int         `dynamodbav:"tiers" json:"tiers"`
	Stages       map[string]int         `dynamodbav:"stages" json:"stages"`
	Revenue      map[string]model.Money `dynamodbav:"revenue" json:"revenue"` // net spend in the window per tier
	Migrations   map[string]int         `dynamodbav:"migrations" json:"migrations"`
	TotalRevenue model.Money            `dynamodbav:"totalRevenue" json:"totalRevenue"`
	// Top20Revenue is the net spend of the top fifth of customers by spend (the ⌈n/5⌉
	// largest, n = customers with a purchase in the window), computed when the run is done
	// from every customer's spend: exact for the business and for each store.
	Top20Revenue   model.Money `dynamodbav:"top20Revenue" json:"top20Revenue"`
	Top20Customers int         `dynamodbav:"top20Customers" json:"top20Customers"` // that ⌈n/5⌉
	Top20Cut       model.Money `dynamodbav:"top20Cut" json:"top20Cut"`             // the lowest spend among them
	// Shares are filled in when the run is done.
	RevenueShare map[string]float64 `dynamodbav:"revenueShare,omitempty" json:"revenueShare,omitempty"`
	Top20Share   float64            `dynamodbav:"top20Share" json:"top20Share"`
	// Top20Method says how Top20Share was reached: "exact" (one store, or the business),
	// or for several stores "sum of each store's top 20 %" — a lower bound of the stores'
	// joint share, at most Top20MaxError below it (docs/tiering.md).
	Top20Method   string   `dynamodbav:"top20Method,omitempty" json:"top20Method,omitempty"`
	Top20MaxError float64  `dynamodbav:"top20MaxError,omitempty" json:"top20MaxError,omitempty"`
	Stores        []string `dynamodbav:"stores,omitempty" json:"stores,omitempty"` // the stores a combined summary is of
	// Customer-base model: customers given a prediction, per risk band, and the retention
	// rule "P(alive) below the threshold and tier A": how many meet it tonight, how many
	// newly (flagged retentionDue on the profile), and follow-up plans that failed.
	Predicted         int            `dynamodbav:"predicted" json:"predicted"`
	Risk              map[string]int `dynamodbav:"risk,omitempty" json:"risk,omitempty"`
	AtRiskA           int            `dynamodbav:"atRiskA" json:"atRiskA"`
	RetentionDue      int            `dynamodbav:"retentionDue" json:"retentionDue"`
	FollowupPlanFails int            `dynamodbav:"followupPlanFails,omitempty" json:"followupPlanFails,omitempty"`
}

// NewRunSummary returns an empty summary with its maps made.
func NewRunSummary() *RunSummary {
	return &RunSummary{Tiers: map[string]int{}, Stages: map[string]int{}, Revenue: map[string]model.Money{}, Migrations: map[string]int{},
		Risk: map[string]int{}}
}

// Add merges another segment's counts.
func (s *RunSummary) Add(o *RunSummary) {
	s.Customers += o.Customers
	s.Leads += o.Leads
	s.Changed += o.Changed
	s.TierChanges += o.TierChanges
	s.TotalRevenue += o.TotalRevenue
	s.Top20Revenue += o.Top20Revenue
	s.Top20Customers += o.Top20Customers
	s.Predicted += o.Predicted
	s.AtRiskA += o.AtRiskA
	s.RetentionDue += o.RetentionDue
	s.FollowupPlanFails += o.FollowupPlanFails
	if s.Risk == nil {
		s.Risk = map[string]int{}
	}
	for k, v := range o.Risk {
		s.Risk[k] += v
	}
	for k, v := range o.Tiers {
		s.Tiers[k] += v
	}
	for k, v := range o.Stages {
		s.Stages[k] += v
	}
	for k, v := range o.Revenue {
		s.Revenue[k] += v
	}
	for k, v := range o.Migrations {
		s.Migrations[k] += v
	}
}

// Finish computes the shares.
func (s *RunSummary) Finish() {
	s.RevenueShare = map[string]float64{}
	if s.TotalRevenue <= 0 {
		return
	}
	for k, v := range s.Revenue {
		s.RevenueShare[k] = float64(v) / float64(s.TotalRevenue)
	}
	s.Top20Share = float64(s.Top20Revenue) / float64(s.TotalRevenue)
}

// ErrRunExists: a run with this id was created before.
var ErrRunExists = errors.New("run exists")

// ErrConflict: a conditional write lost to a concurrent writer; re-read and retry.
var ErrConflict = errors.New("conditional write conflict")

// CreateRun puts the run header once (attribute_not_exists); ErrRunExists otherwise.
func (t *Table) CreateRun(ctx context.Context, r Run) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("marshal run: %w", err)
	}
	for k, v := range RunKey(r.ID).av() {
		item[k] = v
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:    aws.String("attribute_not_exists(PK)"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return ErrRunExists
		}
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// GetRun reads a run header (strongly consistent: counters decide who finishes).
func (t *Table) GetRun(ctx context.Context, id string) (Run, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: RunKey(id).av(), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("read run %s: %w", id, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return Run{}, false, nil
	}
	var r Run
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return Run{}, false, fmt.Errorf("read run %s: %w", id, err)
	}
	return r, true, nil
}

// FinishSegment records a segment's result for a pass and counts the segment on the run,
// in one transaction: the result is written only if that pass had no result yet, so a
// redelivered segment is never counted twice. counted=false means it was already.
func (t *Table) FinishSegment(ctx context.Context, runID string, seg, pass int, result map[string]types.AttributeValue, now time.Time) (counted bool, err error) {
	attr := "pass" + strconv.Itoa(pass)
	resAV := &types.AttributeValueMemberM{Value: result}
	_, err = t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String(t.Name), Key: RunSegmentKey(runID, seg).av(),
				UpdateExpression:         aws.String("SET #r = :r, #at = :at"),
				ConditionExpression:      aws.String("attribute_not_exists(#r)"),
				ExpressionAttributeNames: map[string]string{"#r": attr, "#at": attr + "At"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":r": resAV,
					":at": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}}}},
			{Update: &types.Update{TableName: aws.String(t.Name), Key: RunKey(runID).av(),
				UpdateExpression:          aws.String("ADD #d :one"),
				ConditionExpression:       aws.String("attribute_exists(PK)"),
				ExpressionAttributeNames:  map[string]string{"#d": attr + "Done"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			t.Units.add(true)
			return false, nil
		}
		return false, fmt.Errorf("finish segment %d of run %s: %w", seg, runID, err)
	}
	t.Units.add(true)
	return true, nil
}

// SegmentResults returns every segment's result for a pass, by segment number.
func (t *Table) SegmentResults(ctx context.Context, runID string, pass int) (map[int]map[string]types.AttributeValue, error) {
	attr := "pass" + strconv.Itoa(pass)
	items, err := t.queryPrefix(ctx, RunKey(runID).PK, "SEG#")
	if err != nil {
		return nil, fmt.Errorf("segments of run %s: %w", runID, err)
	}
	out := map[int]map[string]types.AttributeValue{}
	for _, it := range items {
		sk, _ := it[attrSK].(*types.AttributeValueMemberS)
		m, ok := it[attr].(*types.AttributeValueMemberM)
		if sk == nil || !ok {
			continue
		}
		n, err := strconv.Atoi(sk.Value[len("SEG#"):])
		if err != nil {
			continue
		}
		out[n] = m.Value
	}
	return out, nil
}

func (t *Table) queryPrefix(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":p": &types.AttributeValueMemberS{Value: prefix}},
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		items = append(items, page.Items...)
	}
	return items, nil
}

// AdvanceRun moves a run from one status to the next, setting extra attributes; it
// returns ErrConflict when the run is no longer in from (someone else advanced it).
func (t *Table) AdvanceRun(ctx context.Context, id, from, to string, set map[string]types.AttributeValue) error {
	expr := "SET #s = :to"
	vals := map[string]types.AttributeValue{":to": &types.AttributeValueMemberS{Value: to}, ":from": &types.AttributeValueMemberS{Value: from}}
	names := map[string]string{"#s": "status"}
	i := 0
	for k, v := range set {
		expr += fmt.Sprintf(", #a%d = :a%d", i, i)
		names[fmt.Sprintf("#a%d", i)] = k
		vals[fmt.Sprintf(":a%d", i)] = v
		i++
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: RunKey(id).av(),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("#s = :from"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return ErrConflict
		}
		return fmt.Errorf("advance run %s to %s: %w", id, to, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// SetRunAttrs sets attributes on a run header without a condition (the merged base
// before pass 2 is queued: writing it twice writes the same value).
func (t *Table) SetRunAttrs(ctx context.Context, id string, set map[string]types.AttributeValue) error {
	expr, names, vals := "SET ", map[string]string{}, map[string]types.AttributeValue{}
	i := 0
	for k, v := range set {
		if i > 0 {
			expr += ", "
		}
		expr += fmt.Sprintf("#a%d = :a%d", i, i)
		names[fmt.Sprintf("#a%d", i)] = k
		vals[fmt.Sprintf(":a%d", i)] = v
		i++
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: RunKey(id).av(), UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("update run %s: %w", id, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// latestRunKey points at the last finished run, for reports.
var latestRunKey = Key{"RUN#latest", "LATEST"}

// SetLatestRun records a finished run as the latest, unless a later business day won.
func (t *Table) SetLatestRun(ctx context.Context, r Run) error {
	item := latestRunKey.av()
	item["runId"] = &types.AttributeValueMemberS{Value: r.ID}
	item["asOf"] = &types.AttributeValueMemberS{Value: sortTime(r.AsOf)}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR asOf <= :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": item["asOf"]},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil
		}
		return fmt.Errorf("record latest run: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// LatestRunID returns the last finished run's id, "" when none finished yet.
func (t *Table) LatestRunID(ctx context.Context) (string, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: latestRunKey.av(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return "", fmt.Errorf("read latest run: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if s, ok := out.Item["runId"].(*types.AttributeValueMemberS); ok {
		return s.Value, nil
	}
	return "", nil
}

// ProfileRow is what a re-tier scan reads of one profile.
type ProfileRow struct {
	ID         string
	Version    int64
	Store      string
	Aggregates tiering.Aggregates
	Assignment tiering.Assignment
	LastRun    string      // the run that last wrote the assignment
	PrevTier   model.Tier  // the tier before that run
	Occasions  *Occasions  // nil on profiles ingested before it was kept
	CLV        *ProfileCLV // the last prediction written
	// RetentionRun is the run that last flagged retentionDue (the retention rule's edge).
	RetentionRun string
}

const rowProjection = "id, PK, version, #st, aggregates, assignment, lastRun, prevTier, occasions, clv, retentionRun"

// ScanProfiles calls fn for every customer profile in one parallel-scan segment
// (access pattern 11). Reads are eventually consistent: writes are conditioned on version.
func (t *Table) ScanProfiles(ctx context.Context, segment, total int, fn func(ProfileRow) error) error {
	in := &dynamodb.ScanInput{
		TableName:                aws.String(t.Name),
		Segment:                  aws.Int32(int32(segment)),
		TotalSegments:            aws.Int32(int32(total)),
		FilterExpression:         aws.String("SK = :p AND begins_with(PK, :c)"),
		ProjectionExpression:     aws.String(rowProjection),
		ExpressionAttributeNames: map[string]string{"#st": "store"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": &types.AttributeValueMemberS{Value: "PROFILE"}, ":c": &types.AttributeValueMemberS{Value: "CUST#"}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	p := dynamodb.NewScanPaginator(t.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan segment %d/%d: %w", segment, total, err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		for _, it := range page.Items {
			row, err := decodeRow(it)
			if err != nil {
				return err
			}
			if err := fn(row); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeRow(it map[string]types.AttributeValue) (ProfileRow, error) {
	var raw struct {
		PK         string             `dynamodbav:"PK"`
		Version    int64              `dynamodbav:"version"`
		Store      string             `dynamodbav:"store"`
		Aggregates tiering.Aggregates `dynamodbav:"aggregates"`
		LastRun    string             `dynamodbav:"lastRun"`
		PrevTier   string             `dynamodbav:"prevTier"`
		Occasions  *Occasions         `dynamodbav:"occasions"`
		CLV        *ProfileCLV        `dynamodbav:"clv"`
		Retention  string             `dynamodbav:"retentionRun"`
	}
	if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
		return ProfileRow{}, fmt.Errorf("decode profile: %w", err)
	}
	row := ProfileRow{ID: raw.PK[len("CUST#"):], Version: raw.Version, Store: raw.Store, Aggregates: raw.Aggregates,
		LastRun: raw.LastRun, PrevTier: model.Tier(raw.PrevTier), Occasions: raw.Occasions, CLV: raw.CLV, RetentionRun: raw.Retention}
	if av, ok := it["assignment"]; ok {
		if err := UnmarshalAssignment(av, &row.Assignment); err != nil {
			return ProfileRow{}, fmt.Errorf("decode assignment of %s: %w", row.ID, err)
		}
	}
	return row, nil
}

// ReadProfileRow re-reads one profile (strongly consistent) after a conflict.
func (t *Table) ReadProfileRow(ctx context.Context, id string) (ProfileRow, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: CustomerKey(id).av(), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String(rowProjection),
		ExpressionAttributeNames: map[string]string{"#st": "store"},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return ProfileRow{}, false, fmt.Errorf("read profile %s: %w", id, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return ProfileRow{}, false, nil
	}
	row, err := decodeRow(out.Item)
	return row, err == nil, err
}

// TierChange is one tier-history item CUST#id / TIER#<time>.
type TierChange struct {
	At            time.Time   `dynamodbav:"at" json:"at"`
	From          model.Tier  `dynamodbav:"from" json:"from"`
	To            model.Tier  `dynamodbav:"to" json:"to"`
	Stage         model.Stage `dynamodbav:"stage" json:"stage"`
	Reason        string      `dynamodbav:"reason" json:"reason"`
	PolicyVersion int         `dynamodbav:"policyVersion" json:"policyVersion"`
	RunID         string      `dynamodbav:"runId" json:"runId"`
}

// Extras are what a night writes on the profile besides the assignment, in the same
// UpdateItem: the customer-base prediction, and the retention flag when the retention
// rule newly holds (a follow-up trigger consumes retentionDue).
type Extras struct {
	CLV          *ProfileCLV
	RetentionDue *time.Time
}

// SaveAssessment writes a new assignment if the profile is still at row.Version; when
// the tier changed, the history item goes in the same transaction. ErrConflict: re-read.
func (t *Table) SaveAssessment(ctx context.Context, row ProfileRow, next tiering.Assignment, runID string, from model.Tier, change *TierChange, extras Extras) error {
	asg, err := MarshalAssignment(next)
	if err != nil {
		return fmt.Errorf("marshal assignment: %w", err)
	}
	expr := "SET assignment = :a, stage = :st, version = :v1, lastRun = :run, prevTier = :pt"
	vals := map[string]types.AttributeValue{
		":a": asg, ":st": &types.AttributeValueMemberS{Value: string(next.Stage)},
		":v1":  &types.AttributeValueMemberN{Value: strconv.FormatInt(row.Version+1, 10)},
		":run": &types.AttributeValueMemberS{Value: runID}, ":pt": &types.AttributeValueMemberS{Value: string(from)},
	}
	if extras.CLV != nil {
		if !extras.CLV.Finite() {
			return fmt.Errorf("save assessment of %s: prediction: %w", row.ID, ErrNonFinite)
		}
		c, err := attributevalue.Marshal(extras.CLV)
		if err != nil {
			return fmt.Errorf("marshal prediction: %w", err)
		}
		expr += ", clv = :clv"
		vals[":clv"] = c
	}
	if extras.RetentionDue != nil {
		expr += ", retentionDue = :rd, retentionRun = :run"
		vals[":rd"] = &types.AttributeValueMemberS{Value: extras.RetentionDue.UTC().Format(time.RFC3339)}
	}
	if next.Tier != model.TierNone {
		expr += ", tier = :t"
		vals[":t"] = &types.AttributeValueMemberS{Value: string(next.Tier)}
	}
	if row.Store != "" {
		expr += ", GSI2SK = :sk"
		vals[":sk"] = &types.AttributeValueMemberS{Value: StoreCustomerSK(string(next.Tier), string(next.Stage), row.ID)}
	}
	cond := "version = :v"
	if row.Version == 0 {
		cond = "attribute_exists(PK) AND attribute_not_exists(version)"
	} else {
		vals[":v"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(row.Version, 10)}
	}
	upd := &types.Update{TableName: aws.String(t.Name), Key: CustomerKey(row.ID).av(),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}
	if change == nil {
		out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: upd.TableName, Key: upd.Key,
			UpdateExpression: upd.UpdateExpression, ConditionExpression: upd.ConditionExpression,
			ExpressionAttributeValues: vals, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			var ccf *types.ConditionalCheckFailedException
			if errors.As(err, &ccf) {
				return ErrConflict
			}
			return fmt.Errorf("save assessment of %s: %w", row.ID, err)
		}
		t.Units.addOne(true, out.ConsumedCapacity)
		return nil
	}
	hist, err := attributevalue.MarshalMap(change)
	if err != nil {
		return fmt.Errorf("marshal tier change: %w", err)
	}
	hist[attrPK] = &types.AttributeValueMemberS{Value: CustomerPK(row.ID)}
	hist[attrSK] = &types.AttributeValueMemberS{Value: TierSK(change.At)}
	out, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Update: upd},
			{Put: &types.Put{TableName: aws.String(t.Name), Item: hist}}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) {
			t.Units.add(true)
			return ErrConflict
		}
		return fmt.Errorf("save assessment of %s: %w", row.ID, err)
	}
	t.Units.add(true, out.ConsumedCapacity...)
	return nil
}

// TierHistory lists a customer's tier changes, oldest first.
func (t *Table) TierHistory(ctx context.Context, id string) ([]TierChange, error) {
	items, err := t.queryPrefix(ctx, CustomerPK(id), "TIER#")
	if err != nil {
		return nil, fmt.Errorf("tier history of %s: %w", id, err)
	}
	var out []TierChange
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, fmt.Errorf("tier history of %s: %w", id, err)
	}
	return out, nil
}
